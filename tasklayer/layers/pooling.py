"""``tf.layers`` 2-D pooling layers: ``max_pooling2d``/``MaxPooling2D`` and
``average_pooling2d``/``AveragePooling2D``.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, [None, 28, 28, 16])
...     tf.layers.max_pooling2d(x, pool_size=2, strides=2).name
'max_pooling2d/MaxPool:0'
"""

from tasklayer.layers.convolutional import Layer2D, normalize_padding, normalize_tuple
from tasklayer.ops import pooling_ops

__all__ = ["AveragePooling2D", "MaxPooling2D", "average_pooling2d", "max_pooling2d"]


class _Pooling2D(Layer2D):
    """A pooling layer: ``pool_size`` windows moved by ``strides`` (ints or pairs), padding "valid"/"same"."""

    def __init__(self, pool_size, strides, padding="valid", data_format="channels_last", name=None, **kwargs):
        super().__init__(data_format, kwargs.get("trainable", True), name, None)
        self.pool_size = normalize_tuple(pool_size, 2, "pool_size")
        self.strides = normalize_tuple(strides, 2, "strides")
        self.padding = normalize_padding(padding)

    def call(self, x):
        """``x`` pooled."""
        fmt = self.nn_data_format
        per_dim = (lambda pair: [1, *pair, 1]) if fmt == "NHWC" else (lambda pair: [1, 1, *pair])
        return self.pool_fn(x, ksize=per_dim(self.pool_size), strides=per_dim(self.strides),
                            padding=self.padding.upper(), data_format=fmt, name=self.op_name)


class MaxPooling2D(_Pooling2D):
    """Max pooling of 4-D inputs.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.layers.MaxPooling2D(3, 2, padding="same")(tf.zeros([1, 7, 7, 4])).shape.as_list()
    [1, 4, 4, 4]
    """

    default_name, op_name = "max_pooling2d", "MaxPool"
    pool_fn = staticmethod(pooling_ops.max_pool)


class AveragePooling2D(_Pooling2D):
    """Average pooling of 4-D inputs (with "same", of the input positions each window covers).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.layers.AveragePooling2D(2, 2, data_format="channels_first")(tf.zeros([1, 4, 7, 7])).shape.as_list()
    [1, 4, 3, 3]
    """

    default_name, op_name = "average_pooling2d", "AvgPool"
    pool_fn = staticmethod(pooling_ops.avg_pool)


def max_pooling2d(inputs, pool_size, strides, padding="valid", data_format="channels_last", name=None):
    """Max pooling of 4-D ``inputs``: a ``MaxPooling2D`` layer applied once."""
    return MaxPooling2D(pool_size, strides, padding=padding, data_format=data_format, name=name)(inputs)


def average_pooling2d(inputs, pool_size, strides, padding="valid", data_format="channels_last", name=None):
    """Average pooling of 4-D ``inputs``: an ``AveragePooling2D`` layer applied once."""
    return AveragePooling2D(pool_size, strides, padding=padding, data_format=data_format, name=name)(inputs)
