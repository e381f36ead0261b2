"""Moving values between a GPU backend and the host (numpy), without importing cupy here."""

import numpy as np


def to_host(value):
    """A numpy value for any array (a cupy array is copied with ``.get()``); other values unchanged."""
    if isinstance(value, (np.ndarray, np.generic)) or value is None:
        return value
    get = getattr(value, "get", None)
    if get is not None and hasattr(value, "shape"):
        return get()
    return value


def host_inputs(fn):
    """``fn`` with every array argument copied to the host first (for CPU kernels in a plan that uses a GPU)."""
    def on_host(*args):
        return fn(*(to_host(a) for a in args))
    return on_host
