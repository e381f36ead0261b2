"""Helpers kernels share: small host-side int arguments (axes, shapes, perms) read from any array type."""


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
