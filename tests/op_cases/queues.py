"""Cases of queue ops (FIFOQueue, PaddingFIFOQueue, RandomShuffleQueue) within one step, and of DecodeCSV.

A queue case orders its ops with control dependencies (enqueue, then close, then dequeue), so one ``Session.run``
shows what a sequence of runs would.
"""

import numpy as np

from engine import errors
from tests.op_cases import case


def _then(tf, first, make):
    with tf.control_dependencies([first]):
        return make()


@case("queue_fifo_keeps_order", expect=lambda: [np.int32([1, 2, 3]), np.float32([[1, 1], [2, 2], [3, 3]])])
def _fifo(tf):
    q = tf.FIFOQueue(5, [tf.int32, tf.float32], shapes=[[], [2]])
    enq = q.enqueue_many([[1, 2, 3, 4], [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0]]])
    return _then(tf, enq, lambda: q.dequeue_many(3))


@case("queue_size_after_enqueues", expect=lambda: np.int32(3))
def _size(tf):
    q = tf.FIFOQueue(5, tf.float32)
    enq = q.enqueue_many([[1.0, 2.0]])
    more = _then(tf, enq, lambda: q.enqueue(3.0))
    return _then(tf, more, q.size)


@case("queue_dequeue_up_to_gives_a_short_last_batch", expect=lambda: [np.int64([7, 8]), np.bool_(True)])
def _up_to(tf):
    q = tf.FIFOQueue(5, tf.int64, shapes=[[]])
    enq = q.enqueue_many([np.int64([7, 8])])
    close = _then(tf, enq, q.close)
    return _then(tf, close, lambda: [q.dequeue_up_to(4), q.is_closed()])


@case("queue_dequeue_many_of_a_closed_queue_raises",
      raises=(errors.OutOfRangeError, "is closed and has insufficient elements"))
def _many_closed(tf):
    q = tf.FIFOQueue(5, tf.int32, shapes=[[]])
    close = _then(tf, q.enqueue(1), q.close)
    return _then(tf, close, lambda: q.dequeue_many(2))


@case("queue_enqueue_to_a_closed_queue_raises", raises=(errors.CancelledError, "is closed"))
def _enqueue_closed(tf):
    q = tf.FIFOQueue(5, tf.int32)
    return _then(tf, q.close(), lambda: q.enqueue(1))


@case("queue_padding_pads_numbers_and_strings",
      expect=lambda: [np.int32([[1, 2, 3], [4, 0, 0]]), np.array([[b"a", b"b"], [b"c", b""]], dtype=object)])
def _padding(tf):
    q = tf.PaddingFIFOQueue(4, [tf.int32, tf.string], shapes=[[None], [None]])
    enq = q.enqueue([[1, 2, 3], ["a", "b"]])
    more = _then(tf, enq, lambda: q.enqueue([[4], ["c"]]))
    return _then(tf, more, lambda: q.dequeue_many(2))


@case("queue_named_components_come_out_as_a_dict", expect=lambda: {"id": np.int32(5), "name": b"five"})
def _names(tf):
    q = tf.FIFOQueue(2, [tf.int32, tf.string], names=["id", "name"])
    return _then(tf, q.enqueue({"id": 5, "name": "five"}), q.dequeue)


@case("queue_random_shuffle_gives_each_element_once",
      check=lambda v: np.testing.assert_array_equal(np.sort(v), np.arange(8, dtype=np.int32)))
def _shuffle(tf):
    q = tf.RandomShuffleQueue(10, 0, tf.int32, shapes=[[]], seed=3)
    return _then(tf, q.enqueue_many([np.arange(8, dtype=np.int32)]), lambda: q.dequeue_many(8))


@case("csv_columns_of_each_default_dtype",
      expect=lambda: [np.float32([1, 3]), np.float64([2.5, 4]), np.array([b"abc", b"d"], dtype=object),
                      np.int64([7, 5]), np.int32([-1, 9])])
def _csv(tf):
    defaults = [[1.0], tf.constant([0.0], tf.float64), ["d"], tf.constant([5], tf.int64), [0]]
    return tf.decode_csv(["1,2.5,abc,7,-1", "3,4,,,9"], defaults)


@case("csv_quotes_hold_delimiters_and_escaped_quotes",
      expect=lambda: [np.array([b"a,b", b'q"z'], dtype=object), np.array([b"c", b""], dtype=object)])
def _csv_quotes(tf):
    return tf.decode_csv(['"a,b",c', '"q""z",'], [[""], [""]])


@case("csv_select_cols_na_value_and_delimiter", expect=lambda: [np.int32([[1], [0]]), np.int32([[3], [6]])])
def _csv_select(tf):
    return tf.decode_csv([["1;2;3"], ["NA;5;6"]], [[0], [0]], field_delim=";", na_value="NA", select_cols=[0, 2])


@case("csv_missing_required_field_raises",
      raises=(errors.InvalidArgumentError, "Field 1 is required but missing in record 0"))
def _csv_required(tf):
    return tf.decode_csv(["1,"], [[1.0], tf.zeros([0], tf.int32)])


@case("csv_bad_number_raises", raises=(errors.InvalidArgumentError, "Field 0 in record 0 is not a valid float: x"))
def _csv_bad(tf):
    return tf.decode_csv(["x,1"], [[1.0], [0]])


@case("csv_field_count_mismatch_raises", raises=(errors.InvalidArgumentError, "Expect 3 fields but have 2 in record 0"))
def _csv_count(tf):
    return tf.decode_csv(["1,2"], [[1.0], [0], [1]])
