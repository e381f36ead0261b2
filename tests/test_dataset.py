"""tf.data datasets beyond their values (tests/op_cases/data.py): static structure and shapes, how functions are
traced (and when they run on blocks), shuffle's order, repeat/cache/prefetch passes, file readers, and errors."""

import collections
import doctest
import gzip
import importlib
import os
import threading
import zlib

import numpy as np
import pytest

import tasklayer as tf
from tests.op_cases.data import write_tfrecords
from tests.polling import wait_until

DOCTEST_MODULES = ["tasklayer.data", "tasklayer.data.dataset_ops", "tasklayer.data.iterator_ops",
                   "tasklayer.data.structure", "tasklayer.data.functions", "tasklayer.data.readers",
                   "engine.kernels.numpy_dataset_pipeline", "engine.kernels.numpy_dataset_batching",
                   "engine.kernels.numpy_dataset_shuffle", "engine.kernels.numpy_dataset_passes"]


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def elements(dataset, limit=1000):
    """Every element of ``dataset`` (through a one-shot iterator), until OutOfRangeError."""
    nxt = dataset.make_one_shot_iterator().get_next()
    out = []
    with tf.Session() as sess:
        for _ in range(limit):
            try:
                out.append(sess.run(nxt))
            except tf.errors.OutOfRangeError:
                return out
    raise AssertionError(f"more than {limit} elements")


# ---------------------------------------------------------------------- structure, types and shapes
def test_structure_types_shapes_and_classes_follow_the_input():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.from_tensor_slices({"img": np.zeros([5, 2, 3], np.float32),
                                                 "label": (np.arange(5), ["a"] * 5)})
        assert ds.output_types == {"img": tf.float32, "label": (tf.int64, tf.string)}
        assert ds.output_shapes == {"img": tf.TensorShape([2, 3]), "label": (tf.TensorShape([]), tf.TensorShape([]))}
        assert ds.output_classes == {"img": tf.Tensor, "label": (tf.Tensor, tf.Tensor)}
        assert list(ds.output_types) == ["img", "label"]  # the caller's key order is kept
        batched = ds.batch(2, drop_remainder=True)
        assert batched.output_shapes["img"].as_list() == [2, 2, 3]
        assert ds.batch(2).output_shapes["img"].as_list() == [None, 2, 3]
        assert tf.data.get_output_types(ds) is ds.output_types
        assert repr(ds.batch(2)) == ("<BatchDataset shapes: {img: (?, 2, 3), label: ((?,), (?,))}, types: "
                                     "{img: tf.float32, label: (tf.int64, tf.string)}>")


def test_a_list_is_one_component_and_a_returned_list_a_tuple():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.from_tensor_slices([[1, 2], [3, 4]])
        assert ds.output_types == tf.int32 and ds.output_shapes.as_list() == [2]
        pair = ds.map(lambda x: [x, x * 2])
        assert pair.output_types == (tf.int32, tf.int32)


def test_map_passes_tuples_as_arguments_dicts_and_namedtuples_whole():
    Point = collections.namedtuple("Point", "x y")
    with tf.Graph().as_default():
        ds = tf.data.Dataset.from_tensor_slices(((np.arange(3), np.arange(3) * 10), np.float32([1, 2, 3])))
        got = elements(ds.map(lambda xy, z: xy[1] + tf.cast(z, tf.int64)))
        assert [int(v) for v in got] == [1, 12, 23]
        points = tf.data.Dataset.from_tensor_slices(Point(np.arange(2), np.arange(2) + 5))
        assert isinstance(points.output_types, Point)
        got = elements(points.map(lambda p: p.x * p.y))
        assert [int(v) for v in got] == [0, 6]


def test_static_shapes_of_map_padded_batch_zip():
    with tf.Graph().as_default():
        ragged = tf.data.Dataset.range(5).map(lambda x: tf.fill([x], x))
        assert ragged.output_shapes.as_list() == [None]
        assert ragged.padded_batch(2, [7], drop_remainder=True).output_shapes.as_list() == [2, 7]
        zipped = tf.data.Dataset.zip((ragged, tf.data.Dataset.range(3)))
        assert zipped.output_shapes == (tf.TensorShape([None]), tf.TensorShape([]))


# ---------------------------------------------------------------------- traced functions
def _elementwise(dataset):
    return dataset._variant_tensor.op.get_attr("f_elementwise")


@pytest.mark.parametrize("fn, elementwise", [
    (lambda x, y: (x / 255.0, y), True),
    (lambda x, y: (tf.cast(x, tf.float64) * 2 - 1, y + 1), True),
    (lambda x, y: x + np.float32([1, 2, 3]), True),          # a constant of lower rank broadcasts per element
    (lambda x, y: tf.reduce_sum(x), False),                   # a reduction sees the whole block
    (lambda x, y: x + tf.cast(y, tf.float32), False),         # ranks differ: broadcasting would reach the block
    (lambda x, y: (x, tf.random_uniform([])), False),          # one random value per block would be wrong
    (lambda x, y: (x, 1.0), False),                           # a constant result has no block axis
])
def test_which_functions_run_on_blocks(fn, elementwise):
    with tf.Graph().as_default():
        ds = tf.data.Dataset.from_tensor_slices((np.zeros([4, 3], np.float32), np.arange(4)))
        assert _elementwise(ds.map(fn)) is elementwise


def test_blocks_and_elements_give_the_same_results():
    x = np.random.default_rng(0).normal(size=[50, 3]).astype(np.float32)
    with tf.Graph().as_default():
        ds = tf.data.Dataset.from_tensor_slices(x)
        vectorized = ds.map(lambda v: tf.sigmoid(v) * 2 - v)
        per_element = ds.map(lambda v: tf.sigmoid(v) * 2 - v + 0.0 * tf.reduce_sum(v))
        assert _elementwise(vectorized) and not _elementwise(per_element)
        a = elements(vectorized.shuffle(50, seed=1).batch(7))
        b = elements(per_element.shuffle(50, seed=1).batch(7))
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-6)
    np.testing.assert_allclose(np.sort(np.concatenate(a), axis=0), np.sort(1 / (1 + np.exp(-x)) * 2 - x, axis=0),
                               rtol=1e-5, atol=1e-6)


def test_map_results_of_varying_shapes_reach_padded_batch():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.range(6).map(lambda x: tf.fill([x % 3], x)).shuffle(6, seed=2)
        batches = elements(ds.padded_batch(3, [None]))
    rows = sorted(tuple(r) for b in batches for r in b.tolist())
    assert rows == sorted([(0, 0), (1, 0), (2, 2), (0, 0), (4, 0), (5, 5)])


def test_functions_cannot_capture_graph_tensors():
    with tf.Graph().as_default():
        scale = tf.constant(2, tf.int64)
        with pytest.raises(ValueError, match="cannot capture tensors"):
            tf.data.Dataset.range(3).map(lambda x: x * scale)
        with pytest.raises(ValueError, match="must return a tensor"):
            tf.data.Dataset.range(3).map(lambda x: None)


def test_random_ops_in_map_follow_the_graph_seed():
    def draw():
        with tf.Graph().as_default():
            tf.set_random_seed(5)
            return elements(tf.data.Dataset.range(4).map(lambda x: tf.random_uniform([])).batch(4))[0]
    a, b = draw(), draw()
    np.testing.assert_array_equal(a, b)
    assert len(set(a.tolist())) == 4


# ---------------------------------------------------------------------- shuffle
def _epochs(seed, reshuffle, n=10, epochs=3, seed_graph=None):
    with tf.Graph().as_default():
        if seed_graph is not None:
            tf.set_random_seed(seed_graph)
        ds = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=reshuffle).batch(n)
        return [b.tolist() for b in elements(ds.repeat(epochs))]


def test_shuffle_with_a_seed_repeats_across_sessions_and_reshuffles_each_epoch():
    first, again = _epochs(7, True), _epochs(7, True)
    assert first == again
    assert all(sorted(e) == list(range(10)) for e in first)
    assert len({tuple(e) for e in first}) == 3  # every epoch its own order
    fixed = _epochs(7, False)
    assert fixed[0] == fixed[1] == fixed[2] and fixed[0] != list(range(10))
    assert _epochs(None, True, seed_graph=3) == _epochs(None, True, seed_graph=3)


def test_shuffle_draws_only_from_its_buffer():
    n, size = 200, 5
    for make in (lambda: tf.data.Dataset.range(n),  # random access: the buffer holds indices
                 lambda: tf.data.Dataset.range(n).filter(lambda x: x >= 0)):  # a stream: the buffer holds rows
        with tf.Graph().as_default():
            out = np.concatenate(elements(make().shuffle(size).batch(16)))
        assert sorted(out.tolist()) == list(range(n))
        # The j-th output was among the first j + size inputs.
        assert all(v < j + size for j, v in enumerate(out.tolist()))
        with tf.Graph().as_default():
            assert np.concatenate(elements(make().shuffle(1).batch(16))).tolist() == list(range(n))


def test_shuffle_of_rows_gathers_whole_rows():
    x = np.arange(3000, dtype=np.float32).reshape(1000, 3)
    with tf.Graph().as_default():
        batches = elements(tf.data.Dataset.from_tensor_slices((x, np.arange(1000))).shuffle(100).batch(64))
    rows, labels = np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    np.testing.assert_array_equal(rows, x[labels])
    assert sorted(labels.tolist()) == list(range(1000)) and labels.tolist() != list(range(1000))


def test_shuffle_of_elements_of_varying_shape():
    with tf.Graph().as_default():
        out = elements(tf.data.Dataset.range(8).map(lambda x: tf.fill([x % 3], x)).shuffle(4, seed=1))
    assert sorted(int(v[0]) if len(v) else -1 for v in out) == sorted([-1, 1, 2, -1, 4, 5, -1, 7])


# ---------------------------------------------------------------------- passes
def test_repeat_take_skip_counts():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.range(4)
        assert np.concatenate(elements(ds.repeat(3).batch(5))).tolist() == [0, 1, 2, 3] * 3
        assert elements(tf.data.Dataset.range(0).repeat()) == []  # an empty input ends an endless repeat
        assert np.concatenate(elements(ds.take(-1).batch(9))).tolist() == [0, 1, 2, 3]
        assert elements(ds.skip(-1)) == []
        assert np.concatenate(elements(ds.filter(lambda x: x > 0).skip(1).take(1).batch(9))).tolist() == [2]


def test_cache_replays_the_first_pass():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.range(5).map(lambda x: tf.random_uniform([])).cache().repeat(3).batch(5)
        epochs = elements(ds)
    np.testing.assert_array_equal(epochs[0], epochs[1])
    np.testing.assert_array_equal(epochs[0], epochs[2])


def test_prefetch_threads_end_when_the_iterator_is_restarted_or_dropped():
    older = {t for t in threading.enumerate() if t.name == "dataset-prefetch"}

    def ours():
        return [t for t in threading.enumerate() if t.name == "dataset-prefetch" and t not in older]
    with tf.Graph().as_default():
        it = tf.data.Dataset.range(100).prefetch(2).make_initializable_iterator()
        nxt = it.get_next()
        sess = tf.Session()
        sess.run(it.initializer)
        assert sess.run(nxt) == 0
        [first] = ours()
        sess.run(it.initializer)  # the old pass's thread stops
        assert [sess.run(nxt) for _ in range(3)] == [0, 1, 2]
        wait_until(lambda: not first.is_alive(), 5, "the first pass's prefetch thread to end")
        assert len(ours()) == 1
        sess.close()
        del sess
    wait_until(lambda: not ours(), 5, "the closed session's prefetch thread to end")


def test_errors_in_a_prefetched_pipeline_reach_get_next():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.range(5).map(lambda x: tf.fill([x], x)).batch(2).prefetch(1)
        nxt = ds.make_one_shot_iterator().get_next()
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="Cannot add tensor to the batch"):
                sess.run(nxt)


# ---------------------------------------------------------------------- bad arguments
def test_bad_arguments_fail_with_tf_errors():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.range(3)
        with pytest.raises(TypeError, match="Python `list` is not supported"):
            tf.data.Dataset.zip([ds, ds])
        with pytest.raises(ValueError, match="Unbatching a tensor is only supported for rank >= 1"):
            tf.data.Dataset.from_tensor_slices(np.float32(1))
        with pytest.raises(TypeError, match="different types"):
            ds.concatenate(ds.map(lambda x: tf.cast(x, tf.int32)))
        for bad, message in ((ds.batch(0), "Batch size must be greater than zero"),
                             (ds.shuffle(0), "buffer_size must be greater than zero")):
            it = bad.make_initializable_iterator()
            with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match=message):
                sess.run(it.initializer)
        with pytest.raises(RuntimeError, match="eager execution"):
            iter(ds)


def test_slices_of_fed_arrays_of_different_lengths_fail_at_initialization():
    with tf.Graph().as_default():
        a, b = tf.placeholder(tf.float32, [None]), tf.placeholder(tf.float32, [None])
        it = tf.data.Dataset.from_tensor_slices((a, b)).make_initializable_iterator()
        with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match="Dimension 0"):
            sess.run(it.initializer, {a: [1, 2], b: [1]})


# ---------------------------------------------------------------------- files
def test_text_lines_across_files_chunks_and_compressions(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"one\r\ntwo\n\nthree")
    packed = tmp_path / "lines.gz"
    packed.write_bytes(gzip.compress(b"g1\ng2\n"))
    squeezed = tmp_path / "lines.z"
    squeezed.write_bytes(zlib.compress(b"z1\r\nz2\n"))
    with tf.Graph().as_default():
        def lines(files, **kwargs):
            return [v for b in elements(tf.data.TextLineDataset(files, **kwargs).batch(4)) for v in b.tolist()]
        assert lines([str(plain), str(plain)]) == [b"one", b"two", b"", b"three"] * 2
        assert lines(str(plain), buffer_size=4) == [b"one", b"two", b"", b"three"]  # a \r\n split between reads
        assert lines(str(packed), compression_type="GZIP") == [b"g1", b"g2"]
        assert lines(str(squeezed), compression_type="ZLIB") == [b"z1", b"z2"]
        ds = tf.data.TextLineDataset(str(tmp_path / "missing.txt"))
        with pytest.raises(tf.errors.NotFoundError, match="missing.txt; No such file or directory"):
            elements(ds)
        with pytest.raises(tf.errors.InvalidArgumentError, match="Unsupported compression_type: LZ4"):
            elements(tf.data.TextLineDataset(str(plain), compression_type="LZ4"))


def test_text_lines_feed_a_parsing_map(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(7)))
    with tf.Graph().as_default():
        ds = tf.data.TextLineDataset(str(path)).skip(1).map(lambda line: tf.decode_csv(line, [[0], [0]]))
        xs, ys = elements(ds.batch(10))[0]
    assert xs.tolist() == list(range(7)) and ys.tolist() == [i * i for i in range(7)]


def test_tfrecords_and_a_truncated_file(tmp_path):
    path = str(tmp_path / "r.tfrecord")
    records = [os.urandom(n) for n in (0, 1, 300, 70000)]
    write_tfrecords(path, records)
    with tf.Graph().as_default():
        assert [bytes(v) for v in elements(tf.data.TFRecordDataset([path]))] == records
        with open(path, "rb") as f:
            data = f.read()
        cut = str(tmp_path / "cut.tfrecord")
        with open(cut, "wb") as f:
            f.write(data[:-3])
        with pytest.raises(tf.errors.OpError, match="truncated record at 349"):
            elements(tf.data.TFRecordDataset(cut))


def test_a_dataset_belongs_to_its_graph():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.range(3)
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="same graph"):
            ds.make_initializable_iterator()
