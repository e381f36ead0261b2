"""Cases of the rest of tf.nn (bias_add, activations, lrn, top_k, in_top_k, moments, batch norm, l2_normalize,
cross-entropies, embedding_lookup, dynamic_partition/stitch, dropout), clipping, tf.metrics and the
dropout/flatten/batch_normalization layers, each against a direct numpy reference."""

import numpy as np

from tests.op_cases import case

RNG = np.random.default_rng(11)
X = RNG.uniform(-3, 3, (2, 3, 4)).astype(np.float32)
IMG = RNG.uniform(-2, 2, (2, 3, 3, 4)).astype(np.float32)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def lrn_ref(x, radius=5, bias=1.0, alpha=1.0, beta=0.5):
    """LRN by its definition, one channel window at a time (float64)."""
    x64 = x.astype(np.float64)
    out = np.empty_like(x64)
    depth = x.shape[-1]
    for d in range(depth):
        window = x64[..., max(0, d - radius):min(depth, d + radius + 1)]
        out[..., d] = x64[..., d] / (bias + alpha * (window ** 2).sum(-1)) ** beta
    return out.astype(x.dtype)


def top_k_ref(x, k):
    """Values and int32 indices of the k largest per row, equal values lower index first (a Python sort)."""
    rows = x.reshape(-1, x.shape[-1])
    idx = np.array([sorted(range(len(r)), key=lambda i, r=r: (-r[i], i))[:k] for r in rows], np.int32)
    idx = idx.reshape(x.shape[:-1] + (k,))
    return np.take_along_axis(x, idx, -1), idx


def sigmoid_xent_ref(labels, logits):
    """``-z log(p) - (1 - z) log(1 - p)`` with ``log(p) = -log1p(exp(-x))``, ``log(1 - p) = -x - log1p(exp(-x))``
    (float64, written for x >= 0 and x < 0 apart so that neither overflows)."""
    x, z = logits.astype(np.float64), labels.astype(np.float64)
    log1p_exp_neg_abs = np.log1p(np.exp(-np.abs(x)))
    log_p = np.where(x >= 0, -log1p_exp_neg_abs, x - log1p_exp_neg_abs)
    log_not_p = np.where(x >= 0, -x - log1p_exp_neg_abs, -log1p_exp_neg_abs)
    return (-z * log_p - (1 - z) * log_not_p).astype(np.float32)


def in_top_k_ref(predictions, targets, k):
    """Per row: the target is in range, every prediction finite and fewer than k predictions beat it."""
    out = []
    for row, t in zip(predictions, targets):
        ok = 0 <= t < len(row) and np.isfinite(row).all()
        out.append(bool(ok and (row > row[t]).sum() < k))
    return np.array(out)


# ---------------------------------------------------------------- bias_add, xw_plus_b
@case("nn_bias_add_nhwc", expect=lambda: X + np.float32([1, 2, 3, 4]))
def _(tf):
    return tf.nn.bias_add(tf.constant(X), tf.constant([1.0, 2.0, 3.0, 4.0]))


@case("nn_bias_add_nchw", expect=lambda: IMG + np.float32([1, 2, 3]).reshape(1, 3, 1, 1))
def _(tf):
    return tf.nn.bias_add(tf.constant(IMG), tf.constant([1.0, 2.0, 3.0]), data_format="NCHW")


@case("nn_bias_add_int32", expect=lambda: np.int32([[1, 2], [3, 4]]) + np.int32([10, 20]))
def _(tf):
    return tf.nn.bias_add(tf.constant([[1, 2], [3, 4]]), [10, 20])


@case("nn_bias_add_mismatch", raises=(ValueError, "Dimensions must be equal, but are 3 and 4"))
def _(tf):
    return tf.nn.bias_add(tf.zeros([2, 3]), tf.zeros([4]))


@case("nn_bias_add_rank1", raises=(ValueError, "Shape must be at least rank 2 but is rank 1"))
def _(tf):
    return tf.nn.bias_add(tf.zeros([3]), tf.zeros([3]))


@case("nn_xw_plus_b", expect=lambda: X[0] @ X[1].T + np.float32([1, -1, 0.5]), rtol=1e-5)
def _(tf):
    return tf.nn.xw_plus_b(tf.constant(X[0]), tf.constant(X[1].T.copy()), [1.0, -1.0, 0.5])


# ---------------------------------------------------------------- activations
@case("nn_relu6", expect=lambda: np.clip(X * 3, 0, 6))
def _(tf):
    return tf.nn.relu6(tf.constant(X * 3))


@case("nn_relu6_int32", expect=lambda: np.int32([0, 3, 6]))
def _(tf):
    return tf.nn.relu6(tf.constant([-4, 3, 9]))


@case("nn_elu", expect=lambda: np.where(X < 0, np.expm1(X), X))
def _(tf):
    return tf.nn.elu(tf.constant(X))


@case("nn_selu", expect=lambda: (SELU_SCALE * np.where(X < 0, SELU_ALPHA * np.expm1(X), X)).astype(np.float32))
def _(tf):
    return tf.nn.selu(tf.constant(X))


@case("nn_softplus_large_and_small", expect=lambda: np.float32([0.0, np.log1p(np.exp(-3.0)), np.log(2.0),
                                                                  3 + np.log1p(np.exp(-3.0)), 100.0]))
def _(tf):
    return tf.nn.softplus(tf.constant([-200.0, -3.0, 0.0, 3.0, 100.0]))


@case("nn_softsign", expect=lambda: X / (1 + np.abs(X)))
def _(tf):
    return tf.nn.softsign(tf.constant(X))


@case("nn_leaky_relu_default_alpha", expect=lambda: np.where(X > 0, X, np.float32(0.2) * X))
def _(tf):
    return tf.nn.leaky_relu(tf.constant(X))


@case("nn_leaky_relu_int_input_is_float32", expect=lambda: np.float32([-1.5, 0.0, 2.0]))
def _(tf):
    return tf.nn.leaky_relu(tf.constant([-3, 0, 2]), alpha=0.5)


@case("nn_elu_int_refused", raises=(TypeError, "int32 not in list of allowed values"))
def _(tf):
    return tf.nn.elu(tf.constant([1, 2]))


# ---------------------------------------------------------------- lrn
@case("nn_lrn_defaults", expect=lambda: lrn_ref(IMG), rtol=1e-5)
def _(tf):
    return tf.nn.lrn(tf.constant(IMG))


@case("nn_lrn_custom", expect=lambda: lrn_ref(IMG, 1, 2.0, 0.3, 0.75), rtol=1e-5)
def _(tf):
    return tf.nn.local_response_normalization(tf.constant(IMG), depth_radius=1, bias=2.0, alpha=0.3, beta=0.75)


@case("nn_lrn_rank3_refused", raises=(ValueError, "Shape must be rank 4 but is rank 3"))
def _(tf):
    return tf.nn.lrn(tf.zeros([2, 3, 4]))


# ---------------------------------------------------------------- top_k, in_top_k
TIES = np.float32([[1, 3, 3, 2, 3], [5, 5, 5, 5, 5], [0, -1, 2, 2, 7]])


@case("nn_top_k_ties_lower_index_first", expect=lambda: top_k_ref(TIES, 3))
def _(tf):
    values, indices = tf.nn.top_k(tf.constant(TIES), k=3)
    return values, indices


@case("nn_top_k_3d_int", expect=lambda: top_k_ref((X * 10).astype(np.int32), 2))
def _(tf):
    values, indices = tf.nn.top_k(tf.constant((X * 10).astype(np.int32)), 2)
    return values, indices


@case("nn_top_k_default_k", expect=lambda: top_k_ref(TIES, 1))
def _(tf):
    return list(tf.nn.top_k(tf.constant(TIES)))


@case("nn_top_k_too_large", raises=(ValueError, "must have last dimension >= k = 6 but is 5"))
def _(tf):
    return tf.nn.top_k(tf.constant(TIES), 6)


PREDICTIONS = np.float32([[0.1, 0.9, 0.9], [0.5, 0.2, 0.3], [0.5, 0.2, 0.3], [1.0, np.nan, 0.0], [0.2, 0.3, 0.1]])
TARGETS = np.int32([2, 0, 1, 0, 0])


@case("nn_in_top_k", expect=lambda: in_top_k_ref(PREDICTIONS, TARGETS, 1))
def _(tf):
    return tf.nn.in_top_k(tf.constant(PREDICTIONS), TARGETS, 1)


@case("nn_in_top_k_k2_int64", expect=lambda: in_top_k_ref(IMG[0, 0], np.int64([2, 3, 0]), 2))
def _(tf):
    return tf.nn.in_top_k(tf.constant(IMG[0, 0]), tf.constant([2, 3, 0], dtype=tf.int64), 2)


@case("nn_in_top_k_float64_refused", raises=(TypeError, "float64"))
def _(tf):
    return tf.nn.in_top_k(tf.zeros([2, 3], tf.float64), [0, 1], 1)


# ---------------------------------------------------------------- moments, batch normalization, l2_normalize
@case("nn_moments", expect=lambda: (X.mean((0, 1)), X.var((0, 1))))
def _(tf):
    mean, variance = tf.nn.moments(tf.constant(X), axes=[0, 1])
    return mean, variance


@case("nn_moments_keep_dims", expect=lambda: (X.mean(2, keepdims=True), X.var(2, keepdims=True)))
def _(tf):
    return list(tf.nn.moments(tf.constant(X), [2], keep_dims=True))


def _bn_ref():
    mean, var = X.mean((0, 1)), X.var((0, 1))
    return ((X - mean) / np.sqrt(var + 1e-3) * np.float32([1, 2, 3, 4]) + np.float32([0, 1, 0, -1])).astype(np.float32)


@case("nn_batch_normalization", expect=_bn_ref, rtol=1e-5, atol=1e-5)
def _(tf):
    x = tf.constant(X)
    mean, variance = tf.nn.moments(x, [0, 1])
    return tf.nn.batch_normalization(x, mean, variance, offset=tf.constant([0.0, 1.0, 0.0, -1.0]),
                                     scale=tf.constant([1.0, 2.0, 3.0, 4.0]), variance_epsilon=1e-3)


@case("nn_batch_normalization_no_scale_offset", expect=lambda: ((X - 1) / np.sqrt(np.float32(4.5))))
def _(tf):
    return tf.nn.batch_normalization(tf.constant(X), 1.0, 4.0, None, None, 0.5)


def _fused_ref(x, axes, eps):
    mean, var = x.mean(axes), x.var(axes)
    n = x.size / mean.size
    shape = [1, -1, 1, 1] if axes == (0, 2, 3) else [-1]
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * 2.0 + 0.5
    return y.astype(np.float32), mean.astype(np.float32), (var * n / (n - 1)).astype(np.float32)


@case("nn_fused_batch_norm_training_nhwc", expect=lambda: _fused_ref(IMG, (0, 1, 2), 1e-3), atol=1e-5)
def _(tf):
    return list(tf.nn.fused_batch_norm(tf.constant(IMG), tf.fill([4], 2.0), tf.fill([4], 0.5)))


@case("nn_fused_batch_norm_training_nchw", expect=lambda: _fused_ref(IMG, (0, 2, 3), 1.001e-5), atol=1e-5)
def _(tf):
    return list(tf.nn.fused_batch_norm(tf.constant(IMG), tf.fill([3], 2.0), tf.fill([3], 0.5), epsilon=0.0,
                                       data_format="NCHW"))


@case("nn_fused_batch_norm_inference", expect=lambda: (
    (IMG - np.float32([0, 1, 2, 3])) / np.sqrt(np.float32([1, 2, 3, 4]) + np.float32(1e-3)) + 1).astype(np.float32),
    atol=1e-5)
def _(tf):
    # Only y: TF 2.21's graph rewriter turns an inference FusedBatchNormV3 into Mul/Add and loses its other outputs.
    y, _, _ = tf.nn.fused_batch_norm(tf.constant(IMG), tf.ones([4]), tf.ones([4]), mean=[0.0, 1.0, 2.0, 3.0],
                                     variance=[1.0, 2.0, 3.0, 4.0], is_training=False)
    return y


@case("nn_l2_normalize_all_axes", expect=lambda: X / np.sqrt((X.astype(np.float64) ** 2).sum()).astype(np.float32))
def _(tf):
    return tf.nn.l2_normalize(tf.constant(X))


@case("nn_l2_normalize_axis_and_epsilon", expect=lambda: np.float32([[0.6, 0.8], [0, 0]]))
def _(tf):
    return tf.nn.l2_normalize(tf.constant([[3.0, 4.0], [0.0, 0.0]]), axis=1)


# ---------------------------------------------------------------- cross-entropies with logits
LOGITS = np.float32([[-50.0, -2.0, 0.0], [0.5, 3.0, 60.0]])
LABELS = np.float32([[0.0, 1.0, 0.3], [1.0, 0.0, 1.0]])


@case("nn_sigmoid_cross_entropy_with_logits", expect=lambda: sigmoid_xent_ref(LABELS, LOGITS), rtol=1e-5)
def _(tf):
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant(LABELS), logits=tf.constant(LOGITS))


@case("nn_sigmoid_cross_entropy_moderate", expect=lambda: sigmoid_xent_ref(LABELS, LOGITS / 20), rtol=1e-5)
def _(tf):
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=LABELS, logits=LOGITS / 20)


@case("nn_sigmoid_cross_entropy_shape_mismatch", raises=(ValueError, "must have the same shape"))
def _(tf):
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros([2]), logits=tf.zeros([3]))


@case("nn_weighted_cross_entropy_with_logits", expect=lambda: (
    LABELS * -np.log(1 / (1 + np.exp(-LOGITS / 20))) * 3.0
    + (1 - LABELS) * -np.log(1 - 1 / (1 + np.exp(-LOGITS / 20)))).astype(np.float32), rtol=1e-5)
def _(tf):
    return tf.nn.weighted_cross_entropy_with_logits(labels=LABELS, logits=LOGITS / 20, pos_weight=3.0)


# ---------------------------------------------------------------- embedding_lookup, dynamic_partition/stitch
TABLE = np.arange(7 * 3, dtype=np.float32).reshape(7, 3)
IDS = np.int32([[6, 0], [3, 3], [5, 1]])


def _shards(tf, strategy):
    rows = [[0, 3, 6], [1, 4], [2, 5]] if strategy == "mod" else [[0, 1, 2], [3, 4], [5, 6]]
    return [tf.constant(TABLE[r]) for r in rows]


@case("nn_embedding_lookup_single", expect=lambda: TABLE[IDS])
def _(tf):
    return tf.nn.embedding_lookup(tf.constant(TABLE), IDS)


@case("nn_embedding_lookup_mod_shards", expect=lambda: TABLE[IDS])
def _(tf):
    return tf.nn.embedding_lookup(_shards(tf, "mod"), tf.constant(IDS))


@case("nn_embedding_lookup_div_shards", expect=lambda: TABLE[IDS])
def _(tf):
    return tf.nn.embedding_lookup(_shards(tf, "div"), tf.constant(IDS), partition_strategy="div")


@case("nn_embedding_lookup_variable_max_norm", init=True, expect=lambda: TABLE[IDS] * np.minimum(
    1.0, 5.0 / np.linalg.norm(TABLE[IDS], axis=-1, keepdims=True)), rtol=1e-5)
def _(tf):
    return tf.nn.embedding_lookup(tf.Variable(TABLE), IDS, max_norm=5.0)


PARTS = np.int32([[1, 0], [1, 1], [0, 0]])


@case("nn_dynamic_partition", expect=lambda: [X.reshape(3, 2, 4)[PARTS == i] for i in range(3)])
def _(tf):
    return tf.dynamic_partition(tf.constant(X.reshape(3, 2, 4)), PARTS, 3)


def _stitch_ref(indices, data):
    out = np.zeros((max(int(np.max(i)) for i in indices) + 1,) + data[0].shape[np.ndim(indices[0]):], data[0].dtype)
    for idx, d in zip(indices, data):
        out[np.ravel(idx)] = d.reshape((-1,) + out.shape[1:])
    return out


STITCH_IDS = [np.int32([0, 4, 2]), np.int32([[3], [1]])]
STITCH_DATA = [X[0, :, :2], X[1, :2, :2].reshape(2, 1, 2)]


@case("nn_dynamic_stitch", expect=lambda: _stitch_ref(STITCH_IDS, STITCH_DATA))
def _(tf):
    return tf.dynamic_stitch(STITCH_IDS, [tf.constant(d) for d in STITCH_DATA])


@case("nn_dynamic_stitch_later_piece_wins", expect=lambda: _stitch_ref([[0, 1], [1]], [np.int32([5, 6]),
                                                                                       np.int32([7])]))
def _(tf):
    return tf.dynamic_stitch([[0, 1], [1]], [tf.constant([5, 6]), tf.constant([7])])


# ---------------------------------------------------------------- dropout
def _check_dropout_half(values):
    kept = values[values != 0]
    assert np.allclose(kept, 2.0), kept
    assert 0.35 < kept.size / values.size < 0.65, kept.size / values.size


@case("nn_dropout_keep_prob_fed_one_keeps_all", expect=lambda: X)
def _(tf):
    keep = tf.placeholder(tf.float32)
    return tf.nn.dropout(tf.constant(X), keep_prob=keep), {keep: 1.0}


@case("nn_dropout_keep_half_scales_by_two", check=_check_dropout_half)
def _(tf):
    return tf.nn.dropout(tf.ones([40, 50]), keep_prob=0.5)


@case("nn_dropout_rate_tensor", check=_check_dropout_half)
def _(tf):
    return tf.nn.dropout(tf.ones([40, 50]), rate=tf.constant(0.5))


def _check_whole_columns(values):
    dropped, kept = (values == 0).all(0), (values == 2.0).all(0)
    assert (dropped | kept).all(), f"a column is partly dropped: {values}"
    assert dropped.any() and kept.any(), values


@case("nn_dropout_noise_shape_drops_whole_columns", check=_check_whole_columns)
def _(tf):
    return tf.nn.dropout(tf.ones([30, 40]), keep_prob=0.5, noise_shape=[1, 40])


@case("nn_dropout_int_refused", raises=(ValueError, "floating point tensor"))
def _(tf):
    return tf.nn.dropout(tf.constant([1, 2]), keep_prob=0.5)


@case("nn_dropout_keep_prob_out_of_range", raises=(ValueError, "must be a scalar tensor or a float in the range"))
def _(tf):
    return tf.nn.dropout(tf.ones([2]), keep_prob=0.0)


# ---------------------------------------------------------------- clipping
@case("clip_by_value", expect=lambda: np.clip(X, -1.0, 0.5))
def _(tf):
    return tf.clip_by_value(tf.constant(X), -1.0, 0.5)


@case("clip_by_value_tensor_bounds", expect=lambda: np.clip(X, np.float32([-1, -2, 0, 0]), 2.0))
def _(tf):
    return tf.clip_by_value(tf.constant(X), tf.constant([-1.0, -2.0, 0.0, 0.0]), 2.0)


@case("clip_by_norm_all_axes", expect=lambda: X * 2.0 / np.linalg.norm(X), rtol=1e-5)
def _(tf):
    return tf.clip_by_norm(tf.constant(X), 2.0)


@case("clip_by_norm_axes_only_long_rows", expect=lambda: np.float32([[0.6, 0.8], [0.3, 0.4], [0, 0]]))
def _(tf):
    return tf.clip_by_norm(tf.constant([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]]), 1.0, axes=[1])


@case("clip_global_norm", expect=lambda: np.float32(np.sqrt((X ** 2).sum() + 25.0)), rtol=1e-5)
def _(tf):
    return tf.global_norm([tf.constant(X), None, tf.constant([3.0, 4.0])])


@case("clip_by_global_norm", expect=lambda: [X * np.float32(3 / np.sqrt((X.astype(np.float64) ** 2).sum() + 25)),
                                             np.float32([3, 4]) * np.float32(3 / np.sqrt((X.astype(np.float64) ** 2)
                                                                                            .sum() + 25)),
                                             np.float32(np.sqrt((X.astype(np.float64) ** 2).sum() + 25))], rtol=1e-5)
def _(tf):
    clipped, norm = tf.clip_by_global_norm([tf.constant(X), None, tf.constant([3.0, 4.0])], 3.0)
    assert clipped[1] is None
    return [clipped[0], clipped[2], norm]


@case("clip_by_global_norm_below_clip_unchanged", expect=lambda: [np.float32([0.3, 0.4]), np.float32(0.5)])
def _(tf):
    clipped, norm = tf.clip_by_global_norm([tf.constant([0.3, 0.4])], 1.0)
    return [clipped[0], norm]


@case("clip_by_average_norm", expect=lambda: X * np.float32(0.1 / (np.linalg.norm(X) / X.size)), rtol=1e-5)
def _(tf):
    return tf.clip_by_average_norm(tf.constant(X), 0.1)


# ---------------------------------------------------------------- tf.metrics (one update from fresh locals)
CLASS_LABELS = np.int32([1, 0, 1, 1, 0, 1, 1])
CLASS_PREDICTIONS = np.int32([1, 1, 0, 1, 0, 0, 1])
WEIGHTS = np.float32([1, 3, 1, 1, 2, 0, 1])


def _precision_recall_ref(labels, predictions):
    tp = np.sum((labels == 1) & (predictions == 1))
    return [np.float32(tp / np.sum(predictions == 1)), np.float32(tp / np.sum(labels == 1))]


@case("metrics_accuracy_update", init=True, expect=lambda: np.float32(np.mean(CLASS_LABELS == CLASS_PREDICTIONS)))
def _(tf):
    _, update = tf.metrics.accuracy(labels=tf.constant(CLASS_LABELS), predictions=tf.constant(CLASS_PREDICTIONS))
    return update


@case("metrics_accuracy_weighted_squeezed", init=True, expect=lambda: np.float32(
    np.sum((CLASS_LABELS == CLASS_PREDICTIONS) * WEIGHTS) / WEIGHTS.sum()))
def _(tf):
    # predictions [n, 1] are squeezed to the labels' [n]
    _, update = tf.metrics.accuracy(labels=tf.constant(CLASS_LABELS),
                                    predictions=tf.constant(CLASS_PREDICTIONS[:, None]), weights=tf.constant(WEIGHTS))
    return update


@case("metrics_mean_weighted", init=True, expect=lambda: np.float32(np.sum(X[0, 0] * WEIGHTS[:4]) / WEIGHTS[:4].sum()))
def _(tf):
    _, update = tf.metrics.mean(tf.constant(X[0, 0]), weights=tf.constant(WEIGHTS[:4]))
    return update


@case("metrics_precision_recall", init=True, expect=lambda: _precision_recall_ref(CLASS_LABELS, CLASS_PREDICTIONS))
def _(tf):
    labels, predictions = tf.constant(CLASS_LABELS), tf.constant(CLASS_PREDICTIONS)
    _, p_update = tf.metrics.precision(labels, predictions)
    _, r_update = tf.metrics.recall(labels, predictions)
    return [p_update, r_update]


@case("metrics_precision_nothing_predicted_is_zero", init=True, expect=lambda: np.zeros((), np.float32))
def _(tf):
    _, update = tf.metrics.precision(tf.constant([1, 0]), tf.constant([0, 0]))
    return update


@case("metrics_mean_squared_error", init=True, expect=lambda: np.float32(np.mean((X[0] - X[1]) ** 2)))
def _(tf):
    _, update = tf.metrics.mean_squared_error(tf.constant(X[0]), tf.constant(X[1]))
    return update


# ---------------------------------------------------------------- layers
@case("layers_dropout_not_training_is_identity", expect=lambda: X)
def _(tf):
    return tf.layers.dropout(tf.constant(X), rate=0.9)


def _check_identity_then_dropped(values):
    assert np.array_equal(values[0], X[0]), values[0]
    _check_dropout_half(values[1])


@case("layers_dropout_training_tensor", check=_check_identity_then_dropped)
def _(tf):
    training = tf.placeholder(tf.bool, [])
    not_training = tf.placeholder(tf.bool, [])
    x = tf.placeholder(tf.float32, [None, None])
    off = tf.layers.dropout(x, rate=0.5, training=not_training)
    on = tf.layers.dropout(tf.ones([40, 50]), rate=0.5, training=training)
    return [off, on], {training: True, not_training: False, x: X[0]}


@case("layers_flatten", expect=lambda: IMG.reshape(2, -1))
def _(tf):
    return tf.layers.flatten(tf.constant(IMG))


@case("layers_flatten_channels_first", expect=lambda: IMG.transpose(0, 2, 3, 1).reshape(2, -1))
def _(tf):
    return tf.layers.Flatten(data_format="channels_first")(tf.constant(IMG))


@case("layers_batch_normalization_inference", init=True, expect=lambda: X / np.sqrt(np.float32(1.001)), rtol=1e-5)
def _(tf):
    return tf.layers.batch_normalization(tf.constant(X), training=False)


@case("layers_batch_normalization_training", init=True, expect=lambda: (
    (X - X.mean((0, 1))) / np.sqrt(X.var((0, 1)) + np.float32(1e-3))).astype(np.float32), atol=2e-5)
def _(tf):
    return tf.layers.batch_normalization(tf.constant(X), training=True)



@case("xent_casts_float64_labels_to_the_logits_type", expect=lambda: np.float32([np.log(2)]), rtol=1e-5)
def _xent_float64_labels(tf):
    labels = tf.constant(np.float64([[1.0, 0.0]]))
    return tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=tf.constant([[0.0, 0.0]]))
