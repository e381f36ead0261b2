"""tf.train.Coordinator, tf.train.QueueRunner and start_queue_runners."""

import threading

import numpy as np
import pytest

import tasklayer as tf
from engine.errors import CancelledError, InvalidArgumentError, OutOfRangeError
from tests.polling import wait_until

pytestmark = pytest.mark.timeout(60)

BOUNDED = tf.ConfigProto(operation_timeout_in_ms=20000)


# ---------------------------------------------------------------------- Coordinator
def test_join_re_raises_the_first_error_a_thread_reported():
    coord = tf.train.Coordinator()
    reached = []

    def failing(msg):
        with coord.stop_on_exception():
            raise ValueError(msg)

    def waiting():
        coord.wait_for_stop()
        reached.append(True)
        coord.request_stop(RuntimeError("second, ignored: the coordinator stopped already"))

    first = threading.Thread(target=failing, args=("first",))
    first.start()
    first.join()
    threads = [first, threading.Thread(target=waiting)]
    threads[1].start()
    assert coord.should_stop()
    with pytest.raises(ValueError, match="first"):
        coord.join(threads)
    assert reached == [True] and coord.joined
    with pytest.raises(KeyError):  # after join, a reported error is raised at once
        coord.request_stop(KeyError("late"))


def test_out_of_range_is_a_clean_stop_and_clear_stop_resets():
    coord = tf.train.Coordinator()
    coord.request_stop(OutOfRangeError(None, None, "end of input"))
    assert coord.should_stop() and coord.wait_for_stop(0)
    coord.join([])  # nothing to re-raise
    coord.clear_stop()
    assert not coord.should_stop() and not coord.wait_for_stop(0.01) and not coord.joined
    coord.request_stop(ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        coord.raise_requested_exception()


def test_join_names_threads_that_outlive_the_grace_period():
    coord, release = tf.train.Coordinator(), threading.Event()
    stuck = threading.Thread(target=release.wait, name="stuck-thread", daemon=True)
    stuck.start()
    coord.register_thread(stuck)
    coord.request_stop()
    with pytest.raises(RuntimeError, match="stuck-thread"):
        coord.join(stop_grace_period_secs=0.05)
    coord.clear_stop()
    coord.register_thread(stuck)
    coord.request_stop()
    coord.join(stop_grace_period_secs=0.01, ignore_live_threads=True)
    release.set()


def test_looper_thread_calls_its_target_until_stopped():
    coord, calls = tf.train.Coordinator(), []
    looper = tf.train.LooperThread.loop(coord, None, lambda: calls.append(1) if len(calls) < 5 else
                                        coord.request_stop())
    coord.join([looper])
    assert len(calls) == 5
    with pytest.raises(ValueError, match="Coordinator"):
        tf.train.LooperThread(object(), 1.0)


# ---------------------------------------------------------------------- QueueRunner
def _counting_pipeline(capacity=4, limit=None):
    """A queue filled by a runner with 1, 2, 3, ... (up to ``limit``, then OutOfRangeError from CountUpTo)."""
    q = tf.FIFOQueue(capacity, tf.int64, shapes=[[]])
    counter = tf.Variable(np.int64(0), trainable=False)
    value = tf.count_up_to(counter, limit) + 1 if limit else counter.assign_add(np.int64(1))
    qr = tf.train.QueueRunner(q, [q.enqueue(value)])
    tf.train.add_queue_runner(qr)
    return q, qr


def test_a_runner_fills_its_queue_and_stops_with_the_coordinator():
    with tf.Graph().as_default():
        q, qr = _counting_pipeline()
        assert tf.get_collection("queue_runners") == [qr] and qr.name == q.name
        with tf.Session(config=BOUNDED) as sess:
            sess.run(tf.global_variables_initializer())
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess, coord)
            assert len(threads) == 2 and all(t.daemon for t in threads)  # the enqueue and the close-on-stop
            assert tf.train.start_queue_runners(sess, coord) == []  # already running in this session
            assert sess.run(q.dequeue_many(5)).tolist() == [1, 2, 3, 4, 5]
            wait_until(lambda: sess.run(q.size()) == 4, what="the runner to fill the queue")
            coord.request_stop()  # the runner waits on a full queue: the cancel op frees it
            coord.join(threads, stop_grace_period_secs=10)
            assert sess.run(q.is_closed())


def test_the_runner_closes_its_queue_at_the_end_of_its_input():
    with tf.Graph().as_default():
        q, _ = _counting_pipeline(capacity=10, limit=3)
        with tf.Session(config=BOUNDED) as sess:
            sess.run(tf.global_variables_initializer())
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess, coord)
            assert sess.run(q.dequeue_up_to(10)).tolist() == [1, 2, 3]
            with pytest.raises(OutOfRangeError):
                sess.run(q.dequeue())
            assert not coord.should_stop()  # a clean end: the runner thread ended, nothing was reported
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=10)


def test_an_error_in_an_enqueue_op_stops_the_coordinator_and_is_re_raised():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(4, tf.int32, shapes=[[2]])
        wrong = tf.Variable([1, 2, 3], validate_shape=False)  # a shape known only when it runs
        tf.train.add_queue_runner(tf.train.QueueRunner(q, [q.enqueue(wrong)]))
        with tf.Session(config=BOUNDED) as sess:
            sess.run(tf.global_variables_initializer())
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess, coord)
            with pytest.raises(InvalidArgumentError, match="Shape mismatch"):
                coord.join(threads, stop_grace_period_secs=10)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the thread re-raises, as TF's
def test_without_a_coordinator_a_runner_keeps_its_errors():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(4, tf.int32)
        qr = tf.train.QueueRunner(q, [q.enqueue(1)])
        with tf.Session(config=BOUNDED) as sess:
            sess.run(q.close())
            threads = qr.create_threads(sess, start=True)
            for t in threads:
                t.join(10)
            assert len(threads) == 1 and len(qr.exceptions_raised) == 1
            assert isinstance(qr.exceptions_raised[0], CancelledError)


def test_several_threads_fill_one_queue():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(100, tf.int64, shapes=[[]])
        counter = tf.Variable(np.int64(0), trainable=False)
        enqueue = q.enqueue(tf.count_up_to(counter, 30))
        qr = tf.train.QueueRunner(q, [enqueue] * 3)
        with tf.Session(config=BOUNDED) as sess:
            sess.run(tf.global_variables_initializer())
            coord = tf.train.Coordinator()
            threads = qr.create_threads(sess, coord, daemon=True, start=True)
            assert len(threads) == 4
            values = sess.run(q.dequeue_up_to(100))
            assert sorted(values.tolist()) == list(range(30))  # the last runner to end closed the queue
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=10)


def test_start_queue_runners_needs_a_session():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="No default session"):
            tf.train.start_queue_runners()
        with pytest.raises(TypeError, match="sess must be a `tf.Session`"):
            tf.train.start_queue_runners(sess=object())
        with tf.Session() as sess:
            assert tf.train.start_queue_runners() == []  # the default session; no runners, only a warning
            assert sess is tf.get_default_session()
    with pytest.raises(ValueError, match="Must provide queue and enqueue_ops"):
        tf.train.QueueRunner(None, [])
    with tf.Graph().as_default(), pytest.raises(TypeError, match="queue_closed_exception_types"):
        q = tf.FIFOQueue(1, tf.int32)
        tf.train.QueueRunner(q, [q.enqueue(1)], queue_closed_exception_types=(ValueError,))
