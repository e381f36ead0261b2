"""Gradient rules of the shape and slicing ops, Select, BroadcastTo and Fill."""

import numpy as np

from tasklayer import dtypes
from tasklayer.grad_rules import _ops, register_gradient
from tasklayer.grad_rules._util import shape_tensor, static_shape, unbroadcast
from tasklayer.ops import array_ops as A
from tasklayer.ops import math_ops as M
from tasklayer.ops import reduction_ops as R
from tasklayer.ops import slicing_ops as S
from tasklayer.ops import static_value
from tasklayer.ops.constant_op import constant


def _like_input(grad, x):
    """``grad`` reshaped to ``x``'s shape."""
    return A.reshape(grad, shape_tensor(x))


@register_gradient("Reshape")
def _reshape_grad(op, grad):
    return [_like_input(grad, op.inputs[0]), None]


@register_gradient("ExpandDims")
def _expand_dims_grad(op, grad):
    return [_like_input(grad, op.inputs[0]), None]


@register_gradient("Squeeze")
def _squeeze_grad(op, grad):
    return [_like_input(grad, op.inputs[0])]


def _static(op, tensor, what):
    value = static_value.constant_ints(tensor)
    if value is None:
        raise ValueError(f"gradient of {op.type} '{op.name}' needs a constant {what}")
    return list(value)


@register_gradient("Transpose")
def _transpose_grad(op, grad):
    perm = _static(op, op.inputs[1], "perm")
    return [A.transpose(grad, np.argsort(perm).astype(np.int32)), None]


@register_gradient("Tile")
def _tile_grad(op, grad):
    # Split each dim d into (multiple, d) and sum over the multiples.
    x, multiples = op.inputs
    rank = x.shape.ndims
    if rank is None:
        raise ValueError(f"gradient of Tile '{op.name}' needs the input's rank")
    if rank == 0:
        return [grad, None]
    split_shape = A.reshape(A.transpose(A.stack([M.cast(multiples, dtypes.int32), A.shape(x)])), [-1])
    summed = R.reduce_sum(A.reshape(grad, split_shape), list(range(0, 2 * rank, 2)))
    return [_like_input(summed, x), None]


@register_gradient("BroadcastTo")
def _broadcast_to_grad(op, grad):
    x = op.inputs[0]
    return [unbroadcast(grad, x, op.outputs[0]), None]


@register_gradient("Fill")
def _fill_grad(op, grad):
    return [None, R.reduce_sum(grad)]


@register_gradient("Slice")
def _slice_grad(op, grad):
    x, begin, _ = op.inputs
    rank = x.shape.ndims
    if rank is None:
        raise ValueError(f"gradient of Slice '{op.name}' needs the input's rank")
    x_shape = A.shape(x, out_type=begin.dtype)
    after = x_shape - begin - A.shape(grad, out_type=begin.dtype)
    paddings = A.stack([begin, after], axis=1)
    return [_ops.pad(grad, paddings), None, None]


_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


@register_gradient("StridedSlice")
def _strided_slice_grad(op, grad):
    x, begin, end, strides = op.inputs
    masks = {m: op.get_attr(m) for m in _MASKS}
    shape = A.shape(x, out_type=begin.dtype)
    return [_ops.strided_slice_grad(shape, begin, end, strides, grad, masks), None, None, None]


@register_gradient("ConcatV2")
def _concat_grad(op, grad):
    *values, axis_t = op.inputs
    rank = values[0].shape.ndims
    axis = static_value.constant_ints(axis_t)
    if axis is None or rank is None:
        raise ValueError(f"gradient of ConcatV2 '{op.name}' needs a constant axis and known ranks")
    axis = axis[0] % rank
    sizes = [v.shape.as_tuple()[axis] for v in values]
    if None not in sizes:
        return S.split(grad, sizes, axis=axis) + [None]
    out, offset = [], constant(0, dtype=dtypes.int32)
    for v in values:
        size = A.shape(v)
        begin = A.stack([offset if i == axis else 0 for i in range(rank)])
        out.append(S.slice(grad, begin, size))
        offset = offset + size[axis]
    return out + [None]


@register_gradient("Split")
def _split_grad(op, *grads):
    axis_t, value = op.inputs
    parts = [A.zeros_like(t) if g is None else g for g, t in zip(grads, op.outputs)]
    return [None, A.concat(parts, axis_t)]


@register_gradient("Pack")
def _pack_grad(op, grad):
    return A.unstack(grad, num=len(op.inputs), axis=op.get_attr("axis"))


@register_gradient("Unpack")
def _unpack_grad(op, *grads):
    parts = [A.zeros_like(t) if g is None else g for g, t in zip(grads, op.outputs)]
    return [A.stack(parts, axis=op.get_attr("axis"))]


@register_gradient("Select")
def _select_grad(op, grad):
    cond, t, e = op.inputs
    zeros = A.zeros_like(grad)
    gt = A.where(cond, grad, zeros) if cond.shape.as_tuple() == grad.shape.as_tuple() else \
        A.where(A.broadcast_to(cond, A.shape(grad)), grad, zeros)
    ge = grad - gt
    return [None, unbroadcast(gt, t, op.outputs[0]), unbroadcast(ge, e, op.outputs[0])]


@register_gradient("GatherV2")
def _gather_grad(op, grad):
    params, indices, axis_t = op.inputs
    axis = static_value.constant_ints(axis_t)
    p_rank, i_rank = params.shape.ndims, indices.shape.ndims
    if axis is None or p_rank is None or i_rank is None:
        raise ValueError(f"gradient of GatherV2 '{op.name}' needs a constant axis and known ranks")
    axis = axis[0] % p_rank
    # Bring the gathered dims to the front, sum rows into their source index, then move the axis back.
    g_rank = p_rank - 1 + i_rank
    perm = list(range(axis, axis + i_rank)) + list(range(axis)) + list(range(axis + i_rank, g_rank))
    g = A.transpose(grad, perm) if perm != list(range(g_rank)) else grad
    g_shape = A.shape(g)
    flat_shape = A.concat([constant([-1], dtype=dtypes.int32), S.strided_slice(g_shape, [i_rank], [g_rank], [1])],
                          0)
    flat = A.reshape(g, flat_shape)
    ids = A.reshape(indices, [-1])
    n = A.shape(params, out_type=indices.dtype)[axis]
    summed = _ops.unsorted_segment_sum(flat, ids, n)
    if axis:
        back = list(range(1, axis + 1)) + [0] + list(range(axis + 1, p_rank))
        summed = A.transpose(summed, back)
    if static_shape(params) is not None:
        summed.set_shape(params.shape)
    return [summed, None, None]
