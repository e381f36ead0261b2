"""The tensor channel's wire format: frames of a fixed header, a key and a payload, and the errors of a channel.

A pushed tensor's frame: the header, the key (UTF-8), the shape (int64 each), then the tensor's bytes (C order,
little endian), written straight out of the array and read straight into a fresh one of the same dtype (the
header carries its DataType enum: bfloat16 arrives as bfloat16). Tensors of dtypes without
a fixed item size (strings) travel as a serialized TensorProto instead; a dead tensor (``engine.dead``) as a
header of dtype DT_INVALID without data. A call's frame carries the method as its
key and the serialized request as its payload; its reply, the serialized response (or, flagged, an error's text).

>>> import io
>>> import numpy as np
>>> head, data = encode_header(7, "k", np.arange(3, dtype=np.int32))
>>> read_frame(io.BufferedReader(io.BytesIO(head + bytes(data))))[:2]
(7, 'k')
"""

import struct

import numpy as np

from engine import tensor_codec
from engine.dead import DEAD
from protos import graph_pb2
from tasklayer.distributed.tensor_stream import dtype_enum, is_string, numpy_dtype

MAGIC = b"YF"
# Frame kinds: a pushed tensor; a call (key: the method, data: the serialized request) and its reply (data: the
# serialized response, or with flags 1 the error's text).
PUSH, CALL, REPLY = 1, 2, 3
REPLY_FAILED = 1  # a reply's flags: the call failed on the peer, the payload is the error's text
# magic, kind, flags (push: lossy code), key length, ndim, dtype enum (-1: a serialized TensorProto), step id, bytes
HEADER = struct.Struct("<2sBBIiiQQ")
_PROTO_DTYPE = -1
# A dead tensor (an untaken branch's): a frame of no dtype, flagged, without data.
_DEAD_DTYPE, _DEAD_FLAG = graph_pb2.DT_INVALID, 255
# Bounds a header must respect: a malformed or hostile frame is refused before anything is allocated for it.
_MAX_DIMS = 64
_MAX_KEY_BYTES = 1 << 16
_MAX_FRAME_BYTES = 1 << 40


class ChannelError(Exception):
    """A tensor could not be pushed (or a call made): the peer is unreachable or went away."""


class ChannelTimeout(ChannelError):
    """A push or a call's reply did not finish before its timeout (a call may still be running on the peer)."""


class StaleConnectionError(ChannelError):
    """The peer had closed the connection before this frame (it restarted, or stopped): nothing was sent."""


class CallError(ChannelError):
    """A call reached the peer but failed there (an unknown method, or the handler raised)."""


class Message(tuple):
    """A call or a reply read from a connection: ``(kind, method, payload, flags)``."""


def encode_header(step_id, key, arr, code=0):
    """The frame's bytes before the tensor data, and the data as a memoryview (empty for no data)."""
    key_bytes = key.encode()
    if arr is DEAD:
        return HEADER.pack(MAGIC, PUSH, _DEAD_FLAG, len(key_bytes), 0, _DEAD_DTYPE, step_id, 0) + key_bytes, \
            memoryview(b"")
    if is_string(arr):  # no fixed item size: the tensor travels as its TensorProto
        data = memoryview(tensor_codec.to_proto(arr).SerializeToString())
        head = HEADER.pack(MAGIC, PUSH, code, len(key_bytes), 0, _PROTO_DTYPE, step_id, len(data))
        return head + key_bytes, data
    shape = arr.shape
    head = HEADER.pack(MAGIC, PUSH, code, len(key_bytes), len(shape), dtype_enum(arr.dtype), step_id, arr.nbytes)
    shape_bytes = struct.pack(f"<{len(shape)}q", *shape) if shape else b""
    data = memoryview(arr.reshape(-1).view(np.uint8)) if arr.nbytes else memoryview(b"")
    return head + key_bytes + shape_bytes, data


def message_frame(kind, key, payload, flags=0):
    """A call or reply frame: ``key`` and ``payload`` (bytes) in one buffer."""
    key_bytes = key.encode()
    return HEADER.pack(MAGIC, kind, flags, len(key_bytes), 0, 0, 0, len(payload)) + key_bytes + payload


def read_frame(rfile):
    """``(step_id, key, array, code)`` of the next pushed tensor of a buffered reader; None at a clean end of
    stream. A call or reply comes back as a ``Message``: ``(kind, key, payload bytes, flags)``."""
    head = rfile.read(HEADER.size)
    if not head:
        return None
    if len(head) != HEADER.size:
        raise ChannelError("connection closed inside a frame header")
    magic, kind, code, key_len, ndim, wire_dtype, step_id, nbytes = HEADER.unpack(head)
    if magic != MAGIC or kind not in (PUSH, CALL, REPLY):
        raise ChannelError(f"not a yarnflow tensor channel frame (magic {magic!r}, kind {kind})")
    if not (0 <= ndim <= _MAX_DIMS and key_len <= _MAX_KEY_BYTES and nbytes <= _MAX_FRAME_BYTES):
        raise ChannelError(f"malformed frame header (key {key_len} bytes, {ndim} dims, {nbytes} bytes)")
    if kind != PUSH:
        rest = rfile.read(key_len + nbytes)
        if len(rest) != key_len + nbytes:
            raise ChannelError("connection closed inside a message")
        return Message((kind, rest[:key_len].decode(), rest[key_len:], code))
    rest = rfile.read(key_len + 8 * ndim)
    if len(rest) != key_len + 8 * ndim:
        raise ChannelError("connection closed inside a frame")
    key = rest[:key_len].decode()
    shape = struct.unpack(f"<{ndim}q", rest[key_len:]) if ndim else ()
    if wire_dtype == _DEAD_DTYPE and code == _DEAD_FLAG and not nbytes:
        return step_id, key, DEAD, 0
    # np.empty, not bytearray: no zero-fill; the bytes land in the array the _Recv gets, with no copy after.
    buf = np.empty(nbytes, dtype=np.uint8)
    if nbytes and rfile.readinto(memoryview(buf)) != nbytes:
        raise ChannelError(f"connection closed inside the {nbytes}-byte tensor {key!r}")
    if wire_dtype == _PROTO_DTYPE:
        return step_id, key, tensor_codec.from_proto(graph_pb2.TensorProto.FromString(buf.tobytes())), code
    try:
        dtype = numpy_dtype(wire_dtype)
    except TypeError:
        raise ChannelError(f"tensor {key!r} has dtype enum {wire_dtype}, which names no tensor dtype") from None
    return step_id, key, buf.view(dtype).reshape(shape), code
