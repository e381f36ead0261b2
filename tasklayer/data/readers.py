"""File datasets: ``tf.data.TextLineDataset`` (one tf.string element per line, newline stripped) and
``tf.data.TFRecordDataset`` (one per record), reading their files in order on the task that runs the iterator.

>>> import os, tempfile, tasklayer as tf
>>> path = os.path.join(tempfile.mkdtemp(), "a.txt")
>>> with open(path, "w") as f:
...     _ = f.write("first\\nsecond\\n")
>>> with tf.Graph().as_default():
...     x = tf.data.TextLineDataset(path).batch(2).make_one_shot_iterator().get_next()
...     tf.Session().run(x).tolist()
[b'first', b'second']
"""

from tasklayer import dtypes
from tasklayer.data.dataset_ops import Dataset, register_dataset_op
from tasklayer.graph import get_default_graph, name_scope
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.shapes import TensorShape

for _op in ("TextLineDataset", "TFRecordDataset"):
    register_dataset_op(_op)


def _file_dataset(op_type, filenames, compression_type, buffer_size):
    with name_scope(None, op_type):
        names = convert_to_tensor(filenames, name="filenames")
        if names.dtype != dtypes.string:
            raise TypeError(f"`filenames` must be a `tf.Tensor` of dtype `tf.string` dtype. Got {names.dtype!r}")
        if names.shape.ndims not in (None, 0, 1):
            raise ValueError(f"`filenames` must be a scalar or a vector, got shape {names.shape}")
        compression = convert_to_tensor("" if compression_type is None else compression_type, dtype=dtypes.string,
                                        name="compression_type")
        size = convert_to_tensor(0 if buffer_size is None else buffer_size, dtype=dtypes.int64, name="buffer_size")
        attrs = {"output_types": [dtypes.string], "output_shapes": [TensorShape([]).as_proto()]}
        op = get_default_graph().create_op(op_type, [names, compression, size], attrs, name=op_type)
    return op.outputs[0]


class TextLineDataset(Dataset):
    """The lines of one or more text files, in order, as tf.string scalars without their newline.

    ``filenames``: a path, a list of paths or a tf.string tensor of them; ``compression_type``: None, "ZLIB"
    or "GZIP"; ``buffer_size``: bytes read at a time.
    """

    def __init__(self, filenames, compression_type=None, buffer_size=None):
        super().__init__(_file_dataset("TextLineDataset", filenames, compression_type, buffer_size), dtypes.string,
                         TensorShape([]))


class TFRecordDataset(Dataset):
    """The records of one or more TFRecord files, in order, as tf.string scalars.

    ``num_parallel_reads`` is accepted; files are read one after another.
    """

    def __init__(self, filenames, compression_type=None, buffer_size=None, num_parallel_reads=None):
        super().__init__(_file_dataset("TFRecordDataset", filenames, compression_type, buffer_size), dtypes.string,
                         TensorShape([]))
