"""Convolution ops: conv2d (and its two backprop ops), conv2d_transpose, convolution, with TF's padding
arithmetic (``SAME``: ``ceil(in / stride)`` outputs, the odd padding at the end). Pools are in pooling_ops.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, [None, 28, 28, 3])
...     tf.nn.conv2d(x, tf.zeros([5, 5, 3, 8]), strides=[1, 2, 2, 1], padding="SAME").shape.as_list()
[None, 14, 14, 8]
"""

from tasklayer import dtypes
from tasklayer.graph import Tensor, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import static_value
from tasklayer.ops._build import as_int_tensor, check_dtype, make_op, shape_of, who
from tasklayer.ops._window import (alias, from_nhwc, nhwc, padding_attrs, per_dim, rank4, shape_input, shapes_text,
                                   spatial_out, window_attrs)
from tasklayer.ops.constant_op import convert_to_tensor

CONV_DTYPES = dtypes.FLOATS + (dtypes.int32,)

__all__ = ["conv2d", "conv2d_backprop_filter", "conv2d_backprop_input", "conv2d_transpose", "convolution"]


# ---------------------------------------------------------------- shape inference
def _same_dim(op, a, b):
    if a is not None and b is not None and a != b:
        raise ValueError(f"Dimensions must be equal, but are {a} and {b} for {who(op)} with input shapes: "
                         f"{shapes_text(op)}.")


def _check_depth(op, in_depth, filter_depth):
    if in_depth is None or filter_depth is None or in_depth == filter_depth:
        return
    if filter_depth == 0 or in_depth % filter_depth:
        raise ValueError(f"Depth of input ({in_depth}) is not a multiple of input depth of filter "
                         f"({filter_depth}) for {who(op)} with input shapes: {shapes_text(op)}.")
    raise ValueError(f"{who(op)}: grouped convolutions (input depth {in_depth}, filter input depth "
                     f"{filter_depth}) are not supported")


def _check_out_backprop(op, computed, dy_nhwc):
    for axis, (c, a) in enumerate(zip(computed, dy_nhwc[1:3])):
        if c is not None and a is not None and c != a:
            raise ValueError(f"{who(op)}: Size of out_backprop doesn't match computed: actual = {a}, computed = {c} "
                             f"spatial_dim: {axis + 1} (input shapes: {shapes_text(op)})")


def _infer_conv2d(op):
    x, w = op.inputs
    fmt, padding, explicit, strides, dilations, _ = window_attrs(op)
    text = shapes_text(op)
    n, h, wd, c = nhwc(rank4(op, x, text), fmt)
    kh, kw, fc, o = rank4(op, w, text) or (None,) * 4
    _check_depth(op, c, fc)
    oh, ow = spatial_out(op, (h, wd), (kh, kw), strides, dilations, padding, explicit)
    return [(x.dtype, from_nhwc((n, oh, ow, o), fmt))]


def _infer_backprop_input(op):
    sizes, w, dy = op.inputs
    fmt, padding, explicit, strides, dilations, _ = window_attrs(op)
    text = shapes_text(op)
    kh, kw, fc, o = rank4(op, w, text) or (None,) * 4
    dy_nhwc = nhwc(rank4(op, dy, text), fmt)
    _same_dim(op, o, dy_nhwc[3])
    shape = shape_input(op, sizes)
    n, h, wd, c = nhwc(shape, fmt)
    _check_depth(op, c, fc)
    _same_dim(op, n, dy_nhwc[0])
    _check_out_backprop(op, spatial_out(op, (h, wd), (kh, kw), strides, dilations, padding, explicit), dy_nhwc)
    return [(w.dtype, None if shape is None else from_nhwc((n, h, wd, c), fmt))]


def _infer_backprop_filter(op):
    x, sizes, dy = op.inputs
    fmt, padding, explicit, strides, dilations, _ = window_attrs(op)
    text = shapes_text(op)
    n, h, wd, c = nhwc(rank4(op, x, text), fmt)
    dy_nhwc = nhwc(rank4(op, dy, text), fmt)
    shape = shape_input(op, sizes)
    kh, kw, fc, o = shape or (None,) * 4
    _check_depth(op, c, fc)
    _same_dim(op, o, dy_nhwc[3])
    _same_dim(op, n, dy_nhwc[0])
    _check_out_backprop(op, spatial_out(op, (h, wd), (kh, kw), strides, dilations, padding, explicit), dy_nhwc)
    return [(x.dtype, shape)]


register_op("Conv2D", _infer_conv2d)
register_op("Conv2DBackpropInput", _infer_backprop_input)
register_op("Conv2DBackpropFilter", _infer_backprop_filter)


# ---------------------------------------------------------------- arguments as TF's Python layer takes them
def _conv_attrs(dtype, strides, padding, use_cudnn_on_gpu, data_format, dilations):
    data_format = data_format or "NHWC"
    padding, explicit = padding_attrs(padding)
    return {"T": dtype, "strides": per_dim(strides, "strides", data_format),
            "use_cudnn_on_gpu": bool(use_cudnn_on_gpu), "padding": padding, "explicit_paddings": explicit,
            "data_format": data_format, "dilations": per_dim(dilations, "dilations", data_format)}


def _operand(value, like, op_type, arg, like_arg="input"):
    """``value`` as a Tensor of ``like``'s dtype: converted if it is not a Tensor, else TypeError unless it
    already has that dtype (TF's message)."""
    if not isinstance(value, Tensor):
        return convert_to_tensor(value, dtype=like.dtype, name=arg)
    if value.dtype != like.dtype:
        raise TypeError(f"Input '{arg}' of '{op_type}' Op has type {value.dtype.name} that does not match type "
                        f"{like.dtype.name} of argument '{like_arg}'.")
    return value


# ---------------------------------------------------------------- the API
def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True,  # noqa: A002 - TF's names
           data_format="NHWC", dilations=[1, 1, 1, 1], name=None, filters=None):  # noqa: B006 - TF's default
    """A 2-D convolution (cross-correlation) of a 4-D ``input`` with a ``filter`` [height, width, in, out].

    ``strides``/``dilations``: an int or a list of 1, 2 or 4 ints (4 in ``data_format`` order, batch and depth
    1); ``padding``: ``"SAME"``, ``"VALID"`` or a list of 4 (before, after) pairs; ``data_format``: ``"NHWC"``
    or ``"NCHW"``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     image = tf.reshape(tf.range(16.0), [1, 4, 4, 1])
    ...     y = tf.nn.conv2d(image, tf.ones([2, 2, 1, 1]), strides=[1, 2, 2, 1], padding="VALID")
    ...     sess.run(y)[0, :, :, 0].tolist()
    [[10.0, 18.0], [42.0, 50.0]]
    """
    filter = alias("conv2d", filter, filters, "filter", "filters")  # noqa: A001
    with name_scope(name, "Conv2D", [input, filter]) as scope:
        x = convert_to_tensor(input, name="input")
        check_dtype("Conv2D", "input", x, CONV_DTYPES)
        w = _operand(filter, x, "Conv2D", "filter")
        attrs = _conv_attrs(x.dtype, strides, padding, use_cudnn_on_gpu, data_format, dilations)
        return make_op("Conv2D", [x, w], attrs, scope).outputs[0]


def conv2d_backprop_input(input_sizes, filter=None, out_backprop=None, strides=None,  # noqa: A002
                          padding=None, use_cudnn_on_gpu=True, data_format="NHWC",
                          dilations=[1, 1, 1, 1], name=None, filters=None):  # noqa: B006
    """The gradient of ``conv2d`` with respect to its input of shape ``input_sizes`` (4 ints, data_format
    order), given the ``out_backprop`` of its output.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     dx = tf.nn.conv2d_backprop_input([1, 2, 2, 1], tf.ones([2, 2, 1, 1]), tf.ones([1, 1, 1, 1]),
    ...                                      strides=[1, 1, 1, 1], padding="VALID")
    ...     sess.run(dx)[0, :, :, 0].tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    filter = alias("conv2d_backprop_input", filter, filters, "filter", "filters")  # noqa: A001
    with name_scope(name, "Conv2DBackpropInput", [input_sizes, filter, out_backprop]) as scope:
        sizes = as_int_tensor(input_sizes, "input_sizes")
        w = convert_to_tensor(filter, name="filter")
        check_dtype("Conv2DBackpropInput", "filter", w, CONV_DTYPES)
        dy = _operand(out_backprop, w, "Conv2DBackpropInput", "out_backprop", "filter")
        attrs = _conv_attrs(w.dtype, strides, padding, use_cudnn_on_gpu, data_format, dilations)
        return make_op("Conv2DBackpropInput", [sizes, w, dy], attrs, scope).outputs[0]


def conv2d_backprop_filter(input, filter_sizes, out_backprop, strides, padding,  # noqa: A002
                           use_cudnn_on_gpu=True, data_format="NHWC", dilations=[1, 1, 1, 1],  # noqa: B006
                           name=None):
    """The gradient of ``conv2d`` with respect to its filter of shape ``filter_sizes`` (4 ints), given its
    ``input`` and the ``out_backprop`` of its output.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     dw = tf.nn.conv2d_backprop_filter(tf.ones([1, 3, 3, 1]), [2, 2, 1, 1], tf.ones([1, 2, 2, 1]),
    ...                                       strides=[1, 1, 1, 1], padding="VALID")
    ...     sess.run(dw)[:, :, 0, 0].tolist()
    [[4.0, 4.0], [4.0, 4.0]]
    """
    with name_scope(name, "Conv2DBackpropFilter", [input, filter_sizes, out_backprop]) as scope:
        x = convert_to_tensor(input, name="input")
        check_dtype("Conv2DBackpropFilter", "input", x, CONV_DTYPES)
        sizes = as_int_tensor(filter_sizes, "filter_sizes")
        dy = _operand(out_backprop, x, "Conv2DBackpropFilter", "out_backprop")
        attrs = _conv_attrs(x.dtype, strides, padding, use_cudnn_on_gpu, data_format, dilations)
        return make_op("Conv2DBackpropFilter", [x, sizes, dy], attrs, scope).outputs[0]


def conv2d_transpose(value=None, filter=None, output_shape=None, strides=None, padding="SAME",  # noqa: A002
                     data_format="NHWC", name=None, input=None, filters=None, dilations=None):  # noqa: A002
    """The transpose (gradient) of ``conv2d``, sometimes called deconvolution: ``value`` [batch, h, w, in]
    with ``filter`` [height, width, out, in] gives a tensor of ``output_shape`` (4 values).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     up = tf.nn.conv2d_transpose(tf.ones([1, 2, 2, 1]), tf.ones([2, 2, 1, 1]), [1, 4, 4, 1],
    ...                                 strides=[1, 2, 2, 1])
    ...     sess.run(up).shape
    (1, 4, 4, 1)
    """
    value = alias("conv2d_transpose", value, input, "value", "input")
    filter = alias("conv2d_transpose", filter, filters, "filter", "filters")  # noqa: A001
    with name_scope(name, "conv2d_transpose", [value, filter, output_shape]) as scope:
        x = convert_to_tensor(value, name="value")
        w = _operand(filter, x, "Conv2DBackpropInput", "filter", "out_backprop")
        fmt = data_format or "NHWC"
        axis = 3 if fmt == "NHWC" else 1
        x_dims, w_dims = shape_of(x), shape_of(w)
        in_channels = x_dims[axis] if x_dims is not None and len(x_dims) == 4 else None
        w_in, w_out = (w_dims[3], w_dims[2]) if w_dims is not None and len(w_dims) == 4 else (None, None)
        if None not in (in_channels, w_in) and in_channels != w_in:
            raise ValueError(f"input channels does not match filter's input channels, {in_channels} != {w_in}")
        sizes = as_int_tensor(output_shape, "output_shape")
        if not sizes.shape.is_compatible_with([4]):
            raise ValueError(f"output_shape must have shape (4,), got {sizes.shape}")
        known = static_value.partial_shape_value(sizes)
        out_channels = known[axis] if known is not None and len(known) == 4 else None
        if None not in (out_channels, w_out) and out_channels != w_out:
            raise ValueError(f"output_shape does not match filter's output channels, {out_channels} != {w_out}")
        if padding not in ("VALID", "SAME"):
            raise ValueError(f"padding must be either VALID or SAME: {padding}")
        return conv2d_backprop_input(sizes, w, x, strides=strides, padding=padding, data_format=fmt,
                                     dilations=dilations, name=scope)


def convolution(input, filter=None, padding=None, strides=None, dilation_rate=None, name=None,  # noqa: A002
                data_format=None, filters=None, dilations=None):
    """``tf.nn.convolution`` for 2-D windows (a 4-D ``input``): ``conv2d`` with ``strides`` and
    ``dilation_rate`` given per spatial dimension.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.nn.convolution(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 3, 4]), "SAME", strides=[2, 2]).shape
    TensorShape([1, 3, 3, 4])
    """
    filter = alias("convolution", filter, filters, "filter", "filters")  # noqa: A001
    dilation_rate = alias("convolution", dilation_rate, dilations, "dilation_rate", "dilations")
    with name_scope(name, "convolution", [input, filter]) as scope:
        x = convert_to_tensor(input, name="input")
        if x.shape.ndims != 4:
            raise ValueError(f"convolution: only 2-D convolutions (a 4-D input) are supported, got an input of "
                             f"shape {x.shape}")
        strides = _spatial_pair(strides, "strides")
        dilation_rate = _spatial_pair(dilation_rate, "dilation_rate")
        if max(strides) > 1 and max(dilation_rate) > 1:
            raise ValueError("strides > 1 not supported in conjunction with dilation_rate > 1")
        fmt = "NCHW" if data_format is not None and data_format.startswith("NC") else "NHWC"
        return conv2d(x, filter, strides=strides, padding=padding, data_format=fmt, dilations=dilation_rate,
                      name=scope)


def _spatial_pair(value, name):
    if value is None:
        return [1, 1]
    value = [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)] * 2
    if len(value) != 2:
        raise ValueError(f"len({name}) should be 2. Received: {name}={value} of length {len(value)}")
    if min(value) < 1:
        raise ValueError(f"all values of {name} must be positive. Received: {name}={value}")
    return value
