"""Every dtype crosses tasks as itself, bit for bit: bfloat16 arrives as bfloat16 (not as its uint16 bits), uint16
as uint16, strings as strings, over the tensor channel and over gRPC alone (``YARNFLOW_TENSOR_TRANSPORT=grpc``);
lossy transfer's bfloat16 payloads are real bfloat16 arrays that decompress back to float32."""

import ml_dtypes
import numpy as np
import pytest

import tasklayer as tf
from tasklayer.distributed import channel_codec, lossy, tensor_stream
from tests.distributed_helpers import free_ports

BF16 = np.dtype(ml_dtypes.bfloat16)


def _values():
    """One tensor per dtype, with the values that a lossy or reinterpreting path would change."""
    rng = np.random.default_rng(7)
    return {
        # Every bfloat16 bit pattern (NaNs with payloads, infs, -0, subnormals): 128 KB, so a fed one is pushed.
        "bfloat16": np.arange(1 << 16, dtype=np.uint16).view(BF16),
        "uint16": np.array([0, 1, 0x7FC0, 0xFFFF], np.uint16),
        "int8": np.array([-128, -1, 0, 127], np.int8),
        "int16": np.array([-32768, -1, 0, 32767], np.int16),
        "complex64": (rng.standard_normal(6) + 1j * rng.standard_normal(6)).astype(np.complex64),
        "string": np.array([b"", b"a", "\u00e9t\u00e9".encode(), b"\x00\xff"], dtype=object),
    }


def _same(got, want):
    """Same dtype, shape and bits (element by element for strings)."""
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape)
    if want.dtype == object:
        assert got.tolist() == want.tolist()
    else:
        assert np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(want).tobytes()


@pytest.fixture(scope="module", params=["channel", "grpc"])
def cluster(request):
    """Two in-process task servers whose peers talk by the tensor channel, or by gRPC alone."""
    with pytest.MonkeyPatch.context() as mp:
        if request.param == "grpc":
            mp.setenv("YARNFLOW_TENSOR_TRANSPORT", "grpc")
        else:
            mp.delenv("YARNFLOW_TENSOR_TRANSPORT", raising=False)
        ports = free_ports(2)
        spec = tf.train.ClusterSpec({"local": [f"localhost:{p}" for p in ports]})
        servers = [tf.train.Server(spec, "local", i) for i in range(2)]
        try:
            # 127.0.0.2: the client reaches the master over the wire too, not by an in-process call.
            yield f"grpc://127.0.0.2:{ports[0]}"
        finally:
            for s in servers:
                s.stop()


@pytest.mark.parametrize("name", sorted(_values()))
def test_a_tensor_crosses_tasks_as_its_own_dtype_bit_exact(cluster, name):
    value = _values()[name]
    with tf.Graph().as_default():
        x = tf.placeholder(tf.as_dtype(value.dtype) if name != "string" else tf.string, [None])
        with tf.device("/job:local/task:1"):
            on_task1 = tf.identity(x)  # fed to task 1, then sent to task 0
        with tf.device("/job:local/task:0"):
            back = tf.identity(on_task1)
        with tf.Session(cluster) as sess:
            got_back, got_there = sess.run([back, on_task1], {x: value})
    _same(got_back, value)
    _same(got_there, value)


@pytest.mark.parametrize("name", sorted(_values()))
def test_tensor_stream_round_trips_every_dtype_in_chunks(name):
    """The gRPC encoding (PushTensor, RecvTensor, PutTensor) on its own, chunked small."""
    value = _values()[name]
    got, meta = tensor_stream.decode_stream(tensor_stream.encode_stream(value, key="k", chunk_bytes=7))
    _same(got, value)
    assert meta.key == "k"


@pytest.mark.parametrize("name", sorted(_values()))
def test_channel_frame_round_trips_every_dtype(name):
    import io
    value = _values()[name]
    head, data = channel_codec.encode_header(3, "k", value)
    step_id, key, got, code = channel_codec.read_frame(io.BufferedReader(io.BytesIO(head + bytes(data))))
    assert (step_id, key, code) == (3, "k", 0)
    _same(got, value)


def test_uint16_and_bfloat16_have_their_own_wire_enums():
    assert tensor_stream.dtype_enum(np.dtype(np.uint16)) == tf.uint16.as_datatype_enum
    assert tensor_stream.dtype_enum(BF16) == tf.bfloat16.as_datatype_enum
    assert tensor_stream.numpy_dtype(tf.bfloat16.as_datatype_enum) == BF16
    assert tensor_stream.numpy_dtype(tf.uint16.as_datatype_enum) == np.uint16


def test_a_frame_with_an_unknown_dtype_enum_is_a_channel_error():
    import io
    head, data = channel_codec.encode_header(1, "k", np.zeros(2, np.float32))
    fields = list(channel_codec.HEADER.unpack(head[:channel_codec.HEADER.size]))
    fields[5] = 999  # the dtype enum
    bad = channel_codec.HEADER.pack(*fields) + head[channel_codec.HEADER.size:] + bytes(data)
    with pytest.raises(channel_codec.ChannelError, match="dtype enum 999"):
        channel_codec.read_frame(io.BufferedReader(io.BytesIO(bad)))


def test_lossy_bfloat16_payload_is_real_bfloat16_and_decompresses_to_float32():
    x = np.array([1.0, 3.14159, -300.7, np.inf], np.float32)
    payload, code = lossy.compress(x, "bfloat16")
    assert payload.dtype == BF16 and code == lossy.BFLOAT16
    np.testing.assert_array_equal(payload.astype(np.float32), x.astype(BF16).astype(np.float32))
    # Over the wire and back: the payload arrives as bfloat16, so the receiver can decompress it.
    got, meta = tensor_stream.decode_stream(tensor_stream.encode_stream(payload, lossy=code))
    back = lossy.decompress(got, meta.lossy)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, x.astype(BF16).astype(np.float32))


def test_a_real_bfloat16_tensor_is_left_alone_by_lossy_transfer():
    value = np.array([1.5, -2.0], BF16)
    payload, code = lossy.compress(value, "bfloat16")
    assert payload is value and code == lossy.NONE
