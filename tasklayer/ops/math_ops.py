"""Elementwise arithmetic, comparisons and logic, ``add_n``, ``matmul``, ``cast``, ``range``, and the Tensor
operators (``+ - * / // % ** -x abs < <= > >= & | ~ @``) built on them."""

import numpy as np

from tasklayer import dtypes, shapes
from tasklayer.graph import Tensor, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import static_value
from tasklayer.ops._build import (binary, binary_operands, check_dtype, infer_broadcast, infer_same, make_op,
                                  shape_of, unary, who)
from tasklayer.ops.constant_op import convert_to_tensor

_ANY = dtypes.ALL + (dtypes.string,)  # Equal/NotEqual compare strings too
_BOOL = (dtypes.bool_,)
_MATMUL = (dtypes.bfloat16, dtypes.float16, dtypes.float32, dtypes.float64, dtypes.int32, dtypes.int64) + \
    dtypes.COMPLEX  # TF's MatMul kernels: no 8/16-bit or unsigned integers
# truediv casts small integers to float32 and 32/64-bit ones to float64 first (TF's _TRUEDIV_TABLE).
_TRUEDIV_FLOAT = {dtypes.int8: dtypes.float32, dtypes.int16: dtypes.float32, dtypes.uint8: dtypes.float32,
                  dtypes.uint16: dtypes.float32, dtypes.int32: dtypes.float64, dtypes.int64: dtypes.float64,
                  dtypes.uint32: dtypes.float64, dtypes.uint64: dtypes.float64}

for _op in ("Add", "AddV2", "Sub", "Mul", "RealDiv", "Div", "FloorDiv", "FloorMod", "Pow", "Maximum", "Minimum",
            "SquaredDifference"):
    register_op(_op, infer_broadcast())
for _op in ("Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr"):
    register_op(_op, infer_broadcast(dtypes.bool_))
for _op in ("Neg", "Square", "Sqrt", "Rsqrt", "Exp", "Log", "Abs", "Sign", "Reciprocal", "LogicalNot"):
    register_op(_op, infer_same)


# ---------------------------------------------------------------- binary arithmetic
def add(x, y, name=None):
    """``x + y`` elementwise with broadcasting.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.add([1, 2], 10)).tolist()
    [11, 12]
    """
    return binary("Add", x, y, name, "Add", dtypes.NUMBERS)


def subtract(x, y, name=None):
    """``x - y`` elementwise with broadcasting.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.subtract(5, 8)))
    -3
    """
    return binary("Sub", x, y, name, "Sub", dtypes.NUMBERS)


def multiply(x, y, name=None):
    """``x * y`` elementwise with broadcasting.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.multiply([1.0, 2.0], 3.0)).tolist()
    [3.0, 6.0]
    """
    return binary("Mul", x, y, name, "Mul", dtypes.NUMBERS)


def truediv(x, y, name=None):
    """``x / y``; integer inputs are cast to floating point first (int32/int64 -> float64), as in TF.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     r = tf.truediv(7, 2); (r.dtype, float(sess.run(r)))
    (tf.float64, 3.5)
    """
    with name_scope(name, "truediv", [x, y]) as scope:
        x, y = binary_operands(x, y, "RealDiv")
        check_dtype("RealDiv", "x", x, dtypes.NUMBERS)
        if x.dtype in _TRUEDIV_FLOAT:
            x, y = cast(x, _TRUEDIV_FLOAT[x.dtype]), cast(y, _TRUEDIV_FLOAT[x.dtype])
        return make_op("RealDiv", [x, y], {"T": x.dtype}, scope).outputs[0]


def divide(x, y, name=None):
    """``x / y`` (true division, as the ``/`` operator).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.divide(1.0, 4.0)))
    0.25
    """
    return truediv(x, y, name=name)


def realdiv(x, y, name=None):
    """Floating-point ``x / y`` (RealDiv).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.realdiv(1.0, 8.0)))
    0.125
    """
    return binary("RealDiv", x, y, name, "RealDiv", dtypes.NUMBERS)


def div(x, y, name=None):
    """TF1 ``tf.div``: floor division for integers, true division for floats.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.div(7, 2)))
    3
    """
    return binary("Div", x, y, name, "Div", dtypes.NUMBERS)


def floordiv(x, y, name=None):
    """``x // y`` rounded toward negative infinity.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.floordiv(-7, 2)))
    -4
    """
    return binary("FloorDiv", x, y, name, "floordiv")


def floormod(x, y, name=None):
    """``x % y`` with the sign of ``y`` (Python's rule).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.mod(-7, 3)))
    2
    """
    return binary("FloorMod", x, y, name, "FloorMod")


mod = floormod


def pow(x, y, name=None):  # noqa: A001 - TF's name
    """``x ** y`` elementwise.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.pow(2.0, 10.0)))
    1024.0
    """
    return binary("Pow", x, y, name, "Pow", dtypes.NUMBERS)


def maximum(x, y, name=None):
    """Elementwise max with broadcasting.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.maximum([1, 5], 3)).tolist()
    [3, 5]
    """
    return binary("Maximum", x, y, name, "Maximum")


def minimum(x, y, name=None):
    """Elementwise min with broadcasting.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.minimum([1, 5], 3)).tolist()
    [1, 3]
    """
    return binary("Minimum", x, y, name, "Minimum")


def squared_difference(x, y, name=None):
    """``(x - y) ** 2`` elementwise.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.squared_difference(1.0, 4.0)))
    9.0
    """
    return binary("SquaredDifference", x, y, name, "SquaredDifference", dtypes.NUMBERS)


# ---------------------------------------------------------------- unary
def _unary_fn(op_type, allowed, example):
    def fn(x, name=None):
        return unary(op_type, x, name, allowed)
    fn.__doc__ = f"Elementwise {op_type}.\n\n    {example}\n    "
    return fn


negative = _unary_fn("Neg", dtypes.NUMBERS, """>>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.negative(3)))
    -3""")
square = _unary_fn("Square", dtypes.NUMBERS, """>>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.square(3.0)))
    9.0""")
sqrt = _unary_fn("Sqrt", dtypes.FLOATS_AND_COMPLEX, """>>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.sqrt(9.0)))
    3.0""")
rsqrt = _unary_fn("Rsqrt", dtypes.FLOATS_AND_COMPLEX, """>>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.rsqrt(4.0)))
    0.5""")
exp = _unary_fn("Exp", dtypes.FLOATS_AND_COMPLEX, """>>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.exp(0.0)))
    1.0""")
log = _unary_fn("Log", dtypes.FLOATS_AND_COMPLEX, """>>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.log(1.0)))
    0.0""")
abs = _unary_fn("Abs", dtypes.NUMERIC, """>>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.abs(-2)))
    2""")  # noqa: A001 - TF's name
sign = _unary_fn("Sign", dtypes.NUMBERS, """>>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.sign([-2.0, 0.0, 3.0])).tolist()
    [-1.0, 0.0, 1.0]""")
reciprocal = _unary_fn("Reciprocal", dtypes.NUMBERS, """>>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.reciprocal(4.0)))
    0.25""")
for _name, _fn in (("negative", negative), ("square", square), ("sqrt", sqrt), ("rsqrt", rsqrt), ("exp", exp),
                   ("log", log), ("abs", abs), ("sign", sign), ("reciprocal", reciprocal)):
    _fn.__name__ = _fn.__qualname__ = _name
neg = negative


# ---------------------------------------------------------------- comparisons and logic
def _compare_fn(op_type, allowed, example):
    def fn(x, y, name=None):
        return binary(op_type, x, y, name, op_type, allowed)
    fn.__doc__ = f"Elementwise {op_type} with broadcasting; a bool tensor.\n\n    {example}\n    "
    return fn


_EX = """>>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.{}([1, 2, 3], 2)).tolist()
    {}"""
equal = _compare_fn("Equal", _ANY, _EX.format("equal", "[False, True, False]"))
not_equal = _compare_fn("NotEqual", _ANY, _EX.format("not_equal", "[True, False, True]"))
less = _compare_fn("Less", dtypes.NUMERIC, _EX.format("less", "[True, False, False]"))
less_equal = _compare_fn("LessEqual", dtypes.NUMERIC, _EX.format("less_equal", "[True, True, False]"))
greater = _compare_fn("Greater", dtypes.NUMERIC, _EX.format("greater", "[False, False, True]"))
greater_equal = _compare_fn("GreaterEqual", dtypes.NUMERIC, _EX.format("greater_equal", "[False, True, True]"))
_EX = """>>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.{}([True, False], [True, True])).tolist()
    {}"""
logical_and = _compare_fn("LogicalAnd", _BOOL, _EX.format("logical_and", "[True, False]"))
logical_or = _compare_fn("LogicalOr", _BOOL, _EX.format("logical_or", "[True, True]"))
for _name, _fn in (("equal", equal), ("not_equal", not_equal), ("less", less), ("less_equal", less_equal),
                   ("greater", greater), ("greater_equal", greater_equal), ("logical_and", logical_and),
                   ("logical_or", logical_or)):
    _fn.__name__ = _fn.__qualname__ = _name


def logical_not(x, name=None):
    """Elementwise NOT of a bool tensor.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.logical_not([True, False])).tolist()
    [False, True]
    """
    with name_scope(name, "LogicalNot", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        check_dtype("LogicalNot", "x", x, _BOOL)
        return make_op("LogicalNot", [x], {}, scope).outputs[0]


# ---------------------------------------------------------------- add_n, matmul, cast, range
def _infer_add_n(op):
    shape = shapes.same_shape(who(op), *(shape_of(t) for t in op.inputs))
    return [(op.inputs[0].dtype, shape)]


register_op("AddN", _infer_add_n)


def add_n(inputs, name=None):
    """The elementwise sum of a list of tensors of one dtype and shape.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.add_n([[1, 2], [3, 4], [5, 6]])).tolist()
    [9, 12]
    """
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise ValueError("inputs must be a non-empty list of Tensors")
    with name_scope(name, "AddN", inputs) as scope:
        first = convert_to_tensor(inputs[0])
        tensors = [first] + [convert_to_tensor(v, dtype=first.dtype) for v in inputs[1:]]
        check_dtype("AddN", "inputs", first, dtypes.NUMBERS)
        if len(tensors) == 1:  # an Identity, as tf.identity makes it (array_ops builds on this module)
            return make_op("Identity", [first], {"T": first.dtype}, scope).outputs[0]
        return make_op("AddN", tensors, {"N": len(tensors), "T": first.dtype}, scope).outputs[0]


def _infer_matmul(op):
    a, b = op.inputs
    shape = shapes.matmul(who(op), shape_of(a), shape_of(b), op.get_attr("transpose_a"),
                          op.get_attr("transpose_b"))
    return [(a.dtype, shape)]


register_op("MatMul", _infer_matmul)


def matmul(a, b, transpose_a=False, transpose_b=False, name=None):
    """Matrix product of two 2-D tensors, optionally transposing either first.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.matmul([[1.0, 2.0]], [[3.0], [4.0]])).tolist()
    [[11.0]]
    """
    with name_scope(name, "MatMul", [a, b]) as scope:
        a, b = binary_operands(a, b, "MatMul")
        check_dtype("MatMul", "a", a, _MATMUL)
        attrs = {"transpose_a": bool(transpose_a), "transpose_b": bool(transpose_b), "T": a.dtype}
        return make_op("MatMul", [a, b], attrs, scope).outputs[0]


register_op("Cast", lambda op: [(op.get_attr("DstT"), op.inputs[0].shape)])


def cast(x, dtype, name=None):
    """``x`` converted to ``dtype`` (floats to ints truncate toward zero); ``x`` itself if already ``dtype``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.cast([1.7, -1.7], tf.int32)).tolist()
    [1, -1]
    """
    dtype = dtypes.as_dtype(dtype)
    with name_scope(name, "Cast", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        if x.dtype == dtype:
            return x
        if dtypes.string in (x.dtype, dtype):  # TF's Cast kernel has no string conversions
            raise TypeError(f"Cast {dtypes.tf_name(x.dtype)} to {dtypes.tf_name(dtype)} is not supported "
                            f"(op 'Cast', tensor {x.name!r})")
        return make_op("Cast", [x], {"SrcT": x.dtype, "DstT": dtype}, scope).outputs[0]


def saturate_cast(value, dtype, name=None):
    """``value`` cast to ``dtype``, clamped first to the range ``dtype`` holds (no wrap-around).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.saturate_cast([-5, 300], tf.uint8)).tolist()
    [0, 255]
    """
    dtype = dtypes.as_dtype(dtype)
    with name_scope(name, "saturate_cast", [value]) as scope:
        value = convert_to_tensor(value, name="value")
        if value.dtype.is_complex or dtype.is_complex or value.dtype.is_bool or dtype.is_bool:
            return cast(value, dtype, name=scope)
        # Clamp only where the target's range is narrower, in the source type (TF's order of checks).
        if value.dtype.min < dtype.min:
            value = maximum(value, convert_to_tensor(dtype.min, dtype=value.dtype, name="min"))
        if value.dtype.max > dtype.max:
            value = minimum(value, convert_to_tensor(_representable_max(dtype, value.dtype), dtype=value.dtype,
                                                     name="max"))
        return cast(value, dtype, name=scope)


def _representable_max(dtype, src):
    """``dtype.max`` as ``src`` holds it without exceeding it (float32 rounds 2**31 - 1 up to 2**31)."""
    high = np.asarray(dtype.max).astype(src.as_numpy_dtype)
    if src.is_floating and dtype.is_integer and float(high) > dtype.max:
        high = np.nextafter(high, np.asarray(0, src.as_numpy_dtype))
    return high


def _to(dtype, default_name, example):
    def fn(x, name=default_name):
        return cast(x, dtype, name=name)
    fn.__doc__ = f"TF1's ``tf.to_...``: ``cast(x, tf.{dtype.name})`` named {default_name!r}.\n\n    {example}\n    "
    return fn


_EX = """>>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.{}({})).tolist()
    {}"""
to_float = _to(dtypes.float32, "ToFloat", _EX.format("to_float", "[1, 2]", "[1.0, 2.0]"))
to_double = _to(dtypes.float64, "ToDouble", _EX.format("to_double", "[1, 2]", "[1.0, 2.0]"))
to_int32 = _to(dtypes.int32, "ToInt32", _EX.format("to_int32", "[1.9, -1.9]", "[1, -1]"))
to_int64 = _to(dtypes.int64, "ToInt64", _EX.format("to_int64", "[1.9, -1.9]", "[1, -1]"))
to_bfloat16 = _to(dtypes.bfloat16, "ToBFloat16", _EX.format("to_bfloat16", "[1.0, 3.14159]", "[1.0, 3.140625]"))
to_complex64 = _to(dtypes.complex64, "ToComplex64", _EX.format("to_complex64", "[1.5]", "[(1.5+0j)]"))
to_complex128 = _to(dtypes.complex128, "ToComplex128", _EX.format("to_complex128", "[1.5]", "[(1.5+0j)]"))
for _name, _fn in (("to_float", to_float), ("to_double", to_double), ("to_int32", to_int32), ("to_int64", to_int64),
                   ("to_bfloat16", to_bfloat16), ("to_complex64", to_complex64), ("to_complex128", to_complex128)):
    _fn.__name__ = _fn.__qualname__ = _name


def _infer_range(op):
    values = [static_value.constant_value(t) for t in op.inputs]
    length = None
    if all(v is not None for v in values):
        start, limit, delta = (v.item() for v in values)
        if delta == 0:
            raise ValueError(f"{who(op)}: delta must not be zero")
        length = max(0, int(np.ceil((limit - start) / delta)))
    return [(op.get_attr("Tidx"), (length,))]


register_op("Range", _infer_range)


def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001 - TF's name
    """``[start, start + delta, ...]`` up to but excluding ``limit`` (``range(n)`` counts from 0).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.range(3)).tolist(), sess.run(tf.range(1, 2, 0.5)).tolist()
    ([0, 1, 2], [1.0, 1.5])
    """
    if limit is None:
        start, limit = 0, start
    with name_scope(name, "Range", [start, limit, delta]) as scope:
        parts = [convert_to_tensor(v, dtype=dtype, name=n) if dtype is not None or isinstance(v, Tensor)
                 else convert_to_tensor(v, name=n) for v, n in ((start, "start"), (limit, "limit"),
                                                                (delta, "delta"))]
        if dtype is None:
            # The widest of the inputs' dtypes (ints < floats), as TF infers it.
            order = [dtypes.int32, dtypes.int64, dtypes.float32, dtypes.float64]
            dtype = max((p.dtype for p in parts), key=lambda d: order.index(d) if d in order else -1)
        dtype = dtypes.as_dtype(dtype)
        parts = [cast(p, dtype) for p in parts]
        check_dtype("Range", "start", parts[0], dtypes.NUMERIC)
        return make_op("Range", parts, {"Tidx": dtype}, scope).outputs[0]


# ---------------------------------------------------------------- Tensor operators
def _operator(func, default_name, reverse=False):
    def method(self, other):
        if reverse:
            with name_scope(None, default_name, [self, other]) as scope:
                other = convert_to_tensor(other, dtype=self.dtype, name="x")
                return func(other, self, name=scope)
        return func(self, other, name=default_name)
    return method


for _names, _func, _default in ((("__add__", "__radd__"), lambda x, y, name: binary("Add", x, y, name, "add",
                                                                                    dtypes.NUMBERS), "add"),
                                (("__sub__", "__rsub__"), lambda x, y, name: binary("Sub", x, y, name, "sub",
                                                                                    dtypes.NUMBERS), "sub"),
                                (("__mul__", "__rmul__"), lambda x, y, name: binary("Mul", x, y, name, "mul",
                                                                                    dtypes.NUMBERS), "mul"),
                                (("__truediv__", "__rtruediv__"), truediv, "truediv"),
                                (("__floordiv__", "__rfloordiv__"), floordiv, "floordiv"),
                                (("__mod__", "__rmod__"), lambda x, y, name: binary("FloorMod", x, y, name, "mod"),
                                 "mod"),
                                (("__pow__", "__rpow__"), lambda x, y, name: binary("Pow", x, y, name, "pow",
                                                                                    dtypes.NUMBERS), "pow"),
                                (("__and__", "__rand__"), logical_and, "LogicalAnd"),
                                (("__or__", "__ror__"), logical_or, "LogicalOr"),
                                (("__matmul__", "__rmatmul__"), lambda x, y, name: matmul(x, y, name=name), "matmul")):
    Tensor._override_operator(_names[0], _operator(_func, _default))
    Tensor._override_operator(_names[1], _operator(_func, _default, reverse=True))
for _name, _func in (("__lt__", less), ("__le__", less_equal), ("__gt__", greater), ("__ge__", greater_equal)):
    Tensor._override_operator(_name, _operator(_func, None))
Tensor._override_operator("__neg__", lambda self: negative(self))
Tensor._override_operator("__abs__", lambda self: abs(self))
Tensor._override_operator("__invert__", lambda self: logical_not(self))
