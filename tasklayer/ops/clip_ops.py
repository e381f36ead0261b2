"""Clipping tensors by value and by norm: clip_by_value, clip_by_norm, global_norm, clip_by_global_norm,
clip_by_average_norm, built from other ops as TF1 builds them (so their gradients follow)."""

import collections.abc

from tasklayer import dtypes
from tasklayer.graph import colocate_with, name_scope
from tasklayer.ops import array_ops, math_ops, reduction_ops
from tasklayer.ops.constant_op import constant, convert_to_tensor


def _same_shape(values, result, what):
    """ValueError when clipping would broadcast ``values`` to a bigger shape (TF refuses it)."""
    if not values.shape.is_compatible_with(result.shape):
        raise ValueError(f"{what}: the clip arguments would broadcast t of shape {values.shape} to {result.shape}")


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """``t`` with every value below ``clip_value_min`` raised to it and every value above ``clip_value_max``
    lowered to it.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.clip_by_value([-2.0, 0.5, 3.0], -1.0, 1.0)).tolist()
    [-1.0, 0.5, 1.0]
    """
    with name_scope(name, "clip_by_value", [t, clip_value_min, clip_value_max]) as scope:
        values = convert_to_tensor(t, name="t")
        t_min = math_ops.minimum(values, clip_value_max)
        _same_shape(values, t_min, "clip_by_value")
        t_max = math_ops.maximum(t_min, clip_value_min, name=scope)
        _same_shape(values, t_max, "clip_by_value")
        return t_max


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """``t * clip_norm / max(l2norm(t), clip_norm)``: ``t`` rescaled so that its L2 norm over ``axes`` (all
    when None) is at most ``clip_norm``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.clip_by_norm([3.0, 4.0], 1.0)).tolist()
    [0.6000000238418579, 0.800000011920929]
    """
    with name_scope(name, "clip_by_norm", [t, clip_norm]) as scope:
        values = convert_to_tensor(t, name="t")
        l2sum = reduction_ops.reduce_sum(values * values, axes, keepdims=True)
        positive = math_ops.greater(l2sum, 0)
        # The inner where keeps sqrt's gradient finite where the sum is 0 (the outer one then picks 0).
        l2sum_safe = array_ops.where(positive, l2sum, array_ops.ones_like(l2sum))
        l2norm = array_ops.where(positive, math_ops.sqrt(l2sum_safe), l2sum)
        intermediate = values * clip_norm
        _same_shape(values, intermediate, "clip_by_norm")
        return array_ops.identity(intermediate / math_ops.maximum(l2norm, clip_norm), name=scope)


def _tensor_list(t_list, fn_name):
    if not isinstance(t_list, collections.abc.Sequence) or isinstance(t_list, (str, bytes)):
        raise TypeError(f"{fn_name}: t_list should be a sequence")
    return list(t_list)


def global_norm(t_list, name=None):
    """``sqrt(sum(l2norm(t) ** 2 for t in t_list))``; None entries are skipped.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.global_norm([tf.constant([3.0]), None, tf.constant([[4.0]])])))
    5.0
    """
    t_list = _tensor_list(t_list, "global_norm")
    with name_scope(name, "global_norm", [t for t in t_list if t is not None]):
        values = [None if t is None else convert_to_tensor(t, name=f"t_{i}") for i, t in enumerate(t_list)]
        half_squared = []
        for v in values:
            if v is not None:
                with colocate_with(v):
                    half_squared.append(reduction_ops.reduce_sum(math_ops.square(v)) * 0.5)  # l2_loss
        if not half_squared:
            raise ValueError("global_norm needs at least one tensor that is not None")
        half_squared_norm = reduction_ops.reduce_sum(array_ops.stack(half_squared))
        return math_ops.sqrt(half_squared_norm * constant(2.0, dtype=half_squared_norm.dtype), name="global_norm")


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """``(list_clipped, global_norm)``: every tensor scaled by ``clip_norm / max(global_norm, clip_norm)``
    (None entries stay None); the norm is ``use_norm`` when given. An infinite or NaN norm makes every value NaN,
    as in TF.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     clipped, norm = tf.clip_by_global_norm([tf.constant([3.0]), None, tf.constant([4.0])], 1.0)
    ...     [v.tolist() for v in sess.run([clipped[0], clipped[2], norm])], clipped[1]
    ([[0.6000000238418579], [0.800000011920929], 5.0], None)
    """
    t_list = _tensor_list(t_list, "clip_by_global_norm")
    if use_norm is None:
        use_norm = global_norm(t_list, name)
    with name_scope(name, "clip_by_global_norm", [t for t in t_list if t is not None] + [clip_norm]) as scope:
        one = constant(1.0, dtype=use_norm.dtype)
        scale_for_finite = clip_norm * math_ops.minimum(one / use_norm, one / clip_norm)
        # A finite norm adds 0; inf or NaN turns the scale (and so every value) into NaN.
        scale = scale_for_finite + (use_norm - use_norm)
        clipped = []
        for i, t in enumerate(t_list):
            if t is None:
                clipped.append(None)
                continue
            v = convert_to_tensor(t, name=f"t_{i}")
            with colocate_with(v):
                factor = scale if v.dtype == scale.dtype else math_ops.cast(scale, v.dtype)
                clipped.append(array_ops.identity(v * factor, name=f"{scope}_{i}"))  # TF's names: <scope>/_0
        return clipped, use_norm


def clip_by_average_norm(t, clip_norm, name=None):
    """``t * clip_norm / max(l2norm(t) / size(t), clip_norm)``: ``t`` rescaled so that its average L2 norm
    is at most ``clip_norm``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.clip_by_average_norm([3.0, 4.0], 1.0)).tolist()
    [1.2000000476837158, 1.600000023841858]
    """
    with name_scope(name, "clip_by_average_norm", [t, clip_norm]) as scope:
        t = convert_to_tensor(t, name="t")
        n_element = math_ops.cast(array_ops.size(t), dtypes.float32)
        l2norm_inv = math_ops.rsqrt(reduction_ops.reduce_sum(t * t))
        factor = math_ops.minimum(l2norm_inv * n_element, constant(1.0) / clip_norm)
        return array_ops.identity(t * clip_norm * factor, name=scope)
