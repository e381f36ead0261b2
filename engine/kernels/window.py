"""Sliding windows, as the convolution and pooling kernels share them: TF's padding arithmetic, the ``Window`` a
node's attrs describe, and the NHWC layout every such kernel computes in (NCHW is transposed in and out)."""

import dataclasses

from engine.errors import InvalidArgumentError
from engine.graph_util import get_attr

PADDINGS = ("SAME", "VALID", "EXPLICIT")
DATA_FORMATS = ("NHWC", "NCHW")


# ---------------------------------------------------------------- geometry (shared with shape inference)
def output_size(in_size, k, stride, dilation, padding, explicit=(0, 0)):
    """``(out, pad_before, pad_after)`` along one spatial axis, by TF's arithmetic: SAME gives
    ``ceil(in / stride)`` with the odd padding at the end; VALID and EXPLICIT fit whole windows only.
    ValueError, in TF's words, when not even one window fits.

    >>> output_size(28, 3, 1, 1, "SAME"), output_size(5, 3, 2, 1, "VALID"), output_size(4, 2, 2, 1, "SAME")
    ((28, 1, 1), (2, 0, 0), (2, 0, 0))
    """
    effective = (k - 1) * dilation + 1
    if padding == "SAME":
        out = -(-in_size // stride)
        total = max((out - 1) * stride + effective - in_size, 0)
        return out, total // 2, total - total // 2
    before, after = explicit if padding == "EXPLICIT" else (0, 0)
    span = in_size + before + after
    if span < effective:
        raise ValueError(f"Negative dimension size caused by subtracting {effective} from {span}")
    return (span - effective) // stride + 1, before, after


def spatial(values, data_format):
    """The (height, width) entries of a 4-item per-dimension list in ``data_format`` order."""
    return (values[1], values[2]) if data_format == "NHWC" else (values[2], values[3])


@dataclasses.dataclass(frozen=True)
class Window:
    """A 2-D sliding window: its size, strides, dilations and padding (TF's SAME/VALID/EXPLICIT)."""

    size: tuple
    strides: tuple
    dilations: tuple = (1, 1)
    padding: str = "VALID"
    explicit: tuple = ((0, 0), (0, 0))

    def sized(self, size):
        """This window with another (height, width) size (a filter's, known when the kernel runs)."""
        return dataclasses.replace(self, size=tuple(size))

    def plan(self, height, width):
        """``((oh, pad_top, pad_bottom), (ow, pad_left, pad_right))`` for an input of that size."""
        return tuple(output_size(n, k, s, d, self.padding, e) for n, k, s, d, e in
                     zip((height, width), self.size, self.strides, self.dilations, self.explicit))

    def offsets(self, oh, ow):
        """``(i, j, rows, cols)`` per window position: the slices of the padded input that position reads."""
        (sh, sw), (dh, dw) = self.strides, self.dilations
        for i in range(self.size[0]):
            for j in range(self.size[1]):
                yield i, j, slice(i * dh, i * dh + sh * (oh - 1) + 1, sh), slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)


def fail(node, message):
    """An InvalidArgumentError naming ``node`` and its op."""
    return InvalidArgumentError(None, None, f"{node.op}: {message}", node_name=node.name, op_type=node.op)


def window_of(node, size=None):
    """The ``Window`` a node's attrs describe (``size`` from the filter; pools read their ``ksize``)."""
    fmt = get_attr(node, "data_format", "NHWC")
    if fmt not in DATA_FORMATS:
        raise fail(node, f"data_format must be one of {', '.join(DATA_FORMATS)}, got {fmt!r}")
    padding = get_attr(node, "padding")
    pads = list(get_attr(node, "explicit_paddings", []) or [])
    explicit = ((0, 0), (0, 0))
    if padding == "EXPLICIT":
        if len(pads) != 8:
            raise fail(node, f"explicit_paddings must hold 8 values, got {pads}")
        pairs = [tuple(pads[2 * i:2 * i + 2]) for i in range(4)]
        explicit = spatial(pairs, fmt)
    size = size if size is not None else spatial(get_attr(node, "ksize"), fmt)
    return Window(tuple(size), spatial(get_attr(node, "strides"), fmt),
                  spatial(get_attr(node, "dilations", [1, 1, 1, 1]), fmt), padding, explicit)


def checked_plan(node, win, height, width):
    """``win.plan(height, width)``, an InvalidArgumentError naming ``node`` when no window fits."""
    try:
        return win.plan(height, width)
    except ValueError as e:
        raise fail(node, str(e)) from None


# ---------------------------------------------------------------- the NHWC layout
def to_nhwc(x, fmt):
    """A 4-D ``x`` of ``fmt`` as NHWC (a view)."""
    return x if fmt == "NHWC" else x.transpose(0, 2, 3, 1)


def from_nhwc(xp, y, fmt):
    """An NHWC ``y`` back in ``fmt``."""
    return y if fmt == "NHWC" else xp.ascontiguousarray(y.transpose(0, 3, 1, 2))


def shape_nhwc(shape, fmt):
    """A 4-value shape in ``fmt`` order as (n, h, w, c)."""
    n, a, b, c = shape
    return (n, a, b, c) if fmt == "NHWC" else (n, b, c, a)


def pad_nhwc(xp, x, rows, cols, value=0):
    """``x`` (NHWC) inside a border of ``value``: ``rows``/``cols`` are (before, after) pairs."""
    if rows == (0, 0) and cols == (0, 0):
        return x
    n, h, w, c = x.shape
    out = xp.full((n, h + sum(rows), w + sum(cols), c), value, dtype=x.dtype)
    out[:, rows[0]:rows[0] + h, cols[0]:cols[0] + w] = x
    return out


def check_backprop(node, dy, expected, what="out_backprop"):
    """InvalidArgumentError unless the gradient ``dy`` (NHWC) has the ``expected`` output shape."""
    if tuple(dy.shape) != tuple(expected):
        raise fail(node, f"{what} has shape {list(dy.shape)} (as NHWC), but the input and the window give an "
                         f"output of shape {list(expected)}")
