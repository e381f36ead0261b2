"""``tf.contrib`` beyond values (those are in ``tests/op_cases/contrib.py``): the names, scopes and collections of
the contrib layers' variables and ops, arg_scope, batch_norm's updates and training tensors, the framework's
variable queries, optimize_loss's options, contrib.data's transformations, and the errors for what is missing."""

import doctest
import importlib
import threading

import numpy as np
import pytest

import tasklayer as tf
from tests.gradient_check import check_gradients

layers, framework, slim = tf.contrib.layers, tf.contrib.framework, tf.contrib.slim

MODULES = ["tasklayer.contrib", "tasklayer.contrib.data", "tasklayer.contrib.learn", "tasklayer.contrib.slim",
           "tasklayer.contrib.framework", "tasklayer.contrib.framework.arg_scope",
           "tasklayer.contrib.framework.variables", "tasklayer.contrib.layers", "tasklayer.contrib.layers.layers",
           "tasklayer.contrib.layers.initializers", "tasklayer.contrib.layers.regularizers",
           "tasklayer.contrib.layers.normalization", "tasklayer.contrib.layers.optimizers",
           "tasklayer.contrib.layers.utils"]


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


def names(variables):
    return [v.op.name for v in variables]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# ---------------------------------------------------------------- what is missing
@pytest.mark.parametrize("path,missing", [("contrib", "rnn"), ("contrib.layers", "embed_sequence"),
                                          ("contrib.framework", "nest"), ("contrib.slim", "nets"),
                                          ("contrib.data", "Counter"), ("contrib.learn", "Estimator")])
def test_a_name_tf1_had_there_fails_naming_itself(path, missing):
    module = tf
    for part in path.split("."):
        module = getattr(module, part)
    with pytest.raises(AttributeError, match=rf"tf\.{path}\.{missing} of TensorFlow 1\.x is not provided"):
        getattr(module, missing)
    assert not hasattr(module, "__wrapped__")  # dunders answer as a plain module does (inspect, doctest)


# ---------------------------------------------------------------- fully_connected and conv2d
def test_fully_connected_makes_model_variables_in_a_unique_scope():
    x = tf.placeholder(tf.float32, [None, 3])
    y = layers.fully_connected(x, 4)
    y2 = layers.fully_connected(y, 2, trainable=False)
    assert names(tf.global_variables()) == ["fully_connected/weights", "fully_connected/biases",
                                            "fully_connected_1/weights", "fully_connected_1/biases"]
    assert framework.get_model_variables() == tf.global_variables()
    assert names(tf.trainable_variables()) == ["fully_connected/weights", "fully_connected/biases"]
    assert y.op.name == "fully_connected/Relu" and y.op.inputs[0].op.type == "BiasAdd"
    assert y2.shape.as_list() == [None, 2]


def test_fully_connected_shares_its_variables_on_reuse_of_its_scope():
    x = tf.placeholder(tf.float32, [None, 3])
    layers.fully_connected(x, 4, scope="fc", weights_regularizer=layers.l2_regularizer(0.1))
    layers.fully_connected(x, 4, scope="fc", reuse=True, weights_regularizer=layers.l2_regularizer(0.1))
    with pytest.raises(ValueError, match="Variable fc/weights already exists"):
        layers.fully_connected(x, 4, scope="fc")
    assert names(tf.global_variables()) == ["fc/weights", "fc/biases"]
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 1  # made with the variable only


def test_variables_and_outputs_collections_as_list_or_dict():
    x = tf.placeholder(tf.float32, [None, 3])
    y = layers.fully_connected(x, 2, variables_collections={"weights": ["my_weights"]},
                               outputs_collections=["outs"], scope="a")
    layers.fully_connected(x, 2, variables_collections=["all_mine"], scope="b")
    assert names(tf.get_collection("my_weights")) == ["a/weights"]
    assert names(tf.get_collection("all_mine")) == ["b/weights", "b/biases"]
    assert tf.get_collection("outs") == [y] and y.aliases == ["a"]


def test_a_normalizer_takes_the_place_of_the_biases():
    y = layers.fully_connected(tf.zeros([4, 3]), 2, normalizer_fn=layers.batch_norm,
                               normalizer_params={"scale": True}, scope="fc")
    # 2-D: TF's fused path, which makes beta before gamma (the layer's path, 4-D, makes gamma first)
    assert names(tf.global_variables()) == ["fc/weights", "fc/BatchNorm/beta", "fc/BatchNorm/gamma",
                                            "fc/BatchNorm/moving_mean", "fc/BatchNorm/moving_variance"]
    assert y.op.name == "fc/Relu"


def test_fully_connected_rejects_inputs_it_cannot_take():
    with pytest.raises(ValueError, match="expected min_ndim=2, found ndim=1"):
        layers.fully_connected(tf.zeros([3]), 2)
    with pytest.raises(ValueError, match="last dimension of the inputs to `Dense` should be defined"):
        layers.fully_connected(tf.placeholder(tf.float32, [2, None]), 2)


def test_conv2d_names_and_shapes_as_tf():
    x = tf.placeholder(tf.float32, [None, 9, 9, 3])
    y = layers.conv2d(x, 8, [3, 5], stride=2)
    assert names(tf.global_variables()) == ["Conv/weights", "Conv/biases"]
    assert tf.global_variables()[0].shape.as_list() == [3, 5, 3, 8]
    assert y.op.name == "Conv/Relu" and y.shape.as_list() == [None, 5, 5, 8]
    assert [op.name for op in tf.get_default_graph().get_operations() if op.type in ("Conv2D", "BiasAdd")] == [
        "Conv/Conv2D", "Conv/BiasAdd"]
    assert layers.conv2d(x, 4, 3, rate=2, padding="VALID").shape.as_list() == [None, 5, 5, 4]


def test_conv2d_takes_only_4d_inputs():
    with pytest.raises(NotImplementedError, match="2-D convolutions only"):
        layers.convolution(tf.zeros([1, 8, 3]), 2, 3)
    with pytest.raises(ValueError, match="Convolution expects input with rank 4, got 3"):
        layers.conv2d(tf.zeros([1, 8, 3]), 2, 3)
    with pytest.raises(ValueError, match="strides > 1 not supported in conjunction with dilation_rate > 1"):
        layers.conv2d(tf.zeros([1, 8, 8, 3]), 2, 3, stride=2, rate=2)


def test_gradients_of_the_layers_match_central_differences():
    rng = np.random.default_rng(4)
    check_gradients(lambda x: layers.fully_connected(x, 3, activation_fn=tf.tanh), rng.normal(size=(2, 4)))
    check_gradients(lambda x: layers.conv2d(x, 2, 3, activation_fn=tf.tanh), rng.normal(size=(1, 4, 4, 2)),
                    tol=1e-5)
    check_gradients(lambda x: layers.batch_norm(x, fused=False, scale=True, updates_collections=None),
                    rng.normal(size=(5, 3)), tol=1e-5)


# ---------------------------------------------------------------- pooling, flatten, dropout
def test_pooling_flatten_and_dropout_name_their_scopes_as_tf():
    x = tf.zeros([2, 8, 8, 3])
    assert layers.max_pool2d(x, 2).op.name == "MaxPool2D/MaxPool"
    assert layers.avg_pool2d(x, 2, scope="pool").op.name == "pool/AvgPool"
    assert layers.flatten(x).op.name == "Flatten/flatten/Reshape"
    assert layers.dropout(x, is_training=False).op.name == "Dropout/Identity"
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=2"):
        layers.max_pool2d(tf.zeros([2, 3]), 2)


def test_dropout_takes_a_keep_prob_and_a_training_tensor():
    keep = tf.placeholder(tf.float32, [])
    training = tf.placeholder(tf.bool, [])
    y = layers.dropout(tf.ones([1000]), keep_prob=keep, is_training=training)
    with tf.Session() as sess:
        assert (sess.run(y, {keep: 0.5, training: False}) == 1.0).all()
        assert (sess.run(y, {keep: 1.0, training: True}) == 1.0).all()
        values = sess.run(y, {keep: 0.5, training: True})
    assert set(np.unique(values)) == {0.0, 2.0} and 0.4 < (values == 2.0).mean() < 0.6


# ---------------------------------------------------------------- batch_norm
BN_X = np.random.default_rng(5).uniform(-2, 3, (8, 3)).astype(np.float32)


def _moving(sess):
    found = {v.op.name.rsplit("/", 1)[-1]: v for v in tf.global_variables()}
    return sess.run([found["moving_mean"], found["moving_variance"]])


@pytest.mark.parametrize("shape,updates", [((8, 3), None), ((8, 3), "default"), ((2, 2, 2, 3), "default"),
                                           ((2, 2, 2, 3), None), ((2, 4, 3), "mine")])
def test_batch_norm_with_a_training_tensor_updates_only_in_training(shape, updates):
    collection = tf.GraphKeys.UPDATE_OPS if updates == "default" else updates
    training = tf.placeholder(tf.bool, [])
    x = BN_X.reshape(shape)
    y = layers.batch_norm(tf.constant(x), decay=0.5, is_training=training, updates_collections=collection)
    pending = tf.get_collection(collection) if collection else []
    assert len(pending) == (0 if collection is None else 2)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        inferred, *_ = sess.run([y] + pending, {training: False})
        np.testing.assert_allclose(inferred, x / np.sqrt(1.001), rtol=1e-5)
        np.testing.assert_allclose(_moving(sess), [np.zeros(3), np.ones(3)])
        trained, *_ = sess.run([y] + pending, {training: True})
        mean = x.reshape(-1, 3).mean(0)
        np.testing.assert_allclose(trained.reshape(-1, 3), (x.reshape(-1, 3) - mean) / np.sqrt(
            x.reshape(-1, 3).var(0) + 0.001), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(_moving(sess)[0], 0.5 * mean, rtol=1e-5)


def test_batch_norm_variables_are_model_variables_and_reuse_their_scope():
    x = tf.placeholder(tf.float32, [None, 4, 4, 3])
    layers.batch_norm(x, scale=True, scope="bn", variables_collections=["bn_vars"])
    layers.batch_norm(x, scale=True, scope="bn", reuse=True, is_training=False)
    expected = ["bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance"]
    assert names(tf.global_variables()) == expected
    assert sorted(names(framework.get_model_variables())) == sorted(expected)
    assert sorted(names(tf.get_collection("bn_vars"))) == sorted(expected)
    assert names(tf.trainable_variables()) == ["bn/gamma", "bn/beta"]


def test_batch_norm_says_what_it_does_not_support():
    with pytest.raises(NotImplementedError, match="zero_debias_moving_mean is not supported"):
        layers.batch_norm(tf.zeros([2, 3]), zero_debias_moving_mean=True)
    with pytest.raises(ValueError, match="data_format has to be either NCHW or NHWC"):
        layers.batch_norm(tf.zeros([2, 3]), data_format="NWC")
    with pytest.raises(ValueError, match="undefined rank"):
        layers.batch_norm(tf.placeholder(tf.float32), fused=False, updates_collections=None)


# ---------------------------------------------------------------- arg_scope
def test_arg_scope_reaches_the_same_function_by_either_name():
    assert slim.conv2d is layers.conv2d is layers.convolution2d and slim.arg_scope is framework.arg_scope
    with slim.arg_scope([layers.conv2d, slim.fully_connected], activation_fn=None) as scope:
        conv = slim.conv2d(tf.zeros([1, 4, 4, 1]), 2, 3)
        fc = layers.fully_connected(tf.zeros([1, 2]), 2)
    assert conv.op.type == "BiasAdd" and fc.op.type == "BiasAdd"
    with slim.arg_scope(scope):  # a scope re-entered from the dict it yielded
        assert layers.fully_connected(tf.zeros([1, 2]), 2).op.type == "BiasAdd"
    assert layers.fully_connected(tf.zeros([1, 2]), 2).op.type == "Relu"


def test_arg_scope_errors():
    with pytest.raises(TypeError, match="list_ops_or_scope must either be a list/tuple"):
        with framework.arg_scope(layers.conv2d, padding="VALID"):
            pass
    with pytest.raises(ValueError, match="kwargs must be empty"):
        with framework.arg_scope({}, padding="VALID"):
            pass
    with framework.arg_scope([layers.max_pool2d], stride=1):
        with pytest.raises(TypeError, match="multiple values for argument 'stride'"):
            layers.max_pool2d(tf.zeros([1, 4, 4, 1]), 2, 2)


def test_arg_scoped_arguments_and_has_arg_scope():
    assert framework.arg_scoped_arguments(layers.max_pool2d) == ("stride", "padding", "data_format",
                                                                 "outputs_collections", "scope")
    assert framework.has_arg_scope(layers.batch_norm) and not framework.has_arg_scope(tf.nn.relu)


def test_an_arg_scope_is_seen_by_its_own_thread_only():
    seen = {}

    def build_elsewhere():
        with tf.Graph().as_default():
            seen["op"] = layers.fully_connected(tf.zeros([1, 2]), 2).op.type

    with framework.arg_scope([layers.fully_connected], activation_fn=None):
        thread = threading.Thread(target=build_elsewhere)
        thread.start()
        thread.join(30)
    assert seen == {"op": "Relu"}


def test_repeat_and_stack_name_their_calls():
    x = tf.zeros([1, 4])
    slim.stack(x, slim.fully_connected, [3, 5], scope="fc")
    slim.repeat(x, 2, slim.fully_connected, 4)
    assert names(slim.get_variables(suffix="weights")) == ["fc/fc_1/weights", "fc/fc_2/weights",
                                                           "Repeat/fully_connected_1/weights",
                                                           "Repeat/fully_connected_2/weights"]
    with pytest.raises(ValueError, match="stack_args need to be a list or tuple"):
        slim.stack(x, slim.fully_connected, 3)


# ---------------------------------------------------------------- the framework's variables
def test_variable_queries_by_scope_suffix_and_name():
    with tf.variable_scope("a"):
        w = framework.model_variable("w", [1])
        framework.variable("steps", [], dtype=tf.int32, trainable=False)
    with tf.variable_scope("b"):
        w_b = framework.variable("w", [1])
    assert framework.get_variables_by_name("w") == [w, w_b]
    assert names(framework.get_variables(tf.get_variable_scope())) == ["a/w", "a/steps", "b/w"]
    assert names(framework.get_trainable_variables("a")) == ["a/w"]
    assert framework.get_model_variables() == [w]
    assert names(framework.get_variables_to_restore(exclude=["a/steps"])) == ["a/w", "b/w"]
    assert framework.get_unique_variable("b/w") is w_b
    with pytest.raises(ValueError, match="Couldn't find variable c/w"):
        framework.get_unique_variable("c/w")
    with pytest.raises(TypeError, match="include is provided but is not a list or a tuple"):
        framework.get_variables_to_restore(include="a")


def test_variable_device_and_arg_scope():
    with framework.arg_scope([framework.variable, framework.model_variable], device="/job:ps/task:0"):
        v, w = framework.variable("v", [2]), framework.model_variable("w", [2])
    with tf.device("/job:worker"):
        u = framework.variable("u", [2])  # no device of its own: the enclosing one
    assert (v.device, w.device, u.device) == ("/job:ps/task:0", "/job:ps/task:0", "/job:worker")
    assert framework.get_or_create_global_step() is tf.train.get_global_step()


# ---------------------------------------------------------------- optimize_loss
def test_optimize_loss_clips_runs_update_ops_and_writes_summaries():
    w = tf.Variable([3.0, 4.0], name="w")
    counter = tf.Variable(0, name="counter")
    tf.add_to_collection(tf.GraphKeys.UPDATE_OPS, counter.assign_add(1))
    step = tf.train.get_or_create_global_step()
    train = layers.optimize_loss(tf.reduce_sum(tf.square(w)) / 2, step, learning_rate=0.5, optimizer="SGD",
                                 clip_gradients=1.0, summaries=["loss", "gradient_norm"])
    assert "OptimizeLoss/learning_rate" in names(tf.global_variables())
    tags = {op.name for op in tf.get_collection(tf.GraphKeys.SUMMARIES)}
    assert {"OptimizeLoss/loss", "OptimizeLoss/global_norm/gradient_norm", "OptimizeLoss/gradient_norm/w_0",
            "OptimizeLoss/global_norm/clipped_gradient_norm"} <= {t.rsplit(":", 1)[0] for t in tags}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(train) == 12.5
        # the gradient (3, 4) clipped to norm 1 is (0.6, 0.8)
        np.testing.assert_allclose(sess.run(w), [3.0 - 0.3, 4.0 - 0.4], rtol=1e-6)
        assert sess.run([counter, step]) == [1, 1]


def test_optimize_loss_takes_an_optimizer_class_instance_or_function():
    w = tf.Variable(1.0)
    loss = tf.square(w)
    step = tf.train.get_or_create_global_step()
    layers.optimize_loss(loss, step, 0.1, tf.train.AdamOptimizer, name="by_class")
    layers.optimize_loss(loss, step, None, tf.train.GradientDescentOptimizer(0.1), name="by_instance")
    layers.optimize_loss(loss, step, 0.1, lambda lr: tf.train.MomentumOptimizer(lr, 0.5), name="by_function",
                         learning_rate_decay_fn=lambda lr, s: lr * 0.5)
    with pytest.raises(NotImplementedError, match="RMSProp optimizer is not provided"):
        layers.optimize_loss(loss, step, 0.1, "RMSProp")
    with pytest.raises(ValueError, match="Optimizer name should be one of"):
        layers.optimize_loss(loss, step, 0.1, "Newton")
    with pytest.raises(ValueError, match="Summaries should be one of"):
        layers.optimize_loss(loss, step, 0.1, "SGD", summaries=["weights"])
    with pytest.raises(ValueError, match="Expected scalar shape"):
        layers.optimize_loss(tf.ones([2]), step, 0.1, "SGD")


# ---------------------------------------------------------------- contrib.data and contrib.learn
def test_contrib_data_is_tf_data_and_its_transformations():
    data = tf.contrib.data
    assert data.Dataset is tf.data.Dataset and data.Iterator is tf.data.Iterator
    assert data.TFRecordDataset is tf.data.TFRecordDataset and data.TextLineDataset is tf.data.TextLineDataset
    epochs = tf.data.Dataset.range(5).apply(data.shuffle_and_repeat(5, count=2, seed=3))
    batches = tf.data.Dataset.range(5).apply(data.map_and_batch(lambda x: x * 10, 2, drop_remainder=True))
    padded = tf.data.Dataset.range(1, 4).map(lambda n: tf.fill([n], n)).apply(
        data.padded_batch_and_drop_remainder(2, [None]))
    next_epoch = epochs.make_one_shot_iterator().get_next()
    next_batch = batches.make_one_shot_iterator().get_next()
    next_padded = padded.make_one_shot_iterator().get_next()
    assert next_batch.shape.as_list() == [2] and next_padded.shape.as_list() == [2, None]
    with tf.Session() as sess:
        order = [int(sess.run(next_epoch)) for _ in range(10)]
        assert sorted(order[:5]) == sorted(order[5:]) == [0, 1, 2, 3, 4]
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(next_epoch)
        assert [sess.run(next_batch).tolist() for _ in range(2)] == [[0, 10], [20, 30]]
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(next_batch)
        assert sess.run(next_padded).tolist() == [[1, 0], [2, 2]]
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(next_padded)


def test_contrib_learn_mode_keys():
    assert (tf.contrib.learn.ModeKeys.TRAIN, tf.contrib.learn.ModeKeys.EVAL,
            tf.contrib.learn.ModeKeys.INFER) == ("train", "eval", "infer")
