"""What the sliding-window ops (convolutions, pools and their gradients) share on the graph side: their attrs
checked in TF's words, the shapes they infer in NHWC order, the Python arguments TF's functions take for them,
and ``window_op``, which builds one with the window attrs of another (for the gradient rules)."""

import collections.abc

from engine.kernels.window import DATA_FORMATS, PADDINGS, output_size, spatial
from tasklayer import shapes
from tasklayer.ops import static_value
from tasklayer.ops._build import make_op, shape_of, who


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
        by_dim = [tuple(explicit[2 * i:2 * i + 2]) for i in range(4)]
        if by_dim[0] != (0, 0) or by_dim[channel] != (0, 0):
            raise ValueError(f"{who(op)}: Nonzero explicit padding in the batch or depth dimensions is not supported")
        pairs = spatial(by_dim, fmt)
    elif explicit:
        raise ValueError(f"{who(op)}: explicit_paddings attribute must be empty if the padding attribute is not "
                         "EXPLICIT")
    return fmt, padding, pairs, spatial(strides, fmt), spatial(dilations, fmt), ksize and spatial(ksize, fmt)


def nhwc(shape, fmt):
    """A data_format-ordered 4-D shape tuple as (n, h, w, c); four Nones for an unknown one."""
    if shape is None:
        return (None,) * 4
    return tuple(shape) if fmt == "NHWC" else (shape[0], shape[2], shape[3], shape[1])


def from_nhwc(shape, fmt):
    """An (n, h, w, c) shape tuple in data_format order."""
    n, h, w, c = shape
    return (n, h, w, c) if fmt == "NHWC" else (n, c, h, w)


def rank4(op, t, text):
    """The static shape of ``t`` (None if unknown); ValueError in TF's words unless it is of rank 4 (``text``:
    the op's input shapes, for the message)."""
    shape = shape_of(t)
    if shape is not None and len(shape) != 4:
        raise ValueError(f"Shape must be rank 4 but is rank {len(shape)} for {who(op)} with input shapes: "
                         f"{text}.")
    return shape


def shapes_text(op):
    """The op's input shapes as TF's shape-inference messages list them."""
    return ", ".join(shapes.fmt(shape_of(t)) for t in op.inputs)


def spatial_out(op, sizes, window, strides, dilations, padding, explicit):
    """The output (height, width), None where a size is unknown; ValueError when no window fits."""
    out = []
    for n, k, s, d, e in zip(sizes, window, strides, dilations, explicit):
        if n is None or k is None:
            out.append(None)
            continue
        try:
            out.append(output_size(n, k, s, d, padding, e)[0])
        except ValueError as err:
            raise ValueError(f"{err} for {who(op)} with input shapes: {shapes_text(op)}.") from None
    return tuple(out)


def shape_input(op, t):
    """A 4-value shape input (input_sizes, filter_sizes, orig_input_shape) with None where unknown."""
    value = static_value.partial_shape_value(t)
    if value is not None and len(value) != 4:
        raise ValueError(f"{who(op)}: the shape input must hold 4 values, got {list(value)}")
    return None if value is None else tuple(None if v is None or v < 0 else v for v in value)


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


def per_dim(value, name, fmt):
    """``strides``/``dilations``/``ksize`` as TF's functions take them, as the 4 values of the op's attr."""
    values = _sequence(value, name)
    if len(values) == 4:
        return values
    h, w = values
    return [1, h, w, 1] if fmt == "NHWC" else [1, 1, h, w]


def padding_attrs(padding):
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


def alias(fn_name, value, alias_value, name, alias_name):
    """The value of an argument that TF's function also takes under another name (given once at most)."""
    if value is not None and alias_value is not None:
        raise ValueError(f"{fn_name}: cannot give both '{name}' and its alias '{alias_name}'")
    return value if value is not None else alias_value


# ---------------------------------------------------------------- ops only gradient rules build
def window_op(op_type, like, inputs, name=None):
    """An op of the window families (``Conv2D``, its backprop ops, the pools and their gradients) with the
    dtype and window attrs of the op ``like`` (the forward op a gradient rule differentiates)."""
    attrs = {k: like.get_attr(k) for k in like.attr_names}
    if op_type in ("AvgPool", "AvgPoolGrad"):
        attrs.pop("explicit_paddings", None)  # AvgPool has no explicit padding in TF
    elif op_type.startswith("MaxPool"):
        attrs.setdefault("explicit_paddings", [])
    return make_op(op_type, inputs, attrs, name).outputs[0]
