"""Helpers kernels share: small host-side int arguments (axes, shapes, perms) read from any array type, a
check that an output of a given shape can be allocated at all, and what a kernel shares with the rest of the system
(the plan's message for an unfed placeholder, the task layer's static broadcast gradient axes), so that nothing
imports a backend module for them."""

import numpy as np
import psutil

from engine.errors import InvalidArgumentError, ResourceExhaustedError
from engine.graph_util import get_attr


def int_list(value):
    """A 0-d or 1-d int tensor (numpy, cupy, or Python) as a list of Python ints."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value]
    return [int(value)]


def int_scalar(value):
    """A scalar (or one-element) int tensor as a Python int."""
    items = int_list(value)
    if len(items) != 1:
        raise ValueError(f"expected a scalar, got {len(items)} values")
    return items[0]


# Outputs below this many bytes are never checked against free memory (the check costs a system call).
_CHECK_ABOVE_BYTES = 1 << 28


def check_output_size(shape, dtype, what="tensor"):
    """ResourceExhaustedError, in TF's words, when a tensor of ``shape`` and numpy ``dtype`` could not fit in this
    machine's available memory; so an op asked for an absurd output (a Tile to 2^31 x 2^31) fails at once from
    its shape instead of after seconds of trying."""
    count = 1
    for d in shape:
        count *= int(d)
    nbytes = count * np.dtype(dtype).itemsize
    if nbytes < _CHECK_ABOVE_BYTES:
        return
    available = psutil.virtual_memory().available
    if nbytes > available:
        raise ResourceExhaustedError(None, None, f"OOM when allocating {what} with shape[{','.join(map(str, shape))}] "
                                     f"and type {np.dtype(dtype).name}: {nbytes / 2**30:.1f} GiB, but only "
                                     f"{available / 2**30:.1f} GiB of memory is available")


def placeholder_message(node):
    """TF's message for a placeholder that was not fed."""
    dtype = get_attr(node, "dtype", None)
    shape = get_attr(node, "shape", None)
    shape_s = "unknown" if shape is None else "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"
    return (f"You must feed a value for placeholder tensor '{node.name}' with dtype "
            f"{dtype.name if dtype else '?'} and shape {shape_s}")


def broadcast_gradient_args(s0, s1):
    """The axes a gradient must be summed over for each of two broadcast operands of shapes ``s0``, ``s1``.

    >>> broadcast_gradient_args([2, 3], [3])
    ([], [0])
    """
    rank = max(len(s0), len(s1))
    a = [1] * (rank - len(s0)) + list(s0)
    b = [1] * (rank - len(s1)) + list(s1)
    r0, r1 = [], []
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise InvalidArgumentError(None, None, f"Incompatible shapes: {list(s0)} vs. {list(s1)}")
        if x == 1 and y != 1 or x == 1 and y == 1 and i < rank - len(s0):
            r0.append(i)
        if y == 1 and x != 1 or x == 1 and y == 1 and i < rank - len(s1):
            r1.append(i)
    return r0, r1
