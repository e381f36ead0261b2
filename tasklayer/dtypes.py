"""The engine's DTypes as the task layer shows them (``tf.float32``), the dtype lists ops accept, and the rules
for safe value casts (feeds and constants).

>>> import tasklayer as tf
>>> tf.as_dtype("int8"), tf.bfloat16.is_floating, tf.complex64.real_dtype, tf.uint16.max
(tf.int8, True, tf.float32, 65535)
"""

import numpy as np

from engine.dtypes import (ALL, DType, as_dtype, bfloat16, bool_, complex64, complex128, double,  # noqa: F401
                           float16, float32, float64, half, int8, int16, int32, int64, kind_of, string, uint8,
                           uint16, uint32, uint64)

FLOATS = (float16, bfloat16, float32, float64)
INTEGERS = (int8, int16, int32, int64, uint8, uint16, uint32, uint64)
NUMERIC = FLOATS + INTEGERS          # real numbers: what ordering ops (Less, Maximum, ArgMax...) take
COMPLEX = (complex64, complex128)
NUMBERS = NUMERIC + COMPLEX          # what arithmetic (Add, Mul, Neg, Sum...) takes
FLOATS_AND_COMPLEX = FLOATS + COMPLEX  # what transcendental ops (Exp, Log, Sqrt, Tanh...) take

# How TensorFlow spells dtypes in its messages ("dtype float and shape [100]").
_TF_NAMES = {"float32": "float", "float64": "double", "float16": "half"}


def tf_name(dtype):
    """The name TensorFlow's messages use for ``dtype`` (``float32`` -> ``"float"``)."""
    return _TF_NAMES.get(dtype.name, dtype.name)


def safe_cast(array, dtype):
    """``array`` (an ndarray) as ``dtype`` when that keeps its meaning, else None.

    Allowed: same dtype; float -> float (precision may drop, as TF does for feeds); integer -> float;
    integer -> integer when every value fits; real or complex -> complex; text (str, bytes, an object array of
    them) -> string (str is UTF-8 encoded). Refused: float -> integer, complex -> real, anything <-> bool,
    numbers <-> strings.

    >>> safe_cast(np.array([1.5]), float32).dtype, safe_cast(np.array([1.5]), int32)
    (dtype('float32'), None)
    >>> safe_cast(np.array(["a", b"b"], dtype=object), string).tolist(), safe_cast(np.array([300]), int8)
    ([b'a', b'b'], None)
    """
    dtype = as_dtype(dtype)
    if dtype is string:
        return string_array(array)
    target = np.dtype(dtype.as_numpy_dtype)
    src = array.dtype
    if src == target:
        return array
    src_kind, dst_kind = kind_of(src), kind_of(target)
    if src_kind not in "biufc" or (src_kind == "b") != (dst_kind == "b"):
        return None
    if (src_kind in "fc" and dst_kind in "iu") or (src_kind == "c" and dst_kind != "c"):
        return None
    if src_kind in "iu" and dst_kind in "iu" and array.size:
        info = np.iinfo(target)
        if array.min() < info.min or array.max() > info.max:
            return None
    with np.errstate(over="ignore"):  # a float64 beyond float16's range becomes inf, as TF's feed does
        return array.astype(target)


def string_array(value):
    """``value`` (str, bytes or a nested list/array of them) as an object array of ``bytes``; None when an
    element is something else (a number, None).

    >>> string_array([["a"], [b"b"]]).tolist(), string_array([1, 2])
    ([[b'a'], [b'b']], None)
    """
    array = value if isinstance(value, np.ndarray) else np.asarray(value, dtype=object)
    if array.dtype.kind not in "OSU":
        return np.empty(array.shape, dtype=object) if array.size == 0 else None  # [] is an empty string tensor
    flat = array.reshape(-1)
    out = np.empty(flat.shape, dtype=object)
    for i, v in enumerate(flat):
        if isinstance(v, bytes):
            out[i] = v
        elif isinstance(v, str):
            out[i] = v.encode("utf-8")
        else:
            return None
    return out.reshape(array.shape)
