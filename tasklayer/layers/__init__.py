"""``tf.layers``: TF1's layer functions and their class forms, one module per family.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, [None, 4])
...     h = tf.layers.dense(x, 8, activation=tf.nn.relu, name="hidden")
...     [v.name for v in tf.trainable_variables()], h.shape.as_list()
(['hidden/kernel:0', 'hidden/bias:0'], [None, 8])
"""

from tasklayer.layers.core import Dense, dense  # noqa: F401
