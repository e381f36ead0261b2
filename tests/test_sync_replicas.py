"""SyncReplicasOptimizer: N worker threads (own graph, own session) against in-process ps + worker servers."""

import threading
import time

import numpy as np
import pytest

import tasklayer as tf
from engine.errors import DeadlineExceededError
from engine.kernels.context import RunContext
from engine.kernels.numpy_accumulators import AccumulatorState, TokenQueueState
from tasklayer.training.sync_replicas import SyncReplicasOptimizer
from tests.distributed_helpers import free_ports

pytestmark = pytest.mark.timeout(120)

LR = 0.1
TIMEOUT_MS = 20000  # every step bounded: a bug shows as DeadlineExceeded, never as a hang


def _cluster(num_workers):
    ports = free_ports(1 + num_workers)
    cluster = tf.train.ClusterSpec({"ps": [f"localhost:{ports[0]}"],
                                    "worker": [f"localhost:{p}" for p in ports[1:]]})
    servers = [tf.train.Server(cluster, "ps", 0)]
    servers += [tf.train.Server(cluster, "worker", i) for i in range(num_workers)]
    return cluster, servers


def _build(cluster, task, num_workers):
    """Worker ``task``'s graph (between-graph replication): loss = 0.5 * sum((w - x)^2), grad = w - x."""
    graph = tf.Graph()
    with graph.as_default(), tf.device(tf.train.replica_device_setter(
            cluster=cluster, worker_device=f"/job:worker/task:{task}")):
        w = tf.Variable([0.0, 0.0], name="w")
        x = tf.placeholder(tf.float32, [2], name="x")
        loss = 0.5 * tf.reduce_sum(tf.square(w - x))
        step = tf.train.get_or_create_global_step()
        opt = SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(LR), replicas_to_aggregate=num_workers,
                                    total_num_replicas=num_workers)
        train = opt.minimize(loss, global_step=step)
        hook = opt.make_session_run_hook(is_chief=task == 0, num_tokens=0)
        hook.begin()
        init = tf.global_variables_initializer()
    return dict(graph=graph, w=w, x=x, step=step, opt=opt, train=train, hook=hook, init=init)


def _worker_data(task, num_steps):
    rng = np.random.RandomState(100 + task)
    return rng.randn(num_steps, 2).astype(np.float32)


def _run_workers(num_workers, num_steps):
    cluster, servers = _cluster(num_workers)
    models = [_build(cluster, i, num_workers) for i in range(num_workers)]
    data = [_worker_data(i, num_steps) for i in range(num_workers)]
    sessions = [tf.Session(servers[1 + i].target, graph=m["graph"]) for i, m in enumerate(models)]
    options = {"timeout_in_ms": TIMEOUT_MS}
    errors, seen_steps = [], [[] for _ in range(num_workers)]
    try:
        sessions[0].run(models[0]["init"])
        for sess, m in zip(sessions, models):
            m["hook"].after_create_session(sess, None)

        def work(i):
            try:
                for k in range(num_steps):
                    sessions[i].run(models[i]["train"], {models[i]["x"]: data[i][k]}, options=options)
                    seen_steps[i].append(int(sessions[i].run(models[i]["step"])))
            except Exception as e:  # reported by the main thread
                errors.append(e)
        threads = [threading.Thread(target=work, args=(i,)) for i in range(num_workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads), "a worker hung"
        assert not errors, errors
        weights, global_step = sessions[0].run([models[0]["w"], models[0]["step"]])
        runner = models[0]["hook"].queue_runner
        return dict(weights=weights, global_step=global_step, data=data, runner=runner, models=models,
                    sessions=sessions, seen=seen_steps)
    finally:
        models[0]["hook"].end(sessions[0])
        for sess in sessions:
            sess.close()
        for server in servers:
            server.stop()


@pytest.mark.parametrize("num_workers", [2, 3])
def test_one_update_per_step_equal_to_the_average_of_the_workers_gradients(num_workers):
    num_steps = 4
    out = _run_workers(num_workers, num_steps)
    # Hand computation: every step k, each worker's gradient is (w_k - x_i,k); w_{k+1} = w_k - lr * mean.
    w = np.zeros(2, np.float64)
    for k in range(num_steps):
        grads = [w - out["data"][i][k] for i in range(num_workers)]
        w = w - LR * np.mean(grads, axis=0)
    np.testing.assert_allclose(out["weights"], w, rtol=1e-5, atol=1e-6)
    assert out["global_step"] == num_steps  # exactly one update per step, not one per worker
    assert out["runner"].steps_applied == num_steps
    assert out["runner"].error is None
    # each worker came back from step k only after the step's update (its token carries the new step)
    for seen in out["seen"]:
        assert seen == sorted(seen) and seen[-1] == num_steps


def _poll(fn, deadline_s=20.0):
    deadline = time.monotonic() + deadline_s
    while not fn():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_stale_gradients_are_dropped_and_fresh_ones_count():
    # Two replicas to aggregate, gradients fed by hand through the chief's session.
    cluster, servers = _cluster(2)
    m = _build(cluster, 0, 2)
    try:
        with m["graph"].as_default():
            accum, var = m["opt"].accumulators()[0]
            count = accum.num_accumulated()
            grad = tf.placeholder(tf.float32, [2])
            tag = tf.placeholder(tf.int64, [])
            add = accum.apply_grad(grad, local_step=tag)
            queue_size = m["opt"].token_queue().size()
        with tf.Session(servers[1].target, graph=m["graph"]) as sess:
            sess.run(m["init"])
            m["hook"].after_create_session(sess, None)
            sess.run(add, {grad: [1.0, 2.0], tag: 0})
            assert sess.run(count) == 1          # one of two: nothing applied yet
            assert sess.run(m["step"]) == 0
            sess.run(add, {grad: [3.0, 6.0], tag: 0})
            _poll(lambda: sess.run(m["step"]) == 1)  # the chief applied the average once
            np.testing.assert_allclose(sess.run(m["w"]), [-0.2, -0.4], rtol=1e-6)
            _poll(lambda: sess.run(queue_size) == 2)  # a token per replica, for step 1
            sess.run(add, {grad: [100.0, 100.0], tag: 0})  # computed for step 0: stale, dropped
            assert sess.run(count) == 0
            sess.run(add, {grad: [1.0, 1.0], tag: 1})      # for the current step: counted
            assert sess.run(count) == 1
            assert sess.run(m["step"]) == 1
            np.testing.assert_allclose(sess.run(m["w"]), [-0.2, -0.4], rtol=1e-6)
            m["hook"].end(sess)
            assert m["hook"].queue_runner.steps_applied == 1
    finally:
        m["hook"].end()
        for server in servers:
            server.stop()


def test_blocking_kernels_honour_timeout_and_cancel():
    accum = AccumulatorState("a", np.float32, (2,))
    with pytest.raises(DeadlineExceededError):
        accum.take(1, RunContext(timeout=0.05))
    cancel = threading.Event()
    cancel.set()
    from engine.errors import CancelledError
    with pytest.raises(CancelledError):
        TokenQueueState("q").dequeue(RunContext(cancel=cancel, timeout=5))
    assert accum.apply(0, np.ones(2, np.float32)) and accum.apply(0, 3 * np.ones(2, np.float32))
    np.testing.assert_allclose(accum.take(2, RunContext(timeout=1)), [2.0, 2.0])
    assert not accum.apply(0, np.ones(2, np.float32))  # step 0 already taken: stale
    assert accum.dropped == 1


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="replicas_to_aggregate"):
        SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(0.1), replicas_to_aggregate=0)
    with tf.Graph().as_default():
        w = tf.Variable(1.0)
        opt = SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(0.1), replicas_to_aggregate=2)
        with pytest.raises(ValueError, match="Global step"):
            opt.minimize(w * w)
        with pytest.raises(ValueError, match="after apply_gradients"):
            opt.get_init_tokens_op()
