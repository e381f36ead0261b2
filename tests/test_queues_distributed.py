"""Queues on a ps task shared by the sessions of several workers (in-process servers): a queue-based map/reduce,
blocking across tasks, closing, step deadlines, and a QueueRunner whose session is remote."""

import threading

import numpy as np
import pytest

import tasklayer as tf
from engine.errors import CancelledError, DeadlineExceededError, OutOfRangeError
from tests.distributed_helpers import free_ports

pytestmark = pytest.mark.timeout(120)

BOUNDED = tf.ConfigProto(operation_timeout_in_ms=30000)  # a bug shows as DeadlineExceeded, never as a hang
PS = "/job:ps/task:0"


@pytest.fixture(scope="module")
def cluster():
    """One ps and two workers, each a tf.train.Server in this process."""
    ports = free_ports(3)
    spec = tf.train.ClusterSpec({"ps": [f"localhost:{ports[0]}"],
                                 "worker": [f"localhost:{p}" for p in ports[1:]]})
    servers = [tf.train.Server(spec, "ps", 0), tf.train.Server(spec, "worker", 0), tf.train.Server(spec, "worker", 1)]
    yield servers
    for server in servers:
        server.stop()


def shared_queue(name, dtypes=(tf.float32,), shapes=None, capacity=10):
    """The FIFOQueue called ``name`` on the ps (scalar components by default), as each worker's graph builds it."""
    shapes = [[] for _ in dtypes] if shapes is None else [list(s) for s in shapes]
    with tf.device(PS):
        return tf.FIFOQueue(capacity, list(dtypes), shapes=shapes, shared_name=name)


def test_map_reduce_through_a_queue_on_the_ps(cluster):
    """Each worker sums its shard on its own device and enqueues the partial sum on the ps; a reducer session,
    waiting before any partial exists, dequeues them all and adds them up."""
    data = np.random.RandomState(0).rand(1000).astype(np.float64)
    shards = np.array_split(data, 2)

    reducer = tf.Graph()
    with reducer.as_default():
        q = shared_queue("partials", dtypes=(tf.float64, tf.int32))
        parts, senders = q.dequeue_many(2)
        total = tf.reduce_sum(parts)
    reduced = []
    with tf.Session(cluster[1].target, graph=reducer, config=BOUNDED) as sess:
        waiter = threading.Thread(target=lambda: reduced.append(sess.run([total, senders])))
        waiter.start()
        for task in (0, 1):
            mapper = tf.Graph()
            with mapper.as_default():
                q = shared_queue("partials", dtypes=(tf.float64, tf.int32))
                with tf.device(f"/job:worker/task:{task}"):
                    shard = tf.placeholder(tf.float64, [None])
                    partial = tf.reduce_sum(shard)
                enqueue = q.enqueue([partial, tf.constant(task)])
            assert partial.op.device == f"/job:worker/task:{task}" and enqueue.device == PS
            with tf.Session(cluster[1 + task].target, graph=mapper, config=BOUNDED) as mapper_sess:
                mapper_sess.run(enqueue, {shard: shards[task]})
        waiter.join(30)
    [(got, who)] = reduced
    assert got == pytest.approx(data.sum()) and sorted(who.tolist()) == [0, 1]


def test_a_remote_dequeue_gives_up_at_its_deadline_and_takes_nothing(cluster):
    with tf.Graph().as_default() as g:
        q = shared_queue("deadline", shapes=((2,),))
        deq_many = q.dequeue_many(2)
        deq = q.dequeue()
        enq = q.enqueue(tf.constant([1.0, 2.0]))
    with tf.Session(cluster[1].target, graph=g, config=BOUNDED) as one, \
            tf.Session(cluster[2].target, graph=g, config=BOUNDED) as other:
        with pytest.raises(DeadlineExceededError):
            one.run(deq, options={"timeout_in_ms": 200})
        other.run(enq)
        with pytest.raises(DeadlineExceededError):
            one.run(deq_many, options={"timeout_in_ms": 200})  # took the one element, then gave it back
        assert other.run(deq).tolist() == [1.0, 2.0]


def test_closing_on_one_worker_ends_the_others(cluster):
    with tf.Graph().as_default() as g:
        q = shared_queue("closing", dtypes=(tf.string,))
        enq = q.enqueue_many([["a", "b", "c"]])
        close, up_to, deq = q.close(), q.dequeue_up_to(2), q.dequeue()
    with tf.Session(cluster[1].target, graph=g, config=BOUNDED) as producer, \
            tf.Session(cluster[2].target, graph=g, config=BOUNDED) as consumer:
        producer.run(enq)
        consumer.run(close)
        with pytest.raises(CancelledError, match="FIFOQueue 'closing' is closed"):
            producer.run(enq)
        assert consumer.run(up_to).tolist() == [b"a", b"b"]
        assert producer.run(up_to).tolist() == [b"c"]
        with pytest.raises(OutOfRangeError, match="FIFOQueue 'closing' is closed and has insufficient elements"):
            consumer.run(deq)


def test_a_queue_runner_in_one_workers_session_feeds_another(cluster):
    """A runner on worker 0 fills a small queue on the ps; worker 1 takes batches; stopping the coordinator
    frees the runner from its wait on the full queue."""
    with tf.Graph().as_default() as g:
        with tf.device(PS):
            counter = tf.Variable(np.int64(0), trainable=False, name="produced")
        q = shared_queue("fed", dtypes=(tf.int64,), capacity=3)
        qr = tf.train.QueueRunner(q, [q.enqueue(counter.assign_add(np.int64(1)))])
        batch = q.dequeue_many(4)
    with tf.Session(cluster[1].target, graph=g, config=BOUNDED) as feeder, \
            tf.Session(cluster[2].target, graph=g, config=BOUNDED) as trainer:
        feeder.run(counter.initializer)
        coord = tf.train.Coordinator()
        threads = qr.create_threads(feeder, coord, daemon=True, start=True)
        seen = np.concatenate([trainer.run(batch) for _ in range(3)])
        assert seen.tolist() == list(range(1, 13))
        coord.request_stop()
        coord.join(threads, stop_grace_period_secs=20)
        assert trainer.run(q.is_closed())
