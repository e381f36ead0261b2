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
from tasklayer.layers.base import Layer
from tasklayer.layers.core import static_training
from tasklayer.ops import array_ops, math_ops, nn_impl
from tasklayer.layers.utils import smart_cond
from tasklayer.ops.constant_op import convert_to_tensor

__all__ = ["BatchNormalization", "batch_normalization"]


class BatchNormalization(Layer):
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

    default_name = "batch_normalization"

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
        super().__init__(trainable=trainable, name=name, _reuse=_reuse, **kwargs)
        self.axis = axis
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale, self.fused = center, scale, fused
        self.beta_initializer = beta_initializer or initializers.zeros()
        self.gamma_initializer = gamma_initializer or initializers.ones()
        self.moving_mean_initializer = moving_mean_initializer or initializers.zeros()
        self.moving_variance_initializer = moving_variance_initializer or initializers.ones()
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None
        self.updates = []

    def _check_input(self, x):
        rank = x.shape.ndims
        if rank is None:
            raise ValueError(f"Input has undefined rank: {x.shape}")
        axis = self._axis(rank)
        channels = x.shape.as_list()[axis]
        if channels is None:
            raise ValueError(f"Input has undefined `axis` dimension. Received input with shape {x.shape}. "
                             f"Axis value: {self.axis}")
        self._use_fused(rank, axis)  # fused=True on an input it cannot take fails now, as in TF

    def build(self, input_shape):
        """Make ``gamma``, ``beta`` and the moving statistics, one value per channel."""
        self._build(input_shape.as_list()[self._axis(input_shape.ndims)], self.dtype)

    def call(self, x, training=False):
        """``x`` normalized; in training (a Python bool or a bool tensor) also the moving-average updates."""
        return self._call(x, self._axis(x.shape.ndims), training)

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
            self.gamma = self.add_weight("gamma", [channels], dtype=param_dtype, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer)
        if self.center:
            self.beta = self.add_weight("beta", [channels], dtype=param_dtype, initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer)
        self.moving_mean = self.add_weight("moving_mean", [channels], dtype=param_dtype,
                                           initializer=self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", [channels], dtype=param_dtype,
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

            def train():
                return tuple(nn_impl.fused_batch_norm(x, gamma, beta, epsilon=self.epsilon, data_format=data_format,
                                                      is_training=True))

            def infer():
                out, _, _ = nn_impl.fused_batch_norm(x, gamma, beta, mean=self.moving_mean,
                                                     variance=self.moving_variance, epsilon=self.epsilon,
                                                     data_format=data_format, is_training=False)
                return out, self.moving_mean, self.moving_variance
            # TF's smart_cond: a tensor ``training`` builds a tf.cond, so only one of the two kernels runs.
            out, mean, variance = smart_cond(training, train, infer)
        else:
            batch_mean, batch_variance = nn_impl.moments(_as(x, param_dtype), reduction_axes)
            mean, variance = smart_cond(training, lambda: (batch_mean, batch_variance),
                                        lambda: (self.moving_mean, self.moving_variance))
            out = normalize(mean, variance)
        self.updates = [self._assign_moving_average(self.moving_mean, mean, training),
                        self._assign_moving_average(self.moving_variance, variance, training)]
        for update in self.updates:
            add_to_collection(GraphKeys.UPDATE_OPS, update)
        return out

    def _assign_moving_average(self, variable, value, training):
        """``variable -= (variable - value) * (1 - momentum)``; with a bool tensor ``training`` the step is
        zeroed outside training (a cond, as TF's momentum of 1 outside training)."""
        with name_scope(None, "AssignMovingAvg", [variable, value]) as scope:
            with colocate_with(variable):
                decay = convert_to_tensor(1.0 - self.momentum, dtype=variable.dtype, name="decay")
                delta = (variable - _as(value, variable.dtype)) * decay
                step = delta
                delta = smart_cond(training, lambda: step, lambda: array_ops.zeros_like(step))
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
