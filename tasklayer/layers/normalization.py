"""``tf.layers`` batch normalization: ``batch_normalization`` and its class form ``BatchNormalization``.

In training the layer normalizes by the batch's statistics and adds two ops to ``tf.GraphKeys.UPDATE_OPS``
that move ``moving_mean``/``moving_variance`` towards them (``var -= (var - batch_value) * (1 - momentum)``);
TF1 programs run them with ``tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS))``. Outside
training it normalizes by the moving statistics and updates nothing.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     y = tf.layers.batch_normalization(tf.placeholder(tf.float32, [None, 3]), training=True)
...     [v.name for v in tf.global_variables()], len(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
(['batch_normalization/gamma:0', 'batch_normalization/beta:0', 'batch_normalization/moving_mean:0', \
'batch_normalization/moving_variance:0'], 2)
"""

from tasklayer import dtypes, initializers
from tasklayer.graph import GraphKeys, add_to_collection, colocate_with, name_scope
from tasklayer.layers.core import static_training
from tasklayer.ops import array_ops, math_ops, nn_impl
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.variable_scope import AUTO_REUSE, get_variable, variable_scope

__all__ = ["BatchNormalization", "batch_normalization"]


class BatchNormalization:
    """Batch normalization over ``axis`` (the channel axis, default last): ``gamma * (x - mean) /
    sqrt(variance + epsilon) + beta`` with the batch's statistics in training and the moving ones otherwise.
    Variables ``gamma``, ``beta`` (trainable), ``moving_mean``, ``moving_variance`` are made under the scope
    ``name`` on the first call. ``fused=None`` uses TF's fused kernel's arithmetic for 4-D inputs with the
    channel axis 1 or 3, whose moving variance takes the Bessel-corrected batch variance, as TF's does.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     layer = tf.layers.BatchNormalization(momentum=0.9, name="bn")
    ...     y = layer(tf.zeros([4, 2]), training=True)
    ...     layer.moving_mean.name, [t.op.name for t in layer.updates]
    ('bn/moving_mean:0', ['bn/AssignMovingAvg', 'bn/AssignMovingAvg_1'])
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer=None, gamma_initializer=None, moving_mean_initializer=None,
                 moving_variance_initializer=None, beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, fused=None, trainable=True, virtual_batch_size=None, adjustment=None,
                 name=None, _reuse=None, **kwargs):
        for arg, value in (("renorm", renorm), ("virtual_batch_size", virtual_batch_size),
                           ("adjustment", adjustment)):
            if value:
                raise NotImplementedError(f"batch_normalization: {arg} is not supported")
        self.axis = axis
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale, self.fused, self.trainable = center, scale, fused, trainable
        self.beta_initializer = beta_initializer or initializers.zeros()
        self.gamma_initializer = gamma_initializer or initializers.ones()
        self.moving_mean_initializer = moving_mean_initializer or initializers.zeros()
        self.moving_variance_initializer = moving_variance_initializer or initializers.ones()
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self._name, self._reuse, self._scope = name, _reuse, None
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None
        self.updates = []

    @property
    def name(self):
        """The layer's name: its variable scope's last part once built, else the name given."""
        if self._scope is not None:
            return self._scope.name.rsplit("/", 1)[-1]
        return self._name or "batch_normalization"

    @property
    def built(self):
        """Whether the variables exist (after the first call)."""
        return self._scope is not None

    @property
    def variables(self):
        """``[gamma, beta, moving_mean, moving_variance]`` (those that exist)."""
        return [v for v in (self.gamma, self.beta, self.moving_mean, self.moving_variance) if v is not None]

    @property
    def trainable_variables(self):
        """``[gamma, beta]`` (those that exist) unless ``trainable=False``."""
        return [v for v in (self.gamma, self.beta) if v is not None] if self.trainable else []

    @property
    def non_trainable_variables(self):
        """The moving statistics (and gamma/beta with ``trainable=False``)."""
        return [v for v in self.variables if v not in self.trainable_variables]

    weights, trainable_weights, non_trainable_weights = variables, trainable_variables, non_trainable_variables

    def __call__(self, inputs, training=False):
        """``inputs`` normalized; in training (a Python bool or a bool tensor) also the moving-average updates."""
        x = convert_to_tensor(inputs, name="inputs")
        rank = x.shape.ndims
        if rank is None:
            raise ValueError(f"Input has undefined rank: {x.shape}")
        axis = self._axis(rank)
        channels = x.shape.as_list()[axis]
        if channels is None:
            raise ValueError(f"Input has undefined `axis` dimension. Received input with shape {x.shape}. "
                             f"Axis value: {self.axis}")
        self._use_fused(rank, axis)  # fused=True on an input it cannot take fails now, as in TF
        if self._scope is None:
            reuse = AUTO_REUSE if self._reuse is AUTO_REUSE else (True if self._reuse else None)
            with variable_scope(self._name, default_name="batch_normalization", reuse=reuse) as scope:
                self._build(channels, x.dtype)
                self._scope = scope
                return self._call(x, axis, training)
        with variable_scope(self._scope, reuse=True):
            return self._call(x, axis, training)

    apply = __call__

    def _axis(self, rank):
        axis = self.axis
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise NotImplementedError("batch_normalization: only one axis is supported")
            axis = axis[0]
        if not -rank <= int(axis) < rank:
            raise ValueError(f"Invalid axis: {axis}")
        return int(axis) % rank

    def _build(self, channels, dtype):
        # float16 inputs keep float32 statistics and parameters, as TF's layer does.
        param_dtype = dtypes.float32 if dtype in (dtypes.float16, dtypes.bfloat16) else dtype
        if self.scale:
            self.gamma = get_variable("gamma", [channels], dtype=param_dtype, initializer=self.gamma_initializer,
                                      regularizer=self.gamma_regularizer, trainable=self.trainable)
        if self.center:
            self.beta = get_variable("beta", [channels], dtype=param_dtype, initializer=self.beta_initializer,
                                     regularizer=self.beta_regularizer, trainable=self.trainable)
        self.moving_mean = get_variable("moving_mean", [channels], dtype=param_dtype,
                                        initializer=self.moving_mean_initializer, trainable=False)
        self.moving_variance = get_variable("moving_variance", [channels], dtype=param_dtype,
                                            initializer=self.moving_variance_initializer, trainable=False)

    def _use_fused(self, rank, axis):
        possible = rank == 4 and axis in (1, 3)
        if self.fused and not possible:
            raise ValueError(f"Unsupported axis, fused batch norm only supports axis == [1] or axis == [3] of "
                             f"4-D inputs, got axis {self.axis} of a rank-{rank} input")
        return possible if self.fused is None else bool(self.fused)

    def _call(self, x, axis, training):
        rank = x.shape.ndims
        training = static_training(training)
        reduction_axes = [i for i in range(rank) if i != axis]
        per_channel = [1] * rank
        per_channel[axis] = -1

        def broadcast(v):
            if v is None or axis == rank - 1:
                return v
            return array_ops.reshape(v, per_channel)

        def cast(v):
            return v if v is None or v.dtype == x.dtype else math_ops.cast(v, x.dtype)

        def normalize(mean, variance):
            return nn_impl.batch_normalization(x, broadcast(cast(mean)), broadcast(cast(variance)),
                                               broadcast(cast(self.beta)), broadcast(cast(self.gamma)), self.epsilon)

        if training is False:
            return normalize(self.moving_mean, self.moving_variance)
        param_dtype = self.moving_mean.dtype
        if self._use_fused(rank, axis):
            # The fused kernel's arithmetic: its batch variance (for the moving average) is Bessel-corrected.
            data_format = "NCHW" if axis == 1 else "NHWC"
            ones = array_ops.ones([x.shape.as_list()[axis]], dtype=param_dtype)
            gamma = self.gamma if self.gamma is not None else ones
            beta = self.beta if self.beta is not None else array_ops.zeros_like(ones)
            out, mean, variance = nn_impl.fused_batch_norm(x, gamma, beta, epsilon=self.epsilon,
                                                           data_format=data_format, is_training=True)
            if training is not True:
                inference, _, _ = nn_impl.fused_batch_norm(x, gamma, beta, mean=self.moving_mean,
                                                           variance=self.moving_variance, epsilon=self.epsilon,
                                                           data_format=data_format, is_training=False)
                out = array_ops.where(training, out, inference)
        else:
            mean, variance = nn_impl.moments(_as(x, param_dtype), reduction_axes)
            if training is not True:
                # No tf.cond yet: a Select between the batch and the moving statistics gives TF's cond's values.
                mean = array_ops.where(training, mean, self.moving_mean)
                variance = array_ops.where(training, variance, self.moving_variance)
            out = normalize(mean, variance)
        self.updates = [self._assign_moving_average(self.moving_mean, mean, training),
                        self._assign_moving_average(self.moving_variance, variance, training)]
        for update in self.updates:
            add_to_collection(GraphKeys.UPDATE_OPS, update)
        return out

    def _assign_moving_average(self, variable, value, training):
        """``variable -= (variable - value) * (1 - momentum)``; with a bool tensor ``training`` the step is
        zeroed outside training (a Select standing in for TF's cond: the same values)."""
        with name_scope(None, "AssignMovingAvg", [variable, value]) as scope:
            with colocate_with(variable):
                decay = convert_to_tensor(1.0 - self.momentum, dtype=variable.dtype, name="decay")
                delta = (variable - _as(value, variable.dtype)) * decay
                if training is not True:
                    delta = array_ops.where(training, delta, array_ops.zeros_like(delta))
                return variable.assign_sub(delta, name=scope)


def _as(t, dtype):
    return t if t.dtype == dtype else math_ops.cast(t, dtype)


def batch_normalization(inputs, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                        beta_initializer=None, gamma_initializer=None, moving_mean_initializer=None,
                        moving_variance_initializer=None, beta_regularizer=None, gamma_regularizer=None,
                        beta_constraint=None, gamma_constraint=None, training=False, trainable=True, name=None,
                        reuse=None, renorm=False, renorm_clipping=None, renorm_momentum=0.99, fused=None,
                        virtual_batch_size=None, adjustment=None):
    """``inputs`` batch-normalized over ``axis`` by a ``BatchNormalization`` layer applied once (with ``reuse``
    it takes the variables of the scope ``name`` made before); in training the moving-average updates go to
    ``tf.GraphKeys.UPDATE_OPS``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     x = tf.constant([[1.0], [3.0]])
    ...     y = tf.layers.batch_normalization(x, training=True, epsilon=0.0)
    ...     sess.run(tf.global_variables_initializer())
    ...     [round(v, 3) for v in sess.run(y).ravel().tolist()]
    [-1.0, 1.0]
    """
    layer = BatchNormalization(axis=axis, momentum=momentum, epsilon=epsilon, center=center, scale=scale,
                               beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
                               moving_mean_initializer=moving_mean_initializer,
                               moving_variance_initializer=moving_variance_initializer,
                               beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                               renorm=renorm, fused=fused, trainable=trainable, virtual_batch_size=virtual_batch_size,
                               adjustment=adjustment, name=name, _reuse=reuse)
    return layer(inputs, training=training)
