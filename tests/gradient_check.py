"""Gradients checked against numerical differentiation: tf.gradients beside central differences of the same loss."""

import numpy as np

import tasklayer as tf


def central_differences(sess, loss, x, value, feed, eps=1e-6):
    """d(loss)/d(x) at ``value`` by central differences, one element at a time, ``feed`` giving the rest."""
    numeric = np.zeros_like(value)
    for idx in np.ndindex(value.shape):
        for sign in (1, -1):
            shifted = value.copy()
            shifted[idx] += sign * eps
            numeric[idx] += sign * sess.run(loss, {**feed, x: shifted}) / (2 * eps)
    return numeric


def assert_gradients_match(sess, loss, grads, xs, values, feed, eps=1e-6, tol=1e-6):
    """Assert that ``grads`` (of ``loss`` for ``xs``, run with ``feed``) equal central differences at ``values``."""
    symbolic = sess.run(grads, feed)
    for i, (x, value) in enumerate(zip(xs, values)):
        assert symbolic[i].shape == value.shape, f"gradient of input {i}: shape {symbolic[i].shape}"
        np.testing.assert_allclose(symbolic[i], central_differences(sess, loss, x, value, feed, eps),
                                   rtol=tol, atol=tol, err_msg=f"gradient of input {i}")


def check_gradients(build, *arrays, tol=1e-6, eps=1e-6, dtype=np.float64, unknown_rank=False, rng=None):
    """Check tf.gradients of ``sum(build(*xs) * weights)`` against central differences, for every input.

    Each array is fed to a placeholder of ``dtype`` (of unknown rank with ``unknown_rank``); ``build`` returns
    a tensor, a list of them, or ``(tensors, more_feeds)``. Variables it makes are initialized first; the
    weights are random, of each output's shape (as run where it is not known statically).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    arrays = [np.asarray(a, dtype=dtype) for a in arrays]
    with tf.Graph().as_default():
        xs = [tf.placeholder(tf.as_dtype(dtype), None if unknown_rank else a.shape, name=f"x{i}")
              for i, a in enumerate(arrays)]
        built = build(*xs)
        ys, more_feeds = built if isinstance(built, tuple) and isinstance(built[-1], dict) else (built, {})
        ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
        feed = {**dict(zip(xs, arrays)), **more_feeds}
        with tf.Session() as sess:
            sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
            shapes = [y.shape.as_list() if y.shape.is_fully_defined() else np.shape(sess.run(y, feed)) for y in ys]
            loss = tf.add_n([tf.reduce_sum(y * rng.standard_normal(shape)) for y, shape in zip(ys, shapes)])
            grads = tf.gradients(loss, xs)
            assert all(g is not None for g in grads), grads
            assert_gradients_match(sess, loss, grads, xs, arrays, feed, eps, tol)
