"""Tensor element types: one ``DType`` per kind, mapped to numpy and to the GraphDef enum."""

import numpy as np

from protos import graph_pb2


class DType:
    """An element type, e.g. ``float32``; compares equal to itself only.

    >>> float32.name, float32.as_numpy_dtype
    ('float32', <class 'numpy.float32'>)
    """

    __slots__ = ("name", "as_numpy_dtype", "as_datatype_enum", "is_floating", "is_integer", "is_bool")

    def __init__(self, name, np_type, enum):
        self.name = name
        self.as_numpy_dtype = np_type
        self.as_datatype_enum = enum
        kind = np.dtype(np_type).kind
        self.is_floating = kind == "f"
        self.is_integer = kind in "iu"
        self.is_bool = kind == "b"

    @property
    def base_dtype(self):
        """This dtype (TF1 has reference dtypes; here every dtype is its own base)."""
        return self

    @property
    def size(self):
        """Bytes per element."""
        return np.dtype(self.as_numpy_dtype).itemsize

    @property
    def min(self):
        """Smallest value of the type."""
        return (np.finfo if self.is_floating else np.iinfo)(self.as_numpy_dtype).min

    @property
    def max(self):
        """Largest value of the type."""
        return (np.finfo if self.is_floating else np.iinfo)(self.as_numpy_dtype).max

    def __repr__(self):
        return f"tf.{self.name}"

    def __reduce__(self):
        return as_dtype, (self.name,)


float16 = DType("float16", np.float16, graph_pb2.DT_HALF)
float32 = DType("float32", np.float32, graph_pb2.DT_FLOAT)
float64 = DType("float64", np.float64, graph_pb2.DT_DOUBLE)
int32 = DType("int32", np.int32, graph_pb2.DT_INT32)
int64 = DType("int64", np.int64, graph_pb2.DT_INT64)
uint8 = DType("uint8", np.uint8, graph_pb2.DT_UINT8)
bool_ = DType("bool", np.bool_, graph_pb2.DT_BOOL)
half, double = float16, float64
# Byte strings, held as numpy object arrays of ``bytes`` (TF's tf.string). Not in ALL: no math op takes them.
string = DType("string", np.object_, graph_pb2.DT_STRING)

ALL = (float16, float32, float64, int32, int64, uint8, bool_)
_KNOWN = ALL + (string,)
_BY_NAME = {d.name: d for d in _KNOWN}
_BY_NAME.update({"half": float16, "float": float32, "double": float64, "bool_": bool_})
_BY_ENUM = {d.as_datatype_enum: d for d in _KNOWN}
_BY_NUMPY = {np.dtype(d.as_numpy_dtype): d for d in _KNOWN}


def as_dtype(value):
    """Convert a DType, its name, a numpy dtype/type or a DataType enum to a ``DType``; TypeError otherwise.

    >>> as_dtype("float32") is float32 and as_dtype(np.int64) is int64
    True
    """
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        if value in _BY_NAME:
            return _BY_NAME[value]
        raise TypeError(f"unknown dtype {value!r}; known: {', '.join(sorted(d.name for d in _KNOWN))}")
    if isinstance(value, int) and not isinstance(value, bool) and value in _BY_ENUM:
        return _BY_ENUM[value]
    if value is bool:
        return bool_
    if value is int:
        return int32
    if value is float:
        return float32
    try:
        npd = np.dtype(value)
    except TypeError:
        npd = None
    if npd is not None and npd in _BY_NUMPY:
        return _BY_NUMPY[npd]
    if npd is not None and npd.kind in "SU":  # numpy's fixed-width bytes and str
        return string
    raise TypeError(f"unknown dtype {value!r}; known: {', '.join(sorted(d.name for d in _KNOWN))}")
