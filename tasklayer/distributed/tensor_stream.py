"""Tensors in gRPC messages: a stream of ``TensorChunk`` messages (meta first, then raw-byte chunks), encoded and
decoded by hand so that a chunk is copied once into the message and once out of it into ONE buffer.

>>> import numpy as np
>>> a = np.arange(10, dtype=np.float32)
>>> b, meta = decode_stream(encode_stream(a, chunk_bytes=16))
>>> bool((a == b).all()), b.dtype == np.float32
(True, True)
"""

import numpy as np

from engine import dtypes
from protos import graph_pb2, tasklayer_pb2

# Chunks above this size are split: one gRPC message stays well under the 64 MB message limit, and the
# receiver overlaps copying one chunk with the arrival of the next.
CHUNK_BYTES = 1 << 20
# Tensors up to this size travel inside RunGraph/RunStep messages; larger ones by reference (RecvTensor).
INLINE_BYTES = 4 << 20
# Feeds larger than this are pushed on the tensor channel ahead of the RunStep/RunGraph that names them
# (a large protobuf message costs far more than raw bytes on a socket).
PUSH_BYTES = 64 << 10

_DATA_TAG = b"\x12"  # TensorChunk.data: field 2, wire type 2 (length-delimited)


def _varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(buf, pos):
    shift = result = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def as_contiguous(value):
    """``value`` as a C-contiguous little-endian ndarray of a known dtype."""
    arr = np.asarray(value)
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return arr if arr.flags.c_contiguous else arr.copy(order="C")  # ascontiguousarray makes 0-d arrays 1-d


def dtype_enum(dtype):
    """The wire DataType of a numpy dtype: an engine dtype's, or DT_BFLOAT16 for uint16 (the bit patterns of a
    lossy-compressed tensor, which no engine op takes)."""
    if dtype == np.uint16:
        return graph_pb2.DT_BFLOAT16
    return dtypes.as_dtype(dtype).as_datatype_enum


def numpy_dtype(enum):
    """``dtype_enum``'s inverse, little-endian."""
    if enum == graph_pb2.DT_BFLOAT16:
        return np.dtype("<u2")
    return np.dtype(dtypes.as_dtype(enum).as_numpy_dtype).newbyteorder("<")


def meta_of(arr, key="", step_id=0, lossy=0):
    """The ``TensorMeta`` of an array."""
    return tasklayer_pb2.TensorMeta(dtype=dtype_enum(arr.dtype), shape=arr.shape,
                                    nbytes=arr.nbytes, key=key, step_id=step_id, lossy=lossy)


def encode_stream(value, key="", chunk_bytes=CHUNK_BYTES, step_id=0, lossy=0):
    """Serialized ``TensorChunk`` messages for one tensor: meta (with the data when small), then raw chunks."""
    arr = as_contiguous(value)
    raw = memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else memoryview(b"")
    first = tasklayer_pb2.TensorChunk(meta=meta_of(arr, key, step_id, lossy))
    if arr.nbytes <= chunk_bytes:
        first.data = raw.tobytes()
        yield first.SerializeToString()
        return
    yield first.SerializeToString()
    for off in range(0, arr.nbytes, chunk_bytes):
        part = raw[off:off + chunk_bytes]
        # One copy: the header and the slice of the array joined into the message's bytes.
        yield b"".join((_DATA_TAG, _varint(len(part)), part))


def decode_stream(messages):
    """``(ndarray, meta)`` sent by ``encode_stream``: chunks copied into ONE preallocated buffer, viewed in place."""
    it = iter(messages)
    first = tasklayer_pb2.TensorChunk.FromString(next(it))
    meta = first.meta
    dtype = numpy_dtype(meta.dtype)
    shape = tuple(meta.shape)
    if first.data or meta.nbytes == 0:
        return np.frombuffer(first.data, dtype=dtype).reshape(shape), meta
    # np.empty, not bytearray: no zero-fill, and large allocations get huge pages (far fewer page faults).
    buf = np.empty(meta.nbytes, dtype=np.uint8)
    view = memoryview(buf)
    offset = 0
    for msg in it:
        if msg[:1] != _DATA_TAG:
            chunk = tasklayer_pb2.TensorChunk.FromString(msg).data
            start = 0
        else:
            length, start = _read_varint(msg, 1)
            chunk = msg
        n = len(chunk) - start
        if offset + n > meta.nbytes:
            raise ValueError(f"tensor stream sent more than the {meta.nbytes} bytes its meta announced")
        view[offset:offset + n] = memoryview(chunk)[start:]
        offset += n
    if offset != meta.nbytes:
        raise ValueError(f"tensor stream ended after {offset} of {meta.nbytes} bytes")
    return buf.view(dtype).reshape(shape), meta
