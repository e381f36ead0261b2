"""Creating and reshaping tensors: placeholder, identity, zeros/ones/fill, shape/size/rank, reshape,
transpose, expand_dims, squeeze, tile, broadcast_to, concat, stack, unstack, where, one_hot."""

from tasklayer import dtypes, shapes
from tasklayer.graph import Tensor, get_default_graph, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import math_ops, static_value
from tasklayer.ops._build import (as_int_tensor, binary_operands, check_dtype, infer_same, make_op, shape_of,
                                  who)
from tasklayer.ops.constant_op import constant, convert_to_tensor, register_autopacking, to_numpy
from tasklayer.shapes import TensorShape

register_op("Placeholder", lambda op: [(op.get_attr("dtype"), op.get_attr("shape"))])
register_op("Identity", infer_same)
register_op("StopGradient", infer_same)
register_op("ZerosLike", infer_same)
register_op("OnesLike", infer_same)


def placeholder(dtype, shape=None, name=None):
    """A tensor whose value must be fed at run time (``shape`` None = any shape; None dims = any size).

    >>> import tasklayer as tf, numpy as np
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     x = tf.placeholder(tf.float32, [None, 2], name="x")
    ...     sess.run(x * 2, feed_dict={x: np.ones((1, 2))}).tolist()
    [[2.0, 2.0]]
    """
    attrs = {"dtype": dtypes.as_dtype(dtype), "shape": TensorShape(shape)}
    return get_default_graph().create_op("Placeholder", [], attrs, name=name).outputs[0]


def identity(input, name=None):  # noqa: A002 - TF's argument name
    """The same value as ``input`` (a new node, e.g. to name a value or to hang control deps on).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.identity(7, name="seven")))
    7
    """
    with name_scope(name, "Identity", [input]) as scope:
        x = convert_to_tensor(input, name="input")
        return make_op("Identity", [x], {"T": x.dtype}, scope).outputs[0]


def stop_gradient(input, name=None):  # noqa: A002
    """The same value as ``input``; gradients do not flow through it.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.stop_gradient(3.0)))
    3.0
    """
    with name_scope(name, "StopGradient", [input]) as scope:
        x = convert_to_tensor(input, name="input")
        return make_op("StopGradient", [x], {"T": x.dtype}, scope).outputs[0]


# ---------------------------------------------------------------- filled tensors
def _infer_fill(op):
    dims, value = op.inputs
    if value.shape.ndims not in (None, 0):
        raise ValueError(f"{who(op)}: value must be a scalar, got shape {shapes.fmt(shape_of(value))}")
    return [(value.dtype, static_value.partial_shape_value(dims))]


register_op("Fill", _infer_fill)


def fill(dims, value, name=None):
    """A tensor of shape ``dims`` filled with the scalar ``value``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.fill([2, 2], 7)).tolist()
    [[7, 7], [7, 7]]
    """
    with name_scope(name, "Fill", [dims, value]) as scope:
        dims_t = as_int_tensor(dims, "dims")
        value_t = convert_to_tensor(value, name="value")
        attrs = {"T": value_t.dtype, "index_type": dims_t.dtype}
        return make_op("Fill", [dims_t, value_t], attrs, scope).outputs[0]


def _filled(shape, dtype, value, name, default_name):
    dtype = dtypes.as_dtype(dtype)
    with name_scope(name, default_name, [shape]) as scope:
        dims = as_int_tensor(shape, "shape")
        return fill(dims, constant(value, dtype=dtype, name="Const"), name=scope)


def zeros(shape, dtype=dtypes.float32, name=None):
    """A tensor of zeros.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.zeros([2], tf.int32)).tolist()
    [0, 0]
    """
    zero = {dtypes.bool_: False, dtypes.string: b""}.get(dtypes.as_dtype(dtype), 0)
    return _filled(shape, dtype, zero, name, "zeros")


def ones(shape, dtype=dtypes.float32, name=None):
    """A tensor of ones.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.ones([2, 1])).tolist()
    [[1.0], [1.0]]
    """
    return _filled(shape, dtype, True if dtypes.as_dtype(dtype) == dtypes.bool_ else 1, name, "ones")


def _like(op_type, tensor, dtype, name, default_name, fallback):
    with name_scope(name, default_name, [tensor]) as scope:
        x = convert_to_tensor(tensor, name="tensor")
        if dtype is not None and dtypes.as_dtype(dtype) != x.dtype:
            return fallback(shape(x), dtype=dtype, name=scope)
        return make_op(op_type, [x], {"T": x.dtype}, scope).outputs[0]


def zeros_like(tensor, dtype=None, name=None, optimize=True):
    """Zeros with the shape (and dtype, unless given) of ``tensor``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.zeros_like([[1, 2]])).tolist()
    [[0, 0]]
    """
    return _like("ZerosLike", tensor, dtype, name, "zeros_like", zeros)


def ones_like(tensor, dtype=None, name=None, optimize=True):
    """Ones with the shape (and dtype, unless given) of ``tensor``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.ones_like([1.5, 2.5])).tolist()
    [1.0, 1.0]
    """
    return _like("OnesLike", tensor, dtype, name, "ones_like", ones)


# ---------------------------------------------------------------- shape, size, rank
register_op("Shape", lambda op: [(op.get_attr("out_type"), (op.inputs[0].shape.ndims,))])
register_op("Size", lambda op: [(op.get_attr("out_type"), ())])
register_op("Rank", lambda op: [(dtypes.int32, ())])


def shape(input, name=None, out_type=dtypes.int32):  # noqa: A002
    """The run-time shape of ``input`` as a 1-D integer tensor.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.shape([[1, 2, 3]])).tolist()
    [1, 3]
    """
    with name_scope(name, "Shape", [input]) as scope:
        x = convert_to_tensor(input, name="input")
        return make_op("Shape", [x], {"T": x.dtype, "out_type": dtypes.as_dtype(out_type)}, scope).outputs[0]


def size(input, name=None, out_type=dtypes.int32):  # noqa: A002
    """The number of elements of ``input``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.size([[1, 2, 3]])))
    3
    """
    with name_scope(name, "Size", [input]) as scope:
        x = convert_to_tensor(input, name="input")
        return make_op("Size", [x], {"T": x.dtype, "out_type": dtypes.as_dtype(out_type)}, scope).outputs[0]


def rank(input, name=None):  # noqa: A002
    """The number of dimensions of ``input``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.rank([[1, 2, 3]])))
    2
    """
    with name_scope(name, "Rank", [input]) as scope:
        x = convert_to_tensor(input, name="input")
        return make_op("Rank", [x], {"T": x.dtype}, scope).outputs[0]


# ---------------------------------------------------------------- reshaping
def _infer_reshape(op):
    x, target = op.inputs
    return [(x.dtype, shapes.reshape(who(op), shape_of(x), static_value.partial_shape_value(target)))]


register_op("Reshape", _infer_reshape)


def reshape(tensor, shape, name=None):  # noqa: F811 - TF's argument name
    """``tensor`` with a new shape of the same size (one dim may be -1: inferred).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.reshape([1, 2, 3, 4, 5, 6], [-1, 3])).tolist()
    [[1, 2, 3], [4, 5, 6]]
    """
    with name_scope(name, "Reshape", [tensor, shape]) as scope:
        x = convert_to_tensor(tensor, name="tensor")
        target = as_int_tensor(shape, "shape")
        return make_op("Reshape", [x, target], {"T": x.dtype, "Tshape": target.dtype}, scope).outputs[0]


def _infer_transpose(op):
    x, perm = op.inputs
    return [(x.dtype, shapes.transpose(who(op), shape_of(x), static_value.constant_ints(perm)))]


register_op("Transpose", _infer_transpose)


def transpose(a, perm=None, name="transpose", conjugate=False):
    """``a`` with its dims permuted by ``perm`` (default: reversed).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.transpose([[1, 2, 3]])).tolist()
    [[1], [2], [3]]
    """
    with name_scope(name, "transpose", [a]) as scope:
        x = convert_to_tensor(a, name="a")
        if perm is None:
            if x.shape.ndims is not None:
                perm = list(reversed(range(x.shape.ndims)))
            else:
                r = rank(x)
                perm = (r - 1) - math_ops.range(0, r, 1)
        perm_t = as_int_tensor(perm, "perm")
        return make_op("Transpose", [x, perm_t], {"T": x.dtype, "Tperm": perm_t.dtype}, scope).outputs[0]


def _infer_expand_dims(op):
    x, axis = op.inputs
    return [(x.dtype, shapes.expand_dims(who(op), shape_of(x), static_value.constant_int(axis)))]


register_op("ExpandDims", _infer_expand_dims)


def expand_dims(input, axis=None, name=None, dim=None):  # noqa: A002
    """``input`` with a size-1 dim inserted at ``axis``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.expand_dims(tf.zeros([2, 3]), -1).shape.as_list()
    [2, 3, 1]
    """
    axis = dim if axis is None else axis
    if axis is None:
        raise ValueError("expand_dims: axis must be given")
    with name_scope(name, "ExpandDims", [input]) as scope:
        x = convert_to_tensor(input, name="input")
        axis_t = as_int_tensor(axis, "dim")
        return make_op("ExpandDims", [x, axis_t], {"T": x.dtype, "Tdim": axis_t.dtype}, scope).outputs[0]


def _infer_squeeze(op):
    x = op.inputs[0]
    return [(x.dtype, shapes.squeeze(who(op), shape_of(x), op.get_attr("squeeze_dims")))]


register_op("Squeeze", _infer_squeeze)


def squeeze(input, axis=None, name=None, squeeze_dims=None):  # noqa: A002
    """``input`` without its size-1 dims (only those in ``axis`` when given).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.squeeze(tf.zeros([1, 2, 1])).shape.as_list()
    [2]
    """
    axis = squeeze_dims if axis is None else axis
    axis = [] if axis is None else [int(a) for a in (axis if isinstance(axis, (list, tuple)) else [axis])]
    with name_scope(name, "Squeeze", [input]) as scope:
        x = convert_to_tensor(input, name="input")
        return make_op("Squeeze", [x], {"T": x.dtype, "squeeze_dims": axis}, scope).outputs[0]


def _infer_tile(op):
    x, multiples = op.inputs
    return [(x.dtype, shapes.tile(who(op), shape_of(x), static_value.partial_shape_value(multiples)))]


register_op("Tile", _infer_tile)


def tile(input, multiples, name=None):  # noqa: A002
    """``input`` repeated ``multiples[i]`` times along each dim i.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.tile([[1, 2]], [2, 2])).tolist()
    [[1, 2, 1, 2], [1, 2, 1, 2]]
    """
    with name_scope(name, "Tile", [input, multiples]) as scope:
        x = convert_to_tensor(input, name="input")
        m = as_int_tensor(multiples, "multiples")
        return make_op("Tile", [x, m], {"T": x.dtype, "Tmultiples": m.dtype}, scope).outputs[0]


def _infer_broadcast_to(op):
    x, target = op.inputs
    target = static_value.partial_shape_value(target)
    if target is not None and shape_of(x) is not None:
        merged = shapes.broadcast(who(op), shape_of(x), target)
        if len(merged) != len(target) or any(t is not None and m != t for m, t in zip(merged, target)):
            raise ValueError(f"{who(op)}: cannot broadcast {shapes.fmt(shape_of(x))} to {shapes.fmt(target)}")
    return [(x.dtype, target)]


register_op("BroadcastTo", _infer_broadcast_to)


def broadcast_to(input, shape, name=None):  # noqa: A002,F811
    """``input`` broadcast (numpy rules) to ``shape``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.broadcast_to([1, 2], [2, 2])).tolist()
    [[1, 2], [1, 2]]
    """
    with name_scope(name, "BroadcastTo", [input, shape]) as scope:
        x = convert_to_tensor(input, name="input")
        target = as_int_tensor(shape, "shape")
        return make_op("BroadcastTo", [x, target], {"T": x.dtype, "Tidx": target.dtype}, scope).outputs[0]


# ---------------------------------------------------------------- joining
def _infer_concat(op):
    values, axis = op.inputs[:-1], op.inputs[-1]
    return [(values[0].dtype, shapes.concat(who(op), [shape_of(v) for v in values],
                                            static_value.constant_int(axis)))]


register_op("ConcatV2", _infer_concat)


def _same_dtype(op_type, values):
    first = next((v for v in values if isinstance(v, Tensor)), None)
    tensors = [convert_to_tensor(v, dtype=None if first is None else first.dtype) for v in values]
    for t in tensors[1:]:
        if t.dtype != tensors[0].dtype:
            raise TypeError(f"{op_type}: all values must have one dtype, got {tensors[0].dtype.name} and "
                            f"{t.dtype.name}")
    return tensors


def concat(values, axis, name="concat"):
    """``values`` joined along the existing dim ``axis``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.concat([[[1]], [[2]]], axis=1)).tolist()
    [[1, 2]]
    """
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError("concat: values must be a non-empty list of tensors")
    with name_scope(name, "concat", list(values)) as scope:
        tensors = _same_dtype("ConcatV2", values)
        if len(tensors) == 1:
            return identity(tensors[0], name=scope)
        axis_t = as_int_tensor(axis, "axis")
        attrs = {"N": len(tensors), "T": tensors[0].dtype, "Tidx": axis_t.dtype}
        return make_op("ConcatV2", tensors + [axis_t], attrs, scope).outputs[0]


def _infer_pack(op):
    return [(op.inputs[0].dtype, shapes.pack(who(op), [shape_of(v) for v in op.inputs], op.get_attr("axis")))]


register_op("Pack", _infer_pack)


def stack(values, axis=0, name="stack"):
    """``values`` (of one shape) joined along a new dim ``axis``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.stack([[1, 2], [3, 4]], axis=1)).tolist()
    [[1, 3], [2, 4]]
    """
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError("stack: values must be a non-empty list of tensors")
    with name_scope(name, "stack", list(values)) as scope:
        tensors = _same_dtype("Pack", values)
        attrs = {"N": len(tensors), "T": tensors[0].dtype, "axis": int(axis)}
        return make_op("Pack", tensors, attrs, scope).outputs[0]


register_autopacking(stack)  # convert_to_tensor([t, 1.0]) packs with tf.stack


def _infer_unpack(op):
    x = op.inputs[0]
    _, piece = shapes.unpack(who(op), shape_of(x), op.get_attr("axis"))
    return [(x.dtype, piece)] * op.get_attr("num")


register_op("Unpack", _infer_unpack)


def unstack(value, num=None, axis=0, name="unstack"):
    """The list of slices of ``value`` along ``axis`` (``num`` must be known, from the shape or given).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     [a.tolist() for a in sess.run(tf.unstack([[1, 2], [3, 4]]))]
    [[1, 2], [3, 4]]
    """
    with name_scope(name, "unstack", [value]) as scope:
        x = convert_to_tensor(value, name="value")
        if num is None:
            if x.shape.ndims is None:
                raise ValueError(f"Cannot infer num from shape {x.shape}")
            num, _ = shapes.unpack(f"Unpack '{scope[:-1]}'", shape_of(x), axis)
            if num is None:
                raise ValueError(f"Cannot infer num from shape {x.shape}")
        attrs = {"num": int(num), "T": x.dtype, "axis": int(axis)}
        return list(make_op("Unpack", [x], attrs, scope).outputs)


# ---------------------------------------------------------------- where, one_hot
register_op("Where", lambda op: [(dtypes.int64, (None, op.inputs[0].shape.ndims))]
            if op.inputs[0].shape.ndims is not None else [(dtypes.int64, (None, None))])


def _infer_select(op):
    cond, t, e = op.inputs
    return [(t.dtype, shapes.broadcast(who(op), shape_of(cond), shape_of(t), shape_of(e)))]


register_op("Select", _infer_select)


def where(condition, x=None, y=None, name=None):
    """With ``x`` and ``y``: elements of ``x`` where ``condition`` holds, else of ``y`` (broadcasting).
    Alone: the int64 coordinates ``[N, rank]`` of the true elements.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.where([True, False], [1, 2], [10, 20])).tolist(), sess.run(tf.where([False, True])).tolist()
    ([1, 20], [[1]])
    """
    if (x is None) != (y is None):
        raise ValueError("x and y must both be non-None or both be None.")
    with name_scope(name, "Where" if x is None else "Select", [condition, x, y]) as scope:
        cond = convert_to_tensor(condition, name="condition")
        check_dtype("Where", "condition", cond, (dtypes.bool_,))
        if x is None:
            return make_op("Where", [cond], {"T": cond.dtype}, scope).outputs[0]
        t, e = binary_operands(x, y, "Select")
        return make_op("Select", [cond, t, e], {"T": t.dtype}, scope).outputs[0]


def _infer_one_hot(op):
    indices, depth, on, off = op.inputs
    for name, v in (("on_value", on), ("off_value", off), ("depth", depth)):
        if v.shape.ndims not in (None, 0):
            raise ValueError(f"{who(op)}: {name} must be a scalar, got shape {shapes.fmt(shape_of(v))}")
    return [(on.dtype, shapes.one_hot(who(op), shape_of(indices), static_value.constant_int(depth),
                                      op.get_attr("axis")))]


register_op("OneHot", _infer_one_hot)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """One-hot vectors of length ``depth`` (``on_value`` at each index, ``off_value`` elsewhere; indices out
    of range give all ``off_value``).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.one_hot([0, 2], 3)).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    with name_scope(name, "one_hot", [indices, depth, on_value, off_value]) as scope:
        idx = as_int_tensor(indices, "indices")
        if dtype is None:
            known = next((v for v in (on_value, off_value) if isinstance(v, Tensor)), None)
            dtype = known.dtype if known is not None else dtypes.float32
            if known is None and on_value is not None:
                dtype = dtypes.as_dtype(to_numpy(on_value).dtype)
        dtype = dtypes.as_dtype(dtype)
        on = convert_to_tensor(1 if on_value is None else on_value, dtype=dtype, name="on_value")
        off = convert_to_tensor(0 if off_value is None else off_value, dtype=dtype, name="off_value")
        depth_t = convert_to_tensor(depth, dtype=dtypes.int32, name="depth")
        attrs = {"axis": -1 if axis is None else int(axis), "T": dtype, "TI": idx.dtype}
        return make_op("OneHot", [idx, depth_t, on, off], attrs, scope).outputs[0]
