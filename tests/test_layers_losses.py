"""tf.layers (dense on any rank, the Dense class), tf.nn's sparse cross-entropy and l2_loss, and tf.losses:
values against numpy, gradients against central differences, shape errors, the LOSSES collection."""

import doctest
import importlib

import numpy as np
import pytest

import tasklayer as tf
from engine.errors import InvalidArgumentError
from tests.gradient_check import assert_gradients_match, check_gradients

RNG = np.random.default_rng(1)


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


def _log_softmax(x):
    shifted = x - x.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


# ---------------------------------------------------------------- tf.layers
def test_dense_applies_the_kernel_to_the_last_axis():
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    known = tf.layers.dense(tf.constant(x), 5, name="known")
    fed = tf.placeholder(tf.float32, [None, None, 4])
    unknown = tf.layers.dense(fed, 5, activation=tf.nn.relu, bias_initializer=tf.ones_initializer(), name="unknown")
    assert known.shape.as_list() == [2, 3, 5] and unknown.shape.as_list() == [None, None, 5]
    kernel_known, _, kernel_unknown, _ = tf.trainable_variables()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got_known, got_unknown, kernel, kernel2 = sess.run([known, unknown, kernel_known, kernel_unknown], {fed: x})
    np.testing.assert_allclose(got_known, np.tensordot(x, kernel, [[2], [0]]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_unknown, np.maximum(np.tensordot(x, kernel2, [[2], [0]]) + 1, 0), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 1, 2, 4)])
@pytest.mark.parametrize("known", [True, False])
def test_dense_gradient_on_rank_above_two_numerically(shape, known):
    # Central differences through the real layer, for its input, its kernel and its bias (variables are fed).
    x = RNG.standard_normal(shape)
    t = tf.placeholder(tf.float64, shape if known else [None] * (len(shape) - 1) + [4])
    y = tf.layers.dense(t, 3, kernel_initializer=tf.constant_initializer(RNG.standard_normal((4, 3))),
                        bias_initializer=tf.constant_initializer([0.1, -0.2, 0.3]), activation=tf.tanh)
    loss = tf.reduce_sum(y * RNG.standard_normal(shape[:-1] + (3,)))
    kernel, bias = tf.trainable_variables()
    xs = [t, kernel, bias]
    grads = tf.gradients(loss, xs)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        values = [x] + sess.run([kernel, bias])
        assert_gradients_match(sess, loss, grads, xs, values, dict(zip(xs, values)))


def test_dense_minimizes_on_rank_three():
    x = RNG.standard_normal((4, 2, 3)).astype(np.float32)
    target = np.tensordot(x, np.array([[1.0], [-2.0], [0.5]], np.float32), [[2], [0]])
    y = tf.layers.dense(tf.constant(x), 1)
    loss = tf.reduce_mean(tf.square(y - target))
    step = tf.train.GradientDescentOptimizer(0.2).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss)
        for _ in range(200):
            sess.run(step)
        assert sess.run(loss) < first * 1e-3


def test_dense_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="rank at least 2"):
        tf.layers.dense(tf.constant([1.0, 2.0]), 3)
    with pytest.raises(ValueError, match="last dimension"):
        tf.layers.dense(tf.placeholder(tf.float32, [None, 2, None]), 3)
    with pytest.raises(ValueError, match="last dimension"):
        tf.layers.dense(tf.placeholder(tf.float32), 3)
    with pytest.raises(ValueError, match="units must be positive"):
        tf.layers.Dense(0)


def test_dense_class_builds_once_and_shares_its_variables():
    layer = tf.layers.Dense(3, activation=tf.tanh)
    assert not layer.built and layer.kernel is None and layer.trainable_variables == []
    y1 = layer(tf.placeholder(tf.float32, [None, 4]))
    y2 = layer.apply(tf.ones([2, 5, 4]))
    assert layer.built and layer.name == "dense"
    assert (layer.kernel.name, layer.bias.name) == ("dense/kernel:0", "dense/bias:0")
    assert layer.trainable_variables == [layer.kernel, layer.bias] == tf.trainable_variables()
    assert layer.trainable_weights == layer.variables == layer.weights == layer.trainable_variables
    assert y1.shape.as_list() == [None, 3] and y2.shape.as_list() == [2, 5, 3]
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 4"):
        layer(tf.ones([2, 6]))
    second = tf.layers.Dense(2, use_bias=False, trainable=False)
    second(y1)
    assert second.name == "dense_1" and second.bias is None and second.trainable_variables == []
    assert second.variables == [second.kernel] and second.kernel not in tf.trainable_variables()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        kernel, bias, got = sess.run([layer.kernel, layer.bias, y2])
    np.testing.assert_allclose(got, np.tanh(np.ones((2, 5, 4)) @ kernel + bias), rtol=1e-5, atol=1e-6)


def test_dense_function_reuse():
    x = tf.ones([2, 4])
    a = tf.layers.dense(x, 3, name="shared")
    b = tf.layers.dense(x, 3, name="shared", reuse=True)
    with pytest.raises(ValueError, match="already exists"):
        tf.layers.dense(x, 3, name="shared")
    assert len(tf.trainable_variables()) == 2
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        va, vb = sess.run([a, b])
    np.testing.assert_array_equal(va, vb)


# ---------------------------------------------------------------- tf.nn
@pytest.mark.parametrize("label_dtype", [tf.int32, tf.int64])
def test_sparse_softmax_cross_entropy_with_logits(label_dtype):
    logits = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    labels = RNG.integers(0, 4, (2, 3))
    fed_labels = tf.placeholder(label_dtype, [None, 3])
    fed_logits = tf.placeholder(tf.float32, [None, 3, 4])
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=fed_labels, logits=fed_logits)
    flat = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels[0], logits=logits[0])
    assert loss.shape.as_list() == [None, 3] and loss.dtype == tf.float32 and flat.shape.as_list() == [3]
    want = -np.take_along_axis(_log_softmax(logits.astype(np.float64)), labels[..., None], -1)[..., 0]
    with tf.Session() as sess:
        got, got_flat = sess.run([loss, flat], {fed_labels: labels, fed_logits: logits})
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(got_flat, want[0], rtol=1e-5)


def test_sparse_softmax_cross_entropy_refusals():
    logits = tf.zeros([2, 3])
    with pytest.raises(ValueError, match="Only call"):
        tf.nn.sparse_softmax_cross_entropy_with_logits([0, 1], logits)
    with pytest.raises(ValueError, match="Rank mismatch"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[[0, 1]], logits=logits)
    with pytest.raises(ValueError, match="Shape mismatch"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 1, 2], logits=logits)
    with pytest.raises(TypeError, match="labels"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0.0, 1.0], logits=logits)
    fed = tf.placeholder(tf.int32, [2])
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=fed, logits=logits)
    with tf.Session() as sess:
        with pytest.raises(InvalidArgumentError, match=r"label value of 3 which is outside the valid range of \[0, 3"):
            sess.run(loss, {fed: [0, 3]})
        with pytest.raises(InvalidArgumentError, match="label value of -1"):
            sess.run(loss, {fed: [-1, 0]})


def test_sparse_cross_entropy_matches_the_dense_one_and_its_gradient():
    logits = RNG.standard_normal((3, 4))
    labels = np.array([3, 0, 2])
    t = tf.constant(logits)
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=t)
    dense = tf.nn.softmax_cross_entropy_with_logits(labels=np.eye(4)[labels], logits=t)
    [g_sparse] = tf.gradients(sparse, [t])
    [g_dense] = tf.gradients(dense, [t])
    with tf.Session() as sess:
        values = sess.run([sparse, dense, g_sparse, g_dense])
    np.testing.assert_allclose(values[0], values[1], rtol=1e-12)
    np.testing.assert_allclose(values[2], values[3], rtol=1e-12)


def test_l2_loss():
    x = RNG.standard_normal((3, 2))
    loss = tf.nn.l2_loss(tf.constant(x))
    assert loss.shape.as_list() == [] and loss.dtype == tf.float64
    with tf.Session() as sess:
        assert sess.run(loss) == pytest.approx((x ** 2).sum() / 2)
    with pytest.raises(TypeError):
        tf.nn.l2_loss(tf.constant([1, 2]))


# ---------------------------------------------------------------- tf.losses
def test_losses_default_to_the_mean_and_join_the_collection():
    logits = RNG.standard_normal((4, 3)).astype(np.float32)
    labels = np.array([0, 2, 1, 1])
    onehot = np.eye(3, dtype=np.float32)[labels]
    dense = tf.losses.softmax_cross_entropy(onehot, logits)
    sparse = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    column = tf.losses.sparse_softmax_cross_entropy(labels[:, None], logits)  # [batch, 1] labels as in TF1
    preds, target = RNG.standard_normal((4, 2)), RNG.standard_normal((4, 2))
    mse = tf.losses.mean_squared_error(target, preds)
    assert tf.get_collection(tf.GraphKeys.LOSSES) == tf.losses.get_losses() == [dense, sparse, column, mse]
    assert all(t.shape.as_list() == [] for t in (dense, sparse, column, mse))
    assert dense.dtype == tf.float32 and mse.dtype == tf.float64
    xent = -_log_softmax(logits.astype(np.float64))[np.arange(4), labels]
    with tf.Session() as sess:
        got = sess.run([dense, sparse, column, mse])
    np.testing.assert_allclose(got[:3], [xent.mean()] * 3, rtol=1e-5)
    assert got[3] == pytest.approx(((preds - target) ** 2).mean())


def test_weights_and_reductions():
    losses = np.array([[1.0, 2.0], [3.0, 4.0]])
    weights = np.array([[0.0, 2.0], [1.0, 0.5]])
    R = tf.losses.Reduction
    want = {R.NONE: losses * weights, R.SUM: 9.0, R.MEAN: 9.0 / 3.5, R.SUM_OVER_BATCH_SIZE: 9.0 / 4,
            R.SUM_BY_NONZERO_WEIGHTS: 9.0 / 3}
    got = {r: tf.losses.compute_weighted_loss(losses, weights, reduction=r) for r in want}
    zero = tf.losses.compute_weighted_loss(losses, 0.0, loss_collection=None)
    column = tf.losses.compute_weighted_loss(losses, [[2.0], [0.0]])  # broadcast along the last axis
    assert tf.losses.get_losses() == [got[r] for r in want] + [column]
    with pytest.raises(ValueError, match="Invalid Reduction"):
        tf.losses.compute_weighted_loss(losses, reduction="average")
    with pytest.raises(ValueError, match="can not be broadcast"):
        tf.losses.compute_weighted_loss(losses, [[1.0, 2.0, 3.0]])
    with tf.Session() as sess:
        values = sess.run(got)
        assert sess.run(zero) == 0.0 and sess.run(column) == pytest.approx(6.0 / 2)
    for r, expected in want.items():
        np.testing.assert_allclose(values[r], expected, rtol=1e-12, err_msg=r)


def test_label_smoothing():
    logits = RNG.standard_normal((2, 3))
    onehot = np.eye(3)[[2, 0]]
    loss = tf.losses.softmax_cross_entropy(onehot, logits, label_smoothing=0.3)
    smoothed = onehot * 0.7 + 0.1
    with tf.Session() as sess:
        assert sess.run(loss) == pytest.approx(-(smoothed * _log_softmax(logits)).sum(-1).mean())


def test_total_loss_adds_the_regularization_losses():
    with pytest.raises(ValueError, match="no losses"):
        tf.losses.get_total_loss()
    w = tf.get_variable("w", [2], initializer=tf.ones_initializer(), regularizer=lambda v: tf.nn.l2_loss(v) * 0.1)
    mse = tf.losses.mean_squared_error([0.0, 0.0], w * 2.0)
    total = tf.losses.get_total_loss()
    assert tf.losses.get_regularization_losses() != [] and total.op.name == "total_loss"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(total) == pytest.approx(4.0 + 0.1)
        assert sess.run(tf.losses.get_total_loss(add_regularization_losses=False)) == pytest.approx(4.0)
        assert sess.run(tf.losses.get_regularization_loss()) == pytest.approx(0.1)
        assert sess.run(mse) == pytest.approx(4.0)


@pytest.mark.parametrize("case", ["softmax", "sparse", "mse", "weighted_mean"])
def test_loss_gradients_numerically(case):
    labels = np.array([2, 0, 1])
    weights = np.array([1.0, 0.0, 2.5])
    build = {
        "softmax": lambda x: tf.losses.softmax_cross_entropy(np.eye(3)[labels], x, weights=weights),
        "sparse": lambda x: tf.losses.sparse_softmax_cross_entropy(labels, x),
        "mse": lambda x: tf.losses.mean_squared_error(tf.constant(RNG.standard_normal((3, 3))), x),
        "weighted_mean": lambda x: tf.losses.compute_weighted_loss(x, weights[:, None],
                                                                   reduction=tf.losses.Reduction.MEAN),
    }[case]
    check_gradients(build, RNG.standard_normal((3, 3)))


def test_a_loss_trains_a_dense_layer():
    x = RNG.standard_normal((32, 2)).astype(np.float32)
    labels = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    logits = tf.layers.Dense(2)(tf.constant(x))
    tf.losses.sparse_softmax_cross_entropy(labels, logits)
    step = tf.train.GradientDescentOptimizer(1.0).minimize(tf.losses.get_total_loss())
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(100):
            sess.run(step)
        assert sess.run(accuracy) >= 0.9


@pytest.mark.parametrize("name", ["tasklayer.losses", "tasklayer.layers", "tasklayer.layers.core", "tasklayer.ops.nn_ops"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
