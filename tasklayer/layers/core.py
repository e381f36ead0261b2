"""``tf.layers`` core layers: ``dense`` and its class form ``Dense``.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, [None, 4])
...     h = tf.layers.dense(x, 8, activation=tf.nn.relu, name="hidden")
...     [v.name for v in tf.trainable_variables()], h.shape.as_list()
(['hidden/kernel:0', 'hidden/bias:0'], [None, 8])
"""

from tasklayer import initializers
from tasklayer.ops import array_ops, math_ops
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.variable_scope import AUTO_REUSE, get_variable, variable_scope

__all__ = ["Dense", "dense"]


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
