"""A task that stops answering (SIGSTOP: its sockets stay open) fails the step in seconds, naming the task, with
the session's client in another process or in the master's own; a push to a peer that stopped reading never
outlives its deadline; and the task serves again once it resumes. A step whose master or client process is
killed mid-step is cancelled on every task instead of waiting (and taking what others wait for)."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import tasklayer as tf
from engine import errors
from tasklayer.distributed import liveness
from tasklayer.distributed.channel_client import ChannelClient
from tasklayer.distributed.channel_codec import ChannelTimeout
from tests.distributed_helpers import ROOT, TaskProcesses, raised
from tests.polling import wait_until

INTERVAL, PROBE_TIMEOUT = 0.5, 1.0
# Lost after the interval and one probe's timeout; the rest is slack for a loaded 2-core machine.
PROMPT = INTERVAL + PROBE_TIMEOUT + 4.0


@pytest.fixture
def fast_probes(monkeypatch):
    """Masters started from here on (in this process or in task processes) probe after 0.5 s, wait 1 s."""
    monkeypatch.setenv(liveness.INTERVAL_ENV, str(INTERVAL))
    monkeypatch.setenv(liveness.TIMEOUT_ENV, str(PROBE_TIMEOUT))


def _run_expecting_error(sess, fetch, feed=None):
    """Run in a thread; ``(error, seconds)``."""
    outcome = {}

    def run():
        started = time.monotonic()
        try:
            sess.run(fetch, feed)
        except Exception as e:  # noqa: BLE001 - checked by the caller
            outcome["error"] = e
        outcome["seconds"] = time.monotonic() - started
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "run did not return within 60 s"
    return outcome.get("error"), outcome["seconds"]


def _stopped(procs, job, index):
    """SIGSTOP a task process; returns a function that resumes it."""
    pid = procs.procs[(job, index)].pid
    os.kill(pid, signal.SIGSTOP)
    return lambda: os.kill(pid, signal.SIGCONT)


def test_a_stopped_worker_fails_a_separate_clients_step_naming_it(fast_probes):
    with TaskProcesses({"local": 2}) as procs, tf.Graph().as_default():
        x = tf.placeholder(tf.int32, [])
        with tf.device("/job:local/task:1"):
            y = x + 1
        with tf.device("/job:local/task:0"):
            z = y * 2
        with tf.Session(procs.target("local", 0)) as sess:
            assert sess.run(z, {x: 3}) == 8
            resume = _stopped(procs, "local", 1)
            try:
                error, seconds = _run_expecting_error(sess, z, {x: 3})
            finally:
                resume()
            assert isinstance(error, errors.UnavailableError), error
            assert "/job:local/task:1" in str(error) and "stopped answering" in str(error)
            assert seconds < PROMPT
            wait_until(lambda: procs.status("local", 0).active_steps == 0, 10, "task 0 to drop the step")
            assert sess.run(z, {x: 4}) == 10  # resumed: it serves again


@pytest.mark.parametrize("values", [1000, 50_000_000])
def test_a_stopped_worker_fails_an_in_process_masters_step(fast_probes, values):
    """The master runs in this process (``Session(server.target)``, as the map/reduce app does); with 200 MB fed
    to the stopped task, the feed's push itself blocks once the socket buffers fill, and must fail too."""
    with TaskProcesses({"local": 2}) as procs:
        procs.procs[("local", 0)].terminate()
        procs.procs[("local", 0)].wait(10)
        server = tf.train.Server(tf.train.ClusterSpec(procs.spec), "local", 0)
        try:
            with tf.Graph().as_default():
                x = tf.placeholder(tf.float32, [values])
                with tf.device("/job:local/task:1"):
                    total = tf.reduce_sum(x)
                feed = {x: np.ones(values, np.float32)}
                with tf.Session(server.target) as sess:
                    assert sess.run(total, feed) == values
                    resume = _stopped(procs, "local", 1)
                    try:
                        error, seconds = _run_expecting_error(sess, total, feed)
                    finally:
                        resume()
                    assert isinstance(error, errors.UnavailableError), error
                    assert "/job:local/task:1" in str(error) and procs.address("local", 1) in str(error)
                    assert seconds < PROMPT
                    assert sess.run(total, feed) == values
        finally:
            server.stop()


def test_a_push_to_a_peer_that_stopped_reading_fails_at_its_timeout():
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel does) but never reads
    client = ChannelClient(f"127.0.0.1:{listener.getsockname()[1]}")
    try:
        started = time.monotonic()
        with pytest.raises(ChannelTimeout, match="took none of it for 0.5 s"):
            client.push(1, "big", np.zeros(64 << 20, np.uint8), timeout=0.5)
        assert time.monotonic() - started < 5
        assert client.broken
    finally:
        client.close()
        listener.close()


def test_interrupt_fails_a_blocked_push_from_another_thread():
    listener = socket.create_server(("127.0.0.1", 0))
    client = ChannelClient(f"127.0.0.1:{listener.getsockname()[1]}")
    outcome = {}

    def push():
        try:
            client.push(1, "big", np.zeros(64 << 20, np.uint8))
        except Exception as e:  # noqa: BLE001 - checked below
            outcome["error"] = e
    thread = threading.Thread(target=push, daemon=True)
    try:
        thread.start()
        thread.join(0.3)  # still blocked: nobody reads
        assert thread.is_alive()
        client.interrupt()
        thread.join(5)
        assert not thread.is_alive() and "error" in outcome
    finally:
        client.close()
        listener.close()


def test_liveness_settings_validate_the_environment():
    assert liveness.settings({}) == (liveness.DEFAULT_INTERVAL, liveness.DEFAULT_TIMEOUT)
    assert liveness.settings({liveness.INTERVAL_ENV: "0.5"})[0] == 0.5
    with pytest.raises(ValueError, match="YARNFLOW_LIVENESS_TIMEOUT_S='soon' is not a number"):
        liveness.settings({liveness.TIMEOUT_ENV: "soon"})
    with pytest.raises(ValueError, match="must be a positive"):
        liveness.settings({liveness.INTERVAL_ENV: "0"})


def test_a_healthy_slow_step_is_not_declared_lost(monkeypatch):
    monkeypatch.setenv(liveness.INTERVAL_ENV, "0.05")  # probed about every 50 ms while it runs
    monkeypatch.setenv(liveness.TIMEOUT_ENV, "2")
    with TaskProcesses({"local": 2}) as procs, tf.Graph().as_default():
        with tf.device("/job:local/task:1"):
            a = tf.random_uniform([400, 400], seed=1)
            for _ in range(30):
                a = tf.matmul(a, a) / 400.0
        with tf.device("/job:local/task:0"):
            total = tf.reduce_sum(a)
        with tf.Session(procs.target("local", 0)) as sess:
            started = time.monotonic()
            assert np.isfinite(sess.run(total))
            assert time.monotonic() - started > 0.05  # 3.8 GFLOP: long enough to have been probed


# ---------------------------------------------------------------- a step's master or client that dies

CLIENT_SCRIPT = r'''
import sys
import tasklayer as tf
from tasklayer.training.sync_replicas import TokenQueue
with tf.device("/job:local/task:1"):
    take = TokenQueue("q", tf.no_op(name="anchor")).dequeue()
print("running", flush=True)
tf.Session(sys.argv[1]).run(take)
'''


def _queue_ops():
    """A token queue on task 1 (the sync replicas' kind): its dequeue blocks while it is empty."""
    from tasklayer.training.sync_replicas import TokenQueue
    with tf.device("/job:local/task:1"):
        queue = TokenQueue("q", tf.no_op(name="anchor"))
        return queue.dequeue(), queue.enqueue_many(tf.constant([5], tf.int64)), queue.size()


@pytest.mark.parametrize("transport", ["channel", "grpc"])
@pytest.mark.parametrize("who", ["master", "client"])
def test_a_step_whose_master_or_client_died_is_cancelled_and_takes_nothing_more(who, transport, monkeypatch):
    """A dequeue left waiting by a killed process would take the next token from whoever else waits for it
    (a restarted sync-replicas chief's worker, say): the step is cancelled on every task instead."""
    if transport == "grpc":
        monkeypatch.setenv("YARNFLOW_TENSOR_TRANSPORT", "grpc")
    with TaskProcesses({"local": 2}) as procs, tf.Graph().as_default():
        take, put, size = _queue_ops()
        if who == "master":  # task 0 runs the step for a client in this process, then is killed
            sess = tf.Session(procs.target("local", 0))
            outcome = {}
            thread = threading.Thread(target=lambda: outcome.update(error=raised(sess.run, take)), daemon=True)
            thread.start()
            wait_until(lambda: procs.status("local", 1).active_steps == 1, 20, "the dequeue to wait on task 1")
            procs.kill("local", 0)
            thread.join(30)
            assert isinstance(outcome.get("error"), errors.UnavailableError), outcome
        else:  # a client process runs the step through task 0, then is killed
            client = subprocess.Popen([sys.executable, "-c", CLIENT_SCRIPT, procs.target("local", 0)], cwd=ROOT,
                                      env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, text=True)
            try:
                wait_until(lambda: procs.status("local", 1).active_steps == 1, 30, "the dequeue to wait on task 1")
            finally:
                client.kill()
                client.wait(10)
            wait_until(lambda: procs.status("local", 0).active_steps == 0, 10, "task 0 (the master) to drop it")
        wait_until(lambda: procs.status("local", 1).active_steps == 0, 10, "task 1 to cancel the orphaned step")
        with tf.Session(procs.target("local", 1)) as sess1:
            sess1.run(put)
            assert sess1.run(size) == 1  # the orphaned dequeue took nothing
            assert sess1.run(take) == 5
