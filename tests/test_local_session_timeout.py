"""In-process sessions honour ``RunOptions.timeout_in_ms`` and ``ConfigProto.operation_timeout_in_ms``."""

import threading
import time

import numpy as np
import pytest

import tasklayer as tf
from engine.errors import DeadlineExceededError
from tasklayer.training.sync_replicas import ConditionalAccumulator, TokenQueue

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def blocking():
    """A graph with a token queue and an accumulator that nothing fills: their dequeue and take block."""
    with tf.Graph().as_default() as graph:
        anchor = tf.no_op(name="anchor")
        queue = TokenQueue("tokens", anchor)
        accum = ConditionalAccumulator(tf.float32, [2], "grads", anchor)
        yield dict(graph=graph, queue=queue, dequeue=queue.dequeue(), take=accum.take_grad(1),
                   count=accum.num_accumulated(), add=accum.apply_grad([1.0, 2.0], 0))


def _fails_within(sess, fetch, seconds, **kwargs):
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError):
        sess.run(fetch, **kwargs)
    elapsed = time.monotonic() - started
    assert elapsed < seconds, f"took {elapsed:.2f} s"
    return elapsed


@pytest.mark.parametrize("options", [{"timeout_in_ms": 200}, type("RunOptions", (), {"timeout_in_ms": 200})()])
def test_run_options_timeout_ends_a_blocked_dequeue(blocking, options):
    with tf.Session() as sess:
        assert _fails_within(sess, blocking["dequeue"], 5, options=options) >= 0.15


@pytest.mark.parametrize("config", [tf.ConfigProto(operation_timeout_in_ms=200), {"operation_timeout_in_ms": 200}])
def test_config_operation_timeout_ends_a_blocked_take(blocking, config):
    with tf.Session(config=config) as sess:
        _fails_within(sess, blocking["take"], 5)
        assert sess.run(blocking["count"]) == 0
        sess.run(blocking["add"])  # the session still works, and a take with its gradient in does not wait
        np.testing.assert_allclose(sess.run(blocking["take"]), [1.0, 2.0])


def test_run_options_win_over_the_config(blocking):
    with tf.Session(config=tf.ConfigProto(operation_timeout_in_ms=60000)) as sess:
        _fails_within(sess, blocking["dequeue"], 5, options={"timeout_in_ms": 100})
    with tf.Session(config=tf.ConfigProto(operation_timeout_in_ms=100)) as sess:
        with blocking["graph"].as_default():
            enqueue = blocking["queue"].enqueue_many(tf.constant([7], tf.int64))
        # a token arrives after the config's deadline but well within the run's own
        timer = threading.Timer(0.5, lambda: sess.run(enqueue))
        timer.start()
        try:
            assert sess.run(blocking["dequeue"], options={"timeout_in_ms": 20000}) == 7
        finally:
            timer.join()


def test_no_timeout_still_waits(blocking):
    with tf.Session() as sess:
        with blocking["graph"].as_default():
            enqueue = blocking["queue"].enqueue_many(tf.constant([3], tf.int64))
        timer = threading.Timer(0.3, lambda: sess.run(enqueue))
        timer.start()
        try:
            assert sess.run(blocking["dequeue"]) == 3
        finally:
            timer.join()
