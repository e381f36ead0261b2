"""Reductions over axes (reduce_sum/mean/max/min/prod/all/any) and argmax/argmin."""

import numpy as np

from tasklayer import dtypes, shapes
from tasklayer.graph import name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import array_ops, math_ops, static_value
from tasklayer.ops._build import as_int_tensor, check_dtype, make_op, shape_of, who
from tasklayer.ops.constant_op import constant, convert_to_tensor


def _infer_reduce(op):
    x, axes = op.inputs
    shape = shapes.reduce(who(op), shape_of(x), static_value.constant_ints(axes), op.get_attr("keep_dims"))
    return [(x.dtype, shape)]


for _op in ("Sum", "Mean", "Max", "Min", "Prod", "All", "Any"):
    register_op(_op, _infer_reduce)


def _pick(new, old, new_name, old_name):
    if new is not None and old is not None:
        raise ValueError(f"Cannot specify both '{new_name}' and '{old_name}'.")
    return new if new is not None else old


def _reduce(op_type, allowed, input_tensor, axis, keepdims, name, reduction_indices, keep_dims):
    axis = _pick(axis, reduction_indices, "axis", "reduction_indices")
    keepdims = bool(_pick(keepdims, keep_dims, "keepdims", "keep_dims"))
    with name_scope(name, op_type, [input_tensor]) as scope:
        x = convert_to_tensor(input_tensor, name="input_tensor")
        check_dtype(op_type, "input", x, allowed)
        if axis is None:
            if x.shape.ndims is not None:
                axis_t = constant(np.arange(x.shape.ndims, dtype=np.int32), name="Const")
            else:  # rank known only at run time: every axis, counted when the graph runs
                axis_t = math_ops.range(0, array_ops.rank(x), 1)
        else:
            axis_t = as_int_tensor(axis, "reduction_indices")
        attrs = {"keep_dims": keepdims, "T": x.dtype, "Tidx": axis_t.dtype}
        return make_op(op_type, [x, axis_t], attrs, scope).outputs[0]


def _reduction(op_type, allowed, example):
    def fn(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
        return _reduce(op_type, allowed, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)
    fn.__doc__ = (f"{op_type} of elements over ``axis`` (all axes when None); ``keepdims`` keeps reduced "
                  f"dims as 1 (TF1's ``keep_dims`` and ``reduction_indices`` work too).\n\n    {example}\n    ")
    return fn


_EX = """>>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.{}({}, axis=1)).tolist()
    {}"""
reduce_sum = _reduction("Sum", dtypes.NUMBERS, _EX.format("reduce_sum", "[[1, 2], [3, 4]]", "[3, 7]"))
reduce_mean = _reduction("Mean", dtypes.NUMBERS, _EX.format("reduce_mean", "[[1.0, 2.0], [3.0, 5.0]]", "[1.5, 4.0]"))
reduce_max = _reduction("Max", dtypes.NUMERIC, _EX.format("reduce_max", "[[1, 2], [3, 4]]", "[2, 4]"))
reduce_min = _reduction("Min", dtypes.NUMERIC, _EX.format("reduce_min", "[[1, 2], [3, 4]]", "[1, 3]"))
reduce_prod = _reduction("Prod", dtypes.NUMBERS, _EX.format("reduce_prod", "[[1, 2], [3, 4]]", "[2, 12]"))
reduce_all = _reduction("All", (dtypes.bool_,), _EX.format("reduce_all", "[[True, False], [True, True]]",
                                                           "[False, True]"))
reduce_any = _reduction("Any", (dtypes.bool_,), _EX.format("reduce_any", "[[True, False], [False, False]]",
                                                           "[True, False]"))
for _name, _fn in (("reduce_sum", reduce_sum), ("reduce_mean", reduce_mean), ("reduce_max", reduce_max),
                   ("reduce_min", reduce_min), ("reduce_prod", reduce_prod), ("reduce_all", reduce_all),
                   ("reduce_any", reduce_any)):
    _fn.__name__ = _fn.__qualname__ = _name


def _infer_arg(op):
    x, axis = op.inputs
    axis = static_value.constant_int(axis)
    shape = shape_of(x)
    if shape is not None:
        if len(shape) == 0:
            raise ValueError(f"{who(op)}: cannot take the arg max/min of a scalar")
        shape = (None,) * (len(shape) - 1) if axis is None else shapes.reduce(who(op), shape, [axis], False)
    return [(op.get_attr("output_type"), shape)]


register_op("ArgMax", _infer_arg)
register_op("ArgMin", _infer_arg)


def _arg(op_type, input, axis, name, dimension, output_type):  # noqa: A002
    axis = _pick(axis, dimension, "axis", "dimension")
    with name_scope(name, op_type, [input]) as scope:
        x = convert_to_tensor(input, name="input")
        check_dtype(op_type, "input", x, dtypes.NUMERIC)
        axis_t = as_int_tensor(0 if axis is None else axis, "dimension")
        attrs = {"T": x.dtype, "Tidx": axis_t.dtype, "output_type": dtypes.as_dtype(output_type)}
        return make_op(op_type, [x, axis_t], attrs, scope).outputs[0]


def argmax(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    """Index of the largest value along ``axis`` (default 0; first one on ties).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.argmax([[1, 9], [7, 3]], axis=1)).tolist()
    [1, 0]
    """
    return _arg("ArgMax", input, axis, name, dimension, output_type)


def argmin(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    """Index of the smallest value along ``axis`` (default 0; first one on ties).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.argmin([[1, 9], [7, 3]], axis=1)).tolist()
    [0, 1]
    """
    return _arg("ArgMin", input, axis, name, dimension, output_type)
