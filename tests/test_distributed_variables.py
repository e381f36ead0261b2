"""Variables on a ps task, trained through one worker's session and read through another's."""

import numpy as np
import pytest

import tasklayer as tf
from tests.distributed_helpers import free_ports

pytestmark = pytest.mark.timeout(120)


def test_variables_live_on_the_ps_across_sessions_of_different_workers():
    tf.reset_default_graph()
    ps, w0, w1 = free_ports(3)
    cluster = tf.train.ClusterSpec({"ps": [f"localhost:{ps}"],
                                    "worker": [f"localhost:{w0}", f"localhost:{w1}"]})
    servers = [tf.train.Server(cluster, "ps", 0), tf.train.Server(cluster, "worker", 0),
               tf.train.Server(cluster, "worker", 1)]
    try:
        with tf.device(tf.train.replica_device_setter(cluster=cluster, worker_device="/job:worker/task:0")):
            w = tf.Variable(tf.zeros([3]), name="w")
            x = tf.placeholder(tf.float32, [None, 3])
            y = tf.placeholder(tf.float32, [None])
            loss = tf.reduce_mean(tf.square(tf.reduce_sum(x * w, axis=1) - y))
            step = tf.train.get_or_create_global_step()
            train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
        assert w.op.device == "/job:ps/task:0"
        rng = np.random.RandomState(0)
        xs = rng.randn(64, 3).astype(np.float32)
        ys = xs @ np.array([1.0, 2.0, 3.0], np.float32)
        with tf.Session(servers[1].target) as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(100):
                sess.run(train, {x: xs, y: ys})
        with tf.Session(servers[2].target) as other:
            weights, global_step = other.run([w, step])
        np.testing.assert_allclose(weights, [1.0, 2.0, 3.0], atol=1e-3)
        assert global_step == 100
    finally:
        for server in servers:
            server.stop()


def test_updates_from_many_workers_are_atomic_per_variable_on_the_ps():
    """Two workers' sessions, each with two threads, add to one variable on the ps: no update is lost."""
    import threading
    tf.reset_default_graph()
    ps, w0, w1 = free_ports(3)
    cluster = tf.train.ClusterSpec({"ps": [f"localhost:{ps}"], "worker": [f"localhost:{w0}", f"localhost:{w1}"]})
    servers = [tf.train.Server(cluster, "ps", 0), tf.train.Server(cluster, "worker", 0),
               tf.train.Server(cluster, "worker", 1)]
    try:
        with tf.device("/job:ps/task:0"):
            total = tf.Variable(tf.zeros([1000]), name="total")
        add = total.assign_add(tf.ones([1000]))
        with tf.Session(servers[1].target) as sess:
            sess.run(total.initializer)
        failures = []

        def adder(target):
            try:
                with tf.Session(target) as sess:
                    for _ in range(50):
                        sess.run(add.op)
            except Exception as e:  # noqa: BLE001 - reported below
                failures.append(e)
        threads = [threading.Thread(target=adder, args=(servers[1 + k % 2].target,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not failures, failures
        with tf.Session(servers[2].target) as sess:
            np.testing.assert_array_equal(sess.run(total), np.full(1000, 200.0, np.float32))
    finally:
        for server in servers:
            server.stop()


def test_a_server_follows_a_task_restarted_on_another_port():
    tf.reset_default_graph()
    old_ps, new_ps, w0 = free_ports(3)
    cluster = tf.train.ClusterSpec({"ps": [f"localhost:{old_ps}"], "worker": [f"localhost:{w0}"]})
    worker = tf.train.Server(cluster, "worker", 0)
    first = tf.train.Server(cluster, "ps", 0)
    try:
        x = tf.placeholder(tf.float32, [])
        with tf.device("/job:ps/task:0"):
            total = tf.square(x) + 1.0          # fed, so it cannot be folded away from the ps
        with tf.Session(worker.target) as sess:
            assert sess.run(total, {x: 2.0}) == 5.0
        first.stop()
        moved_spec = tf.train.ClusterSpec({"ps": [f"localhost:{new_ps}"], "worker": [f"localhost:{w0}"]})
        second = tf.train.Server(moved_spec, "ps", 0)
        assert worker.update_cluster(moved_spec) == [("ps", 0)]
        assert worker.update_cluster(moved_spec) == []
        assert worker.cluster_spec.task_address("ps", 0) == f"localhost:{new_ps}"
        assert worker.cluster_spec.task_address("worker", 0) == worker.target[len("grpc://"):]
        with tf.Session(worker.target) as sess:
            assert sess.run(total, {x: 3.0}) == 10.0
        second.stop()
    finally:
        worker.stop()
        first.stop()
