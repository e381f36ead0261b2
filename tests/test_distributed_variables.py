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
