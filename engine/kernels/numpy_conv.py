"""Convolution kernels (numpy; reused by the cupy backend through ``xp``).

Ops (inputs -> output; attrs T, strides, padding, explicit_paddings, data_format, dilations):
  Conv2D(input, filter) -> output
  Conv2DBackpropInput(input_sizes, filter, out_backprop) -> input gradient   (tf.nn.conv2d_transpose too)
  Conv2DBackpropFilter(input, filter_sizes, out_backprop) -> filter gradient

Everything runs in NHWC (``engine.kernels.window``: NCHW is transposed in and out). A convolution is im2col over
BLAS: a strided view of the padded input shows every window without a copy; a block of it (a few images, a few
MB, so that it is still in cache when the matmul reads it) is copied into a patch matrix [rows, kh*kw*in] and
multiplied by the filter [kh*kw*in, out]. The filter gradient multiplies the same patches by the output gradient;
the input gradient multiplies the output gradient by the filter and adds each window's columns back (col2im).
"""

import numpy as np

from engine import op_defs
from engine.graph_util import get_attr
from engine.kernels.registry import register_kernel
from engine.kernels.util import int_list
from engine.kernels.window import (check_backprop, checked_plan, fail, from_nhwc, pad_nhwc, shape_nhwc, to_nhwc,
                                   window_of)

# A block of patches this large stays in cache while the matmul reads it: 2-4 MB ran ~40% faster than one
# patch matrix of the whole batch (batch-64 28x28x32 3x3 on 2 cores), and as fast as the bare matmul.
_BLOCK_BYTES = 4 << 20

for _op in ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"):
    op_defs.register_op(_op, "T")


# ---------------------------------------------------------------- patches
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
    (oh, pt, pb), (ow, pl, pr) = checked_plan(node, win, h, wd)
    if _is_pointwise(win, ((pt, pb), (pl, pr))):
        return xp.matmul(x.reshape(-1, c), w.reshape(c, o)).reshape(n, h, wd, o)
    out = xp.empty((n, oh, ow, o), dtype=x.dtype)
    if out.size == 0:
        return out
    patches = _Patches(xp, _windows(xp, pad_nhwc(xp, x, (pt, pb), (pl, pr)), win, oh, ow))
    flat_filter = w.reshape(kh * kw * c, o)
    for n0, n1, h0, h1 in _blocks(xp, n, oh, ow * kh * kw * c * x.itemsize):
        # out is C-contiguous and a block is whole images or rows of one image: the reshape is a view.
        xp.matmul(patches.matrix(n0, n1, h0, h1), flat_filter, out=out[n0:n1, h0:h1].reshape(-1, o))
    return out


def conv2d_backprop_filter_nhwc(xp, x, filter_shape, dy, win, node):
    """The gradient of ``Conv2D`` with respect to its filter of ``filter_shape``: patches^T @ dy."""
    n, h, wd, c = x.shape
    kh, kw, _, o = filter_shape
    (oh, pt, pb), (ow, pl, pr) = checked_plan(node, win, h, wd)
    check_backprop(node, dy, (n, oh, ow, o))
    if _is_pointwise(win, ((pt, pb), (pl, pr))):
        return xp.matmul(x.reshape(-1, c).T, dy.reshape(-1, o)).reshape(filter_shape)
    total = xp.zeros((kh * kw * c, o), dtype=x.dtype)
    if dy.size == 0:
        return total.reshape(filter_shape)
    patches = _Patches(xp, _windows(xp, pad_nhwc(xp, x, (pt, pb), (pl, pr)), win, oh, ow))
    for n0, n1, h0, h1 in _blocks(xp, n, oh, ow * kh * kw * c * x.itemsize):
        total += xp.matmul(patches.matrix(n0, n1, h0, h1).T, dy[n0:n1, h0:h1].reshape(-1, o))
    return total.reshape(filter_shape)


def conv2d_backprop_input_nhwc(xp, input_shape, w, dy, win, node):
    """The gradient of ``Conv2D`` with respect to its input of ``input_shape``: dy @ filter^T, then each
    window's columns added back where the window read them (col2im)."""
    n, h, wd, c = input_shape
    kh, kw, _, o = w.shape
    (oh, pt, pb), (ow, pl, pr) = checked_plan(node, win, h, wd)
    check_backprop(node, dy, (n, oh, ow, o))
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


def _check_rank4(node, **tensors):
    for name, t in tensors.items():
        if t.ndim != 4:
            raise fail(node, f"{name} must be 4-dimensional, got shape {list(t.shape)}")


def _check_depth(node, in_depth, filter_depth):
    if in_depth != filter_depth:
        raise fail(node, f"input depth must be evenly divisible by filter depth: {in_depth} vs {filter_depth}"
                   if filter_depth == 0 or in_depth % filter_depth else
                   f"grouped convolutions are not supported: input depth {in_depth} vs filter depth "
                   f"{filter_depth}")


@register_kernel("Conv2D", "CPU", xp_generic=True)
def conv2d(node, env, xp=np):
    """2-D convolution (cross-correlation) of a 4-D input with a [kh, kw, in, out] filter."""
    fmt, win = get_attr(node, "data_format", "NHWC"), window_of(node, (1, 1))

    def conv2d_fn(x, w):
        _check_rank4(node, input=x, filter=w)
        x = to_nhwc(x, fmt)
        _check_depth(node, x.shape[3], w.shape[2])
        return from_nhwc(xp, conv2d_nhwc(xp, x, w, win.sized(w.shape[:2]), node), fmt)
    return conv2d_fn


@register_kernel("Conv2DBackpropInput", "CPU", xp_generic=True)
def conv2d_backprop_input(node, env, xp=np):
    """The gradient of Conv2D with respect to its input (a transposed convolution)."""
    fmt, win = get_attr(node, "data_format", "NHWC"), window_of(node, (1, 1))

    def backprop_input_fn(input_sizes, w, dy):
        sizes = int_list(input_sizes)
        if len(sizes) != 4:
            raise fail(node, f"input_sizes must hold 4 values, got {sizes}")
        _check_rank4(node, filter=w, out_backprop=dy)
        shape = shape_nhwc(sizes, fmt)
        _check_depth(node, shape[3], w.shape[2])
        return from_nhwc(xp, conv2d_backprop_input_nhwc(xp, shape, w, to_nhwc(dy, fmt), win.sized(w.shape[:2]),
                                                        node), fmt)
    return backprop_input_fn


@register_kernel("Conv2DBackpropFilter", "CPU", xp_generic=True)
def conv2d_backprop_filter(node, env, xp=np):
    """The gradient of Conv2D with respect to its filter."""
    fmt, win = get_attr(node, "data_format", "NHWC"), window_of(node, (1, 1))

    def backprop_filter_fn(x, filter_sizes, dy):
        sizes = tuple(int_list(filter_sizes))
        if len(sizes) != 4:
            raise fail(node, f"filter_sizes must hold 4 values, got {list(sizes)}")
        _check_rank4(node, input=x, out_backprop=dy)
        x = to_nhwc(x, fmt)
        _check_depth(node, x.shape[3], sizes[2])
        dy = xp.ascontiguousarray(to_nhwc(dy, fmt))
        return conv2d_backprop_filter_nhwc(xp, x, sizes, dy, win.sized(sizes[:2]), node)
    return backprop_filter_fn
