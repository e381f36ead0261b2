"""Multi-process tests: task servers in their own processes, sessions from this one."""

import threading
import time

import numpy as np
import pytest

import tasklayer as tf
from engine import errors
from tests.distributed_helpers import TaskProcesses, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster():
    """Three tasks of job "local", each its own process."""
    with TaskProcesses({"local": 3}) as procs:
        yield procs


def test_seed_zcalc(cluster):
    """The seed's first program, with the cluster's ports: -18."""
    with tf.Graph().as_default():
        x = tf.constant(5)
        with tf.device("/job:local/task:0"):
            y1 = x - 8
        with tf.device("/job:local/task:1"):
            y2 = x + 1
        z = y1 * y2
        with tf.Session(cluster.target("local", 1)) as sess:
            assert sess.run(z) == -18


def test_seed_zcalc_with_a_fed_x_crosses_tasks(cluster):
    """The same graph with x fed, so nothing folds: y1 really runs on task 0."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.int32, [])
        with tf.device("/job:local/task:0"):
            y1 = x - 8
        with tf.device("/job:local/task:1"):
            y2 = x + 1
        z = y1 * y2
        with tf.Session(cluster.target("local", 1)) as sess:
            assert [sess.run(z, {x: v}) for v in (5, 6, 0)] == [-18, -14, -8]


def test_seed_mapreduce_mean(cluster):
    """The seed's second program: the mean of the fed values, half on each task."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, 100)
        with tf.device("/job:local/task:1"):
            mean1 = tf.reduce_mean(tf.slice(x, [0], [50]))
        with tf.device("/job:local/task:0"):
            mean2 = tf.reduce_mean(tf.slice(x, [50], [-1]))
            mean = (mean1 + mean2) / 2
        data = np.random.random(100)
        with tf.Session(cluster.target("local", 0)) as sess:
            result = sess.run(mean, feed_dict={x: data})
        assert result == pytest.approx(data.astype(np.float32).mean(), rel=1e-5)


def test_diamond_across_three_tasks(cluster):
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float32, [4])
        with tf.device("/job:local/task:0"):
            top = a * 3.0
        with tf.device("/job:local/task:1"):
            left = top + 1.0
        with tf.device("/job:local/task:2"):
            right = top * top
        with tf.device("/job:local/task:0"):
            bottom = left - right
        data = np.arange(4, dtype=np.float32)
        with tf.Session(cluster.target("local", 2)) as sess:
            for _ in range(3):
                np.testing.assert_allclose(sess.run(bottom, {a: data}), (3 * data + 1) - (3 * data) ** 2)


def test_tensor_used_twice_on_another_task_crosses_once(cluster):
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [1000])
        with tf.device("/job:local/task:0"):
            x = p * 2.0
        with tf.device("/job:local/task:1"):
            w = (x + 1.0) + (x * 3.0)
        data = np.random.rand(1000).astype(np.float32)
        with tf.Session(cluster.target("local", 0)) as sess:
            np.testing.assert_allclose(sess.run(w, {p: data}), 2 * data + 1 + 6 * data, rtol=1e-6)
            before = cluster.status("local", 0).recv_tensor_count
            for _ in range(4):
                sess.run(w, {p: data})
            assert cluster.status("local", 0).recv_tensor_count - before == 4  # one crossing per step


def test_200mb_tensor_moves_between_tasks_bit_exact(cluster):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [50_000_000])
        with tf.device("/job:local/task:1"):
            y = tf.identity(x)
        data = np.frombuffer(np.random.bytes(200_000_000), dtype=np.float32)
        with tf.Session(cluster.target("local", 0)) as sess:
            out = sess.run(y, {x: data})
        assert out.view(np.uint32).tobytes() == data.view(np.uint32).tobytes()
        del out, data


def test_200mb_tensor_crosses_a_send_recv_edge_bit_exact(cluster):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [50_000_000])
        with tf.device("/job:local/task:0"):
            produced = tf.identity(x)  # made on task 0 ...
        with tf.device("/job:local/task:1"):
            consumed = tf.identity(produced)  # ... taken by a _Recv on task 1
        data = np.frombuffer(np.random.bytes(200_000_000), dtype=np.float32)
        before = cluster.status("local", 0).recv_tensor_count
        with tf.Session(cluster.target("local", 0)) as sess:
            out = sess.run(consumed, {x: data})
        assert cluster.status("local", 0).recv_tensor_count - before == 1
        assert out.view(np.uint32).tobytes() == data.view(np.uint32).tobytes()
        del out, data


def test_runs_from_many_threads_while_the_graph_grows(cluster):
    """One session shared by threads while another thread adds ops: every run finds its fetches (a run that
    read an older graph version is planned on the newer graph, which holds all of it)."""
    with tf.Graph().as_default() as graph:
        x = tf.placeholder(tf.float32, [])
        with tf.device("/job:local/task:1"):
            y = x * 2.0
        failures, stop = [], threading.Event()
        with tf.Session(cluster.target("local", 0)) as sess:
            def runner():
                try:
                    while not stop.is_set():
                        assert sess.run(y, {x: 1.5}) == 3.0
                except Exception as e:  # noqa: BLE001 - reported below
                    failures.append(e)
            threads = [threading.Thread(target=runner) for _ in range(2)]
            for t in threads:
                t.start()
            try:
                for i in range(60):
                    with graph.as_default():
                        c = tf.constant(float(i))
                    assert sess.run(c) == float(i)
            finally:
                stop.set()
                for t in threads:
                    t.join(30)
        assert not failures, failures


def test_concurrent_sessions_on_one_cluster(cluster):
    with tf.Graph().as_default() as graph:
        p = tf.placeholder(tf.float64, [3])
        with tf.device("/job:local/task:1"):
            a = p * 2.0
        with tf.device("/job:local/task:2"):
            b = a + p
        failures = []

        def client(k):
            try:
                with tf.Session(cluster.target("local", k % 3), graph=graph) as sess:
                    for i in range(15):
                        v = np.array([k, i, k * i], dtype=np.float64)
                        np.testing.assert_allclose(sess.run(b, {p: v}), 3 * v)
            except Exception as e:  # noqa: BLE001 - reported below
                failures.append(e)
        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not failures, failures
    wait_until(lambda: all(cluster.status("local", i).active_steps == 0 for i in range(3)), 10,
               "every step to be released")


def test_unknown_job_or_task_in_device_is_an_error(cluster):
    with tf.Graph().as_default():
        with tf.device("/job:nope/task:0"):
            y = tf.constant(1.0) + tf.placeholder(tf.float32, [])
        with tf.Session(cluster.target("local", 0)) as sess:
            with pytest.raises(errors.InvalidArgumentError, match="no job 'nope'"):
                sess.run(y, {"Placeholder:0": 1.0})
    with tf.Graph().as_default():
        with tf.device("/job:local/task:9"):
            y = tf.placeholder(tf.float32, []) * 2.0
        with tf.Session(cluster.target("local", 0)) as sess:
            with pytest.raises(errors.InvalidArgumentError, match="has no task 9"):
                sess.run(y, {"Placeholder:0": 1.0})
    assert all(cluster.alive("local", i) for i in range(3))


class _RawGraph:
    """A graph-like object carrying a GraphDef the frontend would refuse (an op nobody knows)."""

    version = 1

    def __init__(self, graph_def):
        self._graph_def = graph_def

    def as_graph_def(self):
        return self._graph_def


def test_op_the_worker_does_not_know_is_an_error(cluster):
    from engine.graph_util import make_node
    from protos import graph_pb2
    from tasklayer.distributed.remote_session import RemoteBackend
    g = graph_pb2.GraphDef(node=[make_node("x", "Placeholder", dtype=tf.float32),
                                 make_node("bad", "Frobnicate", ["x"], device="/job:local/task:1", T=tf.float32)])
    backend = RemoteBackend(cluster.target("local", 0))
    try:
        with pytest.raises(errors.NotFoundError, match="Frobnicate"):
            backend.run(_RawGraph(g), ["bad:0"], {"x:0": np.float32(1)}, [])
    finally:
        backend.close()
    assert cluster.alive("local", 1)
    test_seed_zcalc(cluster)  # the cluster still works


def test_session_to_nothing_fails_within_connect_deadline():
    from tests.distributed_helpers import free_ports
    port = free_ports(1)[0]
    started = time.monotonic()
    with pytest.raises(errors.UnavailableError, match=f"localhost:{port}"):
        tf.Session(f"grpc://localhost:{port}", config={"connect_timeout_in_ms": 1000})
    assert time.monotonic() - started < 5


def test_step_deadline(cluster):
    with tf.Graph().as_default():
        with tf.device("/job:local/task:1"):
            a = tf.random_uniform([700, 700], seed=1)
            for _ in range(60):
                a = tf.matmul(a, a) / 700.0
        with tf.Session(cluster.target("local", 0)) as sess:
            started = time.monotonic()
            with pytest.raises(errors.DeadlineExceededError):
                sess.run(a, options={"timeout_in_ms": 100})
            assert time.monotonic() - started < 5
    wait_until(lambda: cluster.status("local", 1).active_steps == 0, 30, "the cancelled step to end")


def test_worker_killed_mid_step_fails_promptly_naming_it():
    with TaskProcesses({"local": 2}) as procs, tf.Graph().as_default() as graph:
        with tf.device("/job:local/task:1"):
            a = tf.random_uniform([700, 700], seed=1)
            for _ in range(400):
                a = tf.matmul(a, a) / 700.0
        with tf.device("/job:local/task:0"):
            total = tf.reduce_sum(a)
        outcome = {}

        def run():
            try:
                with tf.Session(procs.target("local", 0), graph=graph) as sess:
                    outcome["value"] = sess.run(total)
            except Exception as e:  # noqa: BLE001 - checked below
                outcome["error"] = e
                outcome["at"] = time.monotonic()
        thread = threading.Thread(target=run)
        thread.start()
        wait_until(lambda: procs.status("local", 1).active_steps > 0, 20, "the step to start on task 1")
        killed_at = time.monotonic()
        procs.kill("local", 1)
        thread.join(30)
        assert "error" in outcome, outcome
        assert isinstance(outcome["error"], errors.UnavailableError), outcome["error"]
        assert "/job:local/task:1" in str(outcome["error"]) and procs.address("local", 1) in str(outcome["error"])
        assert outcome["at"] - killed_at < 5
        wait_until(lambda: procs.status("local", 0).active_steps == 0, 10, "task 0 to drop the step")
        with tf.Graph().as_default(), tf.Session(procs.target("local", 0)) as sess:
            assert sess.run(tf.placeholder(tf.int32, []) * 2, {"Placeholder:0": 21}) == 42
