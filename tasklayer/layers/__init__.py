"""``tf.layers``: TF1's layer functions and their class forms, one module per family.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, [None, 4])
...     h = tf.layers.dense(x, 8, activation=tf.nn.relu, name="hidden")
...     [v.name for v in tf.trainable_variables()], h.shape.as_list()
(['hidden/kernel:0', 'hidden/bias:0'], [None, 8])
"""

from tasklayer.layers.core import Dense, dense  # noqa: F401

# ---- issue 10 (rest of tf.nn, batch norm, clipping, metrics) ----
from tasklayer.layers.core import Dropout, Flatten, dropout, flatten  # noqa: E402,F401
from tasklayer.layers.normalization import BatchNormalization, batch_normalization  # noqa: E402,F401

# ---- issue 10 (convolutions and pooling) ----
from tasklayer.layers.convolutional import Conv2D, Conv2DTranspose, conv2d, conv2d_transpose  # noqa: E402,F401
from tasklayer.layers.pooling import (AveragePooling2D, MaxPooling2D, average_pooling2d,  # noqa: E402,F401
                                      max_pooling2d)

# ---- issue 10 (consolidation) ----
from tasklayer.layers.base import Layer  # noqa: E402,F401

# ---- issue 10 (control flow: cond, case, while_loop) ----
from tasklayer.layers import utils  # noqa: E402,F401 - tf.layers.utils.smart_cond
