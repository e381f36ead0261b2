"""Elementwise kernels (numpy; reused by the cupy backend through ``xp``): binary, unary, AddN, MatMul, Cast, Select.

Dtypes stay TF's: numpy keeps float32 for float32 inputs, and the few ops where it would not (true division of
ints, Rsqrt) are spelled out.
"""

import numpy as np

from engine.graph_util import get_attr
from engine.errors import InvalidArgumentError
from engine.kernels.registry import register_kernel


def _is_int(dtype):
    return dtype.kind in "iu"


def _check_int_divisor(xp, b):
    if bool(xp.any(b == 0)):
        raise InvalidArgumentError(None, None, "Integer division by zero")


def _floor_div(xp):
    def floor_div(a, b):
        if _is_int(a.dtype):
            _check_int_divisor(xp, b)
            return xp.floor_divide(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.floor(xp.true_divide(a, b))
    return floor_div


def _true_div(xp):
    def true_div(a, b):
        if _is_int(a.dtype):  # TF1 Div/RealDiv on ints: floor division
            _check_int_divisor(xp, b)
            return xp.floor_divide(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.true_divide(a, b)
    return true_div


def _floor_mod(xp):
    def floor_mod(a, b):
        if _is_int(a.dtype):
            _check_int_divisor(xp, b)
            return xp.mod(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.mod(a, b)
    return floor_mod


def _squared_difference(xp):
    def squared_difference(a, b):
        d = xp.subtract(a, b)
        return xp.multiply(d, d)
    return squared_difference


def _pow(xp):
    def power(a, b):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return xp.power(a, b)
    return power


# op -> ufunc name, or a maker taking the array module.
BINARY = {
    "Add": "add", "AddV2": "add", "Sub": "subtract", "Mul": "multiply", "Maximum": "maximum", "Minimum": "minimum",
    "RealDiv": _true_div, "Div": _true_div, "FloorDiv": _floor_div, "FloorMod": _floor_mod, "Pow": _pow,
    "SquaredDifference": _squared_difference,
    "Equal": "equal", "NotEqual": "not_equal", "Less": "less", "LessEqual": "less_equal", "Greater": "greater",
    "GreaterEqual": "greater_equal", "LogicalAnd": "logical_and", "LogicalOr": "logical_or",
}


def _quiet(fn):
    def quiet(x):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return fn(x)
    return quiet


def _rsqrt(xp):
    return _quiet(lambda x: xp.reciprocal(xp.sqrt(x)))


def _relu(xp):
    return lambda x: xp.maximum(x, x.dtype.type(0))


def _sigmoid(xp):
    # 0.5 * (1 + tanh(x / 2)) never overflows, unlike 1 / (1 + exp(-x)).
    def sigmoid(x):
        half = x.dtype.type(0.5)
        return half * (xp.tanh(x * half) + x.dtype.type(1))
    return sigmoid


def _identity(xp):
    return lambda x: x


UNARY = {
    "Neg": "negative", "Square": "square", "Abs": "absolute", "Sign": "sign", "Exp": "exp", "Tanh": "tanh",
    "LogicalNot": "logical_not",
    "Sqrt": lambda xp: _quiet(xp.sqrt), "Log": lambda xp: _quiet(xp.log),
    "Reciprocal": lambda xp: _quiet(xp.reciprocal), "Rsqrt": _rsqrt, "Relu": _relu, "Sigmoid": _sigmoid,
    "Identity": _identity, "StopGradient": _identity,
}


def _make(table, op, xp):
    spec = table[op]
    return getattr(xp, spec) if isinstance(spec, str) else spec(xp)


def _binary_factory(op):
    def factory(node, env, xp=np):
        return _make(BINARY, op, xp)
    return factory


def _unary_factory(op):
    def factory(node, env, xp=np):
        return _make(UNARY, op, xp)
    return factory


for _op in BINARY:
    register_kernel(_op, "CPU", xp_generic=True)(_binary_factory(_op))
for _op in UNARY:
    register_kernel(_op, "CPU", xp_generic=True)(_unary_factory(_op))


@register_kernel("AddN", "CPU", xp_generic=True)
def add_n(node, env, xp=np):
    """Sum of N same-shaped inputs."""
    def add_n_fn(*xs):
        out = xs[0]
        for x in xs[1:]:
            out = xp.add(out, x)
        return out
    return add_n_fn


@register_kernel("MatMul", "CPU", xp_generic=True)
def matmul(node, env, xp=np):
    """2-D matrix product with optional transposes."""
    ta = get_attr(node, "transpose_a", False)
    tb = get_attr(node, "transpose_b", False)

    def matmul_fn(a, b):
        if a.ndim != 2 or b.ndim != 2:
            raise InvalidArgumentError(None, None, f"In[0] and In[1] must be 2-D, got ranks {a.ndim} and {b.ndim}")
        return xp.matmul(a.T if ta else a, b.T if tb else b)
    return matmul_fn


@register_kernel("Cast", "CPU", xp_generic=True)
def cast(node, env, xp=np):
    """Element type conversion (float -> int truncates toward zero, like TF)."""
    dst = get_attr(node, "DstT").as_numpy_dtype

    def cast_fn(x):
        if x.dtype == dst:
            return x
        if x.dtype.kind == "c" and np.dtype(dst).kind != "c":
            x = x.real  # TF drops the imaginary part; numpy would warn on every such cast
        with np.errstate(invalid="ignore", over="ignore"):
            return x.astype(dst)
    return cast_fn


@register_kernel("Select", "CPU", xp_generic=True)
def select(node, env, xp=np):
    """``where(condition, t, e)``; a vector condition picks rows of higher-rank t/e, as in TF1."""
    def select_fn(cond, t, e):
        if cond.ndim == 1 and t.ndim > 1 and cond.shape[0] == t.shape[0]:
            cond = cond.reshape(cond.shape + (1,) * (t.ndim - 1))
        return xp.where(cond, t, e)
    return select_fn
