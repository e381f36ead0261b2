"""numpy arrays to and from ``TensorProto``/shape protos, as raw bytes (no per-element fields); strings, an
object array of ``bytes``, travel as ``string_val`` (one entry per element). Every DType travels, bfloat16 and
complex included.

>>> from_proto(to_proto(np.array(["w", b"b"], dtype=object))).tolist()
[b'w', b'b']
"""

import sys

import numpy as np

from engine import dtypes
from protos import graph_pb2


def shape_to_proto(shape):
    """A shape (tuple with None for unknown dims, or None for unknown rank) as ``TensorShapeProto``."""
    if shape is None:
        return graph_pb2.TensorShapeProto(unknown_rank=True)
    return graph_pb2.TensorShapeProto(dim=[-1 if d is None else int(d) for d in shape])


def shape_from_proto(proto):
    """Inverse of ``shape_to_proto``."""
    if proto.unknown_rank:
        return None
    return tuple(None if d < 0 else int(d) for d in proto.dim)


def to_proto(array, dtype=None):
    """An ndarray-like as a ``TensorProto`` (C-order little-endian bytes)."""
    dt = dtypes.as_dtype(dtype) if dtype is not None else None
    arr = np.asarray(array, dtype=dt.as_numpy_dtype if dt else None)
    dt = dtypes.as_dtype(arr.dtype)
    if dt is dtypes.string:
        return graph_pb2.TensorProto(dtype=dt.as_datatype_enum, shape=graph_pb2.TensorShapeProto(dim=arr.shape),
                                     string_val=[_as_bytes(v) for v in arr.reshape(-1)])
    shape = arr.shape  # before ascontiguousarray, which turns a 0-d array into shape (1,)
    arr = np.ascontiguousarray(arr)
    if arr.dtype.byteorder == ">" or (arr.dtype.byteorder == "=" and sys.byteorder == "big"):
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return graph_pb2.TensorProto(dtype=dt.as_datatype_enum,
                                 shape=graph_pb2.TensorShapeProto(dim=shape),
                                 content=arr.tobytes())


def from_proto(proto):
    """A ``TensorProto`` as an ndarray (read-only view of the message's bytes when possible)."""
    dt = dtypes.as_dtype(proto.dtype)
    shape = tuple(int(d) for d in proto.shape.dim)
    if dt is dtypes.string:
        out = np.empty(len(proto.string_val), dtype=object)  # np.array(list) would make a 2-D bytes array
        out[:] = list(proto.string_val)
        return out.reshape(shape)
    np_dtype = np.dtype(dt.as_numpy_dtype)
    if sys.byteorder == "big":  # the bytes are little-endian; on this machine that is not the native order
        np_dtype = np_dtype.newbyteorder("<")
    return np.frombuffer(proto.content, dtype=np_dtype).reshape(shape)


def _as_bytes(value):
    """One string element as bytes (``str`` is UTF-8 encoded); TypeError naming anything else."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"a string tensor holds bytes or str, got {type(value).__name__}: {value!r}")
