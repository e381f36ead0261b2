"""Queue-based input pipelines: producers, limit_epochs, batching, readers, and CSV files read end to end."""

import contextlib

import numpy as np
import pytest

import tasklayer as tf
from engine.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError, OutOfRangeError

pytestmark = pytest.mark.timeout(60)

BOUNDED = tf.ConfigProto(operation_timeout_in_ms=20000)


@contextlib.contextmanager
def running(init=True):
    """A session of the default graph with its variables initialized and its queue runners started."""
    with tf.Session(config=BOUNDED) as sess:
        if init:
            sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        try:
            yield sess
        finally:
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=10)


def drain(sess, fetch):
    """Every value ``fetch`` gives until OutOfRangeError."""
    out = []
    while True:
        try:
            out.append(sess.run(fetch))
        except OutOfRangeError:
            return out


# ---------------------------------------------------------------------- producers
def test_string_input_producer_gives_each_string_once_per_epoch_then_ends():
    with tf.Graph().as_default():
        q = tf.train.string_input_producer(["a", "b", "c"], num_epochs=2, shuffle=False)
        assert q.name == "input_producer" and [v.op.name for v in tf.local_variables()] == \
            ["input_producer/limit_epochs/epochs"]
        with running() as sess:
            assert drain(sess, q.dequeue()) == [b"a", b"b", b"c"] * 2


def test_num_epochs_needs_the_local_variables_initialized():
    with tf.Graph().as_default():
        q = tf.train.string_input_producer(["a"], num_epochs=1, shuffle=False)
        with tf.Session(config=BOUNDED) as sess:
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess, coord)
            with pytest.raises(FailedPreconditionError, match="uninitialized value input_producer/limit_epochs"):
                coord.join(threads, stop_grace_period_secs=10)
            assert sess.run(q.size()) == 0


def test_shuffled_epochs_are_permutations():
    with tf.Graph().as_default():
        q = tf.train.range_input_producer(10, num_epochs=3, shuffle=True, seed=5)
        with running() as sess:
            values = drain(sess, q.dequeue())
    epochs = [sorted(values[i:i + 10]) for i in range(0, 30, 10)]
    assert len(values) == 30 and epochs == [list(range(10))] * 3 and values[:10] != list(range(10))


def test_string_input_producer_refuses_an_empty_input():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="requires a non-null input tensor"):
            tf.train.string_input_producer([])
        no_names = tf.Variable(tf.constant([], tf.string), validate_shape=False)  # empty only when it runs
        tf.train.string_input_producer(no_names)
        with tf.Session(config=BOUNDED) as sess:
            sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess, coord)
            with pytest.raises(InvalidArgumentError, match="assertion failed: .string_input_producer requires"):
                coord.join(threads, stop_grace_period_secs=10)


def test_slice_input_producer_keeps_the_rows_of_its_tensors_together():
    with tf.Graph().as_default():
        xs = np.arange(12, dtype=np.float32).reshape(6, 2)
        x, y = tf.train.slice_input_producer([tf.constant(xs), tf.constant(np.arange(6))], num_epochs=1, seed=1)
        assert x.shape.as_list() == [2] and y.shape.as_list() == []
        with running() as sess:
            pairs = drain(sess, [x, y])
    assert sorted(int(b) for _, b in pairs) == list(range(6))
    for a, b in pairs:
        np.testing.assert_array_equal(a, xs[b])


def test_limit_epochs_and_count_up_to():
    with tf.Graph().as_default():
        t = tf.train.limit_epochs(tf.constant([1, 2]), num_epochs=2)
        assert tf.train.limit_epochs(t, None) is t
        with pytest.raises(ValueError, match="num_epochs must be > 0"):
            tf.train.limit_epochs(t, 0)
        v = tf.Variable(np.int64(3))
        up = tf.count_up_to(v, 4)
        with tf.Session(config=BOUNDED) as sess:
            sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
            assert [sess.run(t).tolist() for _ in range(2)] == [[1, 2], [1, 2]]
            with pytest.raises(OutOfRangeError, match="Reached limit of 2"):
                sess.run(t)
            assert sess.run(up) == 3
            with pytest.raises(OutOfRangeError, match="Reached limit of 4"):
                sess.run(up)


# ---------------------------------------------------------------------- batching
def test_batch_gives_full_batches_then_a_short_one():
    with tf.Graph().as_default():
        x = tf.train.limit_epochs(tf.constant([1, 2, 3, 4, 5]), num_epochs=1)
        batch = tf.train.batch([x], batch_size=2, enqueue_many=True, allow_smaller_final_batch=True)
        assert isinstance(batch, tf.Tensor) and batch.op.name == "batch" and batch.shape.as_list() == [None]
        with running() as sess:
            assert [b.tolist() for b in drain(sess, batch)] == [[1, 2], [3, 4], [5]]


def test_batch_keeps_the_structure_of_a_dict_and_pads_dynamically():
    with tf.Graph().as_default():
        [row] = tf.train.slice_input_producer([tf.constant([[1, 2, 3], [4, 5, 6]])], num_epochs=1, shuffle=False)
        length = tf.train.slice_input_producer([tf.constant([3, 1])], num_epochs=1, shuffle=False)[0]
        word = row[:length]
        out = tf.train.batch({"word": word, "n": length}, batch_size=2, dynamic_pad=True)
        assert sorted(out) == ["n", "word"] and out["word"].shape.as_list() == [2, None]
        with running() as sess:
            got = sess.run(out)
    np.testing.assert_array_equal(got["word"], [[1, 2, 3], [4, 0, 0]])
    assert got["n"].tolist() == [3, 1]


def test_batch_needs_known_ranks_and_consistent_types():
    with tf.Graph().as_default():
        unknown = tf.Variable([1, 2], validate_shape=False)
        with pytest.raises(ValueError, match="Cannot infer Tensor's rank"):
            tf.train.batch([unknown.value()], 2)
        with pytest.raises(TypeError, match="Expected types to be consistent"):
            tf.train.batch_join([[tf.constant(1)], [tf.constant(1.0)]], 2)
        with pytest.raises(ValueError, match="must be bigger than min_after_dequeue"):
            tf.train.shuffle_batch([tf.constant(1)], 2, capacity=10, min_after_dequeue=10)


def test_shuffle_batch_mixes_and_loses_nothing():
    with tf.Graph().as_default():
        [x] = tf.train.slice_input_producer([tf.range(40)], num_epochs=1, shuffle=False)
        batch = tf.train.shuffle_batch([x], batch_size=8, capacity=30, min_after_dequeue=10, num_threads=2, seed=3,
                                       allow_smaller_final_batch=True)
        with running() as sess:
            values = np.concatenate(drain(sess, batch)).tolist()
    assert sorted(values) == list(range(40)) and values != list(range(40))


def test_batch_join_and_shuffle_batch_join_read_from_every_list():
    with tf.Graph().as_default():
        parts = [tf.train.slice_input_producer([tf.constant([i * 10 + k for k in range(3)])], num_epochs=1,
                                               shuffle=False) for i in range(2)]
        joined = tf.train.batch_join(parts, batch_size=6)
        with running() as sess:
            assert sorted(sess.run(joined).tolist()) == [0, 1, 2, 10, 11, 12]
    with tf.Graph().as_default():
        parts = [{"v": tf.train.slice_input_producer([tf.constant([i, i])], num_epochs=1)[0]} for i in range(3)]
        joined = tf.train.shuffle_batch_join(parts, batch_size=6, capacity=10, min_after_dequeue=2, seed=1)
        with running() as sess:
            assert sorted(sess.run(joined)["v"].tolist()) == [0, 0, 1, 1, 2, 2]


# ---------------------------------------------------------------------- readers and files
@pytest.fixture
def csv_files(tmp_path):
    one = tmp_path / "one.csv"
    one.write_bytes(b'id,name,score\n1,"a,b",0.5\r\n\n2,c,1.5')
    two = tmp_path / "two.csv"
    two.write_bytes(b"id,name,score\n3,d,2.5\n")
    (tmp_path / "empty.csv").write_bytes(b"")
    return tmp_path


def test_text_line_reader_reads_lines_of_each_file_in_turn(csv_files):
    with tf.Graph().as_default():
        files = [str(csv_files / n) for n in ("one.csv", "empty.csv", "two.csv")]
        q = tf.train.string_input_producer(files, num_epochs=1, shuffle=False)
        reader = tf.TextLineReader(skip_header_lines=1)
        key, value = reader.read(q)
        assert (key.op.type, key.dtype, value.shape.as_list()) == ("ReaderReadV2", tf.string, [])
        counts = [reader.num_records_produced(), reader.num_work_units_completed()]
        with running() as sess:
            records = drain(sess, [key, value])
            produced, completed = sess.run(counts)
            sess.run(reader.reset())
            assert sess.run(counts) == [0, 0]
    one, two = files[0].encode(), files[2].encode()
    assert records == [[one + b":2", b'1,"a,b",0.5'], [one + b":3", b""], [one + b":4", b"2,c,1.5"],
                       [two + b":2", b"3,d,2.5"]]
    assert (produced, completed) == (4, 3)


def test_read_up_to_returns_a_short_batch_where_a_file_ends(csv_files):
    with tf.Graph().as_default():
        q = tf.FIFOQueue(5, tf.string)
        reader = tf.TextLineReader()
        keys, values = reader.read_up_to(q, 3)
        with tf.Session(config=BOUNDED) as sess:
            sess.run(q.enqueue_many([[str(csv_files / "one.csv"), str(csv_files / "two.csv")]]))
            sess.run(q.close())
            batches = drain(sess, values)
    assert [b.tolist() for b in batches] == [[b"id,name,score", b'1,"a,b",0.5', b""], [b"2,c,1.5"],
                                             [b"id,name,score", b"3,d,2.5"]]


def test_whole_file_reader_and_file_ops(csv_files):
    with tf.Graph().as_default():
        path = str(csv_files / "sub" / "out.txt")
        write = tf.write_file(path, "hello")
        q = tf.FIFOQueue(5, tf.string)
        key, value = tf.WholeFileReader().read(q)
        with tf.Session(config=BOUNDED) as sess:
            sess.run(write)
            assert sess.run(tf.read_file(path)) == b"hello"
            sess.run(q.enqueue_many([[path, str(csv_files / "missing.txt")]]))
            assert sess.run([key, value]) == [path.encode(), b"hello"]
            with pytest.raises(NotFoundError, match="missing.txt; No such file or directory"):
                sess.run(key)
            found = sess.run(tf.matching_files(str(csv_files / "*.csv")))
            assert [f.decode().rsplit("/", 1)[1] for f in found] == ["empty.csv", "one.csv", "two.csv"]


def test_csv_files_to_shuffled_training_batches(csv_files):
    """The classic TF1 pipeline: match files, queue their names, read lines, decode CSV, shuffle into batches."""
    with tf.Graph().as_default():
        rows = "\n".join(f"{i},{i % 3},{i * 0.5}" for i in range(30))
        (csv_files / "data.csv").write_text("id,label,x\n" + rows + "\n")
        names = tf.train.match_filenames_once(str(csv_files / "data*.csv"))
        q = tf.train.string_input_producer(names, num_epochs=2, shuffle=True, seed=2)
        _, line = tf.TextLineReader(skip_header_lines=1).read(q)
        ident, label, x = tf.decode_csv(line, record_defaults=[[0], [0], [0.0]])
        ids, labels, xs = tf.train.shuffle_batch([ident, label, x], batch_size=7, capacity=20, min_after_dequeue=5,
                                                 allow_smaller_final_batch=True, seed=4)
        total = tf.reduce_sum(xs)
        with running() as sess:
            batches = drain(sess, [ids, labels, xs, total])
    all_ids = np.concatenate([b[0] for b in batches])
    assert sorted(all_ids.tolist()) == sorted(list(range(30)) * 2)
    for got_ids, got_labels, got_x, got_total in batches:
        np.testing.assert_array_equal(got_labels, got_ids % 3)
        np.testing.assert_allclose(got_x, got_ids * 0.5)
        assert got_total == pytest.approx(got_x.sum())


def test_a_model_trains_on_batches_from_a_queue():
    """Gradients flow to the variables through batches taken from a queue (the queue ops carry none)."""
    with tf.Graph().as_default():
        rng = np.random.RandomState(0)
        xs = rng.randn(200, 3).astype(np.float32)
        ys = xs @ np.float32([1.0, -2.0, 0.5])
        x, y = tf.train.slice_input_producer([tf.constant(xs), tf.constant(ys)], seed=1)
        bx, by = tf.train.shuffle_batch([x, y], batch_size=20, capacity=100, min_after_dequeue=40, seed=2)
        w = tf.Variable(tf.zeros([3]))
        loss = tf.reduce_mean(tf.square(tf.reduce_sum(bx * w, axis=1) - by))
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with running() as sess:
            for _ in range(150):
                sess.run(train)
            np.testing.assert_allclose(sess.run(w), [1.0, -2.0, 0.5], atol=1e-2)
