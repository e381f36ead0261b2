"""Taking parts of tensors: slice, strided_slice (and ``tensor[...]``), split, gather."""

import builtins

from tasklayer import dtypes, shapes
from tasklayer.graph import Tensor, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import array_ops, math_ops, static_value
from tasklayer.ops._build import as_int_tensor, make_op, shape_of, who
from tasklayer.ops.constant_op import constant, convert_to_tensor

newaxis = None


def _infer_slice(op):
    x, begin, size = op.inputs
    return [(x.dtype, shapes.slice_(who(op), shape_of(x), static_value.constant_ints(begin),
                                    static_value.constant_ints(size)))]


register_op("Slice", _infer_slice)


def slice(input_, begin, size, name=None):  # noqa: A001 - TF's name
    """The block of ``input_`` starting at ``begin`` with extent ``size`` (-1 = to the end of that dim).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.slice([1, 2, 3, 4, 5], [1], [-1])).tolist()
    [2, 3, 4, 5]
    """
    with name_scope(name, "Slice", [input_, begin, size]) as scope:
        x = convert_to_tensor(input_, name="input")
        begin_t = as_int_tensor(begin, "begin")
        size_t = as_int_tensor(size, "size", dtype=begin_t.dtype)
        return make_op("Slice", [x, begin_t, size_t], {"T": x.dtype, "Index": begin_t.dtype}, scope).outputs[0]


_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


def _infer_strided_slice(op):
    x, begin, end, strides = op.inputs
    masks = {m: op.get_attr(m) for m in _MASKS}
    shape = shapes.strided_slice(who(op), shape_of(x), static_value.constant_ints(begin),
                                 static_value.constant_ints(end), static_value.constant_ints(strides), **masks)
    return [(x.dtype, shape)]


register_op("StridedSlice", _infer_strided_slice)


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0, var=None, name=None):
    """TF's StridedSlice: ``input_[begin:end:strides]`` per dim, with the masks as in TensorFlow.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.strided_slice([1, 2, 3, 4], [0], [4], [2])).tolist()
    [1, 3]
    """
    with name_scope(name, "StridedSlice", [input_, begin, end, strides]) as scope:
        x = convert_to_tensor(input_, name="input")
        begin_t = as_int_tensor(begin, "begin")
        end_t = as_int_tensor(end, "end", dtype=begin_t.dtype)
        if strides is None:
            n = begin_t.shape.as_list()[0] if begin_t.shape.ndims == 1 else None
            if n is None:
                raise ValueError("strided_slice: strides must be given when the length of begin is unknown")
            strides = [1] * n
        strides_t = as_int_tensor(strides, "strides", dtype=begin_t.dtype)
        attrs = {"T": x.dtype, "Index": begin_t.dtype}
        attrs.update({m: int(v) for m, v in zip(_MASKS, (begin_mask, end_mask, ellipsis_mask, new_axis_mask,
                                                         shrink_axis_mask))})
        return make_op("StridedSlice", [x, begin_t, end_t, strides_t], attrs, scope).outputs[0]


def getitem(tensor, key):
    """``tensor[key]`` as a StridedSlice: ints, slices, Ellipsis, ``tf.newaxis`` and scalar int tensors.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     x = tf.constant([[1, 2, 3], [4, 5, 6]])
    ...     sess.run(x[-1, ::-1]).tolist(), x[:, tf.newaxis, 1:].shape.as_list()
    ([6, 5, 4], [2, 1, 2])
    """
    spec = key if isinstance(key, tuple) else (key,)
    begin, end, strides = [], [], []
    masks = dict.fromkeys(_MASKS, 0)
    for i, s in enumerate(spec):
        bit = 1 << i
        if isinstance(s, builtins.slice):
            for value, what in ((s.start, "begin"), (s.stop, "end")):
                if value is None:
                    masks[f"{what}_mask"] |= bit
                    (begin if what == "begin" else end).append(0)
                else:
                    (begin if what == "begin" else end).append(_check_index(value))
            strides.append(1 if s.step is None else _check_index(s.step))
        elif s is Ellipsis:
            begin.append(0), end.append(0), strides.append(1)
            masks["ellipsis_mask"] |= bit
        elif s is None:
            begin.append(0), end.append(0), strides.append(1)
            masks["new_axis_mask"] |= bit
        else:
            index = _check_index(s)
            begin.append(index)
            end.append(index + 1)
            strides.append(1)
            masks["shrink_axis_mask"] |= bit
    with name_scope(None, "strided_slice", [tensor] + begin + end + strides) as scope:
        packed = [_pack(v, n) for v, n in ((begin, "stack"), (end, "stack_1"), (strides, "stack_2"))]
        return strided_slice(tensor, *packed, name=scope, **masks)


def _check_index(value):
    if isinstance(value, Tensor):
        if value.dtype not in (dtypes.int32, dtypes.int64) or value.shape.ndims not in (None, 0):
            raise TypeError(f"Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar "
                            f"tf.int32/tf.int64 tensors are valid indices, got {value!r}")
        return value
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar "
                        f"tf.int32/tf.int64 tensors are valid indices, got {value!r}")
    return int(value.__index__())


def _pack(values, name):
    if any(isinstance(v, Tensor) for v in values):
        return array_ops.stack([math_ops.cast(v, dtypes.int32) if isinstance(v, Tensor) else v for v in values],
                               name=name)
    return constant(values, dtype=dtypes.int32, name=name)


Tensor._override_operator("__getitem__", getitem)


# ---------------------------------------------------------------- split
def _infer_split(op):
    axis, x = op.inputs
    num = op.get_attr("num_split")
    piece = shapes.split(who(op), shape_of(x), static_value.constant_int(axis), num)
    return [(x.dtype, piece)] * num


register_op("Split", _infer_split)


def split(value, num_or_size_splits, axis=0, num=None, name="split"):
    """``value`` cut along ``axis`` into ``num_or_size_splits`` equal pieces, or pieces of the listed sizes
    (one size may be -1: the rest).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     [p.tolist() for p in sess.run(tf.split([1, 2, 3, 4, 5], [2, -1]))]
    [[1, 2], [3, 4, 5]]
    """
    with name_scope(name, "split", [value]) as scope:
        x = convert_to_tensor(value, name="value")
        if isinstance(num_or_size_splits, int) and not isinstance(num_or_size_splits, bool):
            if num_or_size_splits < 1:
                raise ValueError(f"split: num_split must be at least 1, got {num_or_size_splits}")
            axis_t = as_int_tensor(axis, "split_dim")
            attrs = {"num_split": num_or_size_splits, "T": x.dtype}
            return list(make_op("Split", [axis_t, x], attrs, scope).outputs)
        return _split_sizes(x, [int(s) for s in num_or_size_splits], int(axis), scope)


def _split_sizes(x, sizes, axis, scope):
    label = f"split '{scope[:-1]}'"
    shape = shape_of(x)
    if shape is None:
        raise ValueError(f"{label}: splitting into sizes needs the rank of the input to be known")
    axis = shapes._axis(label, axis, len(shape))
    dim = shape[axis]
    if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
        raise ValueError(f"{label}: bad sizes {sizes} (at most one -1, the rest >= 0)")
    if -1 in sizes and dim is not None:
        rest = dim - sum(s for s in sizes if s != -1)
        if rest < 0:
            raise ValueError(f"{label}: sizes {sizes} add up to more than dim {axis} of {shapes.fmt(shape)}")
        sizes = [rest if s == -1 else s for s in sizes]
    elif -1 in sizes and sizes.index(-1) != len(sizes) - 1:
        raise ValueError(f"{label}: -1 may only be the last size when dim {axis} is unknown")
    if -1 not in sizes and dim is not None and sum(sizes) != dim:
        raise ValueError(f"{label}: sizes {sizes} must add up to dim {axis} of {shapes.fmt(shape)} ({dim})")
    pieces, offset = [], 0
    for size in sizes:
        begin = [0] * len(shape)
        extent = [-1] * len(shape)
        begin[axis], extent[axis] = offset, size
        pieces.append(slice(x, begin, extent))
        offset += max(size, 0)
    return pieces


# ---------------------------------------------------------------- gather
def _infer_gather(op):
    params, indices, axis = op.inputs
    return [(params.dtype, shapes.gather(who(op), shape_of(params), shape_of(indices),
                                         static_value.constant_int(axis)))]


register_op("GatherV2", _infer_gather)


def gather(params, indices, validate_indices=None, name=None, axis=0):
    """Slices of ``params`` along ``axis`` at ``indices`` (result shape params[:axis]+indices+params[axis+1:]).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.gather([10, 20, 30], [2, 0])).tolist()
    [30, 10]
    """
    with name_scope(name, "GatherV2", [params, indices]) as scope:
        p = convert_to_tensor(params, name="params")
        idx = as_int_tensor(indices, "indices")
        axis_t = as_int_tensor(axis, "axis")
        attrs = {"Tparams": p.dtype, "Tindices": idx.dtype, "Taxis": axis_t.dtype}
        return make_op("GatherV2", [p, idx, axis_t], attrs, scope).outputs[0]
