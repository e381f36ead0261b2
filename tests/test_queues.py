"""TF1 queues in one process: blocking, closing, padding, shuffling, sharing by name, graph-time checks, and the
queue state machine on its own (values within one step are in tests/op_cases/queues.py)."""

import doctest
import importlib
import subprocess
import sys
import threading

import numpy as np
import pytest

import tasklayer as tf
from engine.errors import CancelledError, DeadlineExceededError, InvalidArgumentError, OutOfRangeError
from engine.kernels import numpy_queues
from engine.kernels.context import RunContext
from engine.kernels.numpy_queues import QueueState
from tests.distributed_helpers import ROOT
from tests.polling import wait_until

pytestmark = pytest.mark.timeout(60)

BOUNDED = tf.ConfigProto(operation_timeout_in_ms=20000)  # a bug shows as DeadlineExceeded, never as a hang


def state_of(sess, queue):
    """The engine's QueueState behind ``queue`` in a local session."""
    op = queue.queue_ref.op
    return sess.backend.resources.lookup(numpy_queues.QUEUE_CONTAINER,
                                         numpy_queues.resource_key(op.name, op.get_attr("shared_name")))


def in_thread(fn):
    """Run ``fn`` on a thread; ``(thread, box)`` where ``box`` gets ``("ok", value)`` or ``("error", exc)``."""
    box = []

    def run():
        try:
            box.append(("ok", fn()))
        except Exception as e:  # noqa: BLE001 - handed to the test
            box.append(("error", e))
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


# ---------------------------------------------------------------------- the graph side
def test_names_types_and_shapes_follow_tf():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(2, [tf.float32, tf.int32], shapes=[[2], []])
        assert (q.name, q.dtypes, q.shapes, q.names) == ("fifo_queue", [tf.float32, tf.int32],
                                                          [tf.TensorShape([2]), tf.TensorShape([])], None)
        assert q.queue_ref.op.type == "FIFOQueueV2" and q.queue_ref.dtype == tf.string
        enq = q.enqueue(([1.0, 2.0], 3))
        assert (enq.name, enq.type) == ("fifo_queue_enqueue", "QueueEnqueueV2")
        assert enq.inputs[1].name == "fifo_queue_enqueue/component_0:0"
        x, y = q.dequeue()
        assert (x.op.name, x.shape.as_list(), y.shape.as_list()) == ("fifo_queue_Dequeue", [2], [])
        xs, _ = q.dequeue_many(4)
        assert (xs.op.name, xs.shape.as_list()) == ("fifo_queue_DequeueMany", [4, 2])
        us, _ = q.dequeue_up_to(4)
        assert (us.op.type, us.shape.as_list()) == ("QueueDequeueUpToV2", [None, 2])
        assert q.close().name == "fifo_queue_Close" and q.size().op.name == "fifo_queue_Size"
        assert q.is_closed().op.name == "fifo_queue_Is_Closed"
        assert tf.RandomShuffleQueue(5, 1, tf.int32).name == "random_shuffle_queue"
        assert tf.PaddingFIFOQueue(5, tf.int32, [[None]]).name == "padding_fifo_queue"


@pytest.mark.parametrize("build,error,message", [
    (lambda: tf.FIFOQueue(3, [tf.float32], shapes=[[1], [2]]), ValueError, "same length as dtypes"),
    (lambda: tf.FIFOQueue(3, tf.float32, shapes=[[None]]), ValueError, "All shapes must be fully defined"),
    (lambda: tf.PaddingFIFOQueue(3, tf.float32, shapes=[None]), ValueError, "a list of shapes must be provided"),
    (lambda: tf.FIFOQueue(3, [tf.float32], names=["a", "b"]), ValueError, "same length as the list of dtypes"),
    (lambda: tf.FIFOQueue(3, tf.int32, shapes=[[2]]).enqueue([[1, 2, 3]]), ValueError, "incompatible"),
    (lambda: tf.FIFOQueue(3, tf.int32, shapes=[[]]).enqueue(1.5), TypeError, "int32"),
    (lambda: tf.FIFOQueue(3, [tf.int32, tf.int32]).enqueue([1]), ValueError, "has 2 components"),
    (lambda: tf.FIFOQueue(3, tf.int32, names=["a"]).enqueue(1), ValueError, "must enqueue a dictionary"),
    (lambda: tf.FIFOQueue(3, tf.int32, names=["a"]).enqueue({"b": 1}), ValueError, "do not match names"),
    (lambda: tf.FIFOQueue(3, tf.int32).enqueue({"a": 1}), ValueError, "must have names"),
    (lambda: tf.FIFOQueue(3, tf.int32, shapes=[[2]]).enqueue_many([[1, 2]]), ValueError, "incompatible"),
    (lambda: tf.FIFOQueue(3, tf.int32, shapes=[[]]).dequeue_many(-1), ValueError, "must be >= 0"),
    (lambda: tf.RandomShuffleQueue(3, 1.5, tf.int32), TypeError, "min_after_dequeue"),
])
def test_bad_arguments_fail_while_building(build, error, message):
    with tf.Graph().as_default(), pytest.raises(error, match=message):
        build()


def test_from_list_acts_on_the_chosen_queue():
    with tf.Graph().as_default():
        qs = [tf.FIFOQueue(3, tf.int32, shapes=[[]]) for _ in range(2)]
        which = tf.placeholder(tf.int32, [])
        q = tf.QueueBase.from_list(which, qs)
        enq = q.enqueue(tf.constant(7))
        with tf.Session(config=BOUNDED) as sess:
            sess.run(enq, {which: 1})
            assert sess.run([qs[0].size(), qs[1].size()]) == [0, 1]
        with pytest.raises(TypeError, match="matching component dtypes"):
            tf.QueueBase.from_list(which, [qs[0], tf.FIFOQueue(3, tf.float32)])


# ---------------------------------------------------------------------- blocking and closing
def test_a_dequeue_waits_for_an_element_and_times_out_with_the_step():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(3, tf.int32, shapes=[[]])
        deq = q.dequeue()
        with tf.Session(config=BOUNDED) as sess:
            with pytest.raises(DeadlineExceededError, match="FIFOQueue"):
                sess.run(deq, options={"timeout_in_ms": 100})
            t, box = in_thread(lambda: sess.run(deq))
            wait_until(lambda: state_of(sess, q).waiting() == (0, 1), what="the dequeue to wait")
            sess.run(q.enqueue(5))
            t.join(10)
            assert box == [("ok", 5)]
    with tf.Graph().as_default():  # the session's own operation timeout bounds it too
        deq = tf.FIFOQueue(3, tf.int32).dequeue()
        with tf.Session(config=tf.ConfigProto(operation_timeout_in_ms=100)) as sess:
            with pytest.raises(DeadlineExceededError):
                sess.run(deq)


def test_an_enqueue_waits_for_room():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(1, tf.int32, shapes=[[]])
        enq = q.enqueue(1)
        with tf.Session(config=BOUNDED) as sess:
            sess.run(enq)
            with pytest.raises(DeadlineExceededError):
                sess.run(enq, options={"timeout_in_ms": 100})
            assert sess.run(q.size()) == 1  # the timed-out enqueue put nothing
            t, box = in_thread(lambda: sess.run(enq))
            wait_until(lambda: state_of(sess, q).waiting() == (1, 0), what="the enqueue to wait")
            assert sess.run(q.dequeue()) == 1
            t.join(10)
            assert box == [("ok", None)] and sess.run(q.size()) == 1


def test_dequeue_many_takes_elements_as_they_come_even_beyond_capacity():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(2, tf.int32, shapes=[[]])
        x = tf.placeholder(tf.int32, [])
        enq, deq = q.enqueue(x), q.dequeue_many(5)
        with tf.Session(config=BOUNDED) as sess:
            t, box = in_thread(lambda: sess.run(deq))
            for i in range(5):
                sess.run(enq, {x: i})
            t.join(10)
            assert box[0][0] == "ok" and box[0][1].tolist() == [0, 1, 2, 3, 4]


def test_a_timed_out_dequeue_many_takes_nothing():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(5, tf.int32, shapes=[[]])
        with tf.Session(config=BOUNDED) as sess:
            sess.run(q.enqueue_many([[1, 2]]))
            with pytest.raises(DeadlineExceededError):
                sess.run(q.dequeue_many(3), options={"timeout_in_ms": 100})
            assert sess.run(q.dequeue_many(2)).tolist() == [1, 2]


def test_closing_fails_enqueues_and_drains_then_ends_dequeues():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(5, tf.int32, shapes=[[]])
        enq = q.enqueue(1)
        with tf.Session(config=BOUNDED) as sess:
            sess.run(q.enqueue_many([[1, 2, 3]]))
            sess.run(q.close())
            with pytest.raises(CancelledError, match=r"FIFOQueue '_\d+_fifo_queue' is closed\."):
                sess.run(enq)
            with pytest.raises(CancelledError, match=r"Queue '_\d+_fifo_queue' is already closed\."):
                sess.run(q.close())
            assert sess.run(q.dequeue()) == 1
            with pytest.raises(OutOfRangeError, match=r"is closed and has insufficient elements \(requested 3, "
                                                      r"current size 2\)"):
                sess.run(q.dequeue_many(3))
            assert sess.run(q.dequeue_up_to(3)).tolist() == [2, 3]
            with pytest.raises(OutOfRangeError, match=r"\(requested 3, current size 0\)"):
                sess.run(q.dequeue_up_to(3))
            assert sess.run(q.is_closed())


def test_a_waiting_dequeue_ends_when_the_queue_closes():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(5, tf.int32, shapes=[[]])
        deq = q.dequeue_up_to(3)
        with tf.Session(config=BOUNDED) as sess:
            sess.run(q.enqueue(4))
            t, box = in_thread(lambda: sess.run(deq))
            wait_until(lambda: state_of(sess, q).waiting() == (0, 1), what="the dequeue to wait")
            sess.run(q.close())
            t.join(10)
            assert box[0][0] == "ok" and box[0][1].tolist() == [4]


def test_close_waits_behind_pending_enqueues_unless_it_cancels_them():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(1, tf.int32, shapes=[[]])
        enq, close = q.enqueue(1), q.close()
        with tf.Session(config=BOUNDED) as sess:
            sess.run(enq)
            t1, box1 = in_thread(lambda: sess.run(enq))
            wait_until(lambda: state_of(sess, q).waiting() == (1, 0), what="the enqueue to wait")
            t2, box2 = in_thread(lambda: sess.run(close))
            wait_until(lambda: state_of(sess, q).waiting() == (2, 0), what="the close to wait")
            assert not sess.run(q.is_closed())
            assert sess.run(q.dequeue()) == 1  # room: the waiting enqueue goes in, then the close
            t1.join(10), t2.join(10)
            assert box1 == [("ok", None)] and box2 == [("ok", None)]
            assert sess.run([q.size(), q.is_closed()]) == [1, True]
    with tf.Graph().as_default():
        q = tf.FIFOQueue(1, tf.int32, shapes=[[]])
        enq = q.enqueue(1)
        with tf.Session(config=BOUNDED) as sess:
            sess.run(enq)
            t, box = in_thread(lambda: sess.run(enq))
            wait_until(lambda: state_of(sess, q).waiting() == (1, 0), what="the enqueue to wait")
            sess.run(q.close(cancel_pending_enqueues=True))
            t.join(10)
            assert box[0][0] == "error" and isinstance(box[0][1], CancelledError)
            assert "Enqueue operation was cancelled" in str(box[0][1])
            sess.run(q.close(cancel_pending_enqueues=True))  # closing again this way is no error, as in TF


def test_dequeue_many_needs_declared_shapes():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(3, tf.float32)
        with tf.Session(config=BOUNDED) as sess:
            sess.run(q.enqueue_many([[1.0, 2.0]]))
            with pytest.raises(InvalidArgumentError, match="require the components to have specified shapes"):
                sess.run(q.dequeue_many(2))
            assert sess.run(q.dequeue()) == 1.0  # single dequeues need no shapes


def test_run_time_shape_and_batch_mismatches_are_invalid_arguments():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(3, [tf.int32, tf.int32], shapes=[[2], []])
        a, b = tf.placeholder(tf.int32, None), tf.placeholder(tf.int32, None)
        with tf.Session(config=BOUNDED) as sess:
            with pytest.raises(InvalidArgumentError, match=r"Shape mismatch in tuple component 0. Expected \[2\], "
                                                           r"got \[3\]"):
                sess.run(q.enqueue([a, b]), {a: [1, 2, 3], b: 1})
            with pytest.raises(InvalidArgumentError, match="same size in the 0th dimension"):
                sess.run(q.enqueue_many([a, b]), {a: [[1, 2]], b: [1, 2]})
            assert sess.run(q.size()) == 0


# ---------------------------------------------------------------------- padding, shuffling, strings
def test_padding_queue_pads_each_batch_to_its_longest_element():
    with tf.Graph().as_default():
        q = tf.PaddingFIFOQueue(5, [tf.float32, tf.string], shapes=[[None, 2], []])
        x, s = tf.placeholder(tf.float32, [None, None]), tf.placeholder(tf.string, [])
        enq = q.enqueue([x, s])
        xs, ss = q.dequeue_many(2)
        assert xs.shape.as_list() == [2, None, 2]  # the queue's shape, not the placeholder's
        with tf.Session(config=BOUNDED) as sess:
            sess.run(enq, {x: np.ones((1, 2)), s: "one"})
            sess.run(enq, {x: 2 * np.ones((3, 2)), s: "three"})
            out, names = sess.run([xs, ss])
            np.testing.assert_array_equal(out, [[[1, 1], [0, 0], [0, 0]], [[2, 2], [2, 2], [2, 2]]])
            assert names.tolist() == [b"one", b"three"]
            with pytest.raises(InvalidArgumentError, match=r"Expected \[\?,2\], got \[1,3\]"):
                sess.run(enq, {x: np.ones((1, 3)), s: "bad"})


def test_random_shuffle_queue_keeps_min_after_dequeue_until_closed():
    with tf.Graph().as_default():
        q = tf.RandomShuffleQueue(10, 3, tf.int32, shapes=[[]], seed=7)
        with tf.Session(config=BOUNDED) as sess:
            sess.run(q.enqueue_many([np.arange(5, dtype=np.int32)]))
            first = sess.run(q.dequeue_many(2))
            with pytest.raises(DeadlineExceededError):
                sess.run(q.dequeue(), options={"timeout_in_ms": 100})  # 3 left: that is the minimum
            sess.run(q.close())
            rest = sess.run(q.dequeue_up_to(10))
            assert sorted(first.tolist() + rest.tolist()) == list(range(5))
            with pytest.raises(OutOfRangeError, match="RandomShuffleQueue"):
                sess.run(q.dequeue())


def test_random_shuffle_queue_repeats_its_order_with_a_seed_and_shuffles():
    def order(seed):
        with tf.Graph().as_default():
            q = tf.RandomShuffleQueue(100, 0, tf.int32, shapes=[[]], seed=seed)
            with tf.Session(config=BOUNDED) as sess:
                sess.run(q.enqueue_many([np.arange(50, dtype=np.int32)]))
                return sess.run(q.dequeue_many(50)).tolist()
    a, b, c = order(1), order(1), order(2)
    assert a == b and a != c and sorted(a) == list(range(50)) and a != list(range(50))


def test_components_of_several_dtypes_including_strings():
    with tf.Graph().as_default():
        q = tf.FIFOQueue(4, [tf.string, tf.int64, tf.bool, tf.float64], shapes=[[], [2], [], []])
        enq = q.enqueue_many([["a", "bc"], np.int64([[1, 2], [3, 4]]), [True, False], [0.5, 1.5]])
        with tf.Session(config=BOUNDED) as sess:
            sess.run(enq)
            s, i, b, f = sess.run(q.dequeue())
            assert (s, i.tolist(), b, f) == (b"a", [1, 2], True, 0.5)
            s, i, b, f = sess.run(q.dequeue_many(1))
            assert (s.tolist(), i.dtype, b.tolist(), f.dtype) == ([b"bc"], np.int64, [False], np.float64)


# ---------------------------------------------------------------------- sharing
def test_queues_with_one_shared_name_are_one_queue_and_must_agree():
    with tf.Graph().as_default():
        a = tf.FIFOQueue(3, tf.int32, shared_name="work")
        b = tf.FIFOQueue(3, tf.int32, shared_name="work", name="other")
        bigger = tf.FIFOQueue(4, tf.int32, shared_name="work")
        floats = tf.FIFOQueue(3, tf.float32, shared_name="work")
        shaped = tf.FIFOQueue(3, tf.int32, shapes=[[2]], shared_name="work")
        with tf.Session(config=BOUNDED) as sess:
            sess.run(a.enqueue(1))
            assert sess.run(b.dequeue()) == 1
            with pytest.raises(InvalidArgumentError, match="Shared queue 'work' has capacity 3 but requested "
                                                           "capacity was 4"):
                sess.run(bigger.size())
            with pytest.raises(InvalidArgumentError, match="has component types int32 but requested component "
                                                           "types were float"):
                sess.run(floats.size())
            with pytest.raises(InvalidArgumentError, match=r"has component shapes \[\] but requested component "
                                                           r"shapes were \[\[2\]\]"):
                sess.run(shaped.size())


# ---------------------------------------------------------------------- the state machine alone
def test_waiting_dequeues_are_served_in_arrival_order():
    q = QueueState("q", "FIFOQueue", [tf.int32], [()], capacity=10)
    results = {}
    threads = []
    for name, n in (("first", 2), ("second", 1)):
        t = threading.Thread(target=lambda name=name, n=n: results.update(
            {name: q.dequeue_many(n, RunContext(timeout=10)).__getitem__(0).tolist()}))
        t.start()
        threads.append(t)
        wait_until(lambda n=len(threads): q.waiting() == (0, n), what="the dequeue to wait")
    q.enqueue_many([np.int32([1, 2, 3])], RunContext())
    for t in threads:
        t.join(10)
    assert results == {"first": [1, 2], "second": [3]}


def test_a_cancelled_attempt_gives_back_what_it_took():
    q = QueueState("q", "FIFOQueue", [tf.int32], [()], capacity=10)
    q.enqueue_many([np.int32([1, 2])], RunContext())
    cancel = threading.Event()
    t, box = in_thread(lambda: q.dequeue_many(3, RunContext(cancel=cancel, timeout=10)))
    wait_until(lambda: q.waiting() == (0, 1) and q.size() == 0, what="the dequeue to take both elements")
    cancel.set()
    t.join(10)
    assert box[0][0] == "error" and isinstance(box[0][1], CancelledError)
    assert q.size() == 2 and [int(v) for v in q.dequeue_many(2, RunContext())[0]] == [1, 2]


def test_a_program_exits_while_a_queue_op_waits():
    script = ("import threading, tasklayer as tf\n"
              "from tests.polling import wait_until\n"
              "q = tf.FIFOQueue(1, tf.int32, shared_name='q')\n"
              "sess = tf.Session()\n"
              "threading.Thread(target=lambda: sess.run(q.dequeue()), daemon=True).start()\n"
              "wait_until(lambda: sess.backend.resources.names('_queues') and\n"
              "           sess.backend.resources.lookup('_queues', 'q').waiting() == (0, 1))\n"
              "print('waiting')\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=40)
    assert out.returncode == 0 and "waiting" in out.stdout, out.stderr


@pytest.mark.parametrize("name", ["tasklayer.ops.data_flow_ops", "tasklayer.ops.io_ops", "tasklayer.training.input",
                                  "tasklayer.training.queue_runner", "tasklayer.training.coordinator",
                                  "engine.kernels.numpy_queues"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0, f"{result.failed} docstring examples failed in {name}"
