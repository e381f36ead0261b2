"""The rest of tf.nn, clipping and embeddings beyond their values (tests/op_cases/nn.py has those): gradients
against central differences, shape inference, errors at build and run time, dropout's seeds and statistics,
colocation of embedding lookups, and the docstring examples of the modules."""

import doctest
import importlib

import numpy as np
import pytest

import tasklayer as tf
from tasklayer.gradients import gradients
from tasklayer.ops import nn_extra_ops
from tests.gradient_check import check_gradients

RNG = np.random.default_rng(3)


def r(*shape, low=-1.0, high=1.0):
    return RNG.uniform(low, high, shape)


def away_from(points, *shape):
    """Random values at least 0.2 from each of ``points`` (the kinks of piecewise functions)."""
    x = r(*shape, low=-3, high=8)
    for p in points:
        near = np.abs(x - p) < 0.2
        x[near] = p + 0.5
    return x


# ---------------------------------------------------------------- gradients
ACTIVATIONS = {
    "Relu6": (tf.nn.relu6, lambda: away_from([0, 6], 3, 4)),
    "Elu": (tf.nn.elu, lambda: away_from([0], 3, 4)),
    "Selu": (tf.nn.selu, lambda: away_from([0], 3, 4)),
    "LeakyRelu": (lambda x: tf.nn.leaky_relu(x, alpha=0.3), lambda: away_from([0], 3, 4)),
    "Softplus": (tf.nn.softplus, lambda: r(3, 4, low=-4, high=4)),
    "Softsign": (tf.nn.softsign, lambda: r(3, 4, low=-4, high=4)),
}


@pytest.mark.parametrize("op", sorted(ACTIVATIONS))
def test_activation_gradients(op):
    fn, make = ACTIVATIONS[op]
    check_gradients(fn, make())


def test_second_order_activation_gradients():
    # The activation gradients are built from differentiable ops, so they differentiate again.
    def second(x):
        return gradients(tf.reduce_sum(tf.nn.elu(x) * tf.nn.softplus(x)), [x])[0]
    check_gradients(second, away_from([0], 2, 3), tol=1e-5)


@pytest.mark.parametrize("data_format,x_shape,bias_len", [("NHWC", (2, 3), 3), ("NHWC", (2, 2, 3), 3),
                                                          ("NCHW", (2, 3, 2, 2), 3), ("NCHW", (2, 3, 2), 3)])
def test_bias_add_gradients(data_format, x_shape, bias_len):
    check_gradients(lambda x, b: tf.nn.bias_add(x, b, data_format=data_format), r(*x_shape), r(bias_len))


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_bias_add_grad_has_a_gradient(data_format):
    check_gradients(lambda g: nn_extra_ops.bias_add_grad(g, data_format=data_format), r(2, 3, 2))


def test_bias_add_gradient_is_a_bias_add_grad_op():
    with tf.Graph().as_default():
        x, b = tf.placeholder(tf.float32, [None, 4]), tf.placeholder(tf.float32, [4])
        [gb] = gradients(tf.reduce_sum(tf.nn.bias_add(x, b)), [b])
        assert gb.op.type == "BiasAddGrad" and gb.shape.as_list() == [4]


@pytest.mark.parametrize("radius,bias,alpha,beta", [(5, 1.0, 1.0, 0.5), (1, 2.0, 0.3, 0.75)])
def test_lrn_gradient(radius, bias, alpha, beta):
    check_gradients(lambda x: tf.nn.lrn(x, depth_radius=radius, bias=bias, alpha=alpha, beta=beta), r(1, 2, 2, 5),
                    tol=1e-5)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [1, 1, 1, 3])
        assert gradients(tf.reduce_sum(tf.nn.lrn(x)), [x])[0].op.type == "LRNGrad"


def test_top_k_gradient_goes_to_the_chosen_positions():
    x = RNG.permutation(15).reshape(3, 5) + r(3, 5) * 0.1  # distinct values: top_k is smooth there
    check_gradients(lambda t: tf.nn.top_k(t, k=3)[0], x)
    check_gradients(lambda t: tf.nn.top_k(tf.reshape(t, [1, 3, 5]), k=2)[0], x)


def test_embedding_lookup_gradients_reach_every_shard():
    ids = np.int32([[4, 0], [2, 4], [6, 1]])
    check_gradients(lambda p: tf.nn.embedding_lookup(p, ids), r(7, 2))
    check_gradients(lambda a, b, c: tf.nn.embedding_lookup([a, b, c], ids), r(3, 2), r(2, 2), r(2, 2))
    check_gradients(lambda a, b, c: tf.nn.embedding_lookup([a, b, c], ids, partition_strategy="div"),
                    r(3, 2), r(2, 2), r(2, 2))
    check_gradients(lambda p: tf.nn.embedding_lookup(p, ids, max_norm=0.5), r(7, 2) + 1, tol=1e-5)


def _shaped(t, shape):
    t.set_shape(shape)  # the row counts are data-dependent; the check's weights need them
    return t


def test_dynamic_partition_and_stitch_gradients():
    parts = np.int32([2, 0, 2, 1])
    check_gradients(lambda d: [_shaped(p, [n, 2]) for p, n in zip(tf.dynamic_partition(d, parts, 3), (1, 1, 2))],
                    r(4, 2))
    check_gradients(lambda a, b: _shaped(tf.dynamic_stitch([[0, 2], [1, 3]], [a, b]), [4, 3]), r(2, 3), r(2, 3))


def test_cross_entropy_gradients_reach_labels_and_logits():
    check_gradients(lambda z, x: tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x), r(3, 2, low=0, high=1),
                    r(3, 2, low=-4, high=4))
    check_gradients(lambda z, x: tf.nn.weighted_cross_entropy_with_logits(labels=z, logits=x, pos_weight=2.5),
                    r(3, 2, low=0, high=1), away_from([0], 3, 2))
    # Rows of labels that sum to 1: the logits' gradient (softmax - labels, TF's too) assumes a distribution.
    labels = r(2, 3, low=0, high=1)
    check_gradients(lambda z, x: tf.nn.softmax_cross_entropy_with_logits_v2(labels=z, logits=x),
                    labels / labels.sum(1, keepdims=True), r(2, 3))


def test_softmax_cross_entropy_v1_stops_the_labels_gradient_and_v2_does_not():
    with tf.Graph().as_default():
        labels, logits = tf.placeholder(tf.float32, [2, 3]), tf.placeholder(tf.float32, [2, 3])
        v1 = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        v2 = tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
        assert gradients(tf.reduce_sum(v1), [labels])[0] is None
        g = gradients(tf.reduce_sum(v2), [labels])[0]
        with tf.Session() as sess:
            x = r(2, 3).astype(np.float32)
            want = -(x - np.log(np.exp(x).sum(1, keepdims=True)))  # d loss / d labels = -log_softmax(logits)
            np.testing.assert_allclose(sess.run(g, {labels: np.zeros((2, 3)), logits: x}), want, rtol=1e-5)


def test_normalization_gradients():
    check_gradients(lambda x: tf.nn.l2_normalize(x, axis=1), r(3, 4))
    check_gradients(lambda x: list(tf.nn.moments(x, [0])), r(4, 3))
    check_gradients(lambda x, m, v, o, s: tf.nn.batch_normalization(x, m, v, o, s, 1e-3), r(4, 3), r(3),
                    r(3, low=0.5, high=2), r(3), r(3))
    check_gradients(lambda x, s, o: list(tf.nn.fused_batch_norm(x, s, o)), r(2, 2, 2, 3), r(3), r(3), tol=1e-5)


def test_clipping_gradients():
    check_gradients(lambda x: tf.clip_by_value(x, -0.5, 0.5), away_from([-0.5, 0.5], 3, 3) / 6)
    check_gradients(lambda x: tf.clip_by_norm(x, 0.3), r(3, 3))  # its norm is above 0.3: clipped
    check_gradients(lambda x: tf.clip_by_norm(x, 0.5, axes=[1]), r(3, 2))
    check_gradients(lambda a, b: tf.clip_by_global_norm([a, None, b], 0.4)[0][::2], r(2, 2), r(3))
    check_gradients(lambda a, b: tf.global_norm([a, b]), r(2, 2), r(3))
    check_gradients(lambda x: tf.cast(tf.clip_by_average_norm(tf.cast(x, tf.float32), 0.01), tf.float64) * 1.0,
                    r(2, 3), eps=1e-2, tol=1e-3)
    check_gradients(lambda x, w, b: tf.nn.xw_plus_b(x, w, b), r(2, 3), r(3, 2), r(2))


def test_clip_by_norm_of_zeros_has_a_finite_gradient():
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.zeros([3])
        [g] = gradients(tf.reduce_sum(tf.clip_by_norm(x, 1.0)), [x])
        assert np.isfinite(sess.run(g)).all()


# ---------------------------------------------------------------- shape inference and errors
def test_static_shapes():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 5, 6])
        k = tf.placeholder(tf.int32, [])
        assert tf.nn.bias_add(x, tf.zeros([6])).shape.as_list() == [None, 5, 6]
        assert tf.nn.bias_add(tf.placeholder(tf.float32, [None, None, 4, 4]), tf.zeros([3]),
                              data_format="NCHW").shape.as_list() == [None, 3, 4, 4]
        values, indices = tf.nn.top_k(x, 4)
        assert values.shape.as_list() == indices.shape.as_list() == [None, 5, 4] and indices.dtype == tf.int32
        assert tf.nn.top_k(x, k)[0].shape.as_list() == [None, 5, None]
        assert tf.nn.in_top_k(tf.placeholder(tf.float32, [None, 7]), tf.placeholder(tf.int32, [8]), 1).shape \
            .as_list() == [8]
        assert tf.nn.lrn(tf.placeholder(tf.float32, [None, 2, 2, 3])).shape.as_list() == [None, 2, 2, 3]
        ids = tf.placeholder(tf.int32, [None, 3])
        assert tf.nn.embedding_lookup([tf.zeros([4, 2]), tf.zeros([3, 2])], ids).shape.as_list() == [None, 3, 2]
        parts = tf.dynamic_partition(x, tf.placeholder(tf.int32, [None]), 2)
        assert [p.shape.as_list() for p in parts] == [[None, 5, 6]] * 2
        mean, variance = tf.nn.moments(x, [0, 2])
        assert mean.shape.as_list() == variance.shape.as_list() == [5]
        assert tf.nn.dropout(x, keep_prob=0.5).shape.as_list() == [None, 5, 6]


def test_build_errors_name_the_problem():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Shape must be at least rank 3 but is rank 2"):
            tf.nn.bias_add(tf.zeros([2, 3]), tf.zeros([3]), data_format="NCHW")
        with pytest.raises(ValueError, match="data_format must be of the form"):
            tf.nn.bias_add(tf.zeros([2, 3]), tf.zeros([3]), data_format="CHW")
        with pytest.raises(ValueError, match="Need k >= 0, got -1"):
            tf.nn.top_k(tf.zeros([2, 3]), -1)
        with pytest.raises(ValueError, match="Dimensions must be equal, but are 2 and 3"):
            tf.nn.in_top_k(tf.zeros([2, 4]), tf.zeros([3], tf.int32), 1)
        with pytest.raises(TypeError, match="Expected float for argument 'alpha'"):
            tf.nn.leaky_relu(tf.zeros([2]), alpha=tf.constant(0.1))
        with pytest.raises(ValueError, match="Cannot specify both 'keep_prob' and 'rate'"):
            tf.nn.dropout(tf.zeros([2]), keep_prob=0.5, rate=0.5)
        with pytest.raises(ValueError, match="You must provide a rate"):
            tf.nn.dropout(tf.zeros([2]))
        with pytest.raises(ValueError, match="named arguments"):
            tf.nn.sigmoid_cross_entropy_with_logits(tf.zeros([2]), tf.zeros([2]))
        with pytest.raises(ValueError, match="Unrecognized partition strategy: modulo"):
            tf.nn.embedding_lookup([tf.zeros([2, 2])] * 2, [0], partition_strategy="modulo")
        with pytest.raises(ValueError, match="broadcast"):
            tf.clip_by_value(tf.zeros([2]), tf.zeros([3, 2]), 1.0)
        with pytest.raises(TypeError, match="t_list should be a sequence"):
            tf.clip_by_global_norm(tf.zeros([2]), 1.0)
        with pytest.raises(ValueError, match="must be a 1D tensor when is_training is False"):
            tf.nn.fused_batch_norm(tf.zeros([1, 2, 2, 3]), tf.ones([3]), tf.zeros([3]), is_training=False)


def test_run_time_errors_name_the_problem():
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.placeholder(tf.float32, [None, None])
        k = tf.placeholder(tf.int32, [])
        with pytest.raises(tf.errors.InvalidArgumentError, match="input must have at least k columns. Had 3, "
                                                                 "needed 4"):
            sess.run(tf.nn.top_k(x, k), {x: np.zeros((2, 3)), k: 4})
        bias = tf.placeholder(tf.float32, [None])
        with pytest.raises(tf.errors.InvalidArgumentError, match="Must provide as many biases"):
            sess.run(tf.nn.bias_add(x, bias), {x: np.zeros((2, 3)), bias: [1.0, 2.0]})
        parts = tf.placeholder(tf.int32, [None])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"partitions\[1\] = 5 is not in \[0, 2\)"):
            sess.run(tf.dynamic_partition(tf.range(3), parts, 2), {parts: [0, 5, 1]})


# ---------------------------------------------------------------- top_k ties, in_top_k edge cases
def test_top_k_on_many_ties_matches_a_python_sort():
    x = RNG.integers(0, 4, (6, 9)).astype(np.float32)
    order = np.array([sorted(range(9), key=lambda i, row=row: (-row[i], i)) for row in x])
    with tf.Graph().as_default(), tf.Session() as sess:
        values, indices = sess.run(tf.nn.top_k(x, 9))
    np.testing.assert_array_equal(indices, order)
    np.testing.assert_array_equal(values, np.take_along_axis(x, order, 1))


def test_in_top_k_out_of_range_target_is_false():
    with tf.Graph().as_default(), tf.Session() as sess:
        got = sess.run(tf.nn.in_top_k([[1.0, 2.0], [1.0, 2.0], [1.0, np.inf]], [5, -1, 0], 2))
    assert got.tolist() == [False, False, False]


# ---------------------------------------------------------------- dropout
def _mask(sess, y):
    return sess.run(y) != 0


def test_dropout_seeds_repeat_in_a_new_session_and_differ_between_ops():
    with tf.Graph().as_default() as g:
        tf.set_random_seed(42)
        a = tf.nn.dropout(tf.ones([200]), keep_prob=0.5)
        b = tf.nn.dropout(tf.ones([200]), keep_prob=0.5)
        c = tf.nn.dropout(tf.ones([200]), keep_prob=0.5, seed=7)
        with tf.Session(graph=g) as sess:
            first = [_mask(sess, t) for t in (a, b, c)]
            again = _mask(sess, a)
        with tf.Session(graph=g) as sess:
            second = [_mask(sess, t) for t in (a, b, c)]
    for m1, m2 in zip(first, second):
        np.testing.assert_array_equal(m1, m2)
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[0], first[2])
    assert not np.array_equal(first[0], again)  # each run draws a new mask


def test_dropout_keep_prob_placeholder_trains_then_evaluates():
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.constant(r(50, 40).astype(np.float32))
        keep = tf.placeholder(tf.float32)
        y = tf.nn.dropout(x, keep)
        train, evaluate = sess.run(y, {keep: 0.8}), sess.run(y, {keep: 1.0})
        xv = sess.run(x)
    np.testing.assert_array_equal(evaluate, xv)
    kept = train != 0
    np.testing.assert_allclose(train[kept], xv[kept] / np.float32(0.8), rtol=1e-6)
    assert 0.75 < kept.mean() < 0.85


def test_dropout_gradient_is_the_mask_scaled():
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.placeholder(tf.float32, [100])
        y = tf.nn.dropout(x, keep_prob=0.25)
        [g] = gradients(tf.reduce_sum(y), [x])
        yv, gv = sess.run([y, g], {x: np.ones(100, np.float32)})
    np.testing.assert_array_equal(gv, yv)  # for x = 1 both are 4 where kept, 0 where dropped


# ---------------------------------------------------------------- embeddings on a parameter server
def test_embedding_lookup_reads_each_shard_where_it_lives():
    with tf.Graph().as_default() as g:
        shards = []
        for task in range(2):
            with tf.device(f"/job:ps/task:{task}"):
                shards.append(tf.Variable(np.zeros((3, 2), np.float32), name=f"emb_{task}"))
        with tf.device("/job:worker/task:0"):
            out = tf.nn.embedding_lookup(shards, [0, 5, 2])
    gathers = [op for op in g.get_operations() if op.type == "GatherV2"]
    assert sorted(op.device for op in gathers) == ["/job:ps/task:0", "/job:ps/task:1"]
    assert out.op.device == "/job:worker/task:0"


# ---------------------------------------------------------------- docstring examples
@pytest.mark.parametrize("name", ["tasklayer.ops.nn_extra_ops", "tasklayer.ops.nn_impl", "tasklayer.ops.clip_ops",
                                  "tasklayer.ops.embedding_ops", "tasklayer.metrics", "tasklayer.layers.core",
                                  "tasklayer.layers.normalization"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0, result
