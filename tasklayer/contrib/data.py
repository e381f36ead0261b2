"""``tf.contrib.data``: TF 1.2-1.4's name for ``tf.data`` (``Dataset``, ``Iterator``, ``TextLineDataset``,
``TFRecordDataset`` are ``tf.data``'s own classes) and the transformations TF 1.x kept there for
``Dataset.apply``: ``batch_and_drop_remainder``, ``padded_batch_and_drop_remainder``, ``shuffle_and_repeat``,
``map_and_batch``.

>>> import tasklayer as tf
>>> with tf.Graph().as_default(), tf.Session() as sess:
...     ds = tf.contrib.data.Dataset.range(7).apply(tf.contrib.data.batch_and_drop_remainder(3))
...     batch = ds.make_one_shot_iterator().get_next()
...     batch.shape.as_list(), sess.run(batch).tolist(), sess.run(batch).tolist()
([3], [0, 1, 2], [3, 4, 5])
"""

from tasklayer.contrib._missing import missing_names_hook
from tasklayer.data import Dataset, Iterator, TextLineDataset, TFRecordDataset  # noqa: F401 - TF 1.2-1.4's names

__all__ = ["Dataset", "Iterator", "TextLineDataset", "TFRecordDataset", "batch_and_drop_remainder",
           "padded_batch_and_drop_remainder", "shuffle_and_repeat", "map_and_batch"]


def batch_and_drop_remainder(batch_size):
    """For ``Dataset.apply``: batches of exactly ``batch_size`` (a last, smaller one is dropped), so the batch
    dimension is known."""
    def _apply_fn(dataset):
        return dataset.batch(batch_size, drop_remainder=True)
    return _apply_fn


def padded_batch_and_drop_remainder(batch_size, padded_shapes, padding_values=None):
    """For ``Dataset.apply``: ``padded_batch`` with the last, smaller batch dropped."""
    def _apply_fn(dataset):
        return dataset.padded_batch(batch_size, padded_shapes, padding_values, drop_remainder=True)
    return _apply_fn


def shuffle_and_repeat(buffer_size, count=None, seed=None):
    """For ``Dataset.apply``: the elements shuffled (through a ``buffer_size`` buffer, afresh in each epoch) and
    repeated ``count`` times (None: for ever)."""
    def _apply_fn(dataset):
        return dataset.shuffle(buffer_size, seed=seed).repeat(count)
    return _apply_fn


def map_and_batch(map_func, batch_size, num_parallel_batches=None, drop_remainder=False, num_parallel_calls=None):
    """For ``Dataset.apply``: ``map(map_func)`` then ``batch(batch_size, drop_remainder)``."""
    if num_parallel_batches is not None and num_parallel_calls is not None:
        raise ValueError("The `num_parallel_batches` and `num_parallel_calls` arguments are mutually exclusive.")

    def _apply_fn(dataset):
        return dataset.map(map_func).batch(batch_size, drop_remainder=drop_remainder)
    return _apply_fn


__getattr__ = missing_names_hook(__name__, "tf.contrib.data", "tf.data has the datasets; see dir(tf.contrib.data)")
