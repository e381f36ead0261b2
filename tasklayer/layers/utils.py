"""Helpers of the layers (TF1's ``tensorflow/python/layers/utils.py``): ``smart_cond`` picks a branch while
building when the predicate is known then (a Python bool, a constant, a Variable is never known), else builds a
``tf.cond``; ``constant_value`` says what such a predicate is.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     constant_value(tf.constant(True)), constant_value(tf.placeholder(tf.bool, []))
(True, None)
"""

from tasklayer.ops.cond import smart_cond, smart_constant_value

__all__ = ["smart_cond", "constant_value"]


def constant_value(pred):
    """``pred``'s value when known while building (a bool, 0 or 1, a constant tensor), else None; TypeError for
    anything else."""
    return smart_constant_value(pred)
