"""Kernels the gradient rules need beyond the forward catalog (TF's op names and semantics):
BroadcastGradientArgs, StridedSliceGrad, Pad, UnsortedSegmentSum."""

import numpy as np

from engine import dtypes, op_defs
from engine.errors import InvalidArgumentError
from engine.graph_util import get_attr
from engine.kernels.numpy_shapes import strided_slice_index
from engine.kernels.registry import register_kernel
from engine.kernels.util import broadcast_gradient_args, int_list, int_scalar

op_defs.register_op("BroadcastGradientArgs", lambda node: [get_attr(node, "T", dtypes.int32)] * 2)
op_defs.register_op("StridedSliceGrad", "T")
op_defs.register_op("Pad", "T")
op_defs.register_op("UnsortedSegmentSum", "T")

_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


@register_kernel("BroadcastGradientArgs", "CPU")
def broadcast_gradient_args_kernel(node, env):
    """``(r0, r1)``: reduction axes for the gradients of two operands broadcast together."""
    out_type = np.dtype(get_attr(node, "T", dtypes.int32).as_numpy_dtype)

    def fn(s0, s1):
        r0, r1 = broadcast_gradient_args(int_list(s0), int_list(s1))
        return np.array(r0, dtype=out_type), np.array(r1, dtype=out_type)
    return fn


@register_kernel("StridedSliceGrad", "CPU")
def strided_slice_grad(node, env):
    """Zeros of ``shape`` with ``dy`` written where ``StridedSlice(begin, end, strides)`` took its values."""
    masks = {k: int(get_attr(node, k, 0)) for k in _MASKS}

    def fn(shape, begin, end, strides, dy):
        out = np.zeros(int_list(shape), dtype=dy.dtype)
        index = strided_slice_index(int_list(begin), int_list(end), int_list(strides), **masks)
        out[index] = dy
        return out
    return fn


@register_kernel("Pad", "CPU")
def pad(node, env):
    """Zero padding: ``paddings[i] = [before, after]`` for dim i."""
    def fn(x, paddings):
        p = np.asarray(paddings).reshape(-1, 2).tolist()
        if len(p) != x.ndim or any(a < 0 or b < 0 for a, b in p):
            raise InvalidArgumentError(None, None, f"paddings must be non-negative with shape [{x.ndim}, 2], "
                                                   f"got {p}")
        return np.pad(x, p)
    return fn


@register_kernel("UnsortedSegmentSum", "CPU")
def unsorted_segment_sum(node, env):
    """``out[i] = sum of data[j] where segment_ids[j] == i`` (ids may repeat, any order)."""
    def fn(data, segment_ids, num_segments):
        n = int_scalar(num_segments)
        ids = np.asarray(segment_ids)
        if ids.size and (ids.min() < 0 or ids.max() >= n):
            raise InvalidArgumentError(None, None, f"segment_ids must be in [0, {n}), got {ids.min()}..{ids.max()}")
        out = np.zeros((n,) + data.shape[ids.ndim:], dtype=data.dtype)
        np.add.at(out, ids, data)
        return out
    return fn
