"""Cases of ``tf.contrib``: the contrib layers (fully_connected, conv2d, pooling, flatten, dropout, batch_norm on
each of its paths), regularizers, initializers, arg_scope and optimize_loss, each against numpy.

TensorFlow 2 has no ``tf.contrib``; ``bench/tf_reference.py`` runs these cases on TF-Slim instead (when it is
importable: ``pip install --target DIR tf-slim tf-keras`` and ``PYTHONPATH=DIR``), which carries TF 1.15's
contrib.layers and contrib.framework code."""

import sys
import types

import numpy as np

from tests.op_cases import case

RNG = np.random.default_rng(23)
X2 = np.float32([[1.0, -2.0], [3.0, 4.0]])
W2 = np.float32([[1.0, -1.0, 0.5], [2.0, 0.0, -1.0]])
IMG = RNG.uniform(-2, 2, (2, 4, 4, 2)).astype(np.float32)
KERNEL = RNG.uniform(-1, 1, (3, 3, 2, 3)).astype(np.float32)
BN_X = RNG.uniform(-2, 3, (4, 2, 2, 3)).astype(np.float32)
BN_EPS = 0.001


def contrib(tf):
    """``tf.contrib`` of ``tf``; for TensorFlow 2, which has none, TF-Slim's modules under the same names."""
    if hasattr(tf, "contrib"):
        return tf.contrib
    import tensorflow  # noqa: PLC0415 - only for bench/tf_reference.py, where TensorFlow is the peer
    from tensorflow.python.framework import ops  # noqa: PLC0415
    for name in ("Tensor", "IndexedSlices"):  # TF-Slim 1.1 still finds these in ops, whence TF 2.16+ moved them
        if not hasattr(ops, name):
            setattr(ops, name, getattr(tensorflow, name))
    import tf_keras.src.legacy_tf_layers.normalization as legacy_normalization  # noqa: PLC0415
    # TensorFlow's tf.layers.BatchNormalization loads tf_keras's legacy layer by a name tf-keras 2.21 lacks
    sys.modules.setdefault("tf_keras.legacy_tf_layers.normalization", legacy_normalization)
    import tf_slim  # noqa: PLC0415 - optional: the reference run's peer of tf.contrib
    from tf_slim.layers import initializers, optimizers, regularizers  # noqa: PLC0415
    names = {}
    for module in (tf_slim.layers, initializers, regularizers):
        names.update((n, getattr(module, n)) for n in dir(module) if not n.startswith("_"))
    layers = types.SimpleNamespace(**names, optimize_loss=optimizers.optimize_loss)
    return types.SimpleNamespace(layers=layers, framework=tf_slim, slim=tf_slim)


def const_init(tf, value):
    return tf.constant_initializer(np.asarray(value).ravel().tolist())


def relu(x):
    return np.maximum(x, 0)


def conv_same_ref(x, k):
    """A stride-1 SAME 2-D cross-correlation (NHWC, [kh, kw, in, out]) by its definition, float64."""
    kh, kw = k.shape[:2]
    pad = np.pad(x.astype(np.float64), [(0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)])
    out = np.zeros(x.shape[:3] + (k.shape[3],))
    for i in range(x.shape[1]):
        for j in range(x.shape[2]):
            out[:, i, j] = np.einsum("nhwc,hwco->no", pad[:, i:i + kh, j:j + kw], k)
    return out.astype(np.float32)


# ---------------------------------------------------------------- fully_connected and conv2d
@case("contrib_fully_connected_relu_by_default", init=True,
      expect=lambda: relu(X2 @ W2 + 0.5))
def _(tf):
    return contrib(tf).layers.fully_connected(tf.constant(X2), 3, weights_initializer=const_init(tf, W2),
                                              biases_initializer=tf.constant_initializer(0.5))


@case("contrib_fully_connected_rank3_no_activation_no_bias", init=True,
      expect=lambda: np.stack([X2, -X2]) @ W2)
def _(tf):
    return contrib(tf).layers.fully_connected(tf.constant(np.stack([X2, -X2])), 3, activation_fn=None,
                                              weights_initializer=const_init(tf, W2), biases_initializer=None)


@case("contrib_conv2d_same_stride1_relu_by_default", init=True, rtol=1e-4, atol=1e-5,
      expect=lambda: relu(conv_same_ref(IMG, KERNEL) + 0.25))
def _(tf):
    return contrib(tf).layers.conv2d(tf.constant(IMG), 3, [3, 3], weights_initializer=const_init(tf, KERNEL),
                                     biases_initializer=tf.constant_initializer(0.25))


@case("contrib_conv2d_valid_stride2_without_bias", init=True, rtol=1e-4, atol=1e-5,
      expect=lambda: conv_same_ref(IMG, KERNEL)[:, 1:3:2, 1:3:2])
def _(tf):
    return contrib(tf).layers.conv2d(tf.constant(IMG), 3, 3, stride=2, padding="VALID", activation_fn=None,
                                     weights_initializer=const_init(tf, KERNEL), biases_initializer=None)


@case("contrib_fully_connected_rejects_a_float_num_outputs", raises=(ValueError, "num_outputs type should be"))
def _(tf):
    return contrib(tf).layers.fully_connected(tf.zeros([2, 3]), 4.0)


@case("contrib_conv2d_rejects_an_unknown_data_format", raises=(ValueError, "Invalid data_format: 'NWHC'"))
def _(tf):
    return contrib(tf).layers.conv2d(tf.zeros([1, 4, 4, 1]), 2, 3, data_format="NWHC")


# ---------------------------------------------------------------- pooling, flatten, dropout
@case("contrib_max_pool2d_defaults_stride2_valid", expect=lambda: IMG.reshape(2, 2, 2, 2, 2, 2).max(axis=(2, 4)))
def _(tf):
    return contrib(tf).layers.max_pool2d(tf.constant(IMG), 2)


def _avg_pool_same_ref(x):
    """3x3 windows, stride 2, SAME on 4x4: TF pads one row and column after, and averages what the window holds."""
    return np.stack([np.stack([x[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3].mean(axis=(1, 2)) for j in range(2)], 1)
                     for i in range(2)], 1)


@case("contrib_avg_pool2d_same_counts_only_the_inputs", expect=lambda: _avg_pool_same_ref(IMG))
def _(tf):
    return contrib(tf).layers.avg_pool2d(tf.constant(IMG), [3, 3], stride=2, padding="SAME")


@case("contrib_max_pool2d_rejects_an_unknown_data_format",
      raises=(ValueError, "data_format has to be either NCHW or NHWC"))
def _(tf):
    return contrib(tf).layers.max_pool2d(tf.zeros([1, 4, 4, 1]), 2, data_format="NCWH")


@case("contrib_flatten_keeps_the_batch", expect=lambda: IMG.reshape(2, 32))
def _(tf):
    return contrib(tf).layers.flatten(tf.constant(IMG))


@case("contrib_dropout_outside_training_is_the_identity", expect=lambda: IMG)
def _(tf):
    return contrib(tf).layers.dropout(tf.constant(IMG), keep_prob=0.3, is_training=False)


def _dropped_by_quarter(values):
    values = np.asarray(values).ravel()
    assert set(np.unique(values)) <= {0.0, 4.0}, np.unique(values)
    assert 0.15 < (values == 4.0).mean() < 0.35  # keep_prob 0.25 of 4000 units


@case("contrib_dropout_keeps_keep_prob_and_scales", check=_dropped_by_quarter)
def _(tf):
    return contrib(tf).layers.dropout(tf.ones([4000]), keep_prob=0.25)


# ---------------------------------------------------------------- batch_norm
def _bn_ref(x, axes, decay, bessel, beta=0.0, gamma=1.0):
    """Output, moving mean and moving variance after one training step from (0, 1)."""
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    n = x.size / mean.size
    shape = [1] * x.ndim
    channel = [a for a in range(x.ndim) if a not in axes][0]
    shape[channel] = -1
    out = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + BN_EPS) * gamma + beta
    moved_var = var * n / (n - 1) if bessel else var
    return [out.astype(np.float32), np.float32((1 - decay) * mean),
            np.float32(decay + (1 - decay) * moved_var)]


def _moving(tf, *after):
    """The moving statistics of the graph's batch_norm, read after ``after`` ran."""
    moving = {v.op.name.rsplit("/", 1)[-1]: v for v in tf.global_variables()}
    with tf.control_dependencies(after):
        return [tf.identity(moving["moving_mean"]), tf.identity(moving["moving_variance"])]


@case("contrib_batch_norm_4d_default_collection_the_layer_path", init=True, rtol=1e-4, atol=1e-5,
      expect=lambda: _bn_ref(BN_X, (0, 1, 2), 0.5, bessel=True))
def _(tf):
    out = contrib(tf).layers.batch_norm(tf.constant(BN_X), decay=0.5)
    return [out] + _moving(tf, out, *tf.get_collection(tf.GraphKeys.UPDATE_OPS))


@case("contrib_batch_norm_2d_updates_in_place_the_fused_path", init=True, rtol=1e-4, atol=1e-5,
      expect=lambda: _bn_ref(BN_X.reshape(-1, 3), (0,), 0.9, bessel=True))
def _(tf):
    out = contrib(tf).layers.batch_norm(tf.constant(BN_X.reshape(-1, 3)), decay=0.9, updates_collections=None)
    return [out] + _moving(tf, out)


@case("contrib_batch_norm_nchw_not_fused_the_moments_path", init=True, rtol=1e-4, atol=1e-5,
      expect=lambda: _bn_ref(BN_X, (0, 2, 3), 0.5, bessel=False, beta=1.0, gamma=2.0))
def _(tf):
    out = contrib(tf).layers.batch_norm(
        tf.constant(BN_X), decay=0.5, scale=True, fused=False, updates_collections=None, data_format="NCHW",
        param_initializers={"beta": tf.constant_initializer(1.0), "gamma": tf.constant_initializer(2.0)})
    return [out] + _moving(tf, out)


@case("contrib_batch_norm_outside_training_uses_the_moving_statistics", init=True, rtol=1e-5,
      expect=lambda: BN_X / np.sqrt(np.float32(1 + BN_EPS)))
def _(tf):
    return contrib(tf).layers.batch_norm(tf.constant(BN_X), is_training=False)


# ---------------------------------------------------------------- regularizers
W_REG = np.float32([[1.0, -2.0], [3.0, 0.5]])


@case("contrib_l1_l2_and_sum_regularizers",
      expect=lambda: [np.float32(0.1 * 6.5), np.float32(0.2 * 14.25 / 2), np.float32(0.1 * 6.5 + 0.2 * 14.25 / 2)])
def _(tf):
    layers, w = contrib(tf).layers, tf.constant(W_REG)
    return [layers.l1_regularizer(0.1)(w), layers.l2_regularizer(0.2)(w), layers.l1_l2_regularizer(0.1, 0.2)(w)]


@case("contrib_apply_regularization_sums_over_the_weights", expect=lambda: np.float32(0.5 * (14.25 + 4.0) / 2))
def _(tf):
    layers = contrib(tf).layers
    return layers.apply_regularization(layers.l2_regularizer(0.5), [tf.constant(W_REG), tf.constant([2.0])])


@case("contrib_weights_regularizer_adds_a_regularization_loss", init=True,
      expect=lambda: [np.float32(0.01 * (W2 ** 2).sum() / 2)])
def _(tf):
    contrib(tf).layers.fully_connected(tf.constant(X2), 3, weights_initializer=const_init(tf, W2),
                                       weights_regularizer=contrib(tf).layers.l2_regularizer(0.01))
    return tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)


@case("contrib_l2_regularizer_rejects_an_integer_scale", raises=(ValueError, "scale cannot be an integer: 1"))
def _(tf):
    return contrib(tf).layers.l2_regularizer(1)


@case("contrib_l1_regularizer_rejects_a_negative_scale",
      raises=(ValueError, "Setting a scale less than 0 on a regularizer: -0.5"))
def _(tf):
    return contrib(tf).layers.l1_regularizer(-0.5)


# ---------------------------------------------------------------- initializers
def _xavier_check(w):
    limit = np.sqrt(6.0 / (300 + 200))
    assert w.shape == (300, 200) and np.abs(w).max() <= limit
    assert abs(w.var() / (limit ** 2 / 3) - 1) < 0.05  # the variance of U(-limit, limit)


@case("contrib_xavier_initializer_is_glorot_uniform", check=_xavier_check)
def _(tf):
    return contrib(tf).layers.xavier_initializer()([300, 200])


def _he_check(w):
    stddev = np.sqrt(1.3 * 2.0 / (3 * 3 * 40))  # contrib's truncated normal: 1.3 * factor / fan_in
    assert np.abs(w).max() <= 2 * stddev + 1e-6
    assert abs(w.var() * (3 * 3 * 40) / 2.0 - 1) < 0.05  # the truncation leaves the variance factor / n


@case("contrib_variance_scaling_initializer_default_is_he_truncated", check=_he_check)
def _(tf):
    return contrib(tf).layers.variance_scaling_initializer()([3, 3, 40, 100])


@case("contrib_variance_scaling_initializer_rejects_an_unknown_mode", raises=(TypeError, "Unknown mode FAN_SUM"))
def _(tf):
    return contrib(tf).layers.variance_scaling_initializer(mode="FAN_SUM")


# ---------------------------------------------------------------- arg_scope and optimize_loss
@case("contrib_arg_scope_sets_defaults_and_calls_override_them", init=True,
      expect=lambda: [X2 @ W2, relu(X2 @ W2)])
def _(tf):
    c = contrib(tf)
    with c.framework.arg_scope([c.layers.fully_connected], activation_fn=None, biases_initializer=None):
        with c.framework.arg_scope([c.layers.fully_connected], weights_initializer=const_init(tf, W2)):
            linear = c.layers.fully_connected(tf.constant(X2), 3)
            rectified = c.layers.fully_connected(tf.constant(X2), 3, activation_fn=tf.nn.relu)
    return [linear, rectified]


@case("contrib_arg_scope_rejects_an_undecorated_function",
      raises=(ValueError, "is not decorated with @add_arg_scope"))
def _(tf):
    with contrib(tf).framework.arg_scope([tf.nn.relu], name="r"):
        return tf.constant(1.0)


@case("contrib_optimize_loss_returns_the_loss_and_steps", init=True,
      expect=lambda: [np.float32(9.0), np.float32(3.0 - 0.25 * 6.0), np.int64(1)])
def _(tf):
    w = tf.Variable(3.0, name="w")
    step = tf.train.get_or_create_global_step()
    train = contrib(tf).layers.optimize_loss(tf.square(w), step, learning_rate=0.25, optimizer="SGD")
    with tf.control_dependencies([train]):
        return [train, tf.identity(w), tf.identity(step)]
