"""Shared helpers for the tasklayer tests: evaluate a graph built from fed inputs and check it."""

import numpy as np

import tasklayer as tf


def evaluate(build, *inputs, unknown=False):
    """Build ``build(*placeholders)`` in a fresh graph, run it with ``inputs`` fed, and return the value.

    Also checks the static dtype and shape of every fetched tensor against the value computed. With
    ``unknown`` the placeholders have unknown dims (shape inference must then stay partial).
    """
    inputs = [np.asarray(a) for a in inputs]
    with tf.Graph().as_default():
        phs = [tf.placeholder(tf.as_dtype(a.dtype), [None] * a.ndim if unknown else a.shape) for a in inputs]
        out = build(*phs)
        with tf.Session() as sess:
            value = sess.run(out, feed_dict=dict(zip(phs, inputs)))
    for t, v in zip(out if isinstance(out, list) else [out], value if isinstance(out, list) else [value]):
        v = np.asarray(v)
        assert t.dtype.as_numpy_dtype == v.dtype, (t, v.dtype)
        assert t.shape.is_compatible_with(v.shape), (t, v.shape)
    return value


def rand(shape, dtype=np.float32, low=-3, high=3, rng=None):
    """Random array of ``shape`` (ints in [low, high) for integer dtypes)."""
    rng = rng or np.random.default_rng(0)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(low, high, size=shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return rng.random(shape) < 0.5
    return rng.uniform(low, high, size=shape).astype(dtype)
