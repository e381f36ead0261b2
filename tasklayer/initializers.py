"""Variable initializers (TF1's ``tf.zeros_initializer()`` ... and the ``tf.initializers`` namespace), with the
class names ``tf.keras.initializers`` uses (``VarianceScaling``, ``GlorotNormal``...).

An initializer is called as ``init(shape, dtype=None, partition_info=None)`` and returns a Tensor. The
variance-scaling family follows TF 1.15: fans from the shape (a partitioned variable's full shape), and a
"normal" draw is a truncated normal whose stddev is divided by 0.87962566 (the stddev of a unit normal cut at
two standard deviations), so the values keep the variance asked for.

>>> import tasklayer as tf
>>> with tf.Graph().as_default(), tf.Session() as sess:
...     sess.run(tf.constant_initializer(2.0)([2], tf.float32)).tolist()
[2.0, 2.0]
"""

import inspect
import math

import numpy as np

from tasklayer import dtypes
from tasklayer.graph import GraphKeys, get_default_graph
from tasklayer.ops import array_ops, constant_op, control_flow_ops, linalg_ops, math_ops, random_ops, reduction_ops

# scipy.stats.truncnorm.std(a=-2, b=2, loc=0., scale=1.): the stddev a two-sigma truncated unit normal keeps.
TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


class Initializer:
    """Base class: ``__call__(shape, dtype=None, partition_info=None) -> Tensor``; ``get_config()`` gives the
    constructor's arguments and ``from_config(config)`` rebuilds one from them."""

    dtype = dtypes.float32

    def __call__(self, shape, dtype=None, partition_info=None):
        raise NotImplementedError

    def get_config(self):
        """The constructor arguments as a dict (dtypes by name)."""
        config = {}
        for name in inspect.signature(type(self).__init__).parameters:
            if name != "self" and hasattr(self, name):
                value = getattr(self, name)
                config[name] = value.name if isinstance(value, dtypes.DType) else value
        return config

    @classmethod
    def from_config(cls, config):
        """An initializer built from ``get_config()``'s dict."""
        return cls(**config)

    def _dtype(self, dtype):
        return dtypes.as_dtype(dtype if dtype is not None else self.dtype)


def _float_dtype(dtype):
    """``dtype`` as a DType; ValueError unless it is a floating-point type (TF's ``_assert_float_dtype``)."""
    dtype = dtypes.as_dtype(dtype)
    if not dtype.is_floating:
        raise ValueError(f"Expected floating point type, got {dtype}.")
    return dtype


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
        self.mean, self.stddev, self.seed, self.dtype = mean, stddev, seed, _float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_ops.random_normal(_shape_arg(shape), self.mean, self.stddev, self._dtype(dtype), seed=self.seed)


class TruncatedNormal(Initializer):
    """Normal samples with ``mean`` and ``stddev``, those beyond two stddevs drawn again.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     v = sess.run(tf.truncated_normal_initializer(stddev=0.1, seed=1)([1000]))
    ...     bool(abs(v).max() <= 0.2)
    True
    """

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dtypes.float32):
        self.mean, self.stddev, self.seed, self.dtype = mean, stddev, seed, _float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_ops.truncated_normal(_shape_arg(shape), self.mean, self.stddev, self._dtype(dtype),
                                           seed=self.seed)


class RandomUniform(Initializer):
    """Uniform samples in ``[minval, maxval)``."""

    def __init__(self, minval=0.0, maxval=None, seed=None, dtype=dtypes.float32):
        self.minval, self.maxval, self.seed, self.dtype = minval, maxval, seed, dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = self._dtype(dtype)
        maxval = 1.0 if self.maxval is None and dtype.is_floating else self.maxval
        return random_ops.random_uniform(_shape_arg(shape), self.minval, maxval, dtype, seed=self.seed)


class UniformUnitScaling(Initializer):
    """TF1's deprecated uniform in ``[-m, m]``, ``m = factor * sqrt(3 / input_size)`` (all dims but the last)."""

    def __init__(self, factor=1.0, seed=None, dtype=dtypes.float32):
        self.factor, self.seed, self.dtype = factor, seed, _float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        input_size = max(float(np.prod(_scale_shape(shape, partition_info)[:-1])), 1.0)
        limit = math.sqrt(3 / input_size) * self.factor
        return random_ops.random_uniform(_shape_arg(shape), -limit, limit, self._dtype(dtype), seed=self.seed)


class VarianceScaling(Initializer):
    """Samples whose variance is ``scale / n``, ``n`` the fan in, the fan out or their mean (``mode``), drawn
    from a truncated normal (``"truncated_normal"``, or TF1's ``"normal"``), a plain normal
    (``"untruncated_normal"``) or a uniform in ``[-sqrt(3 * scale / n), sqrt(3 * scale / n)]``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     init = tf.variance_scaling_initializer(2.0, mode="fan_in", distribution="uniform", seed=1)
    ...     v = sess.run(init([200, 100]))
    ...     bool(abs(v).max() <= (3 * 2.0 / 200) ** 0.5), round(float(v.var() * 200 / 2.0), 1)
    (True, 1.0)
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 dtype=dtypes.float32):
        if scale <= 0.0:
            raise ValueError("`scale` must be positive float.")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode!r} (use 'fan_in', 'fan_out' or 'fan_avg')")
        distribution = distribution.lower()
        if distribution not in ("normal", "uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"Invalid `distribution` argument: {distribution!r} (use 'truncated_normal', "
                             "'untruncated_normal', 'normal' or 'uniform')")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed
        self.dtype = _float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = _float_dtype(self._dtype(dtype))
        fan_in, fan_out = compute_fans(_scale_shape(shape, partition_info))
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        shape_arg = _shape_arg(shape)
        if self.distribution in ("normal", "truncated_normal"):
            stddev = math.sqrt(scale) / TRUNCATED_NORMAL_STDDEV
            return random_ops.truncated_normal(shape_arg, 0.0, stddev, dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return random_ops.random_normal(shape_arg, 0.0, math.sqrt(scale), dtype, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return random_ops.random_uniform(shape_arg, -limit, limit, dtype, seed=self.seed)


class GlorotUniform(VarianceScaling):
    """Uniform in ``[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))`` (TF1's default for floats)."""

    def __init__(self, seed=None, dtype=dtypes.float32):
        super().__init__(1.0, "fan_avg", "uniform", seed, dtype)


class GlorotNormal(VarianceScaling):
    """Truncated normal with stddev ``sqrt(2 / (fan_in + fan_out))`` (after TF's truncation correction)."""

    def __init__(self, seed=None, dtype=dtypes.float32):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, dtype)


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain``: the Q of a random normal matrix's QR decomposition, signs fixed
    by R's diagonal; shapes of rank > 2 are flattened to ``[prod(shape[:-1]), shape[-1]]``.

    >>> import numpy as np
    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     w = sess.run(tf.orthogonal_initializer(seed=1)([4, 3]))
    ...     bool(np.allclose(w.T @ w, np.eye(3), atol=1e-5))
    True
    """

    def __init__(self, gain=1.0, seed=None, dtype=dtypes.float32):
        self.gain, self.seed, self.dtype = gain, seed, _float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = _float_dtype(self._dtype(dtype))
        dims = _dims(shape)
        if len(dims) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional")
        rows, cols = int(np.prod(dims[:-1])), dims[-1]
        flat = (cols, rows) if rows < cols else (rows, cols)
        a = random_ops.random_normal(np.array(flat, np.int32), dtype=dtype, seed=self.seed)
        q, r = linalg_ops.qr(a, full_matrices=False)
        k = min(flat)
        diag = reduction_ops.reduce_sum(r * constant_op.constant(np.eye(k), dtype=dtype), axis=0)
        q = q * math_ops.sign(diag)  # makes the distribution uniform over orthogonal matrices
        if rows < cols:
            q = array_ops.transpose(q)
        return math_ops.multiply(array_ops.reshape(q, dims), constant_op.constant(self.gain, dtype=dtype))


class Identity(Initializer):
    """The identity matrix times ``gain`` (2-D shapes only)."""

    def __init__(self, gain=1.0, dtype=dtypes.float32):
        self.gain, self.dtype = gain, _float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dims = _scale_shape(shape, partition_info)
        if len(dims) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices.")
        full = np.eye(*dims) * self.gain
        if partition_info is not None:  # this partition's rows/columns of the full identity
            offsets = list(partition_info.var_offset)
            part = _dims(shape)
            full = full[offsets[0]:offsets[0] + part[0], offsets[1]:offsets[1] + part[1]]
        return constant_op.constant(full, dtype=self._dtype(dtype))


def he_normal(seed=None):
    """He et al.: truncated normal with variance ``2 / fan_in``."""
    return VarianceScaling(2.0, "fan_in", "truncated_normal", seed)


def he_uniform(seed=None):
    """He et al.: uniform with variance ``2 / fan_in``."""
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


def lecun_normal(seed=None):
    """LeCun: truncated normal with variance ``1 / fan_in``."""
    return VarianceScaling(1.0, "fan_in", "truncated_normal", seed)


def lecun_uniform(seed=None):
    """LeCun: uniform with variance ``1 / fan_in``."""
    return VarianceScaling(1.0, "fan_in", "uniform", seed)


def compute_fans(shape):
    """``(fan_in, fan_out)`` of a weight shape, as TF computes them (conv kernels: receptive field times)."""
    shape = list(shape)
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive = 1
    for d in shape[:-2]:
        receptive *= d
    return int(shape[-2] * receptive), int(shape[-1] * receptive)


def _dims(shape):
    dims = list(getattr(shape, "as_list", lambda: shape)())
    if any(d is None for d in dims):
        raise ValueError(f"an initializer needs a fully defined shape, got {dims}")
    return [int(d) for d in dims]


def _scale_shape(shape, partition_info):
    """The shape the fans come from: the whole variable's when this is one partition of it."""
    return _dims(partition_info.full_shape if partition_info is not None else shape)


def _shape_arg(shape):
    """The shape as an int32 array (a plain ``[]`` would otherwise become a float tensor)."""
    return np.array(_dims(shape), dtype=np.int32)


# TF1's function-style names (``tf.zeros_initializer()``), ``tf.initializers.*`` and the Keras spellings.
zeros_initializer = zeros = Zeros
ones_initializer = ones = Ones
constant_initializer = constant = Constant
random_normal_initializer = random_normal = RandomNormal
truncated_normal_initializer = truncated_normal = TruncatedNormal
random_uniform_initializer = random_uniform = RandomUniform
uniform_unit_scaling_initializer = uniform_unit_scaling = UniformUnitScaling
variance_scaling_initializer = variance_scaling = VarianceScaling
glorot_uniform_initializer = glorot_uniform = GlorotUniform
glorot_normal_initializer = glorot_normal = GlorotNormal
orthogonal_initializer = orthogonal = Orthogonal
identity_initializer = identity = Identity


def variables(var_list, name="init"):
    """``tf.initializers.variables(var_list)``: one op running the initializers of ``var_list`` (a NoOp when it
    is empty)."""
    var_list = list(var_list)
    if not var_list:
        return control_flow_ops.no_op(name=name)
    return control_flow_ops.group(*[v.initializer for v in var_list], name=name)


def global_variables():
    """``tf.initializers.global_variables()``: the op initializing every global variable."""
    return variables(get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES), name="init")


def local_variables():
    """``tf.initializers.local_variables()``: the op initializing every local variable."""
    return variables(get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES), name="init")
