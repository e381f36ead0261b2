"""Reduction kernels: Sum, Mean, Max, Min, Prod, All, Any over ``reduction_indices``; ArgMax, ArgMin."""

import numpy as np

from engine.errors import InvalidArgumentError
from engine.graph_util import get_attr
from engine.kernels.registry import register_kernel
from engine.kernels.util import int_list, int_scalar


def _axes(x, indices):
    """Reduction axes as a tuple of non-negative ints; InvalidArgumentError if one is out of range."""
    flat = int_list(indices)
    rank = x.ndim
    out = []
    for a in flat:
        if not -rank <= a < rank:
            raise InvalidArgumentError(None, None, f"Invalid reduction dimension {a} for input with {rank} "
                                                   "dimensions")
        a %= rank
        if a in out:
            raise InvalidArgumentError(None, None, f"reduction dimension {a} given twice")
        out.append(a)
    return tuple(out)


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else (False if dtype.kind == "b" else np.iinfo(dtype).min)


def _highest(dtype):
    return np.inf if dtype.kind == "f" else (True if dtype.kind == "b" else np.iinfo(dtype).max)


def _sum(xp):
    # dtype= stops numpy from widening int32 to int64.
    return lambda x, axes, keep: xp.sum(x, axis=axes, keepdims=keep, dtype=x.dtype)


def _prod(xp):
    return lambda x, axes, keep: xp.prod(x, axis=axes, keepdims=keep, dtype=x.dtype)


def _mean(xp):
    def mean(x, axes, keep):
        if x.dtype.kind in "iu":  # TF: integer sum, then division truncated toward zero
            s = xp.sum(x, axis=axes, keepdims=keep, dtype=np.int64)
            n = max(int(np.prod([x.shape[a] for a in axes], dtype=np.int64)), 1)
            q = xp.abs(s) // n
            return xp.where(s < 0, -q, q).astype(x.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return xp.mean(x, axis=axes, keepdims=keep, dtype=x.dtype)
    return mean


def _extreme(xp, name, empty_value):
    fn = getattr(xp, name)

    def extreme(x, axes, keep):
        if x.size == 0:  # TF gives the identity (lowest for max, highest for min) where numpy raises
            return fn(x, axis=axes, keepdims=keep, initial=empty_value(x.dtype))
        return fn(x, axis=axes, keepdims=keep)
    return extreme


REDUCTIONS = {
    "Sum": _sum, "Prod": _prod, "Mean": _mean,
    "Max": lambda xp: _extreme(xp, "max", _lowest), "Min": lambda xp: _extreme(xp, "min", _highest),
    "All": lambda xp: lambda x, axes, keep: xp.all(x, axis=axes, keepdims=keep),
    "Any": lambda xp: lambda x, axes, keep: xp.any(x, axis=axes, keepdims=keep),
}


def _reduction_factory(op):
    def factory(node, env, xp=np):
        keep = bool(get_attr(node, "keep_dims", get_attr(node, "keepdims", False)))
        reduce = REDUCTIONS[op](xp)
        dtype = get_attr(node, "T", None)
        out_type = np.bool_ if op in ("All", "Any") else (dtype.as_numpy_dtype if dtype else None)

        def reduction(x, indices):
            out = reduce(x, _axes(x, indices), keep)
            # Keep TF's dtype (and an array, not a numpy scalar, for 0-d results).
            return xp.asarray(out, dtype=out_type) if out_type is not None else out
        return reduction
    return factory


for _op in REDUCTIONS:
    register_kernel(_op, "CPU", xp_generic=True)(_reduction_factory(_op))


def _arg_factory(name):
    def factory(node, env, xp=np):
        out_type = get_attr(node, "output_type", None)
        out_np = out_type.as_numpy_dtype if out_type is not None else np.int64
        fn = getattr(xp, name)

        def arg(x, dimension):
            axis = int_scalar(dimension)
            if not -x.ndim <= axis < max(x.ndim, 1):
                raise InvalidArgumentError(None, None, f"Expected dimension in the range [{-x.ndim}, {x.ndim}), "
                                                       f"but got {axis}")
            if x.shape[axis] == 0:
                raise InvalidArgumentError(None, None, f"Reduction axis {axis} is empty in shape {list(x.shape)}")
            return xp.asarray(fn(x, axis=axis), dtype=out_np)
        return arg
    return factory


register_kernel("ArgMax", "CPU", xp_generic=True)(_arg_factory("argmax"))
register_kernel("ArgMin", "CPU", xp_generic=True)(_arg_factory("argmin"))
