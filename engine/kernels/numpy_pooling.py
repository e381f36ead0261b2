"""Pooling kernels (numpy; reused by the cupy backend through ``xp``).

Ops (inputs -> output; attrs T, ksize, strides, padding, data_format, and explicit_paddings for the max pools):
  MaxPool(input) -> output;  MaxPoolGrad(orig_input, orig_output, grad) -> input gradient
  MaxPoolGradGrad(orig_input, orig_output, grad) -> output gradient
  AvgPool(value) -> output;  AvgPoolGrad(orig_input_shape, grad) -> input gradient

Everything runs in NHWC (``engine.kernels.window``: NCHW is transposed in and out). Pooling combines the kh*kw
strided slices of the padded input elementwise.
"""

import numpy as np

from engine import op_defs
from engine.graph_util import get_attr
from engine.kernels.registry import register_kernel
from engine.kernels.util import int_list
from engine.kernels.window import (check_backprop, checked_plan, fail, from_nhwc, pad_nhwc, shape_nhwc, to_nhwc,
                                   window_of)

for _op in ("MaxPool", "MaxPoolGrad", "MaxPoolGradGrad", "AvgPool", "AvgPoolGrad"):
    op_defs.register_op(_op, "T")


def _lowest(dtype):
    dtype = np.dtype(dtype)
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _max_hits(xp, x, y, win, node):
    """Yield ``(rows, cols, hit)`` per window offset: where that offset holds its window's maximum, the first
    one in row-major window order only (TF's tie rule), over the input padded with the lowest value."""
    n, h, wd, c = x.shape
    (oh, pt, pb), (ow, pl, pr) = checked_plan(node, win, h, wd)
    check_backprop(node, y, (n, oh, ow, c), "orig_output")
    padded = pad_nhwc(xp, x, (pt, pb), (pl, pr), _lowest(x.dtype))
    taken = xp.zeros(y.shape, dtype=bool)
    for _, _, rows, cols in win.offsets(oh, ow):
        hit = (padded[:, rows, cols] == y) & ~taken
        taken |= hit
        yield rows, cols, hit


def max_pool_nhwc(xp, x, win, node):
    """The maximum of every window (padding never wins: it holds the dtype's lowest value)."""
    n, h, wd, c = x.shape
    (oh, pt, pb), (ow, pl, pr) = checked_plan(node, win, h, wd)
    if n * oh * ow * c == 0:
        return xp.empty((n, oh, ow, c), dtype=x.dtype)
    padded = pad_nhwc(xp, x, (pt, pb), (pl, pr), _lowest(x.dtype))
    out = None
    for _, _, rows, cols in win.offsets(oh, ow):
        part = padded[:, rows, cols]
        out = part.copy() if out is None else xp.maximum(out, part, out=out)
    return out


def max_pool_grad_nhwc(xp, x, y, dy, win, node):
    """``dy`` routed to the first maximum of each window (added up where windows overlap)."""
    n, h, wd, c = x.shape
    (oh, pt, pb), (ow, pl, pr) = checked_plan(node, win, h, wd)
    check_backprop(node, dy, (n, oh, ow, c), "grad")
    grad = xp.zeros((n, h + pt + pb, wd + pl + pr, c), dtype=dy.dtype)
    if dy.size:
        zero = xp.zeros((), dtype=dy.dtype)
        for rows, cols, hit in _max_hits(xp, x, y, win, node):
            grad[:, rows, cols] += xp.where(hit, dy, zero)
    return xp.ascontiguousarray(grad[:, pt:pt + h, pl:pl + wd])


def max_pool_grad_grad_nhwc(xp, x, y, g, win, node):
    """For each window, ``g`` (shaped like the input) at that window's first maximum."""
    if g.shape != x.shape:
        raise fail(node, f"grad must be shaped like orig_input {list(x.shape)} (as NHWC), got {list(g.shape)}")
    out = xp.zeros(y.shape, dtype=g.dtype)
    if out.size:
        (_, pt, pb), (_, pl, pr) = checked_plan(node, win, x.shape[1], x.shape[2])
        padded_g = pad_nhwc(xp, g, (pt, pb), (pl, pr))
        for rows, cols, hit in _max_hits(xp, x, y, win, node):
            out = xp.where(hit, padded_g[:, rows, cols], out)
    return out


def _window_counts(xp, win, h, wd, dtype, node):
    """How many input (not padding) positions each output position's window covers, ``[oh, ow, 1]``."""
    counts = []
    for n, (out, before, _), k, s in zip((h, wd), checked_plan(node, win, h, wd), win.size, win.strides):
        starts = [o * s - before for o in range(out)]
        counts.append([min(st + k, n) - max(st, 0) for st in starts])
    return xp.asarray(np.outer(counts[0], counts[1]).astype(dtype)[:, :, None])


def avg_pool_nhwc(xp, x, win, node):
    """The mean of every window over its input positions (SAME's padding is not counted, as in TF)."""
    n, h, wd, c = x.shape
    (oh, pt, pb), (ow, pl, pr) = checked_plan(node, win, h, wd)
    if n * oh * ow * c == 0:
        return xp.empty((n, oh, ow, c), dtype=x.dtype)
    padded = pad_nhwc(xp, x, (pt, pb), (pl, pr))
    total = None
    for _, _, rows, cols in win.offsets(oh, ow):
        part = padded[:, rows, cols]
        total = part.copy() if total is None else xp.add(total, part, out=total)
    total /= _window_counts(xp, win, h, wd, x.dtype, node)
    return total


def avg_pool_grad_nhwc(xp, input_shape, dy, win, node):
    """``dy`` spread evenly over the input positions of each window."""
    n, h, wd, c = input_shape
    (oh, pt, pb), (ow, pl, pr) = checked_plan(node, win, h, wd)
    check_backprop(node, dy, (n, oh, ow, c), "grad")
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
                    raise fail(node, f"orig_input_shape must hold 4 values, got {sizes}")
                moved.append(shape_nhwc(sizes, fmt))
                continue
            if a.ndim != 4:
                raise fail(node, f"input must be 4-dimensional, got shape {list(a.shape)}")
            moved.append(to_nhwc(a, fmt))
        return from_nhwc(xp, fn(xp, *moved, win, node), fmt)
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
