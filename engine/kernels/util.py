"""Helpers kernels share: small host-side int arguments (axes, shapes, perms) read from any array type, and a
check that an output of a given shape can be allocated at all."""

import numpy as np
import psutil

from engine.errors import ResourceExhaustedError


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
