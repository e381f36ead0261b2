"""The engine's DTypes as the task layer shows them (``tf.float32``), plus the rules for safe value casts."""

import numpy as np

from engine.dtypes import (ALL, DType, as_dtype, bool_, double, float16, float32, float64, half, int32,  # noqa: F401
                           int64, string, uint8)

FLOATS = (float16, float32, float64)
INTEGERS = (int32, int64, uint8)
NUMERIC = FLOATS + INTEGERS

# How TensorFlow spells dtypes in its messages ("dtype float and shape [100]").
_TF_NAMES = {"float32": "float", "float64": "double", "float16": "half"}


def tf_name(dtype):
    """The name TensorFlow's messages use for ``dtype`` (``float32`` -> ``"float"``)."""
    return _TF_NAMES.get(dtype.name, dtype.name)


def safe_cast(array, dtype):
    """``array`` (an ndarray) as ``dtype`` when that keeps its meaning, else None.

    Allowed: same dtype; float -> float (precision may drop, as TF does for feeds); integer -> float;
    integer -> integer when every value fits. Refused: float -> integer, anything <-> bool, non-numbers.

    >>> safe_cast(np.array([1.5]), float32).dtype, safe_cast(np.array([1.5]), int32)
    (dtype('float32'), None)
    """
    target = np.dtype(dtype.as_numpy_dtype)
    src = array.dtype
    if src == target:
        return array
    if src.kind not in "biuf" or (src.kind == "b") != (target.kind == "b"):
        return None
    if src.kind == "f" and target.kind in "iu":
        return None
    if src.kind in "iu" and target.kind in "iu" and array.size:
        info = np.iinfo(target)
        if array.min() < info.min or array.max() > info.max:
            return None
    return array.astype(target)
