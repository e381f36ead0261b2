"""Source kernels: Const, Placeholder, Fill, ZerosLike, OnesLike, Range, Shape, Size, Rank."""

import math

import numpy as np

from engine import tensor_codec
from engine.errors import InvalidArgumentError
from engine.graph_util import get_attr
from engine.kernels.registry import register_kernel
from engine.kernels.util import check_output_size, int_list, placeholder_message


@register_kernel("Const", "CPU", xp_generic=True)
def const(node, env, xp=np):
    """The ``value`` attr, decoded once (read-only, so a fetched constant cannot be changed in place)."""
    value = tensor_codec.from_proto(node.attr["value"].tensor)
    if xp is not np:
        value = xp.asarray(value)
    return lambda: value


@register_kernel("Placeholder", "CPU")
def placeholder(node, env):
    """Only reached when not fed: an error naming the placeholder."""
    message = placeholder_message(node)

    def placeholder_fn():
        raise InvalidArgumentError(None, None, message, node_name=node.name, op_type=node.op)
    return placeholder_fn


@register_kernel("PlaceholderWithDefault", "CPU", xp_generic=True)
def placeholder_with_default(node, env, xp=np):
    """Its input, when not fed."""
    return lambda x: x


@register_kernel("Fill", "CPU", xp_generic=True)
def fill(node, env, xp=np):
    """A tensor of shape ``dims`` filled with the scalar ``value``."""
    def fill_fn(dims, value):
        shape = int_list(dims)
        if any(d < 0 for d in shape):
            raise InvalidArgumentError(None, None, f"dims must be non-negative, got {shape}")
        if getattr(value, "ndim", 0) != 0:
            raise InvalidArgumentError(None, None, f"value must be a scalar, got shape {list(value.shape)}")
        check_output_size(shape, value.dtype)
        return xp.full(shape, value, dtype=value.dtype)
    return fill_fn


@register_kernel("ZerosLike", "CPU", xp_generic=True)
def zeros_like(node, env, xp=np):
    """Zeros of the input's shape and dtype."""
    return lambda x: xp.zeros_like(x)


@register_kernel("OnesLike", "CPU", xp_generic=True)
def ones_like(node, env, xp=np):
    """Ones of the input's shape and dtype."""
    return lambda x: xp.ones_like(x)


@register_kernel("Range", "CPU", xp_generic=True)
def range_(node, env, xp=np):
    """``[start, start + delta, ...)`` up to ``limit``."""
    dtype = get_attr(node, "Tidx", None)

    def range_fn(start, limit, delta):
        s, l, d = (v.item() if hasattr(v, "item") else v for v in (start, limit, delta))
        if d == 0:
            raise InvalidArgumentError(None, None, "Requires delta != 0")
        if (d > 0 and s > l) or (d < 0 and s < l):
            raise InvalidArgumentError(None, None, f"Requires start <= limit when delta > 0: {s}/{l}"
                                       if d > 0 else f"Requires start >= limit when delta < 0: {s}/{l}")
        out_dtype = dtype.as_numpy_dtype if dtype is not None else np.asarray(start).dtype
        check_output_size([max(0, math.ceil((l - s) / d))], out_dtype)
        return xp.arange(s, l, d).astype(out_dtype, copy=False)
    return range_fn


@register_kernel("Shape", "CPU")
def shape(node, env):
    """The input's shape as a 1-D ``out_type`` tensor."""
    out = get_attr(node, "out_type", None)
    dtype = out.as_numpy_dtype if out is not None else np.int32
    return lambda x: np.array(x.shape, dtype=dtype)


@register_kernel("Size", "CPU")
def size(node, env):
    """The input's element count as a scalar ``out_type`` tensor."""
    out = get_attr(node, "out_type", None)
    dtype = out.as_numpy_dtype if out is not None else np.int32
    return lambda x: np.array(x.size, dtype=dtype)


@register_kernel("Rank", "CPU")
def rank(node, env):
    """The input's rank as a scalar int32 tensor."""
    return lambda x: np.array(x.ndim, dtype=np.int32)
