"""Control flow across tasks: a dead tensor crosses a partition boundary as a dead marker (the rendezvous, the
tensor channel and gRPC all carry it), so a branch's ops placed on a ps run only when their branch is taken, and a
while loop on a worker trains variables that live on a ps."""

import io

import numpy as np
import pytest

import tasklayer as tf
from engine.dead import DEAD
from tasklayer.distributed import channel_codec, tensor_stream
from tests.distributed_helpers import free_ports

pytestmark = pytest.mark.timeout(120)


def test_both_wire_formats_carry_a_dead_tensor():
    head, data = channel_codec.encode_header(7, "key", tensor_stream.as_contiguous(DEAD))
    assert channel_codec.read_frame(io.BufferedReader(io.BytesIO(head + bytes(data)))) == (7, "key", DEAD, 0)
    value, meta = tensor_stream.decode_stream(tensor_stream.encode_stream(DEAD, key="key", step_id=3))
    assert value is DEAD and (meta.key, meta.step_id, meta.lossy) == ("key", 3, 0)


@pytest.fixture
def cluster():
    ps, worker = free_ports(2)
    spec = tf.train.ClusterSpec({"ps": [f"localhost:{ps}"], "worker": [f"localhost:{worker}"]})
    servers = [tf.train.Server(spec, "ps", 0), tf.train.Server(spec, "worker", 0)]
    try:
        yield spec, servers[1]
    finally:
        for server in servers:
            server.stop()


@pytest.mark.parametrize("transport", ["channel", "grpc"])
def test_a_branch_placed_on_the_ps_runs_only_when_taken(cluster, monkeypatch, transport):
    if transport == "grpc":
        monkeypatch.setenv("YARNFLOW_TENSOR_TRANSPORT", "grpc")
    spec, worker = cluster
    with tf.Graph().as_default():
        with tf.device("/job:ps/task:0"):
            v = tf.Variable(0.0, name="v")
        with tf.device("/job:worker/task:0"):
            p = tf.placeholder(tf.bool, [])
            assigned = tf.cond(p, lambda: v.assign(1.0), lambda: v.assign(2.0))
            x = tf.placeholder(tf.float32, [])
        with tf.device("/job:ps/task:0"):
            on_ps = tf.cond(p, lambda: x * 3.0, lambda: tf.identity(x))
        with tf.device("/job:worker/task:0"):
            total = on_ps + 1.0
        ref_switches = [op for op in tf.get_default_graph().get_operations() if op.type == "RefSwitch"]
        assert ref_switches and {op.device for op in ref_switches} == {"/job:ps/task:0"}  # with the variable
        with tf.Session(worker.target) as sess:
            sess.run(v.initializer)
            assert sess.run(assigned, {p: True}) == 1.0 and sess.run(v) == 1.0
            assert sess.run(assigned, {p: False}) == 2.0 and sess.run(v) == 2.0
            assert sess.run(total, {p: True, x: 2.0}) == 7.0 and sess.run(total, {p: False, x: 2.0}) == 3.0
            with pytest.raises(tf.errors.InvalidArgumentError, match="does not have value"):
                sess.run(on_ps.op.inputs[1], {p: False, x: 2.0})  # the true branch's result, dead on the ps


def test_a_loop_on_the_worker_trains_variables_on_the_ps(cluster):
    spec, worker = cluster
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((4, 2)).astype(np.float32) * 0.5
    target = np.float32([[0.3, -0.2]])
    with tf.Graph().as_default():
        with tf.device(tf.train.replica_device_setter(cluster=spec, worker_device="/job:worker/task:0")):
            w = tf.Variable(np.eye(2, dtype=np.float32) * 0.5, name="w")
            inputs = tf.constant(xs)

            def body(t, h):
                return t + 1, tf.tanh(tf.matmul(h, w) + inputs[t])
            _, h = tf.while_loop(lambda t, h: t < 4, body, [0, tf.zeros([1, 2])])
            loss = tf.reduce_sum(tf.square(h - target))
            [grad] = tf.gradients(loss, [w])
            train = tf.train.GradientDescentOptimizer(0.2).minimize(loss)
        assert w.device == "/job:ps/task:0" and h.device == "/job:worker/task:0"
        with tf.Session(worker.target) as sess:
            sess.run(w.initializer)
            first_loss, first_grad = sess.run([loss, grad])
            for _ in range(60):
                sess.run(train)
            final = sess.run(loss)
        with tf.Session() as local:  # the same graph in one process gives the same gradient
            local.run(w.initializer)
            np.testing.assert_allclose(local.run(grad), first_grad, rtol=1e-5)
    assert final < first_loss * 0.05
