"""Convolution and pooling kernels (numpy; reused by the cupy backend through ``xp``).

Ops (inputs -> output; attrs T, strides, padding, explicit_paddings, data_format, plus dilations or ksize):
  Conv2D(input, filter) -> output
  Conv2DBackpropInput(input_sizes, filter, out_backprop) -> input gradient   (tf.nn.conv2d_transpose too)
  Conv2DBackpropFilter(input, filter_sizes, out_backprop) -> filter gradient
  MaxPool(input) -> output;  MaxPoolGrad(orig_input, orig_output, grad) -> input gradient
  MaxPoolGradGrad(orig_input, orig_output, grad) -> output gradient
  AvgPool(value) -> output;  AvgPoolGrad(orig_input_shape, grad) -> input gradient

Everything runs in NHWC (NCHW is transposed in and out). A convolution is im2col over BLAS: a strided view of
the padded input shows every window without a copy; a block of it (a few images, a few MB, so that it is still
in cache when the matmul reads it) is copied into a patch matrix [rows, kh*kw*in] and multiplied by the filter
[kh*kw*in, out]. The filter gradient multiplies the same patches by the output gradient; the input gradient
multiplies the output gradient by the filter and adds each window's columns back (col2im). Pooling combines the
kh*kw strided slices of the padded input elementwise.
"""

import dataclasses

import numpy as np

from engine import op_defs
from engine.errors import InvalidArgumentError
from engine.graph_util import get_attr
from engine.kernels.registry import register_kernel
from engine.kernels.util import int_list

PADDINGS = ("SAME", "VALID", "EXPLICIT")
DATA_FORMATS = ("NHWC", "NCHW")

# A block of patches this large stays in cache while the matmul reads it: 2-4 MB ran ~40% faster than one
# patch matrix of the whole batch (batch-64 28x28x32 3x3 on 2 cores), and as fast as the bare matmul.
_BLOCK_BYTES = 4 << 20

for _op in ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MaxPool", "MaxPoolGrad", "MaxPoolGradGrad",
            "AvgPool", "AvgPoolGrad"):
    op_defs.register_op(_op, "T")


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


def _fail(node, message):
    return InvalidArgumentError(None, None, f"{node.op}: {message}", node_name=node.name, op_type=node.op)


def window_of(node, size=None):
    """The ``Window`` a node's attrs describe (``size`` from the filter; pools read their ``ksize``)."""
    fmt = get_attr(node, "data_format", "NHWC")
    if fmt not in DATA_FORMATS:
        raise _fail(node, f"data_format must be one of {', '.join(DATA_FORMATS)}, got {fmt!r}")
    padding = get_attr(node, "padding")
    pads = list(get_attr(node, "explicit_paddings", []) or [])
    explicit = ((0, 0), (0, 0))
    if padding == "EXPLICIT":
        if len(pads) != 8:
            raise _fail(node, f"explicit_paddings must hold 8 values, got {pads}")
        pairs = [tuple(pads[2 * i:2 * i + 2]) for i in range(4)]
        explicit = spatial(pairs, fmt)
    size = size if size is not None else spatial(get_attr(node, "ksize"), fmt)
    return Window(tuple(size), spatial(get_attr(node, "strides"), fmt),
                  spatial(get_attr(node, "dilations", [1, 1, 1, 1]), fmt), padding, explicit)


def _plan(node, win, height, width):
    try:
        return win.plan(height, width)
    except ValueError as e:
        raise _fail(node, str(e)) from None


# ---------------------------------------------------------------- layout and views
def _to_nhwc(x, fmt):
    return x if fmt == "NHWC" else x.transpose(0, 2, 3, 1)


def _from_nhwc(xp, y, fmt):
    return y if fmt == "NHWC" else xp.ascontiguousarray(y.transpose(0, 3, 1, 2))


def _shape_nhwc(shape, fmt):
    n, a, b, c = shape
    return (n, a, b, c) if fmt == "NHWC" else (n, b, c, a)


def _padded(xp, x, rows, cols, value=0):
    """``x`` (NHWC) inside a border of ``value``: ``rows``/``cols`` are (before, after) pairs."""
    if rows == (0, 0) and cols == (0, 0):
        return x
    n, h, w, c = x.shape
    out = xp.full((n, h + sum(rows), w + sum(cols), c), value, dtype=x.dtype)
    out[:, rows[0]:rows[0] + h, cols[0]:cols[0] + w] = x
    return out


def _windows(xp, padded, win, oh, ow):
    """A view ``[n, oh, ow, kh, kw, c]`` of every window of the padded NHWC input (no copy)."""
    sn, sh, sw, sc = padded.strides
    (kh, kw), (th, tw), (dh, dw) = win.size, win.strides, win.dilations
    return xp.lib.stride_tricks.as_strided(padded, (padded.shape[0], oh, ow, kh, kw, padded.shape[3]),
                                           (sn, sh * th, sw * tw, sh * dh, sw * dw, sc))


def _blocks(xp, n, oh, row_bytes):
    """``(n0, n1, h0, h1)`` blocks of output positions whose patches take about ``_BLOCK_BYTES`` (whole images
    while one fits, else rows of one image); a single block off the CPU, where cache blocking buys nothing."""
    if xp is not np:
        yield 0, n, 0, oh
        return
    per_image = max(oh * row_bytes, 1)
    images = _BLOCK_BYTES // per_image
    if images >= 1:
        for n0 in range(0, n, images):
            yield n0, min(n, n0 + images), 0, oh
        return
    rows = max(1, _BLOCK_BYTES // max(row_bytes, 1))
    for i in range(n):
        for h0 in range(0, oh, rows):
            yield i, i + 1, h0, min(oh, h0 + rows)


class _Patches:
    """Copies blocks of windows into one reused buffer, as 2-D patch matrices ``[positions, kh*kw*c]``."""

    def __init__(self, xp, windows):
        self.windows = windows
        self.buffer = None
        self.xp = xp

    def matrix(self, n0, n1, h0, h1):
        """The patch matrix of output rows ``h0:h1`` of images ``n0:n1``."""
        block = self.windows[n0:n1, h0:h1]
        size = int(np.prod(block.shape))
        if self.buffer is None or self.buffer.size < size:
            self.buffer = self.xp.empty(size, dtype=block.dtype)
        dst = self.buffer[:size].reshape(block.shape)
        dst[...] = block
        return dst.reshape(-1, int(np.prod(block.shape[3:])))


def _is_pointwise(win, pads):
    return win.size == (1, 1) and win.strides == (1, 1) and pads == ((0, 0), (0, 0))


# ---------------------------------------------------------------- convolution (NHWC)
def conv2d_nhwc(xp, x, w, win, node):
    """``Conv2D`` of an NHWC input ``x`` with filter ``w`` [kh, kw, in, out]."""
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    (oh, pt, pb), (ow, pl, pr) = _plan(node, win, h, wd)
    if _is_pointwise(win, ((pt, pb), (pl, pr))):
        return xp.matmul(x.reshape(-1, c), w.reshape(c, o)).reshape(n, h, wd, o)
    out = xp.empty((n, oh, ow, o), dtype=x.dtype)
    if out.size == 0:
        return out
    patches = _Patches(xp, _windows(xp, _padded(xp, x, (pt, pb), (pl, pr)), win, oh, ow))
    flat_filter = w.reshape(kh * kw * c, o)
    for n0, n1, h0, h1 in _blocks(xp, n, oh, ow * kh * kw * c * x.itemsize):
        # out is C-contiguous and a block is whole images or rows of one image: the reshape is a view.
        xp.matmul(patches.matrix(n0, n1, h0, h1), flat_filter, out=out[n0:n1, h0:h1].reshape(-1, o))
    return out


def conv2d_backprop_filter_nhwc(xp, x, filter_shape, dy, win, node):
    """The gradient of ``Conv2D`` with respect to its filter of ``filter_shape``: patches^T @ dy."""
    n, h, wd, c = x.shape
    kh, kw, _, o = filter_shape
    (oh, pt, pb), (ow, pl, pr) = _plan(node, win, h, wd)
    _check_backprop(node, dy, (n, oh, ow, o))
    if _is_pointwise(win, ((pt, pb), (pl, pr))):
        return xp.matmul(x.reshape(-1, c).T, dy.reshape(-1, o)).reshape(filter_shape)
    total = xp.zeros((kh * kw * c, o), dtype=x.dtype)
    if dy.size == 0:
        return total.reshape(filter_shape)
    patches = _Patches(xp, _windows(xp, _padded(xp, x, (pt, pb), (pl, pr)), win, oh, ow))
    for n0, n1, h0, h1 in _blocks(xp, n, oh, ow * kh * kw * c * x.itemsize):
        total += xp.matmul(patches.matrix(n0, n1, h0, h1).T, dy[n0:n1, h0:h1].reshape(-1, o))
    return total.reshape(filter_shape)


def conv2d_backprop_input_nhwc(xp, input_shape, w, dy, win, node):
    """The gradient of ``Conv2D`` with respect to its input of ``input_shape``: dy @ filter^T, then each
    window's columns added back where the window read them (col2im)."""
    n, h, wd, c = input_shape
    kh, kw, _, o = w.shape
    (oh, pt, pb), (ow, pl, pr) = _plan(node, win, h, wd)
    _check_backprop(node, dy, (n, oh, ow, o))
    if _is_pointwise(win, ((pt, pb), (pl, pr))):
        return xp.matmul(dy.reshape(-1, o), w.reshape(c, o).T).reshape(input_shape)
    grad = xp.zeros((n, h + pt + pb, wd + pl + pr, c), dtype=dy.dtype)
    if dy.size == 0 or grad.size == 0:
        return grad[:, pt:pt + h, pl:pl + wd]
    windows = _windows(xp, grad, win, oh, ow)
    flat_filter_t = w.reshape(kh * kw * c, o).T
    for n0, n1, h0, h1 in _blocks(xp, n, oh, ow * kh * kw * c * dy.itemsize):
        cols = xp.matmul(dy[n0:n1, h0:h1].reshape(-1, o), flat_filter_t).reshape(n1 - n0, h1 - h0, ow, kh, kw, c)
        for i in range(kh):
            for j in range(kw):
                # One window offset touches each input position at most once, so += on the view is exact.
                target = windows[n0:n1, h0:h1, :, i, j]
                target += cols[:, :, :, i, j]
    return xp.ascontiguousarray(grad[:, pt:pt + h, pl:pl + wd])


def _check_backprop(node, dy, expected, what="out_backprop"):
    if tuple(dy.shape) != tuple(expected):
        raise _fail(node, f"{what} has shape {list(dy.shape)} (as NHWC), but the input and the window give an "
                          f"output of shape {list(expected)}")


def _check_rank4(node, **tensors):
    for name, t in tensors.items():
        if t.ndim != 4:
            raise _fail(node, f"{name} must be 4-dimensional, got shape {list(t.shape)}")


def _check_depth(node, in_depth, filter_depth):
    if in_depth != filter_depth:
        raise _fail(node, f"input depth must be evenly divisible by filter depth: {in_depth} vs {filter_depth}"
                    if filter_depth == 0 or in_depth % filter_depth else
                    f"grouped convolutions are not supported: input depth {in_depth} vs filter depth "
                    f"{filter_depth}")


@register_kernel("Conv2D", "CPU", xp_generic=True)
def conv2d(node, env, xp=np):
    """2-D convolution (cross-correlation) of a 4-D input with a [kh, kw, in, out] filter."""
    fmt, win = get_attr(node, "data_format", "NHWC"), window_of(node, (1, 1))

    def conv2d_fn(x, w):
        _check_rank4(node, input=x, filter=w)
        x = _to_nhwc(x, fmt)
        _check_depth(node, x.shape[3], w.shape[2])
        return _from_nhwc(xp, conv2d_nhwc(xp, x, w, win.sized(w.shape[:2]), node), fmt)
    return conv2d_fn


@register_kernel("Conv2DBackpropInput", "CPU", xp_generic=True)
def conv2d_backprop_input(node, env, xp=np):
    """The gradient of Conv2D with respect to its input (a transposed convolution)."""
    fmt, win = get_attr(node, "data_format", "NHWC"), window_of(node, (1, 1))

    def backprop_input_fn(input_sizes, w, dy):
        sizes = int_list(input_sizes)
        if len(sizes) != 4:
            raise _fail(node, f"input_sizes must hold 4 values, got {sizes}")
        _check_rank4(node, filter=w, out_backprop=dy)
        shape = _shape_nhwc(sizes, fmt)
        _check_depth(node, shape[3], w.shape[2])
        return _from_nhwc(xp, conv2d_backprop_input_nhwc(xp, shape, w, _to_nhwc(dy, fmt), win.sized(w.shape[:2]),
                                                         node), fmt)
    return backprop_input_fn


@register_kernel("Conv2DBackpropFilter", "CPU", xp_generic=True)
def conv2d_backprop_filter(node, env, xp=np):
    """The gradient of Conv2D with respect to its filter."""
    fmt, win = get_attr(node, "data_format", "NHWC"), window_of(node, (1, 1))

    def backprop_filter_fn(x, filter_sizes, dy):
        sizes = tuple(int_list(filter_sizes))
        if len(sizes) != 4:
            raise _fail(node, f"filter_sizes must hold 4 values, got {list(sizes)}")
        _check_rank4(node, input=x, out_backprop=dy)
        x = _to_nhwc(x, fmt)
        _check_depth(node, x.shape[3], sizes[2])
        dy = xp.ascontiguousarray(_to_nhwc(dy, fmt))
        return conv2d_backprop_filter_nhwc(xp, x, sizes, dy, win.sized(sizes[:2]), node)
    return backprop_filter_fn


# ---------------------------------------------------------------- pooling (NHWC)
def _lowest(dtype):
    dtype = np.dtype(dtype)
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _max_hits(xp, x, y, win, node):
    """Yield ``(rows, cols, hit)`` per window offset: where that offset holds its window's maximum, the first
    one in row-major window order only (TF's tie rule), over the input padded with the lowest value."""
    n, h, wd, c = x.shape
    (oh, pt, pb), (ow, pl, pr) = _plan(node, win, h, wd)
    _check_backprop(node, y, (n, oh, ow, c), "orig_output")
    padded = _padded(xp, x, (pt, pb), (pl, pr), _lowest(x.dtype))
    taken = xp.zeros(y.shape, dtype=bool)
    for _, _, rows, cols in win.offsets(oh, ow):
        hit = (padded[:, rows, cols] == y) & ~taken
        taken |= hit
        yield rows, cols, hit


def max_pool_nhwc(xp, x, win, node):
    """The maximum of every window (padding never wins: it holds the dtype's lowest value)."""
    n, h, wd, c = x.shape
    (oh, pt, pb), (ow, pl, pr) = _plan(node, win, h, wd)
    if n * oh * ow * c == 0:
        return xp.empty((n, oh, ow, c), dtype=x.dtype)
    padded = _padded(xp, x, (pt, pb), (pl, pr), _lowest(x.dtype))
    out = None
    for _, _, rows, cols in win.offsets(oh, ow):
        part = padded[:, rows, cols]
        out = part.copy() if out is None else xp.maximum(out, part, out=out)
    return out


def max_pool_grad_nhwc(xp, x, y, dy, win, node):
    """``dy`` routed to the first maximum of each window (added up where windows overlap)."""
    n, h, wd, c = x.shape
    (oh, pt, pb), (ow, pl, pr) = _plan(node, win, h, wd)
    _check_backprop(node, dy, (n, oh, ow, c), "grad")
    grad = xp.zeros((n, h + pt + pb, wd + pl + pr, c), dtype=dy.dtype)
    if dy.size:
        zero = xp.zeros((), dtype=dy.dtype)
        for rows, cols, hit in _max_hits(xp, x, y, win, node):
            grad[:, rows, cols] += xp.where(hit, dy, zero)
    return xp.ascontiguousarray(grad[:, pt:pt + h, pl:pl + wd])


def max_pool_grad_grad_nhwc(xp, x, y, g, win, node):
    """For each window, ``g`` (shaped like the input) at that window's first maximum."""
    if g.shape != x.shape:
        raise _fail(node, f"grad must be shaped like orig_input {list(x.shape)} (as NHWC), got {list(g.shape)}")
    out = xp.zeros(y.shape, dtype=g.dtype)
    if out.size:
        (_, pt, pb), (_, pl, pr) = _plan(node, win, x.shape[1], x.shape[2])
        padded_g = _padded(xp, g, (pt, pb), (pl, pr))
        for rows, cols, hit in _max_hits(xp, x, y, win, node):
            out = xp.where(hit, padded_g[:, rows, cols], out)
    return out


def _window_counts(xp, win, h, wd, dtype, node):
    """How many input (not padding) positions each output position's window covers, ``[oh, ow, 1]``."""
    counts = []
    for n, (out, before, _), k, s in zip((h, wd), _plan(node, win, h, wd), win.size, win.strides):
        starts = [o * s - before for o in range(out)]
        counts.append([min(st + k, n) - max(st, 0) for st in starts])
    return xp.asarray(np.outer(counts[0], counts[1]).astype(dtype)[:, :, None])


def avg_pool_nhwc(xp, x, win, node):
    """The mean of every window over its input positions (SAME's padding is not counted, as in TF)."""
    n, h, wd, c = x.shape
    (oh, pt, pb), (ow, pl, pr) = _plan(node, win, h, wd)
    if n * oh * ow * c == 0:
        return xp.empty((n, oh, ow, c), dtype=x.dtype)
    padded = _padded(xp, x, (pt, pb), (pl, pr))
    total = None
    for _, _, rows, cols in win.offsets(oh, ow):
        part = padded[:, rows, cols]
        total = part.copy() if total is None else xp.add(total, part, out=total)
    total /= _window_counts(xp, win, h, wd, x.dtype, node)
    return total


def avg_pool_grad_nhwc(xp, input_shape, dy, win, node):
    """``dy`` spread evenly over the input positions of each window."""
    n, h, wd, c = input_shape
    (oh, pt, pb), (ow, pl, pr) = _plan(node, win, h, wd)
    _check_backprop(node, dy, (n, oh, ow, c), "grad")
    grad = xp.zeros((n, h + pt + pb, wd + pl + pr, c), dtype=dy.dtype)
    if dy.size:
        share = dy / _window_counts(xp, win, h, wd, dy.dtype, node)
        for _, _, rows, cols in win.offsets(oh, ow):
            grad[:, rows, cols] += share
    return xp.ascontiguousarray(grad[:, pt:pt + h, pl:pl + wd])


def _pool_kernel(node, xp, fn, shape_input=False):
    """A kernel running ``fn(xp, *nhwc_args, win, node)``: 4-D args move to NHWC and the result moves back;
    with ``shape_input`` the first argument is a shape vector in ``data_format`` order."""
    fmt = get_attr(node, "data_format", "NHWC")
    win = window_of(node)

    def pool_fn(*args):
        moved = []
        for k, a in enumerate(args):
            if shape_input and k == 0:
                sizes = int_list(a)
                if len(sizes) != 4:
                    raise _fail(node, f"orig_input_shape must hold 4 values, got {sizes}")
                moved.append(_shape_nhwc(sizes, fmt))
                continue
            if a.ndim != 4:
                raise _fail(node, f"input must be 4-dimensional, got shape {list(a.shape)}")
            moved.append(_to_nhwc(a, fmt))
        return _from_nhwc(xp, fn(xp, *moved, win, node), fmt)
    return pool_fn


@register_kernel("MaxPool", "CPU", xp_generic=True)
def max_pool(node, env, xp=np):
    """Max pooling over the spatial dimensions."""
    return _pool_kernel(node, xp, max_pool_nhwc)


@register_kernel("MaxPoolGrad", "CPU", xp_generic=True)
def max_pool_grad(node, env, xp=np):
    """The gradient of MaxPool: each output's gradient goes to its window's first maximum."""
    return _pool_kernel(node, xp, max_pool_grad_nhwc)


@register_kernel("MaxPoolGradGrad", "CPU", xp_generic=True)
def max_pool_grad_grad(node, env, xp=np):
    """The gradient of MaxPoolGrad with respect to its ``grad`` input."""
    return _pool_kernel(node, xp, max_pool_grad_grad_nhwc)


@register_kernel("AvgPool", "CPU", xp_generic=True)
def avg_pool(node, env, xp=np):
    """Average pooling over the spatial dimensions."""
    return _pool_kernel(node, xp, avg_pool_nhwc)


@register_kernel("AvgPoolGrad", "CPU", xp_generic=True)
def avg_pool_grad(node, env, xp=np):
    """The gradient of AvgPool."""
    return _pool_kernel(node, xp, avg_pool_grad_nhwc, shape_input=True)
