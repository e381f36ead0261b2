"""Variable initializers (TF1's ``tf.zeros_initializer()`` ... and the ``tf.initializers`` namespace).

An initializer is called as ``init(shape, dtype=None, partition_info=None)`` and returns a Tensor.

>>> import tasklayer as tf
>>> with tf.Graph().as_default(), tf.Session() as sess:
...     sess.run(tf.constant_initializer(2.0)([2], tf.float32)).tolist()
[2.0, 2.0]
"""

import math

import numpy as np

from tasklayer import dtypes
from tasklayer.ops import array_ops, constant_op, random_ops


class Initializer:
    """Base class: ``__call__(shape, dtype=None, partition_info=None) -> Tensor``."""

    dtype = dtypes.float32

    def __call__(self, shape, dtype=None, partition_info=None):
        raise NotImplementedError

    def _dtype(self, dtype):
        return dtypes.as_dtype(dtype if dtype is not None else self.dtype)


class Zeros(Initializer):
    """All zeros."""

    def __init__(self, dtype=dtypes.float32):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return array_ops.zeros(_shape_arg(shape), self._dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __init__(self, dtype=dtypes.float32):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return array_ops.ones(_shape_arg(shape), self._dtype(dtype))


class Constant(Initializer):
    """A constant ``value`` (a scalar is broadcast; a list must have as many values as the shape)."""

    def __init__(self, value=0, dtype=dtypes.float32, verify_shape=False):
        self.value, self.dtype, self.verify_shape = value, dtypes.as_dtype(dtype), verify_shape

    def __call__(self, shape, dtype=None, partition_info=None):
        return constant_op.constant(self.value, dtype=self._dtype(dtype), shape=_dims(shape),
                                    verify_shape=self.verify_shape)


class RandomNormal(Initializer):
    """Normal samples with ``mean`` and ``stddev``."""

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dtypes.float32):
        self.mean, self.stddev, self.seed, self.dtype = mean, stddev, seed, dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_ops.random_normal(_shape_arg(shape), self.mean, self.stddev, self._dtype(dtype), seed=self.seed)


class RandomUniform(Initializer):
    """Uniform samples in ``[minval, maxval)``."""

    def __init__(self, minval=0.0, maxval=None, seed=None, dtype=dtypes.float32):
        self.minval, self.maxval, self.seed, self.dtype = minval, maxval, seed, dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        maxval = 1.0 if self.maxval is None else self.maxval
        return random_ops.random_uniform(_shape_arg(shape), self.minval, maxval, self._dtype(dtype), seed=self.seed)


class GlorotUniform(Initializer):
    """Uniform in ``[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))`` (TF1's default for floats)."""

    def __init__(self, seed=None, dtype=dtypes.float32):
        self.seed, self.dtype = seed, dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dims = _dims(shape)
        fan_in, fan_out = compute_fans(dims)
        limit = math.sqrt(6.0 / max(1.0, fan_in + fan_out))
        return random_ops.random_uniform(_shape_arg(dims), -limit, limit, self._dtype(dtype), seed=self.seed)


def compute_fans(shape):
    """``(fan_in, fan_out)`` of a weight shape, as TF computes them (conv kernels: receptive field times)."""
    shape = list(shape)
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = 1
    for d in shape[:-2]:
        receptive *= d
    return shape[-2] * receptive, shape[-1] * receptive


def _dims(shape):
    dims = list(getattr(shape, "as_list", lambda: shape)())
    if any(d is None for d in dims):
        raise ValueError(f"an initializer needs a fully defined shape, got {dims}")
    return [int(d) for d in dims]


def _shape_arg(shape):
    """The shape as an int32 array (a plain ``[]`` would otherwise become a float tensor)."""
    return np.array(_dims(shape), dtype=np.int32)


# TF1's function-style names (``tf.zeros_initializer()``) and ``tf.initializers.*``.
zeros_initializer = zeros = Zeros
ones_initializer = ones = Ones
constant_initializer = constant = Constant
random_normal_initializer = random_normal = RandomNormal
random_uniform_initializer = random_uniform = RandomUniform
glorot_uniform_initializer = glorot_uniform = GlorotUniform


def global_variables():
    """``tf.initializers.global_variables()``: the op initializing every global variable."""
    from tasklayer import variables
    return variables.global_variables_initializer()


def variables(var_list, name="init"):
    """``tf.initializers.variables(var_list)``: the op initializing ``var_list``."""
    from tasklayer import variables as variables_lib
    return variables_lib.variables_initializer(var_list, name)
