"""Cases of tf.data: each builds a dataset, takes its first element (or its error) through an iterator."""

import os
import struct
import tempfile

import numpy as np

from tests.op_cases import case


def first(dataset):
    """The first element of ``dataset`` (a one-shot iterator's get_next)."""
    return dataset.make_one_shot_iterator().get_next()


# ---------------------------------------------------------------------- TFRecord files, written as TF writes them
def _crc_table():
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def masked_crc32c(data):
    """TFRecord's checksum: CRC-32C, rotated and offset ("masked")."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def write_tfrecords(path, records):
    """Write ``records`` (bytes) to a TFRecord file at ``path``."""
    with open(path, "wb") as f:
        for record in records:
            header = struct.pack("<Q", len(record))
            f.write(header + struct.pack("<I", masked_crc32c(header)) + record
                    + struct.pack("<I", masked_crc32c(record)))


def _temp_file(name, data):
    path = os.path.join(tempfile.mkdtemp(prefix="op-case-data-"), name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# ---------------------------------------------------------------------- sources and structure
@case("data_range_batch", expect=lambda: np.arange(4, dtype=np.int64))
def _range_batch(tf):
    return first(tf.data.Dataset.range(10).batch(4))


@case("data_range_start_stop_step", expect=lambda: np.int64([10, 7, 4]))
def _range_negative_step(tf):
    return first(tf.data.Dataset.range(10, 2, -3).batch(5))


@case("data_slices_tuple_batch", expect=lambda: (np.arange(4).reshape(2, 2), np.float64([1, 2])))
def _slices_tuple(tf):
    return first(tf.data.Dataset.from_tensor_slices((np.arange(6).reshape(3, 2), np.float64([1, 2, 3]))).batch(2))


@case("data_slices_dict_map", expect=lambda: np.float32([4, 10, 18]))
def _slices_dict(tf):
    ds = tf.data.Dataset.from_tensor_slices({"a": [1.0, 2.0, 3.0], "b": [4, 5, 6]})
    return first(ds.map(lambda d: d["a"] * tf.cast(d["b"], tf.float32)).batch(3))


@case("data_from_tensors", expect=lambda: (np.int32([1, 2]), np.float32(3)))
def _from_tensors(tf):
    return first(tf.data.Dataset.from_tensors(([1, 2], 3.0)))


@case("data_strings_batch", expect=lambda: np.array([b"ab", b"c"], dtype=object))
def _strings(tf):
    return first(tf.data.Dataset.from_tensor_slices(["ab", "c"]).batch(2))


@case("data_zip_nested", expect=lambda: (np.int64([0, 1]), (np.int64([0, 2]), np.float32([0, 0.5]))))
def _zip_nested(tf):
    a = tf.data.Dataset.range(5)
    b = tf.data.Dataset.range(3).map(lambda x: (x * 2, tf.cast(x, tf.float32) / 2))
    return first(tf.data.Dataset.zip((a, b)).batch(2))


# ---------------------------------------------------------------------- transformations
@case("data_map_tuple_args", expect=lambda: (np.int64([0, 2, 4, 6]), np.float32([0, 0.5, 1, 1.5])))
def _map_tuple(tf):
    ds = tf.data.Dataset.zip((tf.data.Dataset.range(4), tf.data.Dataset.range(4).map(lambda x: tf.cast(x, tf.float32))))
    return first(ds.map(lambda a, b: (a * 2, b / 2.0)).batch(4))


@case("data_map_not_elementwise", expect=lambda: np.float32([3, 7, 11]))
def _map_reduce(tf):
    ds = tf.data.Dataset.from_tensor_slices(np.float32([[1, 2], [3, 4], [5, 6]]))
    return first(ds.map(lambda x: tf.reduce_sum(x)).batch(3))


@case("data_map_broadcast_constant", expect=lambda: np.float32([[11, 22], [13, 24]]))
def _map_broadcast(tf):
    ds = tf.data.Dataset.from_tensor_slices(np.float32([[1, 2], [3, 4]]))
    return first(ds.map(lambda x: x + np.float32([10, 20])).batch(2))


@case("data_filter", expect=lambda: np.int64([0, 3, 6, 9]))
def _filter(tf):
    return first(tf.data.Dataset.range(10).filter(lambda x: tf.equal(x % 3, 0)).batch(10))


@case("data_padded_batch", expect=lambda: np.int64([[0, 0, 0, 0], [1, 0, 0, 0], [2, 2, 0, 0], [3, 3, 3, 0],
                                                    [4, 4, 4, 4]]))
def _padded(tf):
    return first(tf.data.Dataset.range(5).map(lambda x: tf.fill([x], x)).padded_batch(5, padded_shapes=[None]))


@case("data_padded_batch_fixed_value", expect=lambda: np.int64([[-1, -1, -1], [1, -1, -1]]))
def _padded_fixed(tf):
    ds = tf.data.Dataset.range(5).map(lambda x: tf.fill([x], x))
    return first(ds.padded_batch(2, padded_shapes=[3], padding_values=tf.constant(-1, tf.int64)))


@case("data_skip_take", expect=lambda: np.int64([2, 3, 4, 5, 6]))
def _skip_take(tf):
    return first(tf.data.Dataset.range(10).skip(2).take(5).batch(10))


@case("data_repeat_cache", expect=lambda: np.int64([0, 1, 2, 0, 1, 2]))
def _repeat(tf):
    return first(tf.data.Dataset.range(3).cache().repeat(2).batch(10))


@case("data_concatenate", expect=lambda: np.int64([0, 1, 2, 0, 1]))
def _concatenate(tf):
    return first(tf.data.Dataset.range(3).concatenate(tf.data.Dataset.range(2)).batch(10))


@case("data_prefetch", expect=lambda: np.int64([0, 1, 2]))
def _prefetch(tf):
    return first(tf.data.Dataset.range(3).batch(3).prefetch(2))


def _is_permutation(values):
    assert sorted(values.tolist()) == list(range(20)) and values.tolist() != list(range(20))


@case("data_shuffle_permutes", check=_is_permutation)
def _shuffle(tf):
    return first(tf.data.Dataset.range(20).shuffle(20, seed=3).batch(20))


# ---------------------------------------------------------------------- files
@case("data_text_lines", expect=lambda: np.array([b"l1", b"l2", b"", b"l4", b"m1"], dtype=object))
def _text_lines(tf):
    a, b = _temp_file("a.txt", b"l1\r\nl2\n\nl4"), _temp_file("b.txt", b"m1\n")
    return first(tf.data.TextLineDataset([a, b]).batch(10))


@case("data_tfrecords", expect=lambda: np.array([b"rec1", b"", b"record three"], dtype=object))
def _tfrecords(tf):
    path = os.path.join(tempfile.mkdtemp(prefix="op-case-data-"), "r.tfrecord")
    write_tfrecords(path, [b"rec1", b"", b"record three"])
    return first(tf.data.TFRecordDataset(path).batch(10))


# ---------------------------------------------------------------------- errors
@case("data_end_of_sequence", raises=(Exception, "End of sequence"))
def _end(tf):
    return first(tf.data.Dataset.range(0))


@case("data_uninitialized_iterator", raises=(Exception, "not been initialized"))
def _uninitialized(tf):
    return tf.data.Dataset.range(3).make_initializable_iterator().get_next()


@case("data_batch_shapes_differ", raises=(Exception, "Cannot add tensor to the batch"))
def _batch_mismatch(tf):
    return first(tf.data.Dataset.range(5).map(lambda x: tf.fill([x], x)).batch(3))


@case("data_range_zero_step", raises=(Exception, "step must be a non-zero integer"))
def _zero_step(tf):
    return first(tf.data.Dataset.range(0, 10, 0))


@case("data_one_shot_placeholder", raises=(ValueError, "Cannot capture a placeholder"))
def _one_shot_placeholder(tf):
    return first(tf.data.Dataset.from_tensor_slices(tf.placeholder(tf.float32, [None])))


@case("data_slices_first_dims_differ", raises=(ValueError, "Dimensions 3 and 2 are not compatible"))
def _slices_mismatch(tf):
    return first(tf.data.Dataset.from_tensor_slices((np.arange(3), np.arange(2))))


@case("data_filter_not_bool", raises=(ValueError, "`predicate` must return a `tf.bool` scalar tensor"))
def _filter_bad(tf):
    return first(tf.data.Dataset.range(3).filter(lambda x: x))


@case("data_batch_of_batches", expect=lambda: np.int64([[0, 1], [2, 3]]))
def _batch_of_batches(tf):
    return first(tf.data.Dataset.range(9).batch(2).batch(2))


@case("data_zip_of_streams", expect=lambda: (np.int64([0, 2, 4]), np.int64([1, 3, 5])))
def _zip_streams(tf):
    evens = tf.data.Dataset.range(10).filter(lambda x: tf.equal(x % 2, 0))
    odds = tf.data.Dataset.range(7).filter(lambda x: tf.equal(x % 2, 1))
    return first(tf.data.Dataset.zip((evens, odds)).batch(5))


@case("data_map_after_batch", expect=lambda: np.float32([[0, 0.5], [1, 1.5]]))
def _map_after_batch(tf):
    return first(tf.data.Dataset.range(6).batch(2).map(lambda x: tf.cast(x, tf.float32) / 2).batch(2))
