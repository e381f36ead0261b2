"""``tf.contrib.layers``' initializers: ``xavier_initializer`` (also ``xavier_initializer_conv2d``) and
``variance_scaling_initializer``, with contrib's own fan rule and its truncated normal's 1.3 factor.

>>> import tasklayer as tf
>>> with tf.Graph().as_default(), tf.Session() as sess:
...     w = sess.run(tf.contrib.layers.xavier_initializer(seed=1)([300, 100]))
...     bool(abs(w).max() <= (6.0 / 400) ** 0.5), round(float(w.var() * 400 / 2), 1)
(True, 1.0)
"""

import math

from tasklayer import dtypes
from tasklayer.ops import random_ops

__all__ = ["xavier_initializer", "xavier_initializer_conv2d", "variance_scaling_initializer"]


def xavier_initializer(uniform=True, seed=None, dtype=dtypes.float32):
    """Glorot's initializer: uniform in ``[-x, x]``, ``x = sqrt(6 / (fan_in + fan_out))``, or (``uniform=False``)
    a truncated normal of that variance."""
    return variance_scaling_initializer(factor=1.0, mode="FAN_AVG", uniform=uniform, seed=seed, dtype=dtype)


xavier_initializer_conv2d = xavier_initializer


def variance_scaling_initializer(factor=2.0, mode="FAN_IN", uniform=False, seed=None, dtype=dtypes.float32):
    """Values of variance ``factor / n``, ``n`` the fan in, the fan out or their mean (``mode`` "FAN_IN",
    "FAN_OUT", "FAN_AVG"): uniform, or a truncated normal of stddev ``sqrt(1.3 * factor / n)`` (the default, He's
    initializer). The fans are the last two dimensions, each times the product of the others (conv kernels)."""
    dtype = dtypes.as_dtype(dtype)
    if not dtype.is_floating:
        raise TypeError("Cannot create initializer for non-floating point type.")
    if mode not in ("FAN_IN", "FAN_OUT", "FAN_AVG"):
        raise TypeError(f"Unknown mode {mode} [FAN_IN, FAN_OUT, FAN_AVG]")

    def _initializer(shape, dtype=dtype, partition_info=None):
        dtype = dtypes.as_dtype(dtype)
        if not dtype.is_floating:
            raise TypeError("Cannot create initializer for non-floating point type.")
        shape = [int(d) for d in shape]
        fan_in = float(shape[-2]) if len(shape) > 1 else float(shape[-1]) if shape else 1.0
        fan_out = float(shape[-1]) if shape else 1.0
        for dim in shape[:-2]:
            fan_in *= dim
            fan_out *= dim
        n = {"FAN_IN": fan_in, "FAN_OUT": fan_out, "FAN_AVG": (fan_in + fan_out) / 2.0}[mode]
        if uniform:
            limit = math.sqrt(3.0 * factor / n)
            return random_ops.random_uniform(shape, -limit, limit, dtype, seed=seed)
        return random_ops.truncated_normal(shape, 0.0, math.sqrt(1.3 * factor / n), dtype, seed=seed)

    return _initializer
