"""Helpers the gradient rules share: undoing broadcasting and reductions, with static shapes where they are
known and run-time shapes (Shape, Size, BroadcastGradientArgs) where they are not (``tf.placeholder("float")``)."""

import numpy as np

from engine.kernels.util import broadcast_gradient_args as static_broadcast_args
from tasklayer import dtypes
from tasklayer.grad_rules import _ops
from tasklayer.ops import array_ops, math_ops, reduction_ops, static_value


def static_shape(t):
    """``t``'s shape as a list of ints when fully known, else None."""
    shape = t.shape.as_tuple()
    return None if shape is None or None in shape else list(shape)


def shape_tensor(t, out_type=None):
    """``t``'s shape: a constant when fully known, else a Shape op."""
    known = static_shape(t)
    if known is not None and out_type is None:
        return array_ops.constant(np.array(known, np.int32))
    return array_ops.shape(t) if out_type is None else array_ops.shape(t, out_type=out_type)


def _never_expanded(x, other):
    """Whether broadcasting ``x`` against ``other`` can never have grown ``x`` (so its gradient needs no sum)."""
    sx, so = x.shape.as_tuple(), other.shape.as_tuple()
    if sx is None or so is None or len(so) > len(sx):
        return False
    aligned = [None] * (len(sx) - len(so)) + [1 if d == 1 else d for d in so]
    for i, (dx, do) in enumerate(zip(sx, aligned)):
        absent = i < len(sx) - len(so)
        if not (absent or do == 1 or (dx is not None and dx != 1)):
            return False
    return True


def unbroadcast(grad, x, other):
    """``grad`` (shaped like ``x`` broadcast with ``other``) summed back to ``x``'s shape."""
    if grad is None:
        return None
    if _never_expanded(x, other):
        return grad
    sx, sg = static_shape(x), static_shape(grad)
    if sx is not None and sg is not None:
        axes, _ = static_broadcast_args(sx, sg)
        summed = reduction_ops.reduce_sum(grad, axes) if axes else grad
        return summed if summed.shape.as_tuple() == tuple(sx) else array_ops.reshape(summed, sx)
    rx, _ = _ops.broadcast_gradient_args(array_ops.shape(x), array_ops.shape(grad))
    return array_ops.reshape(reduction_ops.reduce_sum(grad, rx), array_ops.shape(x))


def static_reduction_axes(op):
    """A reduction op's axes as sorted non-negative ints when its input rank and axes are known, else None."""
    x, axes_t = op.inputs[0], op.inputs[1]
    rank = x.shape.ndims
    axes = static_value.constant_ints(axes_t)
    if rank is None or axes is None:
        return None
    return sorted({a % rank for a in axes}) if rank else []


def kept_dims_shape(x, axes_t):
    """The run-time shape of ``x`` with the dims in ``axes_t`` set to 1 (the ``keep_dims`` shape of a reduction),
    for an input whose rank or axes are known only when the graph runs (TF's ``reduced_shape``)."""
    shape = array_ops.shape(x)
    rank = array_ops.size(shape)
    axes = array_ops.reshape(math_ops.cast(axes_t, dtypes.int32), [1, -1])
    # Negative axes count from the end; a scalar's axes (0 or -1) fold onto nothing (no division by a zero rank).
    axes = math_ops.floormod(axes + rank, math_ops.maximum(rank, 1))
    positions = array_ops.reshape(math_ops.range(rank), [-1, 1])
    reduced = reduction_ops.reduce_any(math_ops.equal(positions, axes), axis=1)
    return array_ops.where(reduced, array_ops.ones_like(shape), shape)


def restore_reduced(grad, op):
    """A reduction's output gradient broadcast back to the input's shape (statically where the input's rank and
    the axes are known, else through the run-time shapes)."""
    x, axes_t = op.inputs[0], op.inputs[1]
    axes = static_reduction_axes(op)
    if axes is None:
        return array_ops.broadcast_to(array_ops.reshape(grad, kept_dims_shape(x, axes_t)), array_ops.shape(x))
    if not op.get_attr("keep_dims"):
        for a in axes:
            grad = array_ops.expand_dims(grad, a)
    sx = static_shape(x)
    if sx is not None and static_shape(grad) == sx:
        return grad
    return array_ops.broadcast_to(grad, shape_tensor(x))
