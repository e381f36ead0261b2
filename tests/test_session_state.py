"""What lives as long as a session, as in TF: a random op's sequence (shared by every run signature of the session,
locally and on every task), queues without ``shared_name`` (private to the session; shared ones are shared), and
the session's blocked ops, which closing the session cancels (locally and on a cluster). A program whose queue
runners are blocked still exits."""

import subprocess
import sys
import threading

import numpy as np
import pytest

import tasklayer as tf
from engine.errors import CancelledError
from engine.kernels import numpy_queues
from tests.distributed_helpers import ROOT, free_ports, raised, wait_until

pytestmark = pytest.mark.timeout(120)

BOUNDED = tf.ConfigProto(operation_timeout_in_ms=30000)  # a bug shows as DeadlineExceeded, never as a hang
T1 = "/job:local/task:1"


@pytest.fixture(scope="module")
def servers():
    """Two in-process task servers; the session's master is task 0, the ops under test run on task 1."""
    spec = tf.train.ClusterSpec({"local": [f"localhost:{p}" for p in free_ports(2)]})
    servers = [tf.train.Server(spec, "local", i) for i in range(2)]
    yield servers
    for server in servers:
        server.stop()


def _worker(server):
    return server._server.worker


# ---------------------------------------------------------------------- random state
def _sequence_over_signatures(target, device):
    """The values of ``a`` over run(a); run([a, b]); run(a); run([b, a]); run(a) in one session, and over five
    run(a) in another, under graph seed 1."""
    with tf.Graph().as_default():
        tf.set_random_seed(1)
        with tf.device(device):
            a = tf.random_uniform([3])
            b = tf.random_normal([2])
        with tf.Session(target) as sess:
            mixed = [sess.run(a), sess.run([a, b])[0], sess.run(a), sess.run([b, a])[1], sess.run(a)]
        with tf.Session(target) as sess:
            alone = [sess.run(a) for _ in range(5)]
    return mixed, alone


def _check_tf_pattern(mixed, alone):
    # TF (2.21, compat.v1) gives one sequence per session whatever else a run fetches: the mixed runs draw what
    # the runs of ``a`` alone draw, in order; and every draw is new.
    np.testing.assert_array_equal(np.stack(mixed), np.stack(alone))
    assert len({v.tobytes() for v in alone}) == 5


def test_a_random_op_draws_one_sequence_per_local_session_across_run_signatures():
    _check_tf_pattern(*_sequence_over_signatures("", None))


def test_a_random_op_draws_one_sequence_per_session_on_a_remote_task(servers):
    mixed, alone = _sequence_over_signatures(servers[0].target, T1)
    _check_tf_pattern(mixed, alone)
    local_mixed, _ = _sequence_over_signatures("", None)
    np.testing.assert_array_equal(np.stack(mixed), np.stack(local_mixed))  # the seed decides, not the place


def test_an_evicted_executor_does_not_restart_the_sequence():
    with tf.Graph().as_default():
        tf.set_random_seed(3)
        a = tf.random_uniform([2])
        others = [tf.identity(a) * float(i) for i in range(3)]
        with tf.Session() as sess:
            sess.backend._max_cached = 1  # every new signature evicts the previous executor
            seen = [sess.run(a)] + [sess.run([a, o])[0] for o in others]
        with tf.Session() as sess:
            alone = [sess.run(a) for _ in range(4)]
    np.testing.assert_array_equal(np.stack(seen), np.stack(alone))


# ---------------------------------------------------------------------- per-session queues
def test_a_queue_without_shared_name_is_private_to_each_session_on_a_server(servers):
    with tf.Graph().as_default():
        with tf.device(T1):
            private = tf.FIFOQueue(10, tf.int32)
            shared = tf.FIFOQueue(10, tf.int32, shared_name="state_test_shared")
        put = [private.enqueue(7), shared.enqueue(8)]
        sizes = [private.size(), shared.size()]
        with tf.Session(servers[0].target, config=BOUNDED) as one, \
                tf.Session(servers[0].target, config=BOUNDED) as two:
            one.run(put)
            assert one.run(sizes) == [1, 1]
            assert two.run(sizes) == [0, 1]  # its own private queue; the same shared one
            two.run(put)
            assert one.run(sizes) == [1, 2] and two.run(sizes) == [1, 2]
            assert one.run(private.dequeue()) == 7 and two.run(private.dequeue()) == 7


def test_an_iterator_without_shared_name_is_private_to_each_session_on_a_server(servers):
    with tf.Graph().as_default():
        with tf.device(T1):
            iterator = tf.data.Dataset.range(10).make_initializable_iterator()
        next_value = iterator.get_next()
        with tf.Session(servers[0].target, config=BOUNDED) as one, \
                tf.Session(servers[0].target, config=BOUNDED) as two:
            one.run(iterator.initializer)
            assert [one.run(next_value) for _ in range(3)] == [0, 1, 2]
            with pytest.raises(tf.errors.FailedPreconditionError):  # two's own iterator is not initialized
                two.run(next_value)
            two.run(iterator.initializer)
            assert two.run(next_value) == 0 and one.run(next_value) == 3


def test_closing_a_session_drops_its_state_on_its_tasks(servers):
    with tf.Graph().as_default():
        with tf.device(T1):
            private = tf.FIFOQueue(10, tf.int32)
            noise = tf.random_uniform([])
        with tf.Session(servers[0].target, config=BOUNDED) as sess:
            sess.run([private.enqueue(1), noise])
            handle = sess.backend._handle
            assert handle in _worker(servers[1]).sessions()
            assert any(c.endswith("/_queues") for c, _ in _worker(servers[1]).resources.names())
    wait_until(lambda: handle not in _worker(servers[1]).sessions(), 10, "task 1 to drop the closed session")
    assert not any(handle in c for c, _ in _worker(servers[1]).resources.names())


# ---------------------------------------------------------------------- closing cancels
def _close_while_blocked(sess, run, is_waiting):
    """Start ``run`` in a thread, wait until it blocks, close ``sess``; the exception the run raised."""
    box = []
    t = threading.Thread(target=lambda: box.append(raised(run)), daemon=True)
    t.start()
    wait_until(is_waiting, 10, "the dequeue to block")
    sess.close()
    t.join(10)
    assert not t.is_alive(), "closing the session did not end the blocked run"
    return box[0]


def test_closing_a_local_session_cancels_a_blocked_dequeue():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(2, tf.int32, shapes=[[]])
        sess = tf.Session()
        key = numpy_queues.resource_key(q.queue_ref.op.name, "")
        sess.run(q.size())  # the queue exists before the dequeue waits on it

        def waiting():
            return sess.backend.resources.lookup("_queues", key).waiting() == (0, 1)
        take = q.dequeue()
        error = _close_while_blocked(sess, lambda: sess.run(take), waiting)
    assert isinstance(error, CancelledError), error


@pytest.mark.parametrize("over_the_wire", [False, True], ids=["in-process", "grpc"])
def test_closing_a_remote_session_cancels_its_blocked_dequeue_which_takes_nothing(servers, over_the_wire):
    target = servers[0].target
    if over_the_wire:
        target = target.replace("localhost", "127.0.0.2")
    name = f"close_test_{over_the_wire}"
    with tf.Graph().as_default():
        with tf.device(T1):
            q = tf.FIFOQueue(5, tf.int32, shapes=[[]], shared_name=name)
        sess = tf.Session(target, config=BOUNDED)
        sess.run(q.size())

        def waiting():
            return _worker(servers[1]).resources.lookup("_queues", name).waiting() == (0, 1)
        take = q.dequeue()
        error = _close_while_blocked(sess, lambda: sess.run(take), waiting)
        assert isinstance(error, CancelledError), error
        with tf.Session(target, config=BOUNDED) as other:  # the cancelled dequeue took nothing
            other.run(q.enqueue(42))
            assert other.run(q.dequeue()) == 42
            assert other.run(q.size()) == 0
    wait_until(lambda: not _worker(servers[1]).table.active_steps(), 10, "task 1 to forget the cancelled step")


# ---------------------------------------------------------------------- exiting
def _run_script(script):
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_a_program_whose_queue_runners_are_blocked_exits():
    script = ("import tasklayer as tf\n"
              "from tests.polling import wait_until\n"
              "q = tf.FIFOQueue(2, tf.int32, shapes=[[]])\n"
              "sess = tf.Session()\n"
              "qr = tf.train.QueueRunner(q, [q.enqueue(1)] * 2)\n"
              "threads = qr.create_threads(sess, daemon=True, start=True)\n"
              "wait_until(lambda: sess.run(q.size()) == 2)  # full: both runners now wait to enqueue\n"
              "print('blocked', len(threads))\n")
    out = _run_script(script)
    assert out.returncode == 0 and "blocked 2" in out.stdout, out.stderr


def test_a_thread_that_still_runs_after_the_main_program_ends_is_not_cancelled():
    # Blocked ops are abandoned only when the process really exits: a non-daemon thread left running by the main
    # program keeps using its session (the old exit hook cancelled every waiting queue op as main returned).
    script = ("import threading, tasklayer as tf\n"
              "q = tf.FIFOQueue(1, tf.int32, shapes=[[]])\n"
              "sess = tf.Session()\n"
              "put, take = q.enqueue_many([[1, 2, 3, 4, 5]]), q.dequeue()\n"
              "threading.Thread(target=lambda: sess.run(put), daemon=True).start()\n"
              "threading.Thread(target=lambda: print('sum', sum(int(sess.run(take)) for _ in range(5)))).start()\n")
    out = _run_script(script)
    assert out.returncode == 0 and "sum 15" in out.stdout, out.stderr


@pytest.mark.parametrize("name", ["engine.resource_mgr", "engine.daemon_pool", "tasklayer.distributed.handles"])
def test_docstring_examples(name):
    import doctest
    import importlib
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0, f"{result.failed} docstring examples failed in {name}"
