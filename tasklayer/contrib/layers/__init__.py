"""``tf.contrib.layers`` as TF 1.x programs use it: the layers (``fully_connected``, ``conv2d``, ``max_pool2d``,
``avg_pool2d``, ``flatten``, ``dropout``, ``batch_norm``), the initializers and regularizers, and
``optimize_loss``, each with TF 1.15's signature and defaults and usable in ``tf.contrib.framework.arg_scope``.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, [None, 4])
...     with tf.contrib.framework.arg_scope([tf.contrib.layers.fully_connected],
...                                         weights_regularizer=tf.contrib.layers.l2_regularizer(0.01)):
...         h = tf.contrib.layers.fully_connected(x, 8, scope="hidden")
...         y = tf.contrib.layers.fully_connected(h, 2, activation_fn=None, scope="out")
...     h.op.name, [t.op.name for t in tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)]
('hidden/Relu', ['hidden/kernel/Regularizer/l2_regularizer', 'out/kernel/Regularizer/l2_regularizer'])
"""

from tasklayer.contrib._missing import missing_names_hook
from tasklayer.contrib.layers.initializers import (variance_scaling_initializer, xavier_initializer,  # noqa: F401
                                                   xavier_initializer_conv2d)
from tasklayer.contrib.layers.layers import (avg_pool2d, conv2d, convolution, convolution2d, dropout,  # noqa: F401
                                             flatten, fully_connected, linear, max_pool2d, repeat,
                                             stack)
from tasklayer.contrib.layers.normalization import batch_norm  # noqa: F401
from tasklayer.contrib.layers.optimizers import OPTIMIZER_CLS_NAMES, OPTIMIZER_SUMMARIES, optimize_loss  # noqa: F401
from tasklayer.contrib.layers.regularizers import (apply_regularization, l1_l2_regularizer,  # noqa: F401
                                                   l1_regularizer, l2_regularizer, sum_regularizer)
from tasklayer.contrib.layers.utils import collect_named_outputs  # noqa: F401

__getattr__ = missing_names_hook(__name__, "tf.contrib.layers", "see dir(tf.contrib.layers) for what is")
