"""``tf.layers`` core layers: ``dense``, ``dropout`` and ``flatten`` and their class forms.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, [None, 4])
...     h = tf.layers.dense(x, 8, activation=tf.nn.relu, name="hidden")
...     [v.name for v in tf.trainable_variables()], h.shape.as_list()
(['hidden/kernel:0', 'hidden/bias:0'], [None, 8])
"""

import numpy as np

from tasklayer import dtypes, initializers
from tasklayer.graph import Tensor
from tasklayer.ops import array_ops, math_ops, nn_impl, static_value
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.variable_scope import AUTO_REUSE, get_variable, variable_scope

__all__ = ["Dense", "dense", "Dropout", "dropout", "Flatten", "flatten", "static_training"]


class Dense:
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

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer=None, bias_initializer=None,
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, trainable=True, name=None, _reuse=None, **kwargs):
        self.units = int(units)
        if self.units <= 0:
            raise ValueError(f"dense: units must be positive, got {units}")
        self.activation, self.use_bias, self.trainable = activation, use_bias, trainable
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self._name, self._reuse, self._scope = name, _reuse, None
        self.kernel = self.bias = None

    @property
    def name(self):
        """The layer's name: its variable scope's last part once built (``dense_1``), else the name given."""
        if self._scope is not None:
            return self._scope.name.rsplit("/", 1)[-1]
        return self._name or "dense"

    @property
    def built(self):
        """Whether the variables exist (after the first call)."""
        return self._scope is not None

    @property
    def variables(self):
        """``[kernel, bias]`` (bias only with ``use_bias``); empty before the first call."""
        return [v for v in (self.kernel, self.bias) if v is not None]

    @property
    def trainable_variables(self):
        """The variables an optimizer updates: all of them unless ``trainable=False``."""
        return self.variables if self.trainable else []

    weights, trainable_weights = variables, trainable_variables  # the Keras names TF1 layers also answer to

    def __call__(self, inputs):
        """The layer applied to ``inputs`` (rank >= 2, last dimension known)."""
        x = convert_to_tensor(inputs, name="inputs")
        in_dim = _last_dim(x)
        if self._scope is None:
            reuse = AUTO_REUSE if self._reuse is AUTO_REUSE else (True if self._reuse else None)
            with variable_scope(self._name, default_name="dense", reuse=reuse) as scope:
                self._build(in_dim, x.dtype)
                self._scope = scope
                return self._call(x)
        if in_dim != self.kernel.shape.as_list()[0]:
            raise ValueError(f"Input 0 of layer {self.name} is incompatible with the layer: expected axis -1 of "
                             f"input shape to have value {self.kernel.shape.as_list()[0]} but received input with "
                             f"shape {x.shape}")
        with variable_scope(self._scope, reuse=True):
            return self._call(x)

    apply = __call__  # TF1's Layer.apply

    def _build(self, in_dim, dtype):
        self.kernel = get_variable("kernel", [in_dim, self.units], dtype=dtype,
                                   initializer=self.kernel_initializer or initializers.glorot_uniform(),
                                   regularizer=self.kernel_regularizer, trainable=self.trainable)
        if self.use_bias:
            self.bias = get_variable("bias", [self.units], dtype=dtype,
                                     initializer=self.bias_initializer or initializers.zeros(),
                                     regularizer=self.bias_regularizer, trainable=self.trainable)

    def _call(self, x):
        out = _apply_kernel(x, self.kernel)
        if self.bias is not None:
            out = out + self.bias
        return self.activation(out) if self.activation is not None else out


def _last_dim(x):
    rank = x.shape.ndims
    if rank is not None and rank < 2:
        raise ValueError(f"dense: inputs must have rank at least 2 ([batch, ..., features]), got shape {x.shape}")
    in_dim = None if rank is None else x.shape.as_list()[-1]
    if in_dim is None:
        raise ValueError("dense: the last dimension of the inputs should be defined. Found `None`.")
    return in_dim


def _apply_kernel(x, kernel):
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


class Dropout:
    """Dropout as a layer: in training, each input unit is set to 0 with probability ``rate`` and the others
    scaled by ``1 / (1 - rate)``; otherwise the inputs pass unchanged. ``training`` may be a bool tensor.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     layer = tf.layers.Dropout(rate=0.5)
    ...     sess.run(layer(tf.ones([2, 2]), training=False)).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """

    def __init__(self, rate=0.5, noise_shape=None, seed=None, name=None, **kwargs):
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed
        self._name = name
        self.name = name or "dropout"

    def _noise_shape(self, x):
        if self.noise_shape is None:
            return None
        dims = array_ops.shape(x)
        return [dims[i] if d is None else d for i, d in enumerate(self.noise_shape)]

    def __call__(self, inputs, training=False):
        """``inputs`` with dropout applied when ``training`` (a Python bool or a bool tensor)."""
        with variable_scope(self._name, default_name="dropout") as scope:
            self.name = scope.name.rsplit("/", 1)[-1]
            x = convert_to_tensor(inputs, name="inputs")
            training = static_training(training)
            if training is False:
                return array_ops.identity(x)
            dropped = nn_impl.dropout(x, noise_shape=self._noise_shape(x), seed=self.seed, rate=self.rate)
            if training is True:
                return dropped
            # No tf.cond yet: both branches are built and a Select picks one (same values as TF's cond).
            return array_ops.where(training, dropped, x)

    apply = __call__


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
class Flatten:
    """Flattens every axis but the first: ``[batch, d1, d2, ...]`` becomes ``[batch, d1 * d2 * ...]``
    (``data_format="channels_first"`` moves the channels last first, as TF does).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.layers.Flatten()(tf.placeholder(tf.float32, [None, 3, 4])).shape.as_list()
    [None, 12]
    """

    def __init__(self, data_format="channels_last", name=None, **kwargs):
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f'The `data_format` argument must be one of "channels_first", "channels_last". '
                             f"Received: {data_format}")
        self.data_format = data_format
        self._name = name
        self.name = name or "flatten"

    def __call__(self, inputs):
        """``inputs`` reshaped to ``[batch, -1]``."""
        with variable_scope(self._name, default_name="flatten") as scope:
            self.name = scope.name.rsplit("/", 1)[-1]
            x = convert_to_tensor(inputs, name="inputs")
            rank = x.shape.ndims
            if rank is not None and rank < 1:
                raise ValueError(f"Input 0 of layer {self.name} is incompatible with the layer: expected "
                                 f"min_ndim=1, found ndim={rank}. Full shape received: {x.shape}")
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

    apply = __call__


def flatten(inputs, name=None, data_format="channels_last"):
    """``inputs`` with every axis but the first folded into one (``[batch, -1]``).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.layers.flatten(tf.ones([2, 2, 3]))).shape
    (2, 6)
    """
    return Flatten(data_format=data_format, name=name)(inputs)
