"""``tf.data`` as TF 1.x programs use it: ``Dataset`` and its transformations, ``Iterator`` (one-shot,
initializable, ``from_structure``), ``TextLineDataset`` and ``TFRecordDataset``.

A dataset is a description in the graph; an iterator is a resource of the task that runs it, whose
``get_next()`` pulls elements there (map and filter functions travel as traced graphs), so the input pipeline of
a remote task runs on that task.

>>> import tasklayer as tf, numpy as np
>>> with tf.Graph().as_default():
...     images, labels = np.arange(12, dtype=np.float32).reshape(6, 2), np.arange(6)
...     ds = tf.data.Dataset.from_tensor_slices((images, labels)).map(lambda x, y: (x / 10, y)).batch(4)
...     x, y = ds.make_one_shot_iterator().get_next()
...     with tf.Session() as sess:
...         print(sess.run(y), sess.run(y))
[0 1 2 3] [4 5]
"""

import types as _types

from tasklayer.data.dataset_ops import AUTOTUNE, Dataset
from tasklayer.data.iterator_ops import (Iterator, get_output_classes, get_output_shapes, get_output_types,
                                         make_initializable_iterator, make_one_shot_iterator)
from tasklayer.data.readers import TextLineDataset, TFRecordDataset

# ``tf.data.experimental.AUTOTUNE``: let prefetch choose its buffer.
experimental = _types.SimpleNamespace(AUTOTUNE=AUTOTUNE)

__all__ = ["Dataset", "Iterator", "TextLineDataset", "TFRecordDataset", "make_one_shot_iterator",
           "make_initializable_iterator", "get_output_types", "get_output_shapes", "get_output_classes",
           "experimental"]
