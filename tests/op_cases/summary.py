"""Cases of the summary ops (tf.summary.scalar, histogram, image, audio, text, tensor_summary, merge): their output
is a serialized ``Summary``. Where TF's encoding is deterministic the check compares the bytes exactly with a
Summary built here by hand from the protos (so ``bench/tf_reference.py`` holds TensorFlow's bytes to the same);
histograms are checked by what they must hold, images by decoding the PNG."""

import io
import struct
import sys
import wave
import zlib

import numpy as np

from engine.errors import InvalidArgumentError
from protos import summary_pb2
from tests.op_cases import case

DBL_MAX = sys.float_info.max


def exactly(expected):
    """A check that the fetched value(s) are exactly the bytes of ``expected()`` (Summary protos)."""
    def check(values):
        want = expected()
        if isinstance(want, list):
            assert [bytes(v) for v in values] == [w.SerializeToString() for w in want]
        else:
            assert bytes(values) == want.SerializeToString(), (values, want)
    return check


def scalars(**tags):
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=t, simple_value=v) for t, v in tags.items()])


def parse(value):
    return summary_pb2.Summary.FromString(bytes(value))


def decode_png(data):
    """The uint8 ``[height, width, channels]`` pixels of an 8-bit gray/RGB/RGBA PNG, any row filters."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body)
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color_type = header[:4]
    assert depth == 8
    channels = {0: 1, 2: 3, 6: 4}[color_type]
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], np.zeros(stride, np.int64)
    for r in range(height):
        kind, line = raw[r * (stride + 1)], np.frombuffer(raw, np.uint8, stride, r * (stride + 1) + 1).astype(np.int64)
        out = np.zeros(stride, np.int64)
        for i in range(stride):
            left = out[i - channels] if i >= channels else 0
            up, up_left = prev[i], (prev[i - channels] if i >= channels else 0)
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = left
            elif kind == 2:
                pred = up
            elif kind == 3:
                pred = (left + up) // 2
            else:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
            out[i] = (line[i] + pred) % 256
        rows.append(out)
        prev = out
    return np.array(rows, np.uint8).reshape(height, width, channels)


# ---------------------------------------------------------------- scalar
@case("summary_scalar_float", check=exactly(lambda: scalars(loss=1.5)))
def _(tf):
    return tf.summary.scalar("loss", tf.constant(1.5))


@case("summary_scalar_int64_as_float", check=exactly(lambda: scalars(step=float(np.float32(2 ** 40 + 1)))))
def _(tf):
    return tf.summary.scalar("step", tf.constant(2 ** 40 + 1, tf.int64))


@case("summary_scalar_tags_follow_scopes",
      check=exactly(lambda: [scalars(loss=1.0), scalars(loss_1=2.0), scalars(**{"fam/outer/fam/my_loss_": 3.0}),
                             scalars(**{"train/acc": 4.0})]))
def _(tf):
    first = tf.summary.scalar("loss", tf.constant(1.0))
    second = tf.summary.scalar("loss", tf.constant(2.0))
    with tf.name_scope("outer"):
        family = tf.summary.scalar("my loss!", tf.constant(3.0), family="fam")
    with tf.name_scope("train"):
        scoped = tf.summary.scalar("acc", tf.constant(4.0))
    return [first, second, family, scoped]


@case("summary_scalar_of_a_vector", raises=(InvalidArgumentError,
                                            r"tags and values (are )?not the same shape: \[\] != \[2\] \(tag 'x'\)"))
def _(tf):
    return tf.summary.scalar("x", tf.constant([1.0, 2.0]))


@case("summary_scalar_of_a_bool", raises=(TypeError, "'values' .*has DataType bool not in list of allowed values"))
def _(tf):
    return tf.summary.scalar("x", tf.constant(True))


# ---------------------------------------------------------------- histogram
HISTO_VALUES = np.float32([1.0, 2.0, 2.0, -3.0, 0.0, 0.5, 1e-13, 250.0])


def check_histogram(value):
    """What a histogram of HISTO_VALUES must hold: the statistics, counts that add up, and each value in a
    non-empty bucket whose edges are TF's (growing by 10% from 1e-12, mirrored, with 0)."""
    [v] = parse(value).value
    h, x = v.histo, HISTO_VALUES.astype(np.float64)
    assert v.tag == "h"
    assert (h.min, h.max, h.num) == (x.min(), x.max(), len(x))
    np.testing.assert_allclose([h.sum, h.sum_squares], [x.sum(), (x * x).sum()], rtol=1e-12)
    limits, counts = np.array(h.bucket_limit), np.array(h.bucket)
    assert counts.sum() == len(x) and limits[-1] == DBL_MAX and (np.diff(limits) > 0).all()
    for value in x:
        i = int(np.searchsorted(limits, value, side="right"))  # the first edge above the value
        assert counts[i] > 0, (value, limits[i])
        if value >= 0:  # the bucket's upper edge is at most 10% above the value
            assert value < limits[i] <= (1.1 + 1e-9) * max(value, 1e-12), (value, limits[i])
        else:
            assert value < limits[i] <= value / (1.1 + 1e-9), (value, limits[i])
    assert ((counts > 0) | np.r_[True, counts[:-1] > 0]).all(), "two empty entries in a row"


@case("summary_histogram", check=check_histogram)
def _(tf):
    return tf.summary.histogram("h", tf.constant(HISTO_VALUES))


@case("summary_histogram_of_nothing",
      check=exactly(lambda: summary_pb2.Summary(value=[summary_pb2.Summary.Value(
          tag="empty", histo=summary_pb2.HistogramProto(min=DBL_MAX, max=-DBL_MAX, bucket_limit=[DBL_MAX],
                                                        bucket=[0.0]))])))
def _(tf):
    return tf.summary.histogram("empty", tf.zeros([0]))


@case("summary_histogram_nan", raises=(InvalidArgumentError, "Nan in summary histogram for: x"))
def _(tf):
    return tf.summary.histogram("x", tf.constant([1.0, np.nan, np.inf]))


@case("summary_histogram_inf", raises=(InvalidArgumentError, "Infinity in (summary histogram|Histogram) for: x"))
def _(tf):
    return tf.summary.histogram("x", tf.constant([1.0, -np.inf, np.nan]))


# ---------------------------------------------------------------- image
FLOAT_IMAGES = np.float32([[[[-2.0], [0.0], [1.0]], [[2.0], [0.5], [-1.0]]],
                           [[[0.0], [1.0], [4.0]], [[np.nan], [2.0], [3.0]]]])  # [2, 2, 3, 1]
RGB_IMAGES = np.arange(2 * 2 * 3 * 3, dtype=np.uint8).reshape(2, 2, 3, 3) * 7


def check_float_images(value):
    """One image per batch entry up to max_outputs=1 (tag ``im/image``), scaled as TF scales it: with a negative
    value, by 127/max|v| around 128."""
    [v] = parse(value).value
    assert v.tag == "im/image" and (v.image.height, v.image.width, v.image.colorspace) == (2, 3, 1)
    x = FLOAT_IMAGES[0]
    want = (x * np.float32(127.0 / 2.0) + np.float32(128.0)).astype(np.uint8)
    np.testing.assert_array_equal(decode_png(v.image.encoded_image_string), want)


@case("summary_image_float_scaled_one_image", check=check_float_images)
def _(tf):
    return tf.summary.image("im", tf.constant(FLOAT_IMAGES), max_outputs=1)


def check_nonneg_image_with_nan(value):
    """No negative value: scaled by 255/max; a NaN pixel is painted red (here gray: its first channel, 255)."""
    values = parse(value).value
    assert [v.tag for v in values] == ["im/image/0", "im/image/1"]
    x = FLOAT_IMAGES[1]
    want = np.where(np.isnan(x), 255, np.nan_to_num(x) * np.float32(255.0 / 4.0)).astype(np.uint8)
    np.testing.assert_array_equal(decode_png(values[1].image.encoded_image_string), want)


@case("summary_image_float_positive_and_nan", check=check_nonneg_image_with_nan)
def _(tf):
    return tf.summary.image("im", tf.constant(FLOAT_IMAGES), max_outputs=2)


def check_rgb(value):
    values = parse(value).value
    assert [v.tag for v in values] == ["rgb/image/0", "rgb/image/1"]
    for v, want in zip(values, RGB_IMAGES):
        assert v.image.colorspace == 3
        np.testing.assert_array_equal(decode_png(v.image.encoded_image_string), want)


@case("summary_image_uint8_kept", check=check_rgb)
def _(tf):
    return tf.summary.image("rgb", tf.constant(RGB_IMAGES), max_outputs=5)


@case("summary_image_two_channels", raises=(InvalidArgumentError,
                                            r"Tensor must be 4-D with last dim 1, 3, or 4, not \[1,2,2,2\]"))
def _(tf):
    return tf.summary.image("x", tf.constant(np.zeros((1, 2, 2, 2), np.float32)))


@case("summary_image_int32", raises=(TypeError, "'tensor' .*has DataType int32 not in list of allowed values"))
def _(tf):
    return tf.summary.image("x", tf.constant(np.zeros((1, 2, 2, 1), np.int32)))


# ---------------------------------------------------------------- audio
CLIPS = np.float32([[-1.0, -0.5, 0.25, 1.5], [0.0, 0.1, -0.1, 0.99]])  # [2, 4]: two mono clips


def wav_bytes(samples, rate):
    """A 16-bit mono WAV by the standard library's writer (samples times 32768, rounded half away from zero)."""
    scaled = samples.astype(np.float64) * 32768.0
    pcm = np.clip(np.sign(scaled) * np.floor(np.abs(scaled) + 0.5), -32768, 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return out.getvalue()


def audio_summary():
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(
        tag=f"au/audio/{i}", audio=summary_pb2.Summary.Audio(
            sample_rate=8000.0, num_channels=1, length_frames=4, encoded_audio_string=wav_bytes(CLIPS[i], 8000),
            content_type="audio/wav")) for i in range(2)])


@case("summary_audio", check=exactly(audio_summary))
def _(tf):
    return tf.summary.audio("au", tf.constant(CLIPS), 8000, max_outputs=3)


@case("summary_audio_rank_1", raises=(InvalidArgumentError, r"Tensor must be 3-D or 2-D, got: \[2\]"))
def _(tf):
    return tf.summary.audio("x", tf.constant([0.0, 1.0]), 8000)


# ---------------------------------------------------------------- text and tensors
def tensor_value(tag, dtype, shape, metadata, **fields):
    value = summary_pb2.Summary.Value(tag=tag, tensor=summary_pb2.TensorProto(dtype=dtype, **fields))
    value.tensor.tensor_shape.SetInParent()
    value.tensor.tensor_shape.dim.extend(summary_pb2.TensorShapeProto.Dim(size=d) for d in shape)
    value.metadata.CopyFrom(metadata)
    return summary_pb2.Summary(value=[value])


TEXT_METADATA = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"))


@case("summary_text", check=exactly(lambda: tensor_value("notes", 7, [2], TEXT_METADATA, string_val=[b"a", b"bc"])))
def _(tf):
    return tf.summary.text("notes", tf.constant(["a", "bc"]))


@case("summary_text_of_numbers", raises=(ValueError, "Expected tensor .* to have dtype string, got <dtype: 'int32'>"))
def _(tf):
    return tf.summary.text("x", tf.constant(1))


@case("summary_tensor_int32",
      check=exactly(lambda: tensor_value("ts", 3, [1, 2], summary_pb2.SummaryMetadata(summary_description="two"),
                                         tensor_content=np.int32([[1, 2]]).astype("<i4").tobytes())))
def _(tf):
    return tf.summary.tensor_summary("ts", tf.constant([[1, 2]]), summary_description="two")


# ---------------------------------------------------------------- merge
@case("summary_merge_all", check=exactly(lambda: scalars(a=1.0, b=2.0, d=4.0)))
def _(tf):
    tf.summary.scalar("a", tf.constant(1.0))
    tf.summary.scalar("b", tf.constant(2.0))
    tf.summary.scalar("d", tf.constant(4.0), collections=["elsewhere"])
    merged = tf.summary.merge_all()
    assert merged.op.name == "Merge/MergeSummary", merged.op.name
    assert len(tf.summary.merge_all().op.inputs) == 2, "merge added its output to the summaries"
    return tf.summary.merge([merged, tf.summary.merge_all("elsewhere")])


@case("summary_merge_duplicate_tag", raises=(InvalidArgumentError, "Duplicate tag x found in summary inputs"))
def _(tf):
    x = tf.summary.scalar("x", tf.constant(1.0))
    return tf.summary.merge([x, x])


@case("summary_merge_not_a_summary", raises=(InvalidArgumentError, "Could not parse one of the summary inputs"))
def _(tf):
    return tf.summary.merge([tf.constant(b"garbage\xff")])


@case("summary_merge_of_numbers", raises=(TypeError, r"Tensors in list passed to 'inputs' of 'MergeSummary' Op "
                                                     r"have types \[int32\] that do not match expected type string"))
def _(tf):
    return tf.summary.merge([tf.constant(1)])
