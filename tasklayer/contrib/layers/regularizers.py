"""``tf.contrib.layers``' regularizers: functions of a weight tensor giving a scalar penalty, for a layer's
``weights_regularizer`` (the penalty goes to ``tf.GraphKeys.REGULARIZATION_LOSSES``) or ``apply_regularization``.

>>> import tasklayer as tf
>>> with tf.Graph().as_default(), tf.Session() as sess:
...     w = tf.constant([[1.0, -2.0], [3.0, 0.0]])
...     l1, l2 = sess.run([tf.contrib.layers.l1_regularizer(0.5)(w), tf.contrib.layers.l2_regularizer(0.5)(w)])
...     float(l1), float(l2)  # 0.5 * (1 + 2 + 3), 0.5 * (1 + 4 + 9) / 2
(3.0, 3.5)
"""

import numbers

from tasklayer import tf_logging
from tasklayer.graph import GraphKeys, add_to_collection, get_collection, name_scope
from tasklayer.ops import math_ops, nn_ops, reduction_ops
from tasklayer.ops.constant_op import constant, convert_to_tensor

__all__ = ["l1_regularizer", "l2_regularizer", "l1_l2_regularizer", "sum_regularizer", "apply_regularization"]


def _check_scale(scale, arg="scale"):
    """ValueError for an integer or a negative ``scale``; True when it is 0 (the regularizer does nothing)."""
    if isinstance(scale, numbers.Integral):
        raise ValueError(f"{arg} cannot be an integer: {scale}")
    if isinstance(scale, numbers.Real):
        if scale < 0.0:
            raise ValueError(f"Setting a scale less than 0 on a regularizer: {scale:g}")
        if scale == 0.0:
            tf_logging.info("Scale of 0 disables regularizer.")
            return True
    return False


def l1_regularizer(scale, scope=None):
    """``scale * sum(|weights|)``; ``scale`` 0.0 gives a regularizer that returns None."""
    if _check_scale(scale):
        return lambda _: None

    def l1(weights, name=None):
        with name_scope(scope, "l1_regularizer", [weights]) as name:
            my_scale = convert_to_tensor(scale, dtype=weights.dtype.base_dtype, name="scale")
            return math_ops.multiply(my_scale, reduction_ops.reduce_sum(math_ops.abs(weights)), name=name)
    return l1


def l2_regularizer(scale, scope=None):
    """``scale * sum(weights ** 2) / 2`` (``tf.nn.l2_loss``); ``scale`` 0.0 gives a regularizer that returns
    None."""
    if _check_scale(scale):
        return lambda _: None

    def l2(weights):
        with name_scope(scope, "l2_regularizer", [weights]) as name:
            my_scale = convert_to_tensor(scale, dtype=weights.dtype.base_dtype, name="scale")
            return math_ops.multiply(my_scale, nn_ops.l2_loss(weights), name=name)
    return l2


def l1_l2_regularizer(scale_l1=1.0, scale_l2=1.0, scope=None):
    """The sum of ``l1_regularizer(scale_l1)`` and ``l2_regularizer(scale_l2)``."""
    for arg, scale in (("scale_l1", scale_l1), ("scale_l2", scale_l2)):
        if isinstance(scale, numbers.Integral):
            raise ValueError(f"{arg} cannot be an integer: {scale}")
    scope = scope or "l1_l2_regularizer"
    if scale_l1 == 0.0:
        return l2_regularizer(scale_l2, scope)
    if scale_l2 == 0.0:
        return l1_regularizer(scale_l1, scope)
    return sum_regularizer([l1_regularizer(scale_l1), l2_regularizer(scale_l2)], scope=scope)


def sum_regularizer(regularizer_list, scope=None):
    """A regularizer adding up those of ``regularizer_list`` (None when the list holds none)."""
    regularizer_list = [reg for reg in regularizer_list if reg is not None]
    if not regularizer_list:
        return None

    def sum_reg(weights):
        with name_scope(scope, "sum_regularizer", [weights]) as name:
            tensors = [t for t in (reg(weights) for reg in regularizer_list) if t is not None]
            return math_ops.add_n(tensors, name=name) if tensors else None
    return sum_reg


def apply_regularization(regularizer, weights_list=None):
    """The summed penalty of ``regularizer`` over ``weights_list`` (default: the ``tf.GraphKeys.WEIGHTS``
    collection), also added to ``REGULARIZATION_LOSSES``."""
    if not weights_list:
        weights_list = get_collection(GraphKeys.WEIGHTS)
    if not weights_list:
        raise ValueError("No weights to regularize.")
    with name_scope("get_regularization_penalty", values=weights_list) as scope:
        penalties = [regularizer(w) for w in weights_list]
        penalties = [p if p is not None else constant(0.0) for p in penalties]
        for p in penalties:
            if p.shape.ndims != 0:
                raise ValueError(f"regularizer must return a scalar Tensor instead of a Tensor with rank "
                                 f"{p.shape.ndims}.")
        summed = math_ops.add_n(penalties, name=scope)
        add_to_collection(GraphKeys.REGULARIZATION_LOSSES, summed)
        return summed
