"""``tf.contrib`` as TF 1.x programs use it: ``data`` (TF 1.2-1.4's ``tf.data``), ``layers``, ``framework``
(``arg_scope``, model variables, the global step), ``slim`` (TF-Slim's names for those) and ``learn.ModeKeys``.
Whatever else TF 1.x had under ``tf.contrib`` fails with an AttributeError that names it.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     images = tf.placeholder(tf.float32, [None, 28, 28, 1])
...     tf.contrib.layers.flatten(images).shape.as_list()
[None, 784]
>>> tf.contrib.rnn
Traceback (most recent call last):
  ...
AttributeError: module 'tasklayer.contrib' has no attribute 'rnn': tf.contrib.rnn of TensorFlow 1.x is not \
provided by tasklayer (tf.contrib has data, framework, layers, learn and slim)
"""

from tasklayer.contrib import data, framework, layers, learn, slim  # noqa: F401
from tasklayer.contrib._missing import missing_names_hook

__getattr__ = missing_names_hook(__name__, "tf.contrib", "tf.contrib has data, framework, layers, learn and slim")
