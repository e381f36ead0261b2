"""``tf.train.QueueRunner``: threads that keep running a queue's enqueue ops, and ``start_queue_runners``.

Each enqueue op gets a thread that runs it until the queue is closed (its OutOfRangeError, e.g. an input producer
past its last epoch, ends the thread cleanly; the last thread of a session to end closes the queue, so readers
drain it and then get OutOfRangeError themselves). With a Coordinator, any other error stops the coordinator, and
one more thread closes the queue with ``cancel_pending_enqueues`` once a stop is requested.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     q = tf.FIFOQueue(4, tf.int32, shapes=[[]])
...     counter = tf.Variable(0)
...     tf.train.add_queue_runner(tf.train.QueueRunner(q, [q.enqueue(counter.assign_add(1))]))
...     with tf.Session() as sess:
...         sess.run(tf.global_variables_initializer())
...         coord = tf.train.Coordinator()
...         threads = tf.train.start_queue_runners(sess, coord)
...         batch = sess.run(q.dequeue_many(3))
...         coord.request_stop(); coord.join(threads)
>>> batch.tolist()
[1, 2, 3]
"""

import logging
import threading
import weakref

from engine import errors
from tasklayer.graph import add_to_collection
from tasklayer.session import Session, get_default_session

log = logging.getLogger(__name__)

# TF's name of the collection that holds the graph's queue runners (tf.GraphKeys.QUEUE_RUNNERS).
QUEUE_RUNNERS = "queue_runners"


class QueueRunner:
    """``QueueRunner(queue, enqueue_ops, close_op=None, cancel_op=None, queue_closed_exception_types=None)``:
    ``create_threads(sess, coord)`` starts one thread per enqueue op (the same op may be listed several times for
    several threads)."""

    def __init__(self, queue=None, enqueue_ops=None, close_op=None, cancel_op=None,
                 queue_closed_exception_types=None, queue_runner_def=None, import_scope=None):
        if queue_runner_def is not None:
            raise NotImplementedError("QueueRunner(queue_runner_def=...) is not supported: build it from the queue")
        if not queue or not enqueue_ops:
            raise ValueError("Must provide queue and enqueue_ops.")
        if queue_closed_exception_types is not None and (
                not isinstance(queue_closed_exception_types, tuple) or not queue_closed_exception_types or
                not all(isinstance(t, type) and issubclass(t, errors.OpError) for t in queue_closed_exception_types)):
            raise TypeError(f"queue_closed_exception_types, when provided, must be a tuple of tf.error types, but "
                            f"saw: {queue_closed_exception_types}")
        self._queue = queue
        self._enqueue_ops = list(enqueue_ops)
        self._close_op = close_op if close_op is not None else queue.close()
        self._cancel_op = cancel_op if cancel_op is not None else queue.close(cancel_pending_enqueues=True)
        self._queue_closed_exception_types = queue_closed_exception_types or (errors.OutOfRangeError,)
        self._lock = threading.Lock()
        self._runs_per_session = weakref.WeakKeyDictionary()  # session -> enqueue threads still running
        self._exceptions_raised = []

    @property
    def queue(self):
        """The queue this runner fills."""
        return self._queue

    @property
    def enqueue_ops(self):
        """The enqueue ops, one thread each."""
        return self._enqueue_ops

    @property
    def close_op(self):
        """The op closing the queue when the last thread ends."""
        return self._close_op

    @property
    def cancel_op(self):
        """The op closing the queue and cancelling waiting enqueues when the coordinator stops."""
        return self._cancel_op

    @property
    def queue_closed_exception_types(self):
        """The errors that end a thread cleanly (the queue was closed)."""
        return self._queue_closed_exception_types

    @property
    def exceptions_raised(self):
        """Errors the threads raised when they ran without a coordinator."""
        return self._exceptions_raised

    @property
    def name(self):
        """The queue's name."""
        return self._queue.name

    def _run(self, sess, enqueue_op, coord=None):
        """One thread: run ``enqueue_op`` until the queue closes or the coordinator stops."""
        decremented = False
        try:
            while not (coord and coord.should_stop()):
                try:
                    sess.run(enqueue_op)
                except self._queue_closed_exception_types:
                    with self._lock:
                        self._runs_per_session[sess] -= 1
                        decremented = True
                        if self._runs_per_session[sess] == 0:
                            try:
                                sess.run(self._close_op)
                            except Exception as e:  # noqa: BLE001 - the queue may be closed already
                                log.debug("Ignored exception: %s", e)
                    return
        except Exception as e:  # noqa: BLE001 - reported to the coordinator, or kept and re-raised
            if coord:
                coord.request_stop(e)
            else:
                log.error("Exception in QueueRunner: %s", e)
                with self._lock:
                    self._exceptions_raised.append(e)
                raise
        finally:
            if not decremented:
                with self._lock:
                    self._runs_per_session[sess] -= 1

    def _close_on_stop(self, sess, cancel_op, coord):
        """Once the coordinator stops, close the queue and cancel the enqueues waiting on it."""
        coord.wait_for_stop()
        try:
            sess.run(cancel_op)
        except Exception as e:  # noqa: BLE001 - the session may be closed already
            log.debug("Ignored exception: %s", e)

    def create_threads(self, sess, coord=None, daemon=False, start=False):
        """The threads running this runner in ``sess`` (none if they already run there): one per enqueue op and,
        with ``coord``, one closing the queue on stop (all registered with ``coord``)."""
        with self._lock:
            if self._runs_per_session.get(sess, 0) > 0:
                return []
            self._runs_per_session[sess] = len(self._enqueue_ops)
            self._exceptions_raised = []
        threads = [threading.Thread(target=self._run, args=(sess, op, coord),
                                    name=f"QueueRunnerThread-{self.name}-{op.name}") for op in self._enqueue_ops]
        if coord:
            threads.append(threading.Thread(target=self._close_on_stop, args=(sess, self._cancel_op, coord),
                                            name=f"QueueRunnerThread-{self.name}-close_on_stop"))
        for t in threads:
            if coord:
                coord.register_thread(t)
            if daemon:
                t.daemon = True
            if start:
                t.start()
        return threads


def add_queue_runner(qr, collection=QUEUE_RUNNERS):
    """Add ``qr`` to the default graph's queue runners (what ``start_queue_runners`` starts)."""
    add_to_collection(collection, qr)


def start_queue_runners(sess=None, coord=None, daemon=True, start=True, collection=QUEUE_RUNNERS):
    """Start the threads of every queue runner of ``sess``'s graph (default: the default session); the threads."""
    if sess is None:
        sess = get_default_session()
        if not sess:
            raise ValueError("Cannot start queue runners: No default session is registered. Use `with "
                             "sess.as_default()` or pass an explicit session to tf.start_queue_runners(sess=sess)")
    if not isinstance(sess, Session):
        if type(sess).__name__ in ("MonitoredSession", "SingularMonitoredSession", "MonitoredTrainingSession"):
            return []  # a monitored session starts its graph's queue runners itself
        raise TypeError(f"sess must be a `tf.Session` object. Given class: {type(sess)}")
    runners = sess.graph.get_collection(collection)
    if not runners:
        log.warning("`tf.train.start_queue_runners()` was called when no queue runners were defined. You can "
                    "safely remove the call to this deprecated function.")
    with sess.graph.as_default():
        threads = []
        for qr in runners:
            threads.extend(qr.create_threads(sess, coord=coord, daemon=daemon, start=start))
    return threads
