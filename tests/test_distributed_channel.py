"""The tensor channel: frames, large and odd tensors, a peer that restarts, a malformed stream, and the gRPC
PushTensor path the runtime falls back to (``YARNFLOW_TENSOR_TRANSPORT=grpc``)."""

import socket
import struct

import numpy as np
import pytest

from tasklayer.distributed import lossy
from tasklayer.distributed.channel_client import ChannelClient
from tasklayer.distributed.channel_codec import StaleConnectionError
from tasklayer.distributed.channel_server import ChannelServer
from tests.polling import wait_until


@pytest.fixture
def inbox():
    got = []
    server = ChannelServer(lambda step, key, value, code: got.append((step, key, value, code)), host="127.0.0.1")
    yield server, got
    server.stop()


@pytest.mark.parametrize("value", [
    np.arange(12, dtype=np.float32).reshape(3, 4),
    np.array(3.5, dtype=np.float64),
    np.zeros((0, 5), dtype=np.int32),
    np.array([True, False]),
    np.arange(10, dtype=np.int64)[::2],  # not contiguous
    np.array([b"a", b"bc"], dtype=object),  # strings travel as a TensorProto
], ids=["2d", "0d", "empty", "bool", "strided", "strings"])
def test_push_round_trip(inbox, value):
    server, got = inbox
    client = ChannelClient(f"127.0.0.1:{server.port}")
    try:
        client.push(42, "edge;k", value)
        wait_until(lambda: got, 5, "the pushed tensor")
    finally:
        client.close()
    step, key, out, code = got[0]
    assert (step, key, code) == (42, "edge;k", 0)
    assert out.shape == np.asarray(value).shape
    assert out.tolist() == np.asarray(value).tolist()


def test_large_tensor_bit_exact_and_small_ones_keep_flowing(inbox):
    server, got = inbox
    big = np.random.RandomState(0).rand(3 << 20).astype(np.float32)  # 12 MB: the bulk connection
    client = ChannelClient(f"127.0.0.1:{server.port}")
    try:
        client.push(1, "big", big)
        client.push(1, "small", np.float32(1.0))
        wait_until(lambda: len(got) == 2, 10, "both tensors")
    finally:
        client.close()
    by_key = {key: value for _, key, value, _ in got}
    assert by_key["big"].tobytes() == big.tobytes()
    assert float(by_key["small"]) == 1.0


def test_lossy_code_travels_with_the_payload(inbox):
    server, got = inbox
    payload, code = lossy.compress(np.linspace(-2, 2, 9, dtype=np.float32), "bfloat16")
    client = ChannelClient(f"127.0.0.1:{server.port}")
    try:
        client.push(5, "k", payload, code)
        wait_until(lambda: got, 5, "the pushed tensor")
    finally:
        client.close()
    assert got[0][3] == lossy.BFLOAT16
    np.testing.assert_allclose(lossy.decompress(got[0][2], got[0][3]), np.linspace(-2, 2, 9), rtol=2 ** -8)


def test_a_closed_peer_is_noticed_before_the_next_frame(inbox):
    server, got = inbox
    client = ChannelClient(f"127.0.0.1:{server.port}")
    client.push(1, "a", np.ones(2))
    wait_until(lambda: got, 5, "the first tensor")
    server.stop()  # the peer goes away (a restarted task listens elsewhere)

    def stale():
        try:
            client.push(1, "b", np.ones(2))
        except StaleConnectionError:
            return True
        return False
    wait_until(stale, 5, "the closed connection to be noticed")
    assert client.broken
    client.close()


def test_a_malformed_stream_closes_only_its_connection(inbox):
    server, got = inbox
    with socket.create_connection(("127.0.0.1", server.port)) as bad:
        bad.sendall(b"GET / HTTP/1.1\r\n\r\n" + b"x" * 64)
        bad.settimeout(5)
        assert bad.recv(1) == b""  # the server hung up on it
    client = ChannelClient(f"127.0.0.1:{server.port}")
    try:
        client.push(9, "after", np.arange(3))
        wait_until(lambda: got, 5, "a tensor on a good connection")
    finally:
        client.close()
    assert got[0][1] == "after"


def test_a_truncated_frame_is_not_delivered(inbox):
    server, got = inbox
    from tasklayer.distributed.channel_codec import encode_header
    head, data = encode_header(3, "cut", np.arange(1000, dtype=np.float64))
    with socket.create_connection(("127.0.0.1", server.port)) as conn:
        conn.sendall(head + bytes(data)[:100])
    client = ChannelClient(f"127.0.0.1:{server.port}")
    try:
        client.push(3, "whole", np.arange(2))
        wait_until(lambda: got, 5, "the whole tensor")
    finally:
        client.close()
    assert [key for _, key, _, _ in got] == ["whole"]
    assert struct.calcsize("<2sBBIiiQQ") == len(head) - len("cut") - 8  # header, key, one dim


def test_a_caller_gone_mid_call_is_heard_once_and_answered_calls_are_not():
    import threading
    from tasklayer.distributed.channel_client import ChannelCaller
    from tasklayer.distributed.channel_codec import ChannelError
    from tests.distributed_helpers import raised
    release, gone, entered = threading.Event(), [], threading.Event()

    def slow(payload):
        entered.set()
        release.wait(10)
        return payload
    server = ChannelServer(lambda *frame: None, host="127.0.0.1", handlers={"Slow": slow, "Echo": bytes},
                           on_hangup=lambda method, payload: gone.append((method, payload)))
    try:
        caller = ChannelCaller(f"127.0.0.1:{server.port}")
        assert caller.call("Echo", b"quick") == b"quick"
        failed = []
        worker = threading.Thread(target=lambda: failed.append(raised(caller.call, "Slow", b"step 7")))
        worker.start()
        wait_until(entered.is_set, 5, "the slow call to start")
        caller.interrupt()  # the caller gives up: its connection closes while the handler still runs
        worker.join(5)
        assert failed and isinstance(failed[0], ChannelError), failed
        assert wait_until(lambda: gone, 5, "the hangup to be heard") == [("Slow", b"step 7")]
        release.set()
        assert caller.call("Echo", b"again") == b"again"  # a fresh connection; answered calls raise nothing
        wait_until(lambda: not server.calls_in_progress(), 5, "the server to forget the calls")
        assert gone == [("Slow", b"step 7")]
    finally:
        release.set()
        server.stop()


def test_runtime_over_grpc_push_when_asked(monkeypatch):
    """The whole distributed path with pushes sent by gRPC PushTensor instead of the channel."""
    monkeypatch.setenv("YARNFLOW_TENSOR_TRANSPORT", "grpc")
    import tasklayer as tf
    from tests.distributed_helpers import free_ports
    ports = free_ports(2)
    spec = tf.train.ClusterSpec({"local": [f"localhost:{p}" for p in ports]})
    servers = [tf.train.Server(spec, "local", i) for i in range(2)]
    try:
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [None])
            with tf.device("/job:local/task:1"):
                y = x * 2.0
            with tf.device("/job:local/task:0"):
                z = tf.reduce_sum(y)
            data = np.arange(100_000, dtype=np.float32)  # larger than a message's inline limit
            with tf.Session(servers[0].target) as sess:
                assert sess.run(z, {x: data}) == pytest.approx(float(data.sum() * 2), rel=1e-6)
        from tasklayer.distributed.grpc_transport import GrpcTransport
        sender = servers[1]._server.worker
        assert sender.recv_tensor_count == 1  # y crossed once, ...
        assert [type(t) for t in sender.peers.chosen().values()] == [GrpcTransport]  # ... by gRPC, not a channel
    finally:
        for s in servers:
            s.stop()


@pytest.mark.parametrize("wire,rtol", [("float16", 2 ** -11), ("bfloat16", 2 ** -8)])
def test_session_config_sends_float32_between_tasks_lossily(wire, rtol):
    """ConfigProto(transfer_dtype=...) compresses float32 tensors crossing tasks; feeds keep full precision."""
    import tasklayer as tf
    from tests.distributed_helpers import free_ports
    spec = tf.train.ClusterSpec({"local": [f"localhost:{p}" for p in free_ports(2)]})
    servers = [tf.train.Server(spec, "local", i) for i in range(2)]
    data = np.random.RandomState(1).rand(1000).astype(np.float32) + 1.0
    try:
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [1000])
            with tf.device("/job:local/task:1"):
                y = x * 3.0  # computed on task 1 from the exact feed, crosses to task 0 lossily
                n = tf.size(x)  # int32: crosses exactly
            with tf.device("/job:local/task:0"):
                z = tf.identity(y)
                m = tf.identity(n)
            with tf.Session(servers[0].target, config=tf.ConfigProto(transfer_dtype=wire)) as sess:
                got, count = sess.run([z, m], {x: data})
            with tf.Session(servers[0].target) as exact:
                want = exact.run(z, {x: data})
    finally:
        for s in servers:
            s.stop()
    assert count == 1000
    np.testing.assert_array_equal(want, data * np.float32(3.0))  # off by default: bit-exact
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=rtol)
    assert not np.array_equal(got, want)  # it really was compressed


def test_a_bad_transfer_dtype_is_refused():
    import tasklayer as tf
    with pytest.raises((ValueError, TypeError), match="transfer"):
        tf.ConfigProto(transfer_dtype="int8")


def test_one_large_feed_to_two_partitions_of_one_task():
    """Two devices of one task each consume the same large feed: each partition gets its own push."""
    import tasklayer as tf
    from tests.distributed_helpers import free_ports
    spec = tf.train.ClusterSpec({"local": [f"localhost:{p}" for p in free_ports(2)]})
    servers = [tf.train.Server(spec, "local", i) for i in range(2)]
    data = np.arange(100_000, dtype=np.float32)
    try:
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [100_000])
            with tf.device("/job:local/task:1/device:CPU:0"):
                a = tf.reduce_sum(x)
            with tf.device("/job:local/task:1/device:CPU:1"):
                b = tf.reduce_sum(x * 2.0)
            with tf.device("/job:local/task:0"):
                total = a + b
            with tf.Session(servers[0].target, config=tf.ConfigProto(operation_timeout_in_ms=20_000)) as sess:
                got = sess.run(total, {x: data})
    finally:
        for s in servers:
            s.stop()
    assert got == pytest.approx(float(data.sum()) * 3, rel=1e-5)
