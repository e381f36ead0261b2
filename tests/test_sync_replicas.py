"""SyncReplicasOptimizer: N worker threads (own graph, own session) against in-process ps + worker servers."""

import threading

import numpy as np
import pytest

import tasklayer as tf
from engine.errors import DeadlineExceededError
from engine.kernels.context import RunContext
from engine.kernels.numpy_accumulators import AccumulatorState, TokenQueueState
from tasklayer.training.sync_replicas import SyncQueueRunner, SyncReplicasOptimizer
from tests.distributed_helpers import free_ports
from tests.polling import wait_until

pytestmark = pytest.mark.timeout(120)

LR = 0.1
TIMEOUT_MS = 20000  # every step bounded: a bug shows as DeadlineExceeded, never as a hang


def _cluster(num_workers, num_ps=1):
    ports = free_ports(num_ps + num_workers)
    cluster = tf.train.ClusterSpec({"ps": [f"localhost:{p}" for p in ports[:num_ps]],
                                    "worker": [f"localhost:{p}" for p in ports[num_ps:]]})
    servers = [tf.train.Server(cluster, "ps", i) for i in range(num_ps)]
    servers += [tf.train.Server(cluster, "worker", i) for i in range(num_workers)]
    return cluster, servers


def _sync_model(graph, loss, task, num_workers, **fields):
    """Wrap ``loss`` (built in ``graph``, inside its device scope) with a SyncReplicasOptimizer; the model's dict."""
    with graph.as_default():
        step = tf.train.get_or_create_global_step()
        opt = SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(LR), replicas_to_aggregate=num_workers,
                                    total_num_replicas=num_workers)
        train = opt.minimize(loss, global_step=step)
        hook = opt.make_session_run_hook(is_chief=task == 0, num_tokens=0)
        hook.begin()
        init = tf.global_variables_initializer()
    return dict(graph=graph, step=step, opt=opt, train=train, hook=hook, init=init, **fields)


def _build(cluster, task, num_workers):
    """Worker ``task``'s graph (between-graph replication): loss = 0.5 * sum((w - x)^2), grad = w - x."""
    graph = tf.Graph()
    with graph.as_default(), tf.device(tf.train.replica_device_setter(
            cluster=cluster, worker_device=f"/job:worker/task:{task}")):
        w = tf.Variable([0.0, 0.0], name="w")
        x = tf.placeholder(tf.float32, [2], name="x")
        loss = 0.5 * tf.reduce_sum(tf.square(w - x))
        return _sync_model(graph, loss, task, num_workers, w=w, x=x, vars=[w], feeds=[x])


def _worker_data(task, num_steps):
    rng = np.random.RandomState(100 + task)
    return rng.randn(num_steps, 2).astype(np.float32)


# A 2-layer net whose 4 variables the replica_device_setter spreads over the ps tasks.
MLP_INIT = dict(w1=np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]], np.float32),
                b1=np.array([0.1, -0.1, 0.05], np.float32),
                w2=np.array([[0.3], [-0.5], [0.7]], np.float32),
                b2=np.array([0.2], np.float32))


def _build_mlp(cluster, task, num_workers):
    """Worker ``task``'s graph: y = tanh(x w1 + b1) w2 + b2, loss = 0.5 * sum((y - t)^2)."""
    graph = tf.Graph()
    with graph.as_default(), tf.device(tf.train.replica_device_setter(
            cluster=cluster, worker_device=f"/job:worker/task:{task}")):
        params = {k: tf.Variable(v, name=k) for k, v in MLP_INIT.items()}
        x = tf.placeholder(tf.float32, [4, 2], name="x")
        t = tf.placeholder(tf.float32, [4, 1], name="t")
        h = tf.tanh(tf.matmul(x, params["w1"]) + params["b1"])
        y = tf.matmul(h, params["w2"]) + params["b2"]
        loss = 0.5 * tf.reduce_sum(tf.square(y - t))
        return _sync_model(graph, loss, task, num_workers, vars=[params[k] for k in MLP_INIT], feeds=[x, t])


def _mlp_data(task, num_steps):
    rng = np.random.RandomState(200 + task)
    return [(rng.randn(4, 2).astype(np.float32), rng.randn(4, 1).astype(np.float32)) for _ in range(num_steps)]


def _mlp_grads(p, x, t):
    """The MLP's gradients by hand (float64), in MLP_INIT's order."""
    h = np.tanh(x @ p["w1"] + p["b1"])
    dy = h @ p["w2"] + p["b2"] - t
    dz = (dy @ p["w2"].T) * (1 - h * h)
    return dict(w1=x.T @ dz, b1=dz.sum(0), w2=h.T @ dy, b2=dy.sum(0))


def _run_workers(num_workers, num_steps, build=_build, data_fn=_worker_data, num_ps=1):
    cluster, servers = _cluster(num_workers, num_ps)
    models = [build(cluster, i, num_workers) for i in range(num_workers)]
    data = [data_fn(i, num_steps) for i in range(num_workers)]
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
                    feeds = data[i][k] if isinstance(data[i][k], tuple) else (data[i][k],)
                    sessions[i].run(models[i]["train"], dict(zip(models[i]["feeds"], feeds)), options=options)
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
        weights, global_step = sessions[0].run([models[0]["vars"], models[0]["step"]])
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
    np.testing.assert_allclose(out["weights"][0], w, rtol=1e-5, atol=1e-6)
    assert out["global_step"] == num_steps  # exactly one update per step, not one per worker
    assert out["runner"].steps_applied == num_steps
    assert out["runner"].error is None
    # each worker came back from step k only after the step's update (its token carries the new step)
    for seen in out["seen"]:
        assert seen == sorted(seen) and seen[-1] == num_steps


def test_every_variable_of_a_two_layer_model_gets_one_averaged_update_per_step():
    num_workers, num_steps = 3, 3
    out = _run_workers(num_workers, num_steps, build=_build_mlp, data_fn=_mlp_data, num_ps=2)
    devices = {v.device for v in out["models"][0]["vars"]}
    assert len(devices) == 2, devices  # the variables, and so their accumulators, live on both ps tasks
    p = {k: v.astype(np.float64) for k, v in MLP_INIT.items()}
    for k in range(num_steps):
        grads = [_mlp_grads(p, *out["data"][i][k]) for i in range(num_workers)]
        p = {name: p[name] - LR * np.mean([g[name] for g in grads], axis=0) for name in p}
    for name, got in zip(MLP_INIT, out["weights"]):
        np.testing.assert_allclose(got, p[name], rtol=1e-4, atol=1e-5, err_msg=name)
    assert out["global_step"] == num_steps
    assert out["runner"].steps_applied == num_steps and out["runner"].error is None
    for seen in out["seen"]:
        assert seen == sorted(seen) and seen[-1] == num_steps


def _two_variables(where, poll_seconds=1.0):
    """Variables a and b, one replica to aggregate, the chief's hook, and ops to add gradients by hand.

    ``where`` is "local" (an in-process session) or "two_ps" (a and b on two ps tasks); yields (model, session).
    """
    servers, cluster = [], None
    if where == "two_ps":
        cluster, servers = _cluster(1, num_ps=2)
    graph = tf.Graph()
    setter = (tf.train.replica_device_setter(cluster=cluster, worker_device="/job:worker/task:0")
              if cluster is not None else None)
    with graph.as_default(), tf.device(setter):
        a = tf.Variable([0.0], name="a")
        b = tf.Variable([0.0], name="b")
        m = _sync_model(graph, tf.reduce_sum(a * a + b * b), 0, 1, a=a, b=b)
        m["hook"].queue_runner.poll_seconds = poll_seconds
        grad = tf.placeholder(tf.float32, [1])
        tag = tf.placeholder(tf.int64, [])
        (acc_a, _), (acc_b, _) = m["opt"].accumulators()
        add = {"a": acc_a.apply_grad(grad, tag), "b": acc_b.apply_grad(grad, tag)}
        m["add"] = lambda sess, name, value, step: sess.run(add[name], {grad: [value], tag: step})
        m["counts"] = [acc_a.num_accumulated(), acc_b.num_accumulated()]
        m["tokens"] = m["opt"].token_queue().size()
    if cluster is not None:
        assert a.device != b.device
    sess = tf.Session(servers[1].target if servers else "", graph=graph)
    try:
        sess.run(m["init"])
        yield m, sess
    finally:
        m["hook"].end(sess)
        sess.close()
        for server in servers:
            server.stop()


@pytest.fixture(params=["local", "two_ps"])
def two_variables(request):
    yield from _two_variables(request.param)


def test_a_sync_step_that_times_out_changes_nothing_and_the_next_one_applies(two_variables):
    m, sess = two_variables
    sess.run(m["opt"].chief_init_op)
    m["add"](sess, "a", 1.0, 0)  # a's gradient for step 0 is in, b's is late
    with pytest.raises(DeadlineExceededError):
        sess.run(m["opt"].sync_op, options={"timeout_in_ms": 300})
    # Nothing taken, nothing applied: a still holds its gradient and is still at step 0.
    assert list(sess.run(m["counts"])) == [1, 0]
    assert sess.run(m["step"]) == 0
    np.testing.assert_array_equal(sess.run([m["a"], m["b"]]), [[0.0], [0.0]])
    m["add"](sess, "a", 3.0, 0)  # tagged step 0: still fresh at a
    m["add"](sess, "b", 4.0, 0)
    assert list(sess.run(m["counts"])) == [2, 1]
    sess.run(m["opt"].sync_op, options={"timeout_in_ms": TIMEOUT_MS})
    assert sess.run(m["step"]) == 1
    np.testing.assert_allclose(sess.run([m["a"], m["b"]]), [[-LR * 2.0], [-LR * 4.0]], rtol=1e-6)
    assert list(sess.run(m["counts"])) == [0, 0]
    assert sess.run(m["tokens"]) == 1
    # the next step works the same way
    m["add"](sess, "a", 0.0, 0)  # stale now, dropped
    m["add"](sess, "b", 1.0, 1)
    with pytest.raises(DeadlineExceededError):
        sess.run(m["opt"].sync_op, options={"timeout_in_ms": 200})
    m["add"](sess, "a", 1.0, 1)
    sess.run(m["opt"].sync_op, options={"timeout_in_ms": TIMEOUT_MS})
    assert sess.run(m["step"]) == 2
    np.testing.assert_allclose(sess.run([m["a"], m["b"]]), [[-LR * 3.0], [-LR * 5.0]], rtol=1e-6)


@pytest.mark.parametrize("where", ["local", "two_ps"])
def test_the_chief_loop_applies_once_when_gradients_arrive_across_many_polls(where):
    for m, sess in _two_variables(where, poll_seconds=0.05):
        m["hook"].after_create_session(sess, None)  # chief init, then the loop polls every 50 ms
        runner = m["hook"].queue_runner
        m["add"](sess, "a", 1.0, 0)
        polls = runner.polls_timed_out
        wait_until(lambda: runner.polls_timed_out >= polls + 3, 20, "three polls to find b's gradient missing")
        assert list(sess.run(m["counts"])) == [1, 0] and sess.run(m["step"]) == 0
        m["add"](sess, "b", 2.0, 0)
        wait_until(lambda: sess.run(m["step"]) == 1, 20, "the step to be applied")
        np.testing.assert_allclose(sess.run([m["a"], m["b"]]), [[-LR * 1.0], [-LR * 2.0]], rtol=1e-6)
        assert list(sess.run(m["counts"])) == [0, 0]
        assert runner.steps_applied == 1 and runner.error is None
        assert runner.stop() and m["hook"].queue_runner.steps_applied == 1


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
            # the chief applied the average once
            wait_until(lambda: sess.run(m["step"]) == 1, 20, "the step to be applied")
            np.testing.assert_allclose(sess.run(m["w"]), [-0.2, -0.4], rtol=1e-6)
            wait_until(lambda: sess.run(queue_size) == 2, 20, "a token per replica, for step 1")
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


def test_a_cancelled_dequeue_takes_nothing_even_a_token_that_arrives_as_it_wakes():
    queue, cancel = TokenQueueState("q"), threading.Event()
    cancel.set()
    queue.enqueue_many(np.array([4], np.int64))
    from engine.errors import CancelledError
    with pytest.raises(CancelledError):
        queue.dequeue(RunContext(cancel=cancel, timeout=5))
    assert queue.size() == 1


@pytest.mark.parametrize("start_step,expected_tokens", [(0, 0), (7, 2)])
def test_a_chief_resuming_past_step_0_releases_the_workers_a_lost_chief_left_waiting(start_step, expected_tokens):
    cluster, servers = _cluster(3)
    model = _build(cluster, 0, 3)  # num_tokens=0: a fresh start puts no token
    try:
        with tf.Session(servers[1].target, graph=model["graph"]) as sess:
            sess.run(model["init"])
            with model["graph"].as_default():
                sess.run(model["step"].assign(start_step))
            model["hook"].after_create_session(sess, None)
            try:
                # resuming, one token per other worker: each may be blocked on a step nobody will apply now
                assert sess.run(model["opt"].token_queue().size()) == expected_tokens
            finally:
                model["hook"].end(sess)
    finally:
        for server in servers:
            server.stop()


def test_waiting_for_gradients_consumes_nothing():
    accum = AccumulatorState("a", np.float32, (2,))
    accum.apply(0, np.ones(2, np.float32))
    with pytest.raises(DeadlineExceededError):
        accum.wait(2, RunContext(timeout=0.05))
    assert accum.count == 1 and accum.global_step == 0
    accum.apply(0, 3 * np.ones(2, np.float32))
    accum.wait(2, RunContext(timeout=1))
    assert accum.count == 2 and accum.global_step == 0
    np.testing.assert_allclose(accum.take(2, RunContext(timeout=1)), [2.0, 2.0])
    assert accum.global_step == 1


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


def test_the_chief_queue_runner_runs_under_a_coordinator_as_a_queue_runner_does():
    # mnist_replica.py: sv.start_queue_runners(sess, [opt.get_chief_queue_runner()]) calls create_threads.
    with tf.Graph().as_default():
        counter = tf.Variable(0, name="applied")
        runner = SyncQueueRunner(counter.assign_add(1), poll_seconds=0.1)
        coord = tf.train.Coordinator()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            threads = runner.create_threads(sess, coord=coord, daemon=True, start=True)
            wait_until(lambda: sess.run(counter) > 3, what="the loop to apply steps")
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=5)
            assert not any(t.is_alive() for t in threads)
            assert runner.steps_applied > 3
