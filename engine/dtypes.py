"""Tensor element types: one ``DType`` per kind, mapped to numpy and to the GraphDef enum (TF's numbers).

bfloat16 has no numpy type of its own: it is ``ml_dtypes.bfloat16`` (what TensorFlow and JAX use), whose numpy
kind is ``"V"``, so the kind tests below go through ``kind_of`` rather than numpy's ``dtype.kind``.
"""

import ml_dtypes
import numpy as np

from protos import graph_pb2


class DType:
    """An element type, e.g. ``float32``; equal to whatever ``as_dtype`` turns into it (TF's rule).

    >>> float32.name, float32.as_numpy_dtype, float32 == "float32", complex64.real_dtype
    ('float32', <class 'numpy.float32'>, True, tf.float32)
    """

    __slots__ = ("name", "as_numpy_dtype", "as_datatype_enum", "_kind")

    def __init__(self, name, np_type, enum, kind):
        self.name = name
        self.as_numpy_dtype = np_type
        self.as_datatype_enum = enum
        self._kind = kind  # "f" float, "i"/"u" signed/unsigned int, "c" complex, "b" bool, "S" string

    @property
    def is_floating(self):
        """Whether it is a real floating-point type (bfloat16 included)."""
        return self._kind == "f"

    @property
    def is_integer(self):
        """Whether it is a (signed or unsigned) integer type."""
        return self._kind in "iu"

    @property
    def is_unsigned(self):
        """Whether it is an unsigned integer type."""
        return self._kind == "u"

    @property
    def is_complex(self):
        """Whether it is complex64 or complex128."""
        return self._kind == "c"

    @property
    def is_bool(self):
        """Whether it is ``bool``."""
        return self._kind == "b"

    @property
    def is_quantized(self):
        """Always False: no quantized types here."""
        return False

    @property
    def is_numpy_compatible(self):
        """Always True: every type here has a numpy counterpart."""
        return True

    @property
    def base_dtype(self):
        """This dtype (TF1 has reference dtypes; here every dtype is its own base)."""
        return self

    @property
    def real_dtype(self):
        """The type of the real part: float32 for complex64, float64 for complex128, else itself."""
        return {"complex64": float32, "complex128": float64}.get(self.name, self)

    @property
    def size(self):
        """Bytes per element (0 for string, as TF says)."""
        return 0 if self._kind == "S" else np.dtype(self.as_numpy_dtype).itemsize

    @property
    def min(self):
        """Smallest value of the type; TypeError for bool, string and complex types."""
        return self._limit("minimum", "min")

    @property
    def max(self):
        """Largest value of the type; TypeError for bool, string and complex types."""
        return self._limit("maximum", "max")

    def _limit(self, word, attr):
        if self._kind == "f":
            return getattr(ml_dtypes.finfo(self.as_numpy_dtype), attr)
        if self._kind in "iu":
            return getattr(np.iinfo(self.as_numpy_dtype), attr)
        raise TypeError(f"Cannot find {word} value of {self}.")

    def is_compatible_with(self, other):
        """Whether a value of ``other`` may stand where this type is expected (the same type here)."""
        return self == as_dtype(other)

    def __eq__(self, other):
        if isinstance(other, DType):
            return self is other
        if other is None:
            return False
        try:
            return as_dtype(other) is self
        except TypeError:
            return False

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return self.as_datatype_enum

    def __repr__(self):
        return f"tf.{self.name}"

    def __reduce__(self):
        return as_dtype, (self.name,)


float16 = DType("float16", np.float16, graph_pb2.DT_HALF, "f")
bfloat16 = DType("bfloat16", ml_dtypes.bfloat16, graph_pb2.DT_BFLOAT16, "f")
float32 = DType("float32", np.float32, graph_pb2.DT_FLOAT, "f")
float64 = DType("float64", np.float64, graph_pb2.DT_DOUBLE, "f")
int8 = DType("int8", np.int8, graph_pb2.DT_INT8, "i")
int16 = DType("int16", np.int16, graph_pb2.DT_INT16, "i")
int32 = DType("int32", np.int32, graph_pb2.DT_INT32, "i")
int64 = DType("int64", np.int64, graph_pb2.DT_INT64, "i")
uint8 = DType("uint8", np.uint8, graph_pb2.DT_UINT8, "u")
uint16 = DType("uint16", np.uint16, graph_pb2.DT_UINT16, "u")
uint32 = DType("uint32", np.uint32, graph_pb2.DT_UINT32, "u")
uint64 = DType("uint64", np.uint64, graph_pb2.DT_UINT64, "u")
complex64 = DType("complex64", np.complex64, graph_pb2.DT_COMPLEX64, "c")
complex128 = DType("complex128", np.complex128, graph_pb2.DT_COMPLEX128, "c")
bool_ = DType("bool", np.bool_, graph_pb2.DT_BOOL, "b")
half, double = float16, float64
# Byte strings, held as numpy object arrays of ``bytes`` (TF's tf.string). Not in ALL: no math op takes them.
string = DType("string", np.object_, graph_pb2.DT_STRING, "S")

ALL = (float16, bfloat16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64, complex64,
       complex128, bool_)
_KNOWN = ALL + (string,)
_BY_NAME = {d.name: d for d in _KNOWN}
_BY_NAME.update({"half": float16, "float": float32, "double": float64, "bool_": bool_, "complex": complex128})
_BY_NAME.update({f"{d.name}_ref": d for d in _KNOWN})  # TF1's reference types name their base type
_BY_ENUM = {d.as_datatype_enum: d for d in _KNOWN}
_BY_NUMPY = {np.dtype(d.as_numpy_dtype): d for d in _KNOWN}
_BY_PYTHON = {bool: bool_, int: int32, float: float32, complex: complex128, object: string}


def kind_of(np_dtype):
    """The kind of a numpy dtype as ``DType`` reads it: numpy's ``kind``, but ``"f"`` for bfloat16.

    >>> kind_of(np.dtype(ml_dtypes.bfloat16)), kind_of(np.dtype(np.int8))
    ('f', 'i')
    """
    np_dtype = np.dtype(np_dtype)
    return "f" if np_dtype == _BFLOAT16_NP else np_dtype.kind


_BFLOAT16_NP = np.dtype(ml_dtypes.bfloat16)


def as_dtype(value):
    """A DType from a DType, a name (``"float32"``, ``"float"``), a numpy dtype or type, a DataType enum or a
    Python type; TypeError otherwise.

    >>> as_dtype("float32") is float32 and as_dtype(np.int8) is int8 and as_dtype(6) is int8
    True
    """
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        if value in _BY_NAME:
            return _BY_NAME[value]
        raise TypeError(f"Cannot convert value {value!r} to a TensorFlow DType.")
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        if int(value) in _BY_ENUM:
            return _BY_ENUM[int(value)]
        raise TypeError(f"Cannot convert value {value!r} to a TensorFlow DType.")
    if isinstance(value, type) and value in _BY_PYTHON:
        return _BY_PYTHON[value]
    try:
        npd = np.dtype(value)
    except TypeError:
        npd = None
    if npd is not None and not npd.isnative:
        npd = npd.newbyteorder("=")  # a big-endian int32 is still int32
    if npd is not None and npd in _BY_NUMPY:
        return _BY_NUMPY[npd]
    if npd is not None and npd.kind in "SU":  # numpy's fixed-width bytes and str
        return string
    raise TypeError(f"Cannot convert value {value!r} to a TensorFlow DType.")
