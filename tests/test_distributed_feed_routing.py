"""A client in another process than the master pushes large feeds straight to the tasks that consume them
(slices only, where the master would only pass a constant slice on); stale routes and unreachable tasks fall
back to sending the feeds through the master, and nothing pushed is left behind.

Both servers run in this process, and the session reaches its master at 127.0.0.2 so that it really goes over
the wire (a session to "localhost" would find the in-process master and call it directly)."""

import collections

import numpy as np
import pytest

import tasklayer as tf
from engine import errors
from tasklayer.distributed import feed_router, feed_routing, step_planner
from tasklayer.distributed.channel_codec import ChannelError
from tests.distributed_helpers import free_ports, wait_until

N = 4_000_000  # 16 MB of float32: far above the size below which feeds travel inline


class _Servers:
    """Two in-process tasks of job "local"; counts the bytes each receives on its tensor channel, by key kind."""

    def __init__(self):
        ports = free_ports(2)
        self.spec = tf.train.ClusterSpec({"local": [f"localhost:{p}" for p in ports]})
        self.servers = [tf.train.Server(self.spec, "local", i) for i in range(2)]
        self.received = [collections.Counter() for _ in self.servers]
        for server, counter in zip(self.servers, self.received):
            worker = server._server.worker
            deliver = worker.deliver

            def counting(step_id, key, value, code=0, deliver=deliver, counter=counter):
                counter[key.split("/", 1)[0]] += np.asarray(value).nbytes
                return deliver(step_id, key, value, code)
            worker.deliver = counting
            server._server._channel._deliver = counting

    def target(self):
        """The master on task 0, reached over the wire."""
        return f"grpc://127.0.0.2:{self.spec.task_address('local', 0).rsplit(':', 1)[1]}"

    def reset(self):
        for counter in self.received:
            counter.clear()

    def idle(self):
        """Whether no step holds anything on either task."""
        return all(not s._server.worker.table.active_steps() for s in self.servers)

    def stop(self):
        for server in self.servers:
            server.stop()


@pytest.fixture
def servers():
    s = _Servers()
    try:
        yield s
    finally:
        s.stop()


def test_a_feed_consumed_on_another_task_goes_straight_there(servers):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [N])
        with tf.device("/job:local/task:1"):
            total = tf.reduce_sum(x)
        data = np.ones(N, np.float32)
        with tf.Session(servers.target()) as sess:
            assert sess.run(total, {x: data}) == N  # the first run learns the routes
            servers.reset()
            for k in range(3):
                assert sess.run(total, {x: data * (k + 2)}) == N * (k + 2)
    assert servers.received[0]["upload"] == 0 and servers.received[0]["feed"] == 0  # nothing via the master
    assert servers.received[1]["feed"] == 3 * data.nbytes
    wait_until(servers.idle, 10, "both tasks to drop the steps")


def test_the_seed_mean_pushes_each_task_only_its_half(servers):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [N])
        with tf.device("/job:local/task:1"):
            mean1 = tf.reduce_mean(tf.slice(x, [0], [N // 2]))
        with tf.device("/job:local/task:0"):
            mean2 = tf.reduce_mean(tf.slice(x, [N // 2], [-1]))
            mean = (mean1 + mean2) / 2
        data = np.random.RandomState(0).rand(N).astype(np.float32)
        with tf.Session(servers.target()) as sess:
            sess.run(mean, {x: data})
            servers.reset()
            got = sess.run(mean, {x: data})
    np.testing.assert_allclose(got, data.mean(), rtol=1e-5)
    assert servers.received[1]["feed"] == data.nbytes // 2  # task 1: its half only
    assert servers.received[0]["feed"] + servers.received[0]["upload"] == data.nbytes  # the master: all of x
    wait_until(servers.idle, 10, "both tasks to drop the steps")


def test_stale_routes_fall_back_and_are_learned_again(servers, monkeypatch):
    monkeypatch.setattr(step_planner, "PLANS_PER_SESSION", 1)  # any other signature evicts the routed plan
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [N])
        with tf.device("/job:local/task:1"):
            total = tf.reduce_sum(x)
            other = tf.reduce_max(x)
        data = np.ones(N, np.float32)
        with tf.Session(servers.target()) as sess:
            sess.run(total, {x: data})
            sess.run(other, {x: data})  # evicts total's plan: its routes are stale now
            assert sess.run(total, {x: data * 2}) == 2 * N  # refused as stale, then sent through the master
            assert sess.run(total, {x: data * 3}) == 3 * N  # asks for routes again
            servers.reset()
            assert sess.run(total, {x: data * 4}) == 4 * N
    assert servers.received[0]["feed"] == 0 and servers.received[1]["feed"] == data.nbytes
    wait_until(servers.idle, 10, "both tasks to drop the steps, the abandoned one included")


def test_an_unreachable_task_makes_the_client_abandon_the_step_and_send_by_value(servers, monkeypatch):
    def unreachable(self, step_id, route, part, timeout):
        if route.channel:
            raise ChannelError(f"cannot reach {route.channel}")
        return original(self, step_id, route, part, timeout)
    original = feed_router.FeedRouter._push_one
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [N])
        with tf.device("/job:local/task:1"):
            part1 = tf.reduce_sum(tf.slice(x, [0], [N // 2]))
        with tf.device("/job:local/task:0"):
            total = part1 + tf.reduce_sum(tf.slice(x, [N // 2], [-1]))
        data = np.ones(N, np.float32)
        with tf.Session(servers.target()) as sess:
            sess.run(total, {x: data})
            monkeypatch.setattr(feed_router.FeedRouter, "_push_one", unreachable)
            assert sess.run(total, {x: data}) == N  # task 0's half landed, task 1's did not: abandoned
            servers.reset()
            assert sess.run(total, {x: data}) == N  # no more routing for this signature
    assert servers.received[0]["upload"] == data.nbytes
    wait_until(servers.idle, 10, "both tasks to drop what the abandoned step pushed")


def test_a_feed_too_small_for_its_routed_slice_gets_the_slice_error(servers):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None])
        with tf.device("/job:local/task:1"):
            first = tf.reduce_sum(tf.slice(x, [0], [N // 2]))
        with tf.Session(servers.target()) as sess:
            assert sess.run(first, {x: np.ones(N, np.float32)}) == N // 2
            assert sess.run(first, {x: np.ones(N, np.float32)}) == N // 2
            with pytest.raises(errors.InvalidArgumentError, match="to fit in dim 0 of size 1000000"):
                sess.run(first, {x: np.ones(N // 4, np.float32)})  # the slice is out of bounds: by value
            assert sess.run(first, {x: np.ones(N, np.float32)}) == N // 2


def test_route_slice_matches_tf_slice():
    arr = np.arange(24).reshape(4, 6)
    np.testing.assert_array_equal(feed_routing.route_slice(arr, [1, 2], [2, -1]), arr[1:3, 2:])
    assert feed_routing.route_slice(arr, [1], [2]) is None  # rank mismatch
    assert feed_routing.route_slice(arr, [-1, 0], [1, 1]) is None
