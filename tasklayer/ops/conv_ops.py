"""Convolution and pooling ops: conv2d (and its two backprop ops), conv2d_transpose, convolution, max_pool,
avg_pool, with TF's padding arithmetic (``SAME``: ``ceil(in / stride)`` outputs, the odd padding at the end).

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, [None, 28, 28, 3])
...     y = tf.nn.conv2d(x, tf.zeros([5, 5, 3, 8]), strides=[1, 2, 2, 1], padding="SAME")
...     tf.nn.max_pool(y, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID").shape.as_list()
[None, 7, 7, 8]
"""

import collections.abc

# Importing the kernel module also declares these ops to the engine (op defs and kernels).
from engine.kernels.numpy_conv import DATA_FORMATS, PADDINGS, output_size, spatial
from tasklayer import dtypes, shapes
from tasklayer.graph import Tensor, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import static_value
from tasklayer.ops._build import as_int_tensor, check_dtype, make_op, shape_of, who
from tasklayer.ops.constant_op import convert_to_tensor

CONV_DTYPES = dtypes.FLOATS + (dtypes.int32,)
MAX_POOL_DTYPES = dtypes.NUMERIC
AVG_POOL_DTYPES = dtypes.FLOATS

__all__ = ["avg_pool", "avg_pool2d", "conv2d", "conv2d_backprop_filter", "conv2d_backprop_input",
           "conv2d_transpose", "convolution", "max_pool", "max_pool2d", "window_op"]


# ---------------------------------------------------------------- attrs: read, checked in TF's words
def _attr(op, name, default):
    try:
        return op.get_attr(name)
    except ValueError:
        return default


def _one_of(op, attr, value, allowed):
    if value not in allowed:
        names = ", ".join(f'"{a}"' for a in allowed)
        raise ValueError(f"Attr '{attr}' of '{op.type}' Op passed string '{value}' not in: {names}.")


def _four(op, attr, values, what):
    values = list(values)
    if len(values) != 4:
        raise ValueError(f"{who(op)} requires the {attr} attribute to contain 4 values, but got: {len(values)}")
    if any(v < 1 for v in values):
        raise ValueError(f"{what} must be > 0, but got {min(values)} for {who(op)} ({attr}={values})")
    return values


def window_attrs(op, size_attr=None):
    """``(data_format, padding, explicit, strides, dilations, ksize)`` of a conv or pool op, checked; the last
    four are (height, width) pairs (``explicit`` a pair of (before, after))."""
    fmt = _attr(op, "data_format", "NHWC")
    _one_of(op, "data_format", fmt, DATA_FORMATS)
    padding = op.get_attr("padding")
    _one_of(op, "padding", padding, PADDINGS[:2] if op.type.startswith("AvgPool") else PADDINGS)
    strides = _four(op, "strides", op.get_attr("strides"), "Stride")
    dilations = _four(op, "dilations", _attr(op, "dilations", [1, 1, 1, 1]), "Dilation rate")
    ksize = _four(op, "ksize", op.get_attr(size_attr), "Sliding window ksize") if size_attr else None
    channel = 3 if fmt == "NHWC" else 1
    if ksize is not None and ksize[0] != 1:
        raise ValueError(f"{who(op)}: Pooling is not yet supported on the batch dimension.")
    if ksize is not None and ksize[channel] != 1:
        raise ValueError(f"{who(op)}: pooling across the depth dimension is not supported (ksize={ksize})")
    if strides[0] != 1 or strides[channel] != 1:
        raise ValueError(f"{who(op)}: Current implementation does not yet support strides in the batch and "
                         "depth dimensions.")
    if dilations[0] != 1 or dilations[channel] != 1:
        raise ValueError(f"{who(op)}: Current implementation does not yet support dilations in the batch and "
                         "depth dimensions.")
    explicit = list(_attr(op, "explicit_paddings", []) or [])
    pairs = ((0, 0), (0, 0))
    if padding == "EXPLICIT":
        if len(explicit) != 8:
            raise ValueError(f"{who(op)}: explicit_paddings attribute must contain 8 values, but got: {len(explicit)}")
        if any(p < 0 for p in explicit):
            raise ValueError(f"{who(op)}: All elements of explicit_paddings must be nonnegative, got {explicit}")
        per_dim = [tuple(explicit[2 * i:2 * i + 2]) for i in range(4)]
        if per_dim[0] != (0, 0) or per_dim[channel] != (0, 0):
            raise ValueError(f"{who(op)}: Nonzero explicit padding in the batch or depth dimensions is not supported")
        pairs = spatial(per_dim, fmt)
    elif explicit:
        raise ValueError(f"{who(op)}: explicit_paddings attribute must be empty if the padding attribute is not "
                         "EXPLICIT")
    return fmt, padding, pairs, spatial(strides, fmt), spatial(dilations, fmt), ksize and spatial(ksize, fmt)


def _nhwc(shape, fmt):
    """A data_format-ordered 4-D shape tuple as (n, h, w, c); four Nones for an unknown one."""
    if shape is None:
        return (None,) * 4
    return tuple(shape) if fmt == "NHWC" else (shape[0], shape[2], shape[3], shape[1])


def _from_nhwc(shape, fmt):
    n, h, w, c = shape
    return (n, h, w, c) if fmt == "NHWC" else (n, c, h, w)


def _rank4(op, t, shapes_text):
    shape = shape_of(t)
    if shape is not None and len(shape) != 4:
        raise ValueError(f"Shape must be rank 4 but is rank {len(shape)} for {who(op)} with input shapes: "
                         f"{shapes_text}.")
    return shape


def _shapes_text(op):
    return ", ".join(shapes.fmt(shape_of(t)) for t in op.inputs)


def _spatial_out(op, sizes, window, strides, dilations, padding, explicit):
    """The output (height, width), None where a size is unknown; ValueError when no window fits."""
    out = []
    for n, k, s, d, e in zip(sizes, window, strides, dilations, explicit):
        if n is None or k is None:
            out.append(None)
            continue
        try:
            out.append(output_size(n, k, s, d, padding, e)[0])
        except ValueError as err:
            raise ValueError(f"{err} for {who(op)} with input shapes: {_shapes_text(op)}.") from None
    return tuple(out)


def _same_dim(op, a, b):
    if a is not None and b is not None and a != b:
        raise ValueError(f"Dimensions must be equal, but are {a} and {b} for {who(op)} with input shapes: "
                         f"{_shapes_text(op)}.")


def _check_depth(op, in_depth, filter_depth):
    if in_depth is None or filter_depth is None or in_depth == filter_depth:
        return
    if filter_depth == 0 or in_depth % filter_depth:
        raise ValueError(f"Depth of input ({in_depth}) is not a multiple of input depth of filter "
                         f"({filter_depth}) for {who(op)} with input shapes: {_shapes_text(op)}.")
    raise ValueError(f"{who(op)}: grouped convolutions (input depth {in_depth}, filter input depth "
                     f"{filter_depth}) are not supported")


def _check_out_backprop(op, computed, dy_nhwc):
    for axis, (c, a) in enumerate(zip(computed, dy_nhwc[1:3])):
        if c is not None and a is not None and c != a:
            raise ValueError(f"{who(op)}: Size of out_backprop doesn't match computed: actual = {a}, computed = {c} "
                             f"spatial_dim: {axis + 1} (input shapes: {_shapes_text(op)})")


def _shape_input(op, t):
    """A 4-value shape input (input_sizes, filter_sizes, orig_input_shape) with None where unknown."""
    value = static_value.partial_shape_value(t)
    if value is not None and len(value) != 4:
        raise ValueError(f"{who(op)}: the shape input must hold 4 values, got {list(value)}")
    return None if value is None else tuple(None if v is None or v < 0 else v for v in value)


# ---------------------------------------------------------------- shape inference
def _infer_conv2d(op):
    x, w = op.inputs
    fmt, padding, explicit, strides, dilations, _ = window_attrs(op)
    text = _shapes_text(op)
    n, h, wd, c = _nhwc(_rank4(op, x, text), fmt)
    kh, kw, fc, o = _rank4(op, w, text) or (None,) * 4
    _check_depth(op, c, fc)
    oh, ow = _spatial_out(op, (h, wd), (kh, kw), strides, dilations, padding, explicit)
    return [(x.dtype, _from_nhwc((n, oh, ow, o), fmt))]


def _infer_backprop_input(op):
    sizes, w, dy = op.inputs
    fmt, padding, explicit, strides, dilations, _ = window_attrs(op)
    text = _shapes_text(op)
    kh, kw, fc, o = _rank4(op, w, text) or (None,) * 4
    dy_nhwc = _nhwc(_rank4(op, dy, text), fmt)
    _same_dim(op, o, dy_nhwc[3])
    shape = _shape_input(op, sizes)
    n, h, wd, c = _nhwc(shape, fmt)
    _check_depth(op, c, fc)
    _same_dim(op, n, dy_nhwc[0])
    _check_out_backprop(op, _spatial_out(op, (h, wd), (kh, kw), strides, dilations, padding, explicit), dy_nhwc)
    return [(w.dtype, None if shape is None else _from_nhwc((n, h, wd, c), fmt))]


def _infer_backprop_filter(op):
    x, sizes, dy = op.inputs
    fmt, padding, explicit, strides, dilations, _ = window_attrs(op)
    text = _shapes_text(op)
    n, h, wd, c = _nhwc(_rank4(op, x, text), fmt)
    dy_nhwc = _nhwc(_rank4(op, dy, text), fmt)
    shape = _shape_input(op, sizes)
    kh, kw, fc, o = shape or (None,) * 4
    _check_depth(op, c, fc)
    _same_dim(op, o, dy_nhwc[3])
    _same_dim(op, n, dy_nhwc[0])
    _check_out_backprop(op, _spatial_out(op, (h, wd), (kh, kw), strides, dilations, padding, explicit), dy_nhwc)
    return [(x.dtype, shape)]


def _pool_shape(op, x):
    fmt, padding, explicit, strides, _, ksize = window_attrs(op, "ksize")
    n, h, wd, c = _nhwc(_rank4(op, x, _shapes_text(op)), fmt)
    oh, ow = _spatial_out(op, (h, wd), ksize, strides, (1, 1), padding, explicit)
    return fmt, _from_nhwc((n, oh, ow, c), fmt)


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
    _rank4(op, g, _shapes_text(op))
    return [(g.dtype, _shape_input(op, sizes))]


register_op("Conv2D", _infer_conv2d)
register_op("Conv2DBackpropInput", _infer_backprop_input)
register_op("Conv2DBackpropFilter", _infer_backprop_filter)
register_op("MaxPool", _infer_pool)
register_op("AvgPool", _infer_pool)
register_op("MaxPoolGrad", lambda op: _infer_max_pool_grad(op, 0))
register_op("MaxPoolGradGrad", lambda op: _infer_max_pool_grad(op, 1))
register_op("AvgPoolGrad", _infer_avg_pool_grad)


# ---------------------------------------------------------------- arguments as TF's Python layer takes them
def _sequence(value, name):
    """An int or a list of 1, 2 or 4 ints as the 4 per-dimension values in data_format order (TF's rule)."""
    if value is None:
        return [1, 1, 1, 1]
    if isinstance(value, int):
        value = [value]
    elif isinstance(value, collections.abc.Sized):
        value = list(value)
    else:
        value = [value]
    value = [int(v) for v in value]
    if len(value) == 4:
        return value
    if len(value) not in (1, 2):
        raise ValueError(f"{name} should be of length 1, 2 or 4. Received: {name}={value} of length {len(value)}")
    return value * 2 if len(value) == 1 else value


def _per_dim(value, name, fmt):
    values = _sequence(value, name)
    if len(values) == 4:
        return values
    h, w = values
    return [1, h, w, 1] if fmt == "NHWC" else [1, 1, h, w]


def _padding(padding):
    """``(padding, explicit_paddings)`` from a string or a list of 4 (before, after) pairs (TF's rule)."""
    if padding == "EXPLICIT":
        raise ValueError('"EXPLICIT" is not a valid value for `padding`. To use explicit padding, `padding` must '
                         "be a list.")
    if not isinstance(padding, (list, tuple)):
        return padding, []
    explicit = []
    for i, pair in enumerate(padding):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"When `padding` is a list, each element of `padding` must be a list/tuple of size 2. "
                             f"Received: padding={padding} with element at index {i}")
        explicit.extend(int(p) for p in pair)
    if len(padding) != 4:
        raise ValueError(f"When padding is a list, it must be of size 4. Received: padding={padding} of size "
                         f"{len(padding)}")
    return "EXPLICIT", explicit


def _conv_attrs(dtype, strides, padding, use_cudnn_on_gpu, data_format, dilations):
    data_format = data_format or "NHWC"
    padding, explicit = _padding(padding)
    return {"T": dtype, "strides": _per_dim(strides, "strides", data_format),
            "use_cudnn_on_gpu": bool(use_cudnn_on_gpu), "padding": padding, "explicit_paddings": explicit,
            "data_format": data_format, "dilations": _per_dim(dilations, "dilations", data_format)}


def _operand(value, like, op_type, arg, like_arg="input"):
    """``value`` as a Tensor of ``like``'s dtype: converted if it is not a Tensor, else TypeError unless it
    already has that dtype (TF's message)."""
    if not isinstance(value, Tensor):
        return convert_to_tensor(value, dtype=like.dtype, name=arg)
    if value.dtype != like.dtype:
        raise TypeError(f"Input '{arg}' of '{op_type}' Op has type {value.dtype.name} that does not match type "
                        f"{like.dtype.name} of argument '{like_arg}'.")
    return value


def _alias(fn_name, value, alias_value, name, alias):
    if value is not None and alias_value is not None:
        raise ValueError(f"{fn_name}: cannot give both '{name}' and its alias '{alias}'")
    return value if value is not None else alias_value


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
    filter = _alias("conv2d", filter, filters, "filter", "filters")  # noqa: A001
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
    filter = _alias("conv2d_backprop_input", filter, filters, "filter", "filters")  # noqa: A001
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
    value = _alias("conv2d_transpose", value, input, "value", "input")
    filter = _alias("conv2d_transpose", filter, filters, "filter", "filters")  # noqa: A001
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
    filter = _alias("convolution", filter, filters, "filter", "filters")  # noqa: A001
    dilation_rate = _alias("convolution", dilation_rate, dilations, "dilation_rate", "dilations")
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


def _pool(op_type, allowed, value, ksize, strides, padding, data_format, name, default_name):
    with name_scope(name, default_name, [value]) as scope:
        x = convert_to_tensor(value, name="input")
        check_dtype(op_type, "value" if op_type == "AvgPool" else "input", x, allowed)
        fmt = data_format or "NHWC"
        ksize_seq = _per_dim(ksize, "ksize", fmt)
        if any(k == 0 for k in ksize_seq):
            raise ValueError(f"`ksize` cannot be zero. Received: ksize={ksize}")
        padding, explicit = _padding(padding) if op_type == "MaxPool" else (padding, [])
        attrs = {"T": x.dtype, "ksize": ksize_seq, "strides": _per_dim(strides, "strides", fmt),
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
    value = _alias("max_pool", value, input, "value", "input")
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
    value = _alias("avg_pool", value, input, "value", "input")
    return _pool("AvgPool", AVG_POOL_DTYPES, value, ksize, strides, padding, data_format, name, "AvgPool")


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """``max_pool`` under its TF 1.15+ name (argument ``input``)."""
    return _pool("MaxPool", MAX_POOL_DTYPES, input, ksize, strides, padding, data_format, name, "MaxPool2d")


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """``avg_pool`` under its TF 1.15+ name (argument ``input``)."""
    return _pool("AvgPool", AVG_POOL_DTYPES, input, ksize, strides, padding, data_format, name, "AvgPool2D")


# ---------------------------------------------------------------- ops only gradient rules build
def window_op(op_type, like, inputs, name=None):
    """An op of this module's families (``Conv2D``, its backprop ops, the pools and their gradients) with the
    dtype and window attrs of the op ``like`` (the forward op a gradient rule differentiates)."""
    attrs = {k: like.get_attr(k) for k in like.attr_names}
    if op_type in ("AvgPool", "AvgPoolGrad"):
        attrs.pop("explicit_paddings", None)  # AvgPool has no explicit padding in TF
    elif op_type.startswith("MaxPool"):
        attrs.setdefault("explicit_paddings", [])
    return make_op(op_type, inputs, attrs, name).outputs[0]
