"""tf.nn functions built from other ops, as TF builds them (so their gradients come from those ops' rules):
xw_plus_b, dropout, moments, batch_normalization, fused_batch_norm, l2_normalize, sigmoid and weighted
cross-entropy with logits."""

import numbers

import numpy as np

from tasklayer import dtypes
from tasklayer.graph import Tensor, name_scope
from tasklayer.ops import array_ops, math_ops, nn_extra_ops, nn_ops, random_ops, reduction_ops
from tasklayer.ops.constant_op import convert_to_tensor


def xw_plus_b(x, weights, biases, name=None):
    """``matmul(x, weights) + biases``, the bias added by ``bias_add``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.nn.xw_plus_b([[1.0, 2.0]], [[1.0], [1.0]], [0.5])).tolist()
    [[3.5]]
    """
    with name_scope(name, "xw_plus_b", [x, weights, biases]) as scope:
        x = convert_to_tensor(x, name="x")
        weights = convert_to_tensor(weights, name="weights")
        biases = convert_to_tensor(biases, name="biases")
        return nn_extra_ops.bias_add(math_ops.matmul(x, weights), biases, name=scope)


# ---------------------------------------------------------------- dropout
def _noise_shape(x, noise_shape):
    """TF's noise shape: ``shape(x)`` when None; a list's None entries filled from x's static shape."""
    if noise_shape is None:
        return x.shape.as_list() if x.shape.is_fully_defined() else array_ops.shape(x)
    if isinstance(noise_shape, Tensor):
        return noise_shape
    dims = list(noise_shape)
    if x.shape.ndims is not None and x.shape.ndims == len(dims):
        dims = [xd if d is None else d for d, xd in zip(dims, x.shape.as_list())]
    return dims


def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """TF1's dropout: each element of ``x`` kept with probability ``keep_prob`` (``1 - rate``) and scaled by
    ``1 / keep_prob``, else 0. ``keep_prob`` may be a tensor (a placeholder fed 1.0 at evaluation keeps all);
    ``noise_shape`` makes whole slices keep or drop together; ``seed`` follows ``tf.set_random_seed``'s rules.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     keep = tf.placeholder(tf.float32)
    ...     y = tf.nn.dropout(tf.ones([2, 3]), keep_prob=keep)
    ...     sess.run(y, {keep: 1.0}).tolist(), set(sess.run(y, {keep: 0.5}).ravel()) <= {0.0, 2.0}
    ([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], True)
    """
    if keep_prob is not None and rate is not None:
        raise ValueError("Cannot specify both 'keep_prob' and 'rate'.")
    if keep_prob is not None:
        try:
            rate = 1. - keep_prob
        except TypeError:
            raise ValueError(f"keep_prob must be a floating point number or Tensor (got {keep_prob!r})") from None
    if rate is None:
        raise ValueError("You must provide a rate to dropout.")
    with name_scope(name, "dropout", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        if x.dtype not in dtypes.FLOATS:
            raise ValueError(f"x has to be a floating point tensor since it's going to be scaled. Got a "
                             f"{x.dtype.name} tensor instead.")
        if isinstance(rate, numbers.Real) or isinstance(rate, np.generic):
            rate = float(rate)
            if not 0 <= rate < 1:
                raise ValueError(f"rate must be a scalar tensor or a float in the range [0, 1), got {rate:g}")
            if rate == 0:
                return x  # nothing is dropped and nothing scaled (TF's fast path)
            scaled = x * convert_to_tensor(1 / (1 - rate), dtype=x.dtype)
        else:
            rate = convert_to_tensor(rate, name="rate")
            if rate.shape.ndims not in (None, 0):
                raise ValueError(f"Shape {rate.shape} must have rank 0")
            if rate.dtype != x.dtype:
                if rate.dtype not in dtypes.FLOATS:
                    raise ValueError(f"Tensor dtype {rate.dtype.name} is incompatible with Tensor dtype "
                                     f"{x.dtype.name}: {rate!r}")
                rate = math_ops.cast(rate, x.dtype, name="rate")
            scaled = math_ops.realdiv(x, 1 - rate)
        noise = random_ops.random_uniform(_noise_shape(x, noise_shape), seed=seed, dtype=x.dtype)
        keep_mask = math_ops.cast(math_ops.greater_equal(noise, rate), x.dtype)
        out = math_ops.multiply(scaled, keep_mask, name=scope)
        out.set_shape(x.shape)
        return out


# ---------------------------------------------------------------- moments and batch normalization
def _pick(new, old, new_name, old_name):
    if new is not None and old is not None:
        raise ValueError(f"Cannot specify both '{new_name}' and '{old_name}'.")
    return new if new is not None else old


def moments(x, axes, shift=None, name=None, keep_dims=None, keepdims=None):
    """``(mean, variance)`` of ``x`` over ``axes`` (the population variance); float16 is summed in float32.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     mean, variance = tf.nn.moments(tf.constant([[1.0, 2.0], [3.0, 6.0]]), axes=[0])
    ...     sess.run(mean).tolist(), sess.run(variance).tolist()
    ([2.0, 4.0], [1.0, 4.0])
    """
    keep = bool(_pick(keepdims, keep_dims, "keepdims", "keep_dims"))
    with name_scope(name, "moments", [x, axes]):
        x = convert_to_tensor(x, name="x")
        y = math_ops.cast(x, dtypes.float32) if x.dtype == dtypes.float16 else x
        mean = reduction_ops.reduce_mean(y, axes, keepdims=True, name="mean")
        # The population variance; stop_gradient changes nothing (the variance's derivative by its mean is 0).
        variance = reduction_ops.reduce_mean(math_ops.squared_difference(y, array_ops.stop_gradient(mean)), axes,
                                             keepdims=True, name="variance")
        if not keep:
            mean = array_ops.squeeze(mean, axes)
            variance = array_ops.squeeze(variance, axes)
        if x.dtype == dtypes.float16:
            return math_ops.cast(mean, dtypes.float16), math_ops.cast(variance, dtypes.float16)
        return mean, variance


def _as(t, dtype):
    return t if t.dtype == dtype else math_ops.cast(t, dtype)


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """``scale * (x - mean) / sqrt(variance + variance_epsilon) + offset`` (``offset``/``scale`` may be None),
    broadcasting as the arguments do.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     y = tf.nn.batch_normalization(tf.constant([1.0, 3.0]), 2.0, 1.0, offset=10.0, scale=2.0,
    ...                                   variance_epsilon=0.0)
    ...     sess.run(y).tolist()
    [8.0, 12.0]
    """
    with name_scope(name, "batchnorm", [x, mean, variance, scale, offset]):
        x = convert_to_tensor(x, name="x")
        mean = convert_to_tensor(mean, dtype=None if isinstance(mean, Tensor) else x.dtype, name="mean")
        variance = convert_to_tensor(variance, dtype=None if isinstance(variance, Tensor) else mean.dtype,
                                     name="variance")
        inv = math_ops.rsqrt(variance + variance_epsilon)
        if scale is not None:
            inv = inv * scale
        shift = offset - mean * inv if offset is not None else -mean * inv
        return x * _as(inv, x.dtype) + _as(shift, x.dtype)


_FUSED_FORMATS = {"NHWC": ([0, 1, 2], 3), "NCHW": ([0, 2, 3], 1)}
_MIN_FUSED_EPSILON = 1.001e-5  # what TF's fused_batch_norm raises a smaller epsilon to (cuDNN's minimum)


def fused_batch_norm(x, scale, offset, mean=None, variance=None, epsilon=0.001, data_format="NHWC",
                     is_training=True, name=None, exponential_avg_factor=1.0):
    """``(y, mean, variance)``: 4-D ``x`` normalized per channel (the last axis for NHWC, axis 1 for NCHW).
    Training normalizes by the batch's mean and population variance and returns its mean and *sample*
    (Bessel-corrected) variance, as TF's kernel does; inference uses the given ``mean`` and ``variance``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     x = tf.reshape([1.0, 3.0], [2, 1, 1, 1])
    ...     y, mean, variance = tf.nn.fused_batch_norm(x, [1.0], [0.0], epsilon=0.0)
    ...     [round(v, 3) for v in sess.run(y).ravel().tolist()], sess.run(mean).tolist(), sess.run(variance).tolist()
    ([-1.0, 1.0], [2.0], [2.0])
    """
    if data_format not in _FUSED_FORMATS:
        raise ValueError(f"data_format must be NHWC or NCHW, got {data_format!r}")
    if not is_training and (mean is None or variance is None):
        raise ValueError("Both 'mean' and 'variance' must be a 1D tensor when is_training is False.")
    axes, channel = _FUSED_FORMATS[data_format]
    with name_scope(name, "FusedBatchNorm", [x, scale, offset]):
        x = convert_to_tensor(x, name="input")
        scale = convert_to_tensor(scale, name="scale")
        offset = convert_to_tensor(offset, name="offset")
        if x.dtype not in dtypes.FLOATS:
            raise TypeError(f"Value passed to parameter 'x' has DataType {x.dtype.name} not in list of allowed "
                            "values: float16, bfloat16, float32")
        if x.shape.ndims not in (None, 4):
            raise ValueError(f"Shape must be rank 4 but is rank {x.shape.ndims} for fused_batch_norm with input "
                             f"shape {x.shape}")
        channels = x.shape[channel] if x.shape.ndims == 4 else None
        for what, t in (("scale", scale), ("offset", offset), ("mean", mean), ("variance", variance)):
            if isinstance(t, Tensor) and t.shape.ndims is not None and (
                    t.shape.ndims != 1 or None not in (channels, t.shape[0]) and t.shape[0] != channels):
                raise ValueError(f"fused_batch_norm: {what} must be 1-D with one value per channel "
                                 f"({channels}), got shape {t.shape}")
        epsilon = max(float(epsilon), _MIN_FUSED_EPSILON)
        stats_dtype = dtypes.float32 if x.dtype in (dtypes.float16, dtypes.bfloat16) else x.dtype
        xf = _as(x, stats_dtype)
        per_channel = [1, -1, 1, 1] if data_format == "NCHW" else [-1]

        def broadcast(t):
            t = _as(convert_to_tensor(t, dtype=stats_dtype), stats_dtype)
            return array_ops.reshape(t, per_channel) if data_format == "NCHW" else t
        if is_training:
            batch_mean, batch_var = moments(xf, axes, keep_dims=True)
            norm_mean, norm_var = batch_mean, batch_var
        else:
            norm_mean, norm_var = broadcast(mean), broadcast(variance)
        inv = math_ops.rsqrt(norm_var + epsilon) * broadcast(scale)
        y = _as((xf - norm_mean) * inv + broadcast(offset), x.dtype)
        if not is_training:
            return y, _as(convert_to_tensor(mean, dtype=stats_dtype), stats_dtype), \
                _as(convert_to_tensor(variance, dtype=stats_dtype), stats_dtype)
        out_mean = array_ops.squeeze(batch_mean, axes)
        # TF's kernel returns the sample variance (n / (n - 1)), though it normalized by the population one.
        out_var = array_ops.squeeze(batch_var, axes) * _bessel_factor(xf, channel)
        return y, out_mean, out_var


def _bessel_factor(x, channel):
    """``n / max(n - 1, 1)`` for ``n`` the values each channel of 4-D ``x`` holds (a tensor when not static)."""
    shape = x.shape.as_list() if x.shape.ndims is not None else None
    if shape is not None and None not in shape:
        n = float(np.prod(shape) / shape[channel])
        return n / max(n - 1, 1.0)
    n = math_ops.cast(array_ops.size(x) // array_ops.shape(x)[channel], x.dtype)
    return n / math_ops.maximum(n - 1, 1)


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """``x / sqrt(max(sum(x ** 2), epsilon))`` with the sum over ``axis`` (all axes when None).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.nn.l2_normalize([[3.0, 4.0]], axis=1)).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """
    axis = _pick(axis, dim, "axis", "dim")
    with name_scope(name, "l2_normalize", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        square_sum = reduction_ops.reduce_sum(math_ops.square(x), axis, keepdims=True)
        x_inv_norm = math_ops.rsqrt(math_ops.maximum(square_sum, epsilon))
        return math_ops.multiply(x, x_inv_norm, name=scope)


# ---------------------------------------------------------------- cross-entropy with logits
def _labels_and_logits(labels, logits):
    logits = convert_to_tensor(logits, name="logits")
    labels = convert_to_tensor(labels, dtype=logits.dtype, name="labels")
    try:
        labels.shape.merge_with(logits.shape)
    except ValueError:
        raise ValueError(f"logits and labels must have the same shape ({logits.shape} vs {labels.shape})") from None
    return labels, logits


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """Elementwise ``-labels * log(sigmoid(logits)) - (1 - labels) * log(1 - sigmoid(logits))``, computed as
    ``max(logits, 0) - logits * labels + log(1 + exp(-abs(logits)))`` so that it never overflows; named
    arguments only.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=[1.0, 0.0], logits=[0.0, 100.0])
    ...     [round(v, 4) for v in sess.run(loss).tolist()]
    [0.6931, 100.0]
    """
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("Only call `sigmoid_cross_entropy_with_logits` with named arguments (labels=..., "
                         "logits=..., ...)")
    with name_scope(name, "logistic_loss", [logits, labels]) as scope:
        labels, logits = _labels_and_logits(labels, logits)
        zeros = array_ops.zeros_like(logits)
        cond = math_ops.greater_equal(logits, zeros)
        relu_logits = array_ops.where(cond, logits, zeros)
        neg_abs_logits = array_ops.where(cond, -logits, logits)
        return math_ops.add(relu_logits - logits * labels, nn_extra_ops.softplus(neg_abs_logits), name=scope)


def weighted_cross_entropy_with_logits(labels=None, logits=None, pos_weight=None, name=None, targets=None):
    """Sigmoid cross-entropy with the positive term weighted by ``pos_weight``:
    ``labels * -log(sigmoid(logits)) * pos_weight + (1 - labels) * -log(1 - sigmoid(logits))``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     loss = tf.nn.weighted_cross_entropy_with_logits(labels=[1.0], logits=[0.0], pos_weight=2.0)
    ...     [round(v, 4) for v in sess.run(loss).tolist()]
    [1.3863]
    """
    labels = _pick(labels, targets, "labels", "targets")
    if labels is None or logits is None or pos_weight is None:
        raise ValueError("weighted_cross_entropy_with_logits needs labels, logits and pos_weight")
    with name_scope(name, "logistic_loss", [logits, labels]) as scope:
        labels, logits = _labels_and_logits(labels, logits)
        log_weight = 1 + (pos_weight - 1) * labels
        softplus_neg_abs = nn_extra_ops.softplus(-math_ops.abs(logits))
        return math_ops.add((1 - labels) * logits,
                            log_weight * (softplus_neg_abs + nn_ops.relu(-logits)), name=scope)
