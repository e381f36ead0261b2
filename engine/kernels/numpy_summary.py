"""Kernels of the summary ops (``tf.summary``): each outputs a serialized ``Summary`` protobuf as a string scalar,
built as TensorFlow's kernels build it, so that TensorBoard reads it and the bytes match TF's where the encoding
is deterministic (everything but the PNG's compression).

Ops (inputs -> outputs; attrs), TF's names:
  ScalarSummary(tags string, values T) -> string;  T
  HistogramSummary(tag string, values T) -> string;  T
  ImageSummary(tag string, tensor T) -> string;  T (uint8, half, float, double), max_images, bad_color
  AudioSummaryV2(tag string, tensor float, sample_rate float) -> string;  max_outputs
  TensorSummaryV2(tag string, tensor T, serialized_summary_metadata string) -> string;  T
  MergeSummary(inputs: N strings) -> string;  N
"""

import struct
import sys
import zlib

import numpy as np
from google.protobuf.message import DecodeError

from engine import dtypes, op_defs
from engine.errors import InvalidArgumentError
from engine.graph_util import get_attr
from engine.kernels.registry import register_kernel
from protos import summary_pb2

op_defs.register_op("ScalarSummary", dtypes.string, inputs=[dtypes.string, "T"])
op_defs.register_op("HistogramSummary", dtypes.string, inputs=[dtypes.string, "T"])
op_defs.register_op("ImageSummary", dtypes.string, inputs=[dtypes.string, "T"])
op_defs.register_op("AudioSummaryV2", dtypes.string, inputs=[dtypes.string, dtypes.float32, dtypes.float32])
op_defs.register_op("TensorSummaryV2", dtypes.string, inputs=[dtypes.string, "T", dtypes.string])
op_defs.register_op("MergeSummary", dtypes.string, inputs=lambda node, count: [dtypes.string] * count)

DBL_MAX = sys.float_info.max


def _bad(message):
    return InvalidArgumentError(None, None, message)


def _shape(shape):
    """A shape as TF's ``TensorShape::DebugString`` prints it: ``[2,3]``."""
    return "[" + ",".join(str(d) for d in shape) + "]"


def _text(value):
    """A string element (bytes) as the str a proto string field holds."""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _scalar_tag(tag, message):
    """The tag (a string scalar) as text; ``message`` (TF's words for this op) when it is not a scalar."""
    tag = np.asarray(tag)
    if tag.ndim:
        raise _bad(message)
    return _text(tag.item())


def _serialized(summary):
    return np.array(summary.SerializeToString(), dtype=object)


# ---------------------------------------------------------------------- scalars
def _legacy_scalar(shape):
    return len(shape) == 0 or (len(shape) == 1 and shape[0] == 1)


@register_kernel("ScalarSummary", "CPU")
def scalar_summary(node, env):
    """One ``simple_value`` per tag (tags and values of one shape; one tag and one value of any legacy-scalar
    shape)."""
    def fn(tags, values):
        tags, values = np.asarray(tags), np.asarray(values)
        if tags.shape != values.shape and not (_legacy_scalar(tags.shape) and _legacy_scalar(values.shape)):
            single = f" (tag '{_text(tags.reshape(-1)[0])}')" if tags.size == 1 else ""
            raise _bad(f"tags and values not the same shape: {_shape(tags.shape)} != {_shape(values.shape)}"
                       f"{single}")
        summary = summary_pb2.Summary()
        floats = values.reshape(-1).astype(np.float32)  # TF casts each value to float
        for tag, value in zip(tags.reshape(-1).tolist(), floats.tolist()):
            summary.value.add(tag=_text(tag), simple_value=value)
        return _serialized(summary)
    return fn


# ---------------------------------------------------------------------- histograms
_DEFAULT_LIMITS = None


def default_bucket_limits():
    """TF's default histogram buckets: edges growing by 10% from 1e-12 up to 1e20, mirrored for negatives, with 0
    and +-DBL_MAX (computed as TF computes them, so the edges are bit-identical)."""
    global _DEFAULT_LIMITS
    if _DEFAULT_LIMITS is None:
        positive, v = [], 1.0e-12
        while v < 1.0e20:
            positive.append(v)
            v *= 1.1
        positive.append(DBL_MAX)
        _DEFAULT_LIMITS = np.array([-x for x in reversed(positive)] + [0.0] + positive)
    return _DEFAULT_LIMITS


def histogram_proto(values):
    """TF's ``Histogram::EncodeToProto`` of finite float64 ``values`` (sums taken in order, as TF adds them; each
    run of empty buckets collapsed into one entry at the run's last edge)."""
    limits = default_bucket_limits()
    proto = summary_pb2.HistogramProto()
    counts = np.bincount(np.searchsorted(limits, values, side="right"), minlength=len(limits))
    proto.min = float(values.min()) if values.size else DBL_MAX
    proto.max = float(values.max()) if values.size else -DBL_MAX
    proto.num = float(values.size)
    if values.size:  # cumsum adds one value after another, as TF's loop does (np.sum would pair them up)
        proto.sum = float(np.cumsum(values)[-1])
        proto.sum_squares = float(np.cumsum(values * values)[-1])
    nonzero = np.flatnonzero(counts)
    emitted = []
    start = 0
    for i in nonzero:
        if i > start:  # the empty run before bucket i
            emitted.append((limits[i - 1], 0.0))
        emitted.append((limits[i], float(counts[i])))
        start = i + 1
    if start < len(limits):
        emitted.append((limits[-1], 0.0))
    proto.bucket_limit.extend(float(limit) for limit, _ in emitted)
    proto.bucket.extend(count for _, count in emitted)
    return proto


@register_kernel("HistogramSummary", "CPU")
def histogram_summary(node, env):
    """A histogram of every value, in TF's default buckets; NaN or infinity is an InvalidArgumentError naming
    the node."""
    def fn(tag, values):
        tag = _scalar_tag(tag, "tags must be scalar")
        flat = np.asarray(values).reshape(-1).astype(np.float64)
        bad = ~np.isfinite(flat)
        if bad.any():  # TF reports the first non-finite value it meets
            kind = "Nan" if np.isnan(flat[int(np.argmax(bad))]) else "Infinity"
            raise _bad(f"{kind} in summary histogram for: {node.name}")
        summary = summary_pb2.Summary()
        summary.value.add(tag=tag).histo.CopyFrom(histogram_proto(flat))
        return _serialized(summary)
    return fn


# ---------------------------------------------------------------------- images
def png(image):
    """A PNG (8-bit gray, RGB or RGBA, no filtering) of a uint8 ``[height, width, channels]`` image."""
    height, width, channels = image.shape
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    rows = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, width * channels)], axis=1)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes()))
            + chunk(b"IEND", b""))


def normalize_image(values, bad_color):
    """TF's ``NormalizeFloatImage`` of one float ``[hw, depth]`` image: scaled to [0, 255] (by 255/max when no
    value is negative, else by 127/max|v| around 128), pixels with a non-finite channel painted ``bad_color``."""
    finite = np.isfinite(values).all(axis=1)
    good = values[finite].astype(np.float32)
    image_min = float(good.min()) if good.size else np.inf
    image_max = float(good.max()) if good.size else -np.inf
    t = values.dtype.type
    if image_min < 0:
        max_val = max(abs(image_min), abs(image_max))
        scale, offset = np.float32(0.0 if max_val < 1e-6 else np.float32(127.0) / np.float32(max_val)), 128.0
    else:
        scale, offset = np.float32(0.0 if image_max < 1e-6 else np.float32(255.0) / np.float32(image_max)), 0.0
    with np.errstate(invalid="ignore"):
        scaled = values * t(scale) + t(offset)
        out = np.where(finite[:, None], scaled, 0).astype(np.uint8)  # C's float -> uint8 cast truncates
    out[~finite] = bad_color
    return out


@register_kernel("ImageSummary", "CPU")
def image_summary(node, env):
    """Up to ``max_images`` PNG images of a 4-D ``[batch, height, width, 1|3|4]`` tensor; tags ``tag/image/i``
    (``tag/image`` when ``max_images`` is 1)."""
    max_images = int(get_attr(node, "max_images"))
    bad_color = np.asarray(get_attr(node, "bad_color", np.array([255, 0, 0, 255], np.uint8)))
    if bad_color.dtype != np.uint8:
        raise _bad(f"bad_color must be uint8, got {dtypes.as_dtype(bad_color.dtype).name}")
    if bad_color.ndim != 1:
        raise _bad(f"bad_color must be a vector, got shape {_shape(bad_color.shape)}")

    def fn(tag, tensor):
        tag = _scalar_tag(tag, "Tags must be a scalar")
        tensor = np.asarray(tensor)
        if tensor.ndim != 4 or tensor.shape[3] not in (1, 3, 4):
            raise _bad(f"Tensor must be 4-D with last dim 1, 3, or 4, not {_shape(tensor.shape)}")
        batch, height, width, depth = tensor.shape
        if height * width == 0:
            raise _bad(f"input tensor must have non-zero dims. Found: [{batch}, {height}, {width}, {depth}].")
        if tensor.dtype != np.uint8 and len(bad_color) < depth:
            raise _bad(f"expected depth <= bad_color.size, got depth = {depth}, bad_color.size = {len(bad_color)}")
        summary = summary_pb2.Summary()
        for i in range(min(max_images, batch)):
            pixels = tensor[i].reshape(height * width, depth)
            if tensor.dtype != np.uint8:
                pixels = normalize_image(pixels, bad_color[:depth])
            value = summary.value.add(tag=f"{tag}/image/{i}" if max_images > 1 else f"{tag}/image")
            value.image.height, value.image.width, value.image.colorspace = height, width, depth
            value.image.encoded_image_string = png(pixels.reshape(height, width, depth))
        return _serialized(summary)
    return fn


# ---------------------------------------------------------------------- audio
def wav(samples, sample_rate):
    """A 16-bit PCM WAV of float ``[frames, channels]`` samples in [-1, 1] (TF's ``EncodeAudioAsS16LEWav``:
    each sample times 32768, rounded half away from zero, clamped to int16)."""
    frames, channels = samples.shape
    scaled = samples.astype(np.float32) * np.float32(32768.0)
    rounded = np.sign(scaled) * np.floor(np.abs(scaled.astype(np.float64)) + 0.5)
    pcm = np.clip(np.nan_to_num(rounded), -32768, 32767).astype("<i2").tobytes()
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, 1, channels,
                         sample_rate, sample_rate * channels * 2, channels * 2, 16, b"data", len(pcm))
    return header + pcm


@register_kernel("AudioSummaryV2", "CPU")
def audio_summary(node, env):
    """Up to ``max_outputs`` WAV clips of a ``[batch, frames]`` or ``[batch, frames, channels]`` float tensor;
    tags ``tag/audio/i`` (``tag/audio`` when ``max_outputs`` is 1)."""
    max_outputs = int(get_attr(node, "max_outputs"))
    if max_outputs <= 0:
        raise _bad("max_outputs must be > 0")

    def fn(tag, tensor, sample_rate):
        tag = _scalar_tag(tag, "Tag must be a scalar")
        tensor, sample_rate = np.asarray(tensor), np.asarray(sample_rate)
        if tensor.ndim not in (2, 3):
            raise _bad(f"Tensor must be 3-D or 2-D, got: {_shape(tensor.shape)}")
        if sample_rate.size != 1:
            raise _bad("sample_rate must be rank-0 or contain a single value")
        rate = float(np.float32(sample_rate.reshape(-1)[0]))
        if not rate > 0.0:
            raise _bad("sample_rate must be > 0")
        batch, frames = tensor.shape[:2]
        channels = 1 if tensor.ndim == 2 else tensor.shape[2]
        clips = tensor.reshape(batch, frames, channels)
        summary = summary_pb2.Summary()
        for i in range(min(max_outputs, batch)):
            value = summary.value.add(tag=f"{tag}/audio/{i}" if max_outputs > 1 else f"{tag}/audio")
            audio = value.audio
            audio.sample_rate, audio.num_channels, audio.length_frames = rate, channels, frames
            audio.content_type = "audio/wav"
            audio.encoded_audio_string = wav(clips[i], max(1, int(np.rint(rate))))
        return _serialized(summary)
    return fn


# ---------------------------------------------------------------------- tensors
def tensor_proto(array):
    """TF's ``TensorProto`` of an array as TF's summary kernels write it: raw bytes in ``tensor_content``, or one
    ``string_val`` per element for strings (which TF's ``make_ndarray`` cannot read from raw bytes)."""
    array = np.asarray(array)
    dtype = dtypes.as_dtype(array.dtype)
    proto = summary_pb2.TensorProto(dtype=dtype.as_datatype_enum)
    proto.tensor_shape.SetInParent()  # present even for a scalar, as TF writes it
    for d in array.shape:
        proto.tensor_shape.dim.add(size=d)
    if dtype is dtypes.string:
        proto.string_val.extend(v if isinstance(v, bytes) else str(v).encode() for v in array.reshape(-1))
    elif array.size:
        array = np.ascontiguousarray(array)
        if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and sys.byteorder == "big"):
            array = array.astype(array.dtype.newbyteorder("<"))  # TF's tensor_content is little-endian
        proto.tensor_content = array.tobytes()
    return proto


@register_kernel("TensorSummaryV2", "CPU")
def tensor_summary(node, env):
    """The tensor itself (a TensorProto) under ``tag``, with the summary metadata given (which plugin shows it)."""
    def fn(tag, tensor, serialized_summary_metadata):
        value = summary_pb2.Summary.Value(tag=_scalar_tag(tag, "tag must be scalar"))
        value.tensor.CopyFrom(tensor_proto(tensor))
        try:
            value.metadata.ParseFromString(np.asarray(serialized_summary_metadata).item())
        except DecodeError:
            raise _bad("Could not parse the serialized summary metadata") from None
        return _serialized(summary_pb2.Summary(value=[value]))
    return fn


# ---------------------------------------------------------------------- merging
@register_kernel("MergeSummary", "CPU")
def merge_summary(node, env):
    """The values of every input summary (each element of each string tensor) in one Summary; a tag seen twice
    is an InvalidArgumentError."""
    def fn(*inputs):
        merged = summary_pb2.Summary()
        tags = set()
        for tensor in inputs:
            for serialized in np.asarray(tensor).reshape(-1).tolist():
                part = summary_pb2.Summary()
                try:
                    part.ParseFromString(serialized)
                except DecodeError:
                    raise _bad("Could not parse one of the summary inputs") from None
                for value in part.value:
                    if value.tag and value.tag in tags:
                        raise _bad(f"Duplicate tag {value.tag} found in summary inputs")
                    tags.add(value.tag)
                merged.value.extend(part.value)
        return _serialized(merged)
    return fn
