"""Pooling ops: max_pool, avg_pool (and their TF 1.15 names max_pool2d, avg_pool2d), with the gradient ops
their rules build, and TF's padding arithmetic (``SAME``: ``ceil(in / stride)`` outputs).

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, [None, 14, 14, 8])
...     tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID").shape.as_list()
[None, 7, 7, 8]
"""

from tasklayer import dtypes, shapes
from tasklayer.graph import name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops._build import check_dtype, make_op, shape_of, who
from tasklayer.ops._window import (alias, from_nhwc, nhwc, padding_attrs, per_dim, rank4, shape_input, shapes_text,
                                   spatial_out, window_attrs)
from tasklayer.ops.constant_op import convert_to_tensor

MAX_POOL_DTYPES = dtypes.NUMERIC
AVG_POOL_DTYPES = dtypes.FLOATS

__all__ = ["avg_pool", "avg_pool2d", "max_pool", "max_pool2d"]


# ---------------------------------------------------------------- shape inference
def _pool_shape(op, x):
    fmt, padding, explicit, strides, _, ksize = window_attrs(op, "ksize")
    n, h, wd, c = nhwc(rank4(op, x, shapes_text(op)), fmt)
    oh, ow = spatial_out(op, (h, wd), ksize, strides, (1, 1), padding, explicit)
    return fmt, from_nhwc((n, oh, ow, c), fmt)


def _infer_pool(op):
    x = op.inputs[0]
    return [(x.dtype, _pool_shape(op, x)[1])]


def _infer_max_pool_grad(op, like):
    x, y, g = op.inputs
    pooled = _pool_shape(op, x)[1]
    grad_shape = shapes.as_shape(pooled) if like == 1 else x.shape
    for t in (y, g) if like == 0 else (y,):
        if not t.shape.is_compatible_with(pooled):
            raise ValueError(f"{who(op)}: expected a tensor of the pooled shape {shapes.fmt(pooled)}, got "
                             f"{shapes.fmt(shape_of(t))}")
    if like == 1 and not g.shape.is_compatible_with(x.shape):
        raise ValueError(f"{who(op)}: grad must be shaped like orig_input {shapes.fmt(shape_of(x))}, got "
                         f"{shapes.fmt(shape_of(g))}")
    return [(g.dtype, grad_shape.merge_with(op.inputs[like].shape))]


def _infer_avg_pool_grad(op):
    sizes, g = op.inputs
    window_attrs(op, "ksize")
    rank4(op, g, shapes_text(op))
    return [(g.dtype, shape_input(op, sizes))]


register_op("MaxPool", _infer_pool)
register_op("AvgPool", _infer_pool)
register_op("MaxPoolGrad", lambda op: _infer_max_pool_grad(op, 0))
register_op("MaxPoolGradGrad", lambda op: _infer_max_pool_grad(op, 1))
register_op("AvgPoolGrad", _infer_avg_pool_grad)


# ---------------------------------------------------------------- the API
def _pool(op_type, allowed, value, ksize, strides, padding, data_format, name, default_name):
    with name_scope(name, default_name, [value]) as scope:
        x = convert_to_tensor(value, name="input")
        check_dtype(op_type, "value" if op_type == "AvgPool" else "input", x, allowed)
        fmt = data_format or "NHWC"
        ksize_seq = per_dim(ksize, "ksize", fmt)
        if any(k == 0 for k in ksize_seq):
            raise ValueError(f"`ksize` cannot be zero. Received: ksize={ksize}")
        padding, explicit = padding_attrs(padding) if op_type == "MaxPool" else (padding, [])
        attrs = {"T": x.dtype, "ksize": ksize_seq, "strides": per_dim(strides, "strides", fmt),
                 "padding": padding, "data_format": fmt}
        if op_type == "MaxPool":
            attrs["explicit_paddings"] = explicit
        return make_op(op_type, [x], attrs, scope).outputs[0]


def max_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):  # noqa: A002
    """The maximum of each ``ksize`` window of a 4-D ``value``, moved by ``strides`` (ints or lists of 1, 2
    or 4); ``padding`` ``"SAME"`` (padding never wins) or ``"VALID"``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     image = tf.reshape(tf.range(16.0), [1, 4, 4, 1])
    ...     sess.run(tf.nn.max_pool(image, [1, 2, 2, 1], [1, 2, 2, 1], "VALID"))[0, :, :, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    """
    value = alias("max_pool", value, input, "value", "input")
    return _pool("MaxPool", MAX_POOL_DTYPES, value, ksize, strides, padding, data_format, name, "MaxPool")


def avg_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):  # noqa: A002
    """The mean of each ``ksize`` window of a 4-D float ``value`` (with ``"SAME"`` padding, of the input values
    the window covers, padding not counted).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     image = tf.reshape(tf.range(9.0), [1, 3, 3, 1])
    ...     sess.run(tf.nn.avg_pool(image, [1, 2, 2, 1], [1, 2, 2, 1], "SAME"))[0, :, :, 0].tolist()
    [[2.0, 3.5], [6.5, 8.0]]
    """
    value = alias("avg_pool", value, input, "value", "input")
    return _pool("AvgPool", AVG_POOL_DTYPES, value, ksize, strides, padding, data_format, name, "AvgPool")


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """``max_pool`` under its TF 1.15+ name (argument ``input``)."""
    return _pool("MaxPool", MAX_POOL_DTYPES, input, ksize, strides, padding, data_format, name, "MaxPool2d")


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """``avg_pool`` under its TF 1.15+ name (argument ``input``)."""
    return _pool("AvgPool", AVG_POOL_DTYPES, input, ksize, strides, padding, data_format, name, "AvgPool2D")
