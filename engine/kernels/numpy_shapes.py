"""Shape and slicing kernels: Reshape, Transpose, ExpandDims, Squeeze, Tile, BroadcastTo, Slice, StridedSlice,
ConcatV2, Split, Pack, Unpack, GatherV2, Where, OneHot."""

import numpy as np

from engine.errors import InvalidArgumentError
from engine.graph_util import get_attr
from engine.kernels.registry import register_kernel
from engine.kernels.util import check_output_size, int_list, int_scalar


@register_kernel("Reshape", "CPU", xp_generic=True)
def reshape(node, env, xp=np):
    """Reshape; one -1 dim is inferred."""
    def reshape_fn(x, shape):
        dims = int_list(shape)
        if dims.count(-1) > 1:
            raise InvalidArgumentError(None, None, f"only one input size may be -1, got shape {dims}")
        try:
            return xp.reshape(x, dims)
        except ValueError:
            raise InvalidArgumentError(None, None, f"Input to reshape is a tensor with {x.size} values, but the "
                                                   f"requested shape {dims} does not match") from None
    return reshape_fn


@register_kernel("Transpose", "CPU", xp_generic=True)
def transpose(node, env, xp=np):
    """Permute dims by ``perm``."""
    def transpose_fn(x, perm):
        p = int_list(perm)
        if sorted(q % max(x.ndim, 1) for q in p) != list(range(x.ndim)) or len(p) != x.ndim:
            raise InvalidArgumentError(None, None, f"transpose expects a permutation of {x.ndim} dims, got {p}")
        return xp.transpose(x, p)
    return transpose_fn


@register_kernel("ExpandDims", "CPU", xp_generic=True)
def expand_dims(node, env, xp=np):
    """Insert a size-1 dim at ``dim`` (-rank-1 <= dim <= rank)."""
    def expand_dims_fn(x, dim):
        d = int_scalar(dim)
        if not -x.ndim - 1 <= d <= x.ndim:
            raise InvalidArgumentError(None, None, f"dim {d} out of range for a tensor of rank {x.ndim}")
        return xp.expand_dims(x, d)
    return expand_dims_fn


@register_kernel("Squeeze", "CPU", xp_generic=True)
def squeeze(node, env, xp=np):
    """Remove size-1 dims (all of them, or those in ``squeeze_dims``)."""
    dims = get_attr(node, "squeeze_dims", None) or get_attr(node, "axis", None) or []

    def squeeze_fn(x):
        if not dims:
            return xp.squeeze(x)
        axes = tuple(d % x.ndim for d in dims)
        for a in axes:
            if x.shape[a] != 1:
                raise InvalidArgumentError(None, None, f"Can not squeeze dim[{a}], expected a dimension of 1, "
                                                       f"got {x.shape[a]}")
        return xp.squeeze(x, axis=axes)
    return squeeze_fn


@register_kernel("Tile", "CPU", xp_generic=True)
def tile(node, env, xp=np):
    """Repeat the tensor ``multiples[i]`` times along dim i."""
    def tile_fn(x, multiples):
        m = int_list(multiples)
        if len(m) != x.ndim:
            raise InvalidArgumentError(None, None, f"Expected multiples argument to be a vector of length "
                                                   f"{x.ndim} but got length {len(m)}")
        if any(v < 0 for v in m):
            raise InvalidArgumentError(None, None, f"Expected multiples to be non-negative, got {m}")
        check_output_size([d * v for d, v in zip(x.shape, m)], x.dtype)
        return xp.tile(x, m)
    return tile_fn


@register_kernel("BroadcastTo", "CPU", xp_generic=True)
def broadcast_to(node, env, xp=np):
    """Broadcast to ``shape`` (numpy rules)."""
    return lambda x, shape: xp.broadcast_to(x, tuple(int_list(shape)))


@register_kernel("Slice", "CPU", xp_generic=True)
def slice_(node, env, xp=np):
    """``x[begin : begin + size]`` per dim; a size of -1 means to the end."""
    def slice_fn(x, begin, size):
        b, s = int_list(begin), int_list(size)
        if len(b) != x.ndim or len(s) != x.ndim:
            raise InvalidArgumentError(None, None, f"Expected begin and size of length {x.ndim}, got {len(b)} "
                                                   f"and {len(s)}")
        index = []
        for dim, (start, n) in enumerate(zip(b, s)):
            stop = x.shape[dim] if n == -1 else start + n
            if start < 0 or n < -1 or stop > x.shape[dim]:
                raise InvalidArgumentError(None, None, f"Expected begin[{dim}]={start} and size[{dim}]={n} to "
                                                       f"fit in dim {dim} of size {x.shape[dim]}")
            index.append(slice(start, stop))
        return x[tuple(index)]
    return slice_fn


def strided_slice_index(begin, end, strides, begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0,
                        shrink_axis_mask=0):
    """TF's StridedSlice spec as a numpy index tuple (numpy's slicing rules then match TF's clamping)."""
    if not len(begin) == len(end) == len(strides):
        raise InvalidArgumentError(None, None, f"begin, end and strides must have the same length, got "
                                               f"{len(begin)}, {len(end)}, {len(strides)}")
    index = []
    for i, (b, e, s) in enumerate(zip(begin, end, strides)):
        bit = 1 << i
        if ellipsis_mask & bit:
            if Ellipsis in index:
                raise InvalidArgumentError(None, None, "Multiple ellipses in slice spec not allowed")
            index.append(Ellipsis)
        elif new_axis_mask & bit:
            index.append(None)
        elif s == 0:
            raise InvalidArgumentError(None, None, f"strides[{i}] must be non-zero")
        elif shrink_axis_mask & bit:
            index.append(b)
        else:
            index.append(slice(None if begin_mask & bit else b, None if end_mask & bit else e, s))
    return tuple(index)


@register_kernel("StridedSlice", "CPU", xp_generic=True)
def strided_slice(node, env, xp=np):
    """``x[begin:end:strides]`` with TF's begin/end/ellipsis/new_axis/shrink_axis masks."""
    masks = {k: int(get_attr(node, k, 0)) for k in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                                                    "shrink_axis_mask")}

    def strided_slice_fn(x, begin, end, strides):
        index = strided_slice_index(int_list(begin), int_list(end), int_list(strides), **masks)
        try:
            return xp.asarray(x[index])
        except IndexError as e:
            raise InvalidArgumentError(None, None, f"slice index out of bounds: {e}") from None
    return strided_slice_fn


@register_kernel("ConcatV2", "CPU", xp_generic=True)
def concat(node, env, xp=np):
    """Concatenate the N values along ``axis`` (the last input)."""
    def concat_fn(*args):
        *values, axis = args
        return xp.concatenate(values, axis=int_scalar(axis))
    return concat_fn


@register_kernel("Split", "CPU", xp_generic=True)
def split(node, env, xp=np):
    """Split ``value`` (the second input, after ``split_dim``) into ``num_split`` equal parts."""
    num = int(get_attr(node, "num_split"))

    def split_fn(split_dim, value):
        axis = int_scalar(split_dim)
        if value.shape[axis] % num:
            raise InvalidArgumentError(None, None, f"Number of ways to split should evenly divide the split "
                                                   f"dimension, but got split_dim {axis} (size = "
                                                   f"{value.shape[axis]}) and num_split {num}")
        return xp.split(value, num, axis=axis)
    return split_fn


@register_kernel("Pack", "CPU", xp_generic=True)
def pack(node, env, xp=np):
    """Stack N same-shaped values along a new ``axis``."""
    axis = int(get_attr(node, "axis", 0))
    return lambda *values: xp.stack(values, axis=axis)


@register_kernel("Unpack", "CPU", xp_generic=True)
def unpack(node, env, xp=np):
    """Unstack ``value`` along ``axis`` into ``num`` tensors."""
    num = int(get_attr(node, "num"))
    axis = int(get_attr(node, "axis", 0))

    def unpack_fn(value):
        if value.shape[axis] != num:
            raise InvalidArgumentError(None, None, f"Input shape axis {axis} must equal {num}, got shape "
                                                   f"{list(value.shape)}")
        return list(xp.moveaxis(value, axis, 0))
    return unpack_fn


@register_kernel("GatherV2", "CPU", xp_generic=True)
def gather(node, env, xp=np):
    """Gather slices of ``params`` along ``axis`` at ``indices`` (out-of-range indices are an error)."""
    def gather_fn(params, indices, axis):
        a = int_scalar(axis) % max(params.ndim, 1)
        size = params.shape[a]
        if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= size):
            bad = int(indices.min()) if int(indices.min()) < 0 else int(indices.max())
            raise InvalidArgumentError(None, None, f"indices contains {bad}, which is not in [0, {size})")
        return xp.take(params, indices, axis=a)
    return gather_fn


@register_kernel("Where", "CPU", xp_generic=True)
def where(node, env, xp=np):
    """Coordinates of true (non-zero) elements as int64 ``[N, rank]``."""
    return lambda cond: xp.asarray(xp.argwhere(cond), dtype=np.int64)


@register_kernel("OneHot", "CPU", xp_generic=True)
def one_hot(node, env, xp=np):
    """One-hot encode ``indices`` into a new ``axis`` of size ``depth`` (out-of-range indices: all off)."""
    axis = int(get_attr(node, "axis", -1))
    out_type = get_attr(node, "T").as_numpy_dtype

    def one_hot_fn(indices, depth, on_value, off_value):
        d = int_scalar(depth)
        if d < 0:
            raise InvalidArgumentError(None, None, f"depth must be non-negative, got {d}")
        hot = indices[..., None] == xp.arange(d)
        if axis != -1:
            hot = xp.moveaxis(hot, -1, axis)
        return xp.where(hot, on_value, off_value).astype(out_type, copy=False)
    return one_hot_fn
