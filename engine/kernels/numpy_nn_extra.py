"""Kernels of the rest of tf.nn (numpy; the cupy backend reuses them through ``xp``).

Ops (inputs -> outputs; attrs), TF's names and semantics:
  BiasAdd(value, bias) -> T; data_format ("NHWC": bias on the last axis, "NCHW": on axis 1, rank >= 3)
  BiasAddGrad(out_backprop) -> T; data_format (the sum over every axis but the channel axis)
  Relu6, Elu, Selu, Softplus, Softsign (features) -> T;  LeakyRelu(features) -> T; alpha
  LRN(input) -> T;  LRNGrad(input_grads, input_image, output_image) -> T; depth_radius, bias, alpha, beta
  TopKV2(input, k) -> (values T, indices int32); sorted
  InTopKV2(predictions, targets, k) -> bool
"""

import numpy as np

from engine import dtypes, op_defs
from engine.errors import InvalidArgumentError
from engine.graph_util import get_attr
from engine.kernels.registry import register_kernel
from engine.kernels.util import int_scalar
from engine.op_constants import SELU_ALPHA, SELU_SCALE

for _op in ("BiasAdd", "BiasAddGrad", "Relu6", "Elu", "Selu", "LeakyRelu", "Softplus", "Softsign", "LRN",
            "LRNGrad"):
    op_defs.register_op(_op, "T")
op_defs.register_op("TopKV2", lambda node: [get_attr(node, "T"), dtypes.int32])
op_defs.register_op("InTopKV2", dtypes.bool_)


def _bad(message):
    return InvalidArgumentError(None, None, message)


def channel_axis(data_format, ndim):
    """The axis BiasAdd adds along: 1 for NCHW (rank 3 or more), the last for NHWC."""
    return 1 if data_format == "NCHW" else ndim - 1


def _check_rank(data_format, x):
    least = 3 if data_format == "NCHW" else 2
    if x.ndim < least:
        raise _bad(f"Input tensor must be at least {least}D: {list(x.shape)}")


# ---------------------------------------------------------------- bias
@register_kernel("BiasAdd", "CPU", xp_generic=True)
def bias_add(node, env, xp=np):
    """``value + bias`` broadcast along the channel axis."""
    data_format = get_attr(node, "data_format", "NHWC")

    def bias_add_fn(value, bias):
        _check_rank(data_format, value)
        if bias.ndim != 1:
            raise _bad(f"Biases must be 1D: {list(bias.shape)}")
        axis = channel_axis(data_format, value.ndim)
        if bias.shape[0] != value.shape[axis]:
            raise _bad(f"Must provide as many biases as the channel dimension of the input tensor: "
                       f"{list(bias.shape)} vs. {list(value.shape)}")
        shape = [1] * value.ndim
        shape[axis] = -1
        return value + bias.reshape(shape)
    return bias_add_fn


@register_kernel("BiasAddGrad", "CPU", xp_generic=True)
def bias_add_grad(node, env, xp=np):
    """The bias's gradient: ``out_backprop`` summed over every axis but the channel axis."""
    data_format = get_attr(node, "data_format", "NHWC")

    def bias_add_grad_fn(out_backprop):
        _check_rank(data_format, out_backprop)
        axis = channel_axis(data_format, out_backprop.ndim)
        others = tuple(a for a in range(out_backprop.ndim) if a != axis)
        return xp.sum(out_backprop, axis=others).astype(out_backprop.dtype, copy=False)
    return bias_add_grad_fn


# ---------------------------------------------------------------- activations
def _activation(fn):
    """A kernel factory for an elementwise activation ``fn(xp, x, node)``."""
    def factory(node, env, xp=np):
        def activation_fn(features):
            return fn(xp, features, node)
        return activation_fn
    return factory


def _relu6(xp, x, node):
    return xp.minimum(xp.maximum(x, 0), 6).astype(x.dtype, copy=False)


def _elu(xp, x, node):
    return xp.where(x < 0, xp.expm1(xp.minimum(x, 0)), x)


def _selu(xp, x, node):
    negative = (SELU_SCALE * SELU_ALPHA) * xp.expm1(xp.minimum(x, 0))
    return xp.where(x < 0, negative, SELU_SCALE * x).astype(x.dtype, copy=False)


def _leaky_relu(xp, x, node):
    alpha = float(get_attr(node, "alpha", 0.2))
    return xp.where(x > 0, x, x * alpha).astype(x.dtype, copy=False)


def _softplus(xp, x, node):
    return xp.logaddexp(x, xp.zeros((), x.dtype))  # log(1 + exp(x)) without overflow


def _softsign(xp, x, node):
    return x / (1 + xp.abs(x))


for _op, _fn in (("Relu6", _relu6), ("Elu", _elu), ("Selu", _selu), ("LeakyRelu", _leaky_relu),
                 ("Softplus", _softplus), ("Softsign", _softsign)):
    register_kernel(_op, "CPU", xp_generic=True)(_activation(_fn))


# ---------------------------------------------------------------- local response normalization
def _lrn_attrs(node):
    return (int(get_attr(node, "depth_radius", 5)), float(get_attr(node, "bias", 1.0)),
            float(get_attr(node, "alpha", 1.0)), float(get_attr(node, "beta", 0.5)))


def window_sum(v, radius):
    """``out[..., d] = sum(v[..., d - radius : d + radius + 1])`` over the last axis (clipped at the ends)."""
    out = v.copy()
    for s in range(1, min(radius, v.shape[-1] - 1) + 1):
        out[..., s:] += v[..., :-s]
        out[..., :-s] += v[..., s:]
    return out


def _check_lrn_input(x, radius):
    if x.ndim != 4:
        raise _bad(f"input must be 4-dimensional, got shape {list(x.shape)}")
    if radius < 0:
        raise _bad(f"depth_radius must be non-negative, got {radius}")


@register_kernel("LRN", "CPU", xp_generic=True)
def lrn(node, env, xp=np):
    """``input / (bias + alpha * sum(input ** 2 over 2 * depth_radius + 1 channels)) ** beta``."""
    radius, bias, alpha, beta = _lrn_attrs(node)

    def lrn_fn(x):
        _check_lrn_input(x, radius)
        norm = bias + alpha * window_sum(x * x, radius)
        return (x * norm ** -beta).astype(x.dtype, copy=False)
    return lrn_fn


@register_kernel("LRNGrad", "CPU", xp_generic=True)
def lrn_grad(node, env, xp=np):
    """The input's gradient: ``g * N**-beta - 2 * alpha * beta * x * window_sum(g * y / N)``, N the norm."""
    radius, bias, alpha, beta = _lrn_attrs(node)

    def lrn_grad_fn(grads, x, y):
        _check_lrn_input(x, radius)
        if grads.shape != x.shape or y.shape != x.shape:
            raise _bad(f"LRNGrad: input_grads, input_image and output_image must have the same shape, got "
                       f"{list(grads.shape)}, {list(x.shape)} and {list(y.shape)}")
        norm = bias + alpha * window_sum(x * x, radius)
        dx = grads * norm ** -beta - (2 * alpha * beta) * x * window_sum(grads * y / norm, radius)
        return dx.astype(x.dtype, copy=False)
    return lrn_grad_fn


# ---------------------------------------------------------------- top_k, in_top_k
def descending_order(xp, x):
    """Indices sorting ``x`` along its last axis from largest to smallest, equal values lower index first."""
    n = x.shape[-1]
    kw = {"kind": "stable"} if xp is np else {}  # cupy's sort is always stable
    # A stable ascending sort of the reversed row, reversed back, is a stable descending sort.
    return (n - 1) - xp.flip(xp.argsort(xp.flip(x, axis=-1), axis=-1, **kw), axis=-1)


@register_kernel("TopKV2", "CPU", xp_generic=True)
def top_k(node, env, xp=np):
    """The ``k`` largest entries of the last axis and their int32 indices (ties: the lower index first)."""
    def top_k_fn(x, k):
        k = int_scalar(k)
        if k < 0:
            raise _bad(f"Need k >= 0, got {k}")
        if x.ndim < 1:
            raise _bad(f"input must be >= 1-D, got shape {list(x.shape)}")
        if x.shape[-1] < k:
            raise _bad(f"input must have at least k columns. Had {x.shape[-1]}, needed {k}")
        order = descending_order(xp, x)[..., :k]
        return xp.take_along_axis(x, order, axis=-1), order.astype(np.int32)
    return top_k_fn


@register_kernel("InTopKV2", "CPU", xp_generic=True)
def in_top_k(node, env, xp=np):
    """Whether each row's target class is among its ``k`` largest predictions (ties count as in); False where
    the target is out of range or the row holds a non-finite prediction, as TF says."""
    def in_top_k_fn(predictions, targets, k):
        k = int_scalar(k)
        if predictions.ndim != 2:
            raise _bad(f"predictions must be 2-dimensional, got shape {list(predictions.shape)}")
        if targets.ndim != 1:
            raise _bad(f"targets must be 1-dimensional, got shape {list(targets.shape)}")
        if targets.shape[0] != predictions.shape[0]:
            raise _bad(f"First dimension of predictions {predictions.shape[0]} must match length of targets "
                       f"{targets.shape[0]}")
        classes = predictions.shape[1]
        valid = (targets >= 0) & (targets < classes)
        safe = xp.where(valid, targets, 0).astype(np.int64)
        target_pred = xp.take_along_axis(predictions, safe[:, None], axis=1)
        more = xp.sum(predictions > target_pred, axis=1)
        finite = xp.all(xp.isfinite(predictions), axis=1)
        return valid & finite & (more < k)
    return in_top_k_fn
