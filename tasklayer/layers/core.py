"""``tf.layers`` core layers: ``dense``, ``dropout`` and ``flatten`` and their class forms.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     images = tf.placeholder(tf.float32, [None, 2, 3])
...     logits = tf.layers.dense(tf.layers.flatten(images), 4, name="logits")
...     [v.shape.as_list() for v in tf.trainable_variables()], logits.shape.as_list()
([[6, 4], [4]], [None, 4])
"""

import numpy as np

from tasklayer import dtypes, initializers
from tasklayer.graph import Tensor
from tasklayer.layers.base import Layer
from tasklayer.ops import array_ops, math_ops, nn_extra_ops, nn_impl, static_value
from tasklayer.layers.utils import smart_cond

__all__ = ["Dense", "dense", "Dropout", "dropout", "Flatten", "flatten", "static_training", "apply_kernel"]


class Dense(Layer):
    """A densely connected layer, ``activation(inputs @ kernel + bias)`` over the last axis of ``inputs``; its
    variables ``kernel`` [in, units] (glorot_uniform by default) and ``bias`` [units] (zeros) are made under the
    scope ``name`` (default ``dense``, ``dense_1``, ...) on the first call and shared by later calls.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     layer = tf.layers.Dense(3, name="out")
    ...     y = layer(tf.zeros([2, 4]))
    ...     y2 = layer(tf.ones([5, 7, 4]))  # same variables, applied to the last axis
    ...     layer.kernel.name, layer.bias.name, y2.shape.as_list(), len(tf.trainable_variables())
    ('out/kernel:0', 'out/bias:0', [5, 7, 3], 2)
    """

    default_name = "dense"

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer=None, bias_initializer=None,
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, trainable=True, name=None, _reuse=None, **kwargs):
        super().__init__(trainable=trainable, name=name, _reuse=_reuse, **kwargs)
        self.units = int(units)
        if self.units <= 0:
            raise ValueError(f"dense: units must be positive, got {units}")
        self.activation, self.use_bias = activation, use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel = self.bias = None

    def _check_input(self, x):
        in_dim = _last_dim(x)
        if self.kernel is not None and in_dim != self.kernel.shape.as_list()[0]:
            raise ValueError(f"Input 0 of layer {self.name} is incompatible with the layer: expected axis -1 of "
                             f"input shape to have value {self.kernel.shape.as_list()[0]} but received input with "
                             f"shape {x.shape}")

    def build(self, input_shape):
        """Make ``kernel`` [in, units] and (with ``use_bias``) ``bias`` [units]."""
        self.kernel = self.add_weight("kernel", [input_shape.as_list()[-1], self.units],
                                      initializer=self.kernel_initializer or initializers.glorot_uniform(),
                                      regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", [self.units], initializer=self.bias_initializer or initializers.zeros(),
                                        regularizer=self.bias_regularizer)

    def call(self, x):
        """``activation(x @ kernel + bias)`` over the last axis of ``x``."""
        out = apply_kernel(x, self.kernel)
        if self.bias is not None:
            out = nn_extra_ops.bias_add(out, self.bias)  # TF1's Dense: a BiasAdd op (its node names match TF's)
        return self.activation(out) if self.activation is not None else out


def _last_dim(x):
    rank = x.shape.ndims
    if rank is not None and rank < 2:
        raise ValueError(f"dense: inputs must have rank at least 2 ([batch, ..., features]), got shape {x.shape}")
    in_dim = None if rank is None else x.shape.as_list()[-1]
    if in_dim is None:
        raise ValueError("dense: the last dimension of the inputs should be defined. Found `None`.")
    return in_dim


def apply_kernel(x, kernel):
    """``x @ kernel`` over the last axis of ``x`` (TF1's tensordot for rank > 2)."""
    if x.shape.ndims == 2:
        return math_ops.matmul(x, kernel)
    in_dim, units = kernel.shape.as_list()
    lead = x.shape.as_list()[:-1]
    # Fold the leading axes into one so that a MatMul (and its gradient rule) does the work, then unfold.
    out = math_ops.matmul(array_ops.reshape(x, [-1, in_dim]), kernel)
    out_shape = lead + [units] if None not in lead else array_ops.concat([array_ops.shape(x)[:-1], [units]], 0)
    out = array_ops.reshape(out, out_shape)
    out.set_shape(lead + [units])
    return out


def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None, bias_initializer=None,
          kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
          bias_constraint=None, trainable=True, name=None, reuse=None):
    """``activation(inputs @ kernel + bias)`` over the last axis of ``inputs``: a ``Dense`` layer applied once;
    with ``reuse`` it takes the variables of the scope ``name`` made before."""
    layer = Dense(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                  bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                  bias_regularizer=bias_regularizer, trainable=trainable, name=name, _reuse=reuse)
    return layer(inputs)


# ---------------------------------------------------------------- dropout
def static_training(training):
    """A layer's ``training`` argument as True/False when known while building, else the bool Tensor."""
    if training is None:
        return False  # TF1's learning phase defaults to inference
    if isinstance(training, Tensor):
        if training.dtype != dtypes.bool_:
            raise TypeError(f"training must be a Python bool or a bool tensor, got a {training.dtype.name} tensor")
        known = static_value.constant_value(training)
        return training if known is None else bool(known)
    return bool(training)


class Dropout(Layer):
    """Dropout as a layer: in training, each input unit is set to 0 with probability ``rate`` and the others
    scaled by ``1 / (1 - rate)``; otherwise the inputs pass unchanged. ``training`` may be a bool tensor. Its
    ops go under its scope (``dropout``, ``dropout_1``, ...), named on the first call, as every layer's.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     layer = tf.layers.Dropout(rate=0.5)
    ...     sess.run(layer(tf.ones([2, 2]), training=False)).tolist(), layer.name
    ([[1.0, 1.0], [1.0, 1.0]], 'dropout')
    """

    default_name = "dropout"

    def __init__(self, rate=0.5, noise_shape=None, seed=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed

    def _noise_shape(self, x):
        if self.noise_shape is None:
            return None
        dims = array_ops.shape(x)
        return [dims[i] if d is None else d for i, d in enumerate(self.noise_shape)]

    def call(self, x, training=False):
        """``x`` with dropout applied when ``training`` (a Python bool or a bool tensor)."""
        training = static_training(training)
        if training is False:
            return array_ops.identity(x)

        def dropped():
            return nn_impl.dropout(x, noise_shape=self._noise_shape(x), seed=self.seed, rate=self.rate)
        # TF's smart_cond: a known ``training`` picks the branch now; a tensor builds a tf.cond, so the mask is
        # drawn only in steps that train.
        return smart_cond(training, dropped, lambda: array_ops.identity(x))


def dropout(inputs, rate=0.5, noise_shape=None, seed=None, training=False, name=None):
    """``inputs`` with dropout applied (units zeroed with probability ``rate``, the rest scaled by
    ``1 / (1 - rate)``) when ``training``, a Python bool or a bool tensor; unchanged otherwise.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     is_training = tf.placeholder(tf.bool, [])
    ...     y = tf.layers.dropout(tf.ones([1, 4]), rate=0.5, training=is_training)
    ...     sess.run(y, {is_training: False}).tolist(), set(sess.run(y, {is_training: True}).ravel()) <= {0.0, 2.0}
    ([[1.0, 1.0, 1.0, 1.0]], True)
    """
    return Dropout(rate, noise_shape=noise_shape, seed=seed, name=name)(inputs, training=training)


# ---------------------------------------------------------------- flatten
class Flatten(Layer):
    """Flattens every axis but the first: ``[batch, d1, d2, ...]`` becomes ``[batch, d1 * d2 * ...]``
    (``data_format="channels_first"`` moves the channels last first, as TF does).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.layers.Flatten()(tf.placeholder(tf.float32, [None, 3, 4])).shape.as_list()
    [None, 12]
    """

    default_name = "flatten"

    def __init__(self, data_format="channels_last", name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f'The `data_format` argument must be one of "channels_first", "channels_last". '
                             f"Received: {data_format}")
        self.data_format = data_format

    def _check_input(self, x):
        rank = x.shape.ndims
        if rank is not None and rank < 1:
            raise ValueError(f"Input 0 of layer {self.name} is incompatible with the layer: expected "
                             f"min_ndim=1, found ndim={rank}. Full shape received: {x.shape}")

    def call(self, x):
        """``x`` reshaped to ``[batch, -1]``."""
        rank = x.shape.ndims
        if self.data_format == "channels_first" and rank is not None and rank > 2:
            x = array_ops.transpose(x, [0] + list(range(2, rank)) + [1])
        if rank == 1:
            return array_ops.expand_dims(x, 1)
        dims = x.shape.as_list() if rank is not None else None
        batch = dims[0] if dims else None
        out = array_ops.reshape(x, [batch if batch is not None else array_ops.shape(x)[0], -1])
        if dims is not None:
            rest = dims[1:]
            out.set_shape([batch, int(np.prod(rest)) if None not in rest else None])
        return out


def flatten(inputs, name=None, data_format="channels_last"):
    """``inputs`` with every axis but the first folded into one (``[batch, -1]``).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.layers.flatten(tf.ones([2, 2, 3]))).shape
    (2, 6)
    """
    return Flatten(data_format=data_format, name=name)(inputs)
