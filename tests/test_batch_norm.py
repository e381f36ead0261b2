"""Batch normalization: tf.nn.fused_batch_norm's outputs, and tf.layers.batch_normalization's variables, its
UPDATE_OPS and the moving statistics they keep (checked against numpy and TensorFlow's rules: the fused 4-D
path moves towards the Bessel-corrected batch variance, the others towards the population one), ``training``
as a Python bool or a bool tensor, reuse, and gradients through the normalized output."""

import numpy as np
import pytest

import tasklayer as tf
from tasklayer.gradients import gradients
from tests.gradient_check import check_gradients

RNG = np.random.default_rng(5)
X2 = RNG.uniform(-2, 3, (6, 3)).astype(np.float32)
IMG = RNG.uniform(-2, 3, (2, 3, 4, 5)).astype(np.float32)


def _init(sess):
    sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])


def _moving_after(x, axes, momentum, steps, bessel):
    mean, var = x.mean(axes), x.var(axes)
    if bessel:
        n = x.size / mean.size
        var = var * n / (n - 1)
    keep = momentum ** steps  # each step: moving = momentum * moving + (1 - momentum) * batch
    return keep * 0 + (1 - keep) * mean, keep * 1 + (1 - keep) * var


def test_variables_collections_and_update_ops():
    with tf.Graph().as_default():
        y = tf.layers.batch_normalization(tf.placeholder(tf.float32, [None, 3]), training=True, name="bn")
        assert [v.name for v in tf.trainable_variables()] == ["bn/gamma:0", "bn/beta:0"]
        assert [v.name for v in tf.global_variables()] == ["bn/gamma:0", "bn/beta:0", "bn/moving_mean:0",
                                                           "bn/moving_variance:0"]
        updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        assert [t.op.name for t in updates] == ["bn/AssignMovingAvg", "bn/AssignMovingAvg_1"]
        assert y.shape.as_list() == [None, 3]
        tf.layers.batch_normalization(tf.zeros([2, 3]), training=False)  # inference adds no updates
        assert len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == 2
        assert [v.name for v in tf.global_variables()][-1] == "batch_normalization/moving_variance:0"


@pytest.mark.parametrize("x,kwargs,axes,bessel", [
    (X2, {}, (0,), False),
    (IMG, {}, (0, 1, 2), True),                 # fused (4-D, last axis): Bessel-corrected, as TF's fused kernel
    (IMG, {"fused": False}, (0, 1, 2), False),
    (IMG, {"axis": 1}, (0, 2, 3), True),        # NCHW-style channel axis, fused
    (IMG, {"axis": 2}, (0, 1, 3), False),       # an axis the fused kernel cannot take
])
def test_training_moves_the_moving_statistics(x, kwargs, axes, bessel):
    with tf.Graph().as_default(), tf.Session() as sess:
        layer = tf.layers.BatchNormalization(momentum=0.8, **kwargs)
        y = layer(tf.constant(x), training=True)
        update = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        _init(sess)
        out = sess.run(y)
        for _ in range(3):
            sess.run(update)
        mean, var = sess.run([layer.moving_mean, layer.moving_variance])
    want_mean, want_var = _moving_after(x.astype(np.float64), axes, 0.8, 3, bessel)
    np.testing.assert_allclose(mean, want_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var, want_var, rtol=1e-5)
    shape = [1] * x.ndim
    shape[kwargs.get("axis", -1)] = -1
    normalized = (x - x.mean(axes).reshape(shape)) / np.sqrt(x.var(axes).reshape(shape) + 1e-3)
    np.testing.assert_allclose(out, normalized, rtol=1e-4, atol=1e-4)


def test_training_tensor_picks_batch_or_moving_statistics():
    with tf.Graph().as_default(), tf.Session() as sess:
        training = tf.placeholder(tf.bool, [])
        x = tf.placeholder(tf.float32, [None, 3])
        layer = tf.layers.BatchNormalization(momentum=0.5)
        y = layer(x, training=training)
        updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        assert len(updates) == 2
        _init(sess)
        # Not training: the moving statistics (0, 1) normalize and the updates change nothing.
        out, _ = sess.run([y, updates], {x: X2, training: False})
        np.testing.assert_allclose(out, X2 / np.sqrt(1 + 1e-3), rtol=1e-6)
        np.testing.assert_array_equal(sess.run(layer.moving_mean), np.zeros(3, np.float32))
        # Training: the batch's statistics, and the updates move half way.
        out, _ = sess.run([y, updates], {x: X2, training: True})
        np.testing.assert_allclose(out, (X2 - X2.mean(0)) / np.sqrt(X2.var(0) + 1e-3), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(sess.run(layer.moving_mean), X2.mean(0) / 2, rtol=1e-5)


def test_training_tensor_with_the_fused_path():
    with tf.Graph().as_default(), tf.Session() as sess:
        training = tf.placeholder(tf.bool, [])
        layer = tf.layers.BatchNormalization(momentum=0.5, gamma_initializer=tf.constant_initializer(2.0))
        y = layer(tf.constant(IMG), training=training)
        updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        _init(sess)
        np.testing.assert_allclose(sess.run(y, {training: False}), 2 * IMG / np.sqrt(1 + 1e-3), rtol=1e-5)
        sess.run(updates, {training: False})
        np.testing.assert_array_equal(sess.run(layer.moving_variance), np.ones(5, np.float32))
        sess.run(updates, {training: True})
        _, want_var = _moving_after(IMG.astype(np.float64), (0, 1, 2), 0.5, 1, bessel=True)
        np.testing.assert_allclose(sess.run(layer.moving_variance), want_var, rtol=1e-5)


def test_update_ops_under_control_dependencies_train_a_model():
    # The TF1 idiom: the train op waits for the moving-average updates.
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.placeholder(tf.float32, [None, 3])
        h = tf.layers.batch_normalization(tf.layers.dense(x, 4), training=True)
        loss = tf.reduce_mean(tf.square(h - 1.0))
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        _init(sess)
        moving = tf.global_variables()[-2]
        assert moving.name == "batch_normalization/moving_mean:0"
        before = sess.run(moving)
        losses = [sess.run([train, loss], {x: X2})[1] for _ in range(5)]
        assert not np.array_equal(sess.run(moving), before)
        assert losses[-1] < losses[0]


def test_reuse_shares_the_variables():
    with tf.Graph().as_default():
        tf.layers.batch_normalization(tf.zeros([2, 3]), training=True, name="shared")
        tf.layers.batch_normalization(tf.ones([5, 3]), training=False, name="shared", reuse=True)
        assert len(tf.global_variables()) == 4
        with pytest.raises(ValueError, match="already exists"):
            tf.layers.batch_normalization(tf.zeros([2, 3]), name="shared")


def test_options_and_errors():
    with tf.Graph().as_default():
        layer = tf.layers.BatchNormalization(center=False, scale=False)
        layer(tf.zeros([2, 3]), training=True)
        assert layer.gamma is None and layer.beta is None and layer.trainable_variables == []
        half = tf.layers.batch_normalization(tf.zeros([2, 3], tf.float16), training=True)
        assert half.dtype == tf.float16 and tf.global_variables()[-1].dtype == tf.float32
        with pytest.raises(ValueError, match="undefined rank"):
            tf.layers.batch_normalization(tf.placeholder(tf.float32), training=True)
        with pytest.raises(ValueError, match="undefined `axis` dimension"):
            tf.layers.batch_normalization(tf.placeholder(tf.float32, [None, None]))
        with pytest.raises(ValueError, match="fused batch norm only supports"):
            tf.layers.batch_normalization(tf.zeros([2, 3]), fused=True)
        with pytest.raises(NotImplementedError, match="renorm"):
            tf.layers.batch_normalization(tf.zeros([2, 3]), renorm=True)


def test_gradient_through_training_normalization():
    check_gradients(lambda x: tf.layers.batch_normalization(x, training=True, epsilon=1e-2), RNG.uniform(-1, 1, (4, 3)),
                    tol=1e-5)
    check_gradients(lambda x: tf.layers.batch_normalization(x, training=True), RNG.uniform(-1, 1, (2, 2, 2, 3)),
                    tol=1e-5)


def test_gamma_and_beta_get_gradients():
    with tf.Graph().as_default():
        layer = tf.layers.BatchNormalization()
        loss = tf.reduce_sum(layer(tf.constant(IMG), training=True) * tf.constant(IMG))
        grads = gradients(loss, [layer.gamma, layer.beta])
        assert all(g is not None for g in grads)
        assert gradients(loss, [layer.moving_mean])[0] is None


def test_fused_batch_norm_inference_returns_the_given_statistics():
    with tf.Graph().as_default(), tf.Session() as sess:
        mean, variance = np.float32([0, 1, 2, 3, 4]), np.float32([1, 2, 3, 4, 5])
        y, m, v = tf.nn.fused_batch_norm(tf.constant(IMG), tf.ones([5]), tf.zeros([5]), mean=mean, variance=variance,
                                         is_training=False)
        got_y, got_m, got_v = sess.run([y, m, v])
    np.testing.assert_array_equal(got_m, mean)
    np.testing.assert_array_equal(got_v, variance)
    np.testing.assert_allclose(got_y, (IMG - mean) / np.sqrt(variance + 1e-3), rtol=1e-5, atol=1e-6)


def test_fused_batch_norm_shapes_and_errors():
    with tf.Graph().as_default():
        y, m, v = tf.nn.fused_batch_norm(tf.placeholder(tf.float32, [None, 4, 4, 3]), tf.ones([3]), tf.zeros([3]))
        assert y.shape.as_list() == [None, 4, 4, 3] and m.shape.as_list() == v.shape.as_list() == [3]
        with pytest.raises(ValueError, match="rank 4"):
            tf.nn.fused_batch_norm(tf.zeros([2, 3]), tf.ones([3]), tf.zeros([3]))
        with pytest.raises(ValueError, match="one value per channel"):
            tf.nn.fused_batch_norm(tf.zeros([1, 2, 2, 3]), tf.ones([4]), tf.zeros([3]))
        with pytest.raises(TypeError, match="DataType int32"):
            tf.nn.fused_batch_norm(tf.zeros([1, 2, 2, 3], tf.int32), tf.ones([3]), tf.zeros([3]))


def test_fused_batch_norm_with_a_batch_size_known_only_at_run_time():
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.placeholder(tf.float32, [None, 3, 4, 5])
        _, mean, variance = tf.nn.fused_batch_norm(x, tf.ones([5]), tf.zeros([5]))
        got_mean, got_var = sess.run([mean, variance], {x: IMG})
    n = IMG.size / 5
    np.testing.assert_allclose(got_mean, IMG.mean((0, 1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_var, IMG.var((0, 1, 2)) * n / (n - 1), rtol=1e-5)
