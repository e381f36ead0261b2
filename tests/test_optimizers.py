"""Optimizers against updates computed by hand in numpy, the global step, slots, and minimize's errors."""

import numpy as np
import pytest

import tasklayer as tf

X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
W0 = np.array([[0.5, -1.0], [2.0, 0.25]])
T = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


def _grad(w):
    """d/dw of sum((X @ w - T)^2) / 2 = X^T (X w - T)."""
    return X.T @ (X @ w - T)


def _run(optimizer, steps=4):
    """Minimize the quadratic with ``optimizer`` (float64 variables); the weights after each step."""
    with tf.Graph().as_default():
        w = tf.Variable(W0, name="w")
        loss = tf.reduce_sum(tf.square(tf.matmul(tf.constant(X), w) - T)) / 2.0
        step = optimizer.minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            out = []
            for _ in range(steps):
                sess.run(step)
                out.append(sess.run(w))
    return out


def _f32(x):
    """A hyper-parameter as TF1 optimizers see it: a float32 tensor cast to the variable's dtype."""
    return float(np.float32(x))


def test_gradient_descent():
    got = _run(tf.train.GradientDescentOptimizer(0.05))
    w = W0.copy()
    for g in got:
        w = w - _f32(0.05) * _grad(w)
        np.testing.assert_allclose(g, w, rtol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum(nesterov):
    got = _run(tf.train.MomentumOptimizer(0.02, momentum=0.9, use_nesterov=nesterov))
    lr, mu = _f32(0.02), _f32(0.9)
    w, accum = W0.copy(), np.zeros_like(W0)
    for g_w in got:
        g = _grad(w)
        accum = accum * mu + g
        w = w - (lr * (g + mu * accum) if nesterov else lr * accum)
        np.testing.assert_allclose(g_w, w, rtol=1e-12)


def test_adam():
    got = _run(tf.train.AdamOptimizer(0.1, beta1=0.8, beta2=0.95, epsilon=1e-6))
    lr, b1, b2, eps = _f32(0.1), _f32(0.8), _f32(0.95), _f32(1e-6)
    w, m, v = W0.copy(), np.zeros_like(W0), np.zeros_like(W0)
    b1p, b2p = np.float32(b1), np.float32(b2)  # TF keeps the beta powers as float32 variables
    for t, g_w in enumerate(got, 1):
        g = _grad(w)
        lr_t = lr * np.sqrt(1 - float(b2p)) / (1 - float(b1p))
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        w = w - lr_t * m / (np.sqrt(v) + eps)
        b1p, b2p = np.float32(b1p * np.float32(b1)), np.float32(b2p * np.float32(b2))
        np.testing.assert_allclose(g_w, w, rtol=1e-10)


def test_training_reduces_the_loss_in_float32():
    with tf.Graph().as_default():
        w = tf.Variable(W0.astype(np.float32), name="w")
        loss = tf.reduce_sum(tf.square(tf.matmul(tf.constant(X, tf.float32), w) - T.astype(np.float32)))
        step = tf.train.AdamOptimizer(0.05).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            first = sess.run(loss)
            for _ in range(100):
                sess.run(step)
            assert sess.run(loss) < first / 5


def test_global_step_and_slots():
    with tf.Graph().as_default():
        with tf.device("/job:ps/task:1"):
            w = tf.Variable([1.0, 2.0], name="w")
        b = tf.Variable(0.5, name="b")
        step = tf.train.get_or_create_global_step()
        opt = tf.train.AdamOptimizer(0.1)
        train = opt.minimize(tf.reduce_sum(w * w) + b * b, global_step=step)
        assert opt.get_slot_names() == ["m", "v"]
        m = opt.get_slot(w, "m")
        assert m.op.name == "w/Adam" and opt.get_slot(w, "v").op.name == "w/Adam_1"
        assert m.device == w.device == "/job:ps/task:1" and not m.trainable
        assert {v.op.name for v in opt.variables()} >= {"w/Adam", "b/Adam", "beta1_power", "beta2_power"}
        assert set(tf.trainable_variables()) == {w, b}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for expected in (1, 2, 3):
                sess.run(train)
                assert sess.run(step) == expected
            assert sess.run(opt._get_non_slot("beta1_power")) == pytest.approx(0.9 ** 4, rel=1e-6)


def test_compute_and_apply_gradients():
    with tf.Graph().as_default():
        w = tf.Variable([1.0, 2.0], name="w")
        unused = tf.Variable([3.0], name="unused")
        opt = tf.train.GradientDescentOptimizer(0.5)
        pairs = opt.compute_gradients(tf.reduce_sum(w * w))
        assert [v for _, v in pairs] == [w, unused] and pairs[1][0] is None
        apply = opt.apply_gradients([(g * 0.5 if g is not None else None, v) for g, v in pairs])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(apply)
            assert sess.run(w).tolist() == [0.5, 1.0] and sess.run(unused).tolist() == [3.0]


def test_minimize_errors_name_the_loss_and_variables():
    with tf.Graph().as_default():
        w = tf.Variable([1.0], name="weights")
        with pytest.raises(ValueError, match=r"weights.*loss.*mul:0"):
            tf.train.GradientDescentOptimizer(0.1).minimize(tf.constant(3.0) * 2.0)
        with pytest.raises(ValueError, match="No variables to optimize"):
            tf.train.GradientDescentOptimizer(0.1).minimize(w * 2.0, var_list=[])
        with pytest.raises(LookupError, match="ArgMax"):
            tf.train.GradientDescentOptimizer(0.1).minimize(tf.cast(tf.argmax(w), tf.float32))
