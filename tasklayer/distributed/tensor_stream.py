"""Tensors in gRPC messages: a stream of ``TensorChunk`` messages (meta first, then raw-byte chunks), encoded and
decoded by hand so that a chunk is copied once into the message and once out of it into ONE buffer.

>>> import numpy as np
>>> a = np.arange(10, dtype=np.float32)
>>> b, meta = decode_stream(encode_stream(a, chunk_bytes=16))
>>> bool((a == b).all()), b.dtype == np.float32
(True, True)

Every engine dtype travels as itself (its DataType enum both ways: bfloat16 arrives as ``ml_dtypes.bfloat16``,
uint16 as uint16); strings, which have no fixed item size, travel as the bytes of their serialized TensorProto.

>>> s, _ = decode_stream(encode_stream(np.array([b"ab", b""], dtype=object), chunk_bytes=4))
>>> s.tolist()
[b'ab', b'']
"""

import numpy as np

from engine import dtypes, tensor_codec
from engine.dead import DEAD
from protos import graph_pb2, tasklayer_pb2

# Chunks above this size are split: one gRPC message stays well under the 64 MB message limit, and the
# receiver overlaps copying one chunk with the arrival of the next.
CHUNK_BYTES = 1 << 20
# Tensors up to this size travel inside RunGraph/RunStep messages; larger ones by reference (RecvTensor).
INLINE_BYTES = 4 << 20
# Feeds larger than this are pushed on the tensor channel ahead of the RunStep/RunGraph that names them
# (a large protobuf message costs far more than raw bytes on a socket).
PUSH_BYTES = 64 << 10

# The lossy code that marks a dead tensor's meta (an untaken branch's value; no payload, no compression).
DEAD_CODE = -1

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
    """``value`` as a C-contiguous little-endian ndarray of a known dtype (``DEAD`` stays itself)."""
    if value is DEAD:  # a dead tensor (an untaken branch's) travels as a marker, not as an array
        return DEAD
    arr = np.asarray(value)
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return arr if arr.flags.c_contiguous else arr.copy(order="C")  # ascontiguousarray makes 0-d arrays 1-d


def dtype_enum(dtype):
    """The wire DataType of a numpy dtype: its engine dtype's enum (TypeError for a dtype no tensor has)."""
    return dtypes.as_dtype(dtype).as_datatype_enum


def numpy_dtype(enum):
    """``dtype_enum``'s inverse, little-endian; TypeError for an enum that names no engine dtype."""
    return np.dtype(dtypes.as_dtype(enum).as_numpy_dtype).newbyteorder("<")


def is_string(arr):
    """Whether ``arr`` holds strings (no fixed item size: it travels as a serialized TensorProto)."""
    return arr.dtype.kind in "OSU"


def meta_of(arr, key="", step_id=0, lossy=0):
    """The ``TensorMeta`` of an array."""
    return tasklayer_pb2.TensorMeta(dtype=dtype_enum(arr.dtype), shape=arr.shape,
                                    nbytes=arr.nbytes, key=key, step_id=step_id, lossy=lossy)


def encode_stream(value, key="", chunk_bytes=CHUNK_BYTES, step_id=0, lossy=0):
    """Serialized ``TensorChunk`` messages for one tensor: meta (with the data when small), then raw chunks.
    A dead tensor (``DEAD``) is one meta of dtype DT_INVALID and lossy code ``DEAD_CODE``, which no tensor has."""
    if value is DEAD:
        yield tasklayer_pb2.TensorChunk(meta=tasklayer_pb2.TensorMeta(
            dtype=graph_pb2.DT_INVALID, key=key, step_id=step_id, lossy=DEAD_CODE)).SerializeToString()
        return
    arr = as_contiguous(value)
    if is_string(arr):
        raw = memoryview(tensor_codec.to_proto(arr).SerializeToString())
        meta = tasklayer_pb2.TensorMeta(dtype=dtypes.string.as_datatype_enum, shape=arr.shape, nbytes=len(raw),
                                        key=key, step_id=step_id, lossy=lossy)
    else:
        raw = memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else memoryview(b"")
        meta = meta_of(arr, key, step_id, lossy)
    first = tasklayer_pb2.TensorChunk(meta=meta)
    if meta.nbytes <= chunk_bytes:
        first.data = raw.tobytes()
        yield first.SerializeToString()
        return
    yield first.SerializeToString()
    for off in range(0, meta.nbytes, chunk_bytes):
        part = raw[off:off + chunk_bytes]
        # One copy: the header and the slice of the array joined into the message's bytes.
        yield b"".join((_DATA_TAG, _varint(len(part)), part))


def decode_stream(messages):
    """``(ndarray, meta)`` sent by ``encode_stream``: chunks copied into ONE preallocated buffer, viewed in place."""
    it = iter(messages)
    first = tasklayer_pb2.TensorChunk.FromString(next(it))
    meta = first.meta
    if meta.dtype == graph_pb2.DT_INVALID and meta.lossy == DEAD_CODE:
        return DEAD, tasklayer_pb2.TensorMeta(key=meta.key, step_id=meta.step_id)
    dtype = numpy_dtype(meta.dtype)
    shape = tuple(meta.shape)
    if first.data or meta.nbytes == 0:
        return _array(first.data, dtype, shape), meta
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
    return _array(buf, dtype, shape), meta


def _array(data, dtype, shape):
    """The tensor of a stream's bytes: viewed in place, or parsed as the TensorProto of a string tensor."""
    if dtype.kind == "O":
        arr = tensor_codec.from_proto(graph_pb2.TensorProto.FromString(bytes(data)))
        if arr.shape != shape:
            raise ValueError(f"string tensor of shape {list(arr.shape)} announced as {list(shape)}")
        return arr
    return np.frombuffer(data, dtype=dtype).reshape(shape)
