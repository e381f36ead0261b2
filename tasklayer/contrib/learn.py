"""``tf.contrib.learn``: only ``ModeKeys``, the mode names of its model functions (``INFER`` where
``tf.estimator.ModeKeys`` says ``PREDICT``; both are "infer").

>>> import tasklayer as tf
>>> tf.contrib.learn.ModeKeys.TRAIN, tf.contrib.learn.ModeKeys.INFER
('train', 'infer')
"""

from tasklayer.contrib._missing import missing_names_hook

__all__ = ["ModeKeys"]


class ModeKeys:
    """The modes a ``tf.contrib.learn`` model function is called in."""

    TRAIN = "train"
    EVAL = "eval"
    INFER = "infer"


__getattr__ = missing_names_hook(__name__, "tf.contrib.learn", "only ModeKeys is; use tf.estimator")
