"""``tf.random``: TF 1.x's aliases of the random ops (``tf.random.normal`` is ``tf.random_normal``...).

>>> import tasklayer as tf
>>> with tf.Graph().as_default(), tf.Session() as sess:
...     sess.run(tf.random.uniform([3], seed=1)).shape
(3,)
"""

from tasklayer.ops.random_ops import (categorical, get_seed, multinomial, random_crop, random_normal,  # noqa: F401
                                      random_shuffle, random_uniform, set_random_seed, truncated_normal)

normal, uniform, shuffle = random_normal, random_uniform, random_shuffle
