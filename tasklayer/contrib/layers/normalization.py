"""``tf.contrib.layers.batch_norm`` as TF 1.15 has it: the moving statistics move by ``decay`` (0.999), ``scale``
(gamma) is off by default, and the updates go to ``updates_collections`` (``tf.GraphKeys.UPDATE_OPS``; None runs
them with the output instead). As in TF, 4-D inputs with the default collection go through ``tf.layers``'
BatchNormalization, 2-D inputs or another collection through the fused kernel (its batch variance, which moves
the moving variance, is Bessel-corrected), and what the fused kernel cannot take through ``tf.nn.moments``.

>>> import tasklayer as tf
>>> with tf.Graph().as_default(), tf.Session() as sess:
...     y = tf.contrib.layers.batch_norm(tf.constant([[1.0], [3.0]]), decay=0.5, updates_collections=None)
...     sess.run(tf.global_variables_initializer())
...     _ = sess.run(y)
...     [v.op.name for v in tf.global_variables()], sess.run(tf.global_variables()[1:])
(['BatchNorm/beta', 'BatchNorm/moving_mean', 'BatchNorm/moving_variance'], [array([1.], dtype=float32), \
array([1.5], dtype=float32)])
"""

from tasklayer import dtypes, initializers
from tasklayer.graph import GraphKeys, colocate_with, control_dependencies, get_default_graph, name_scope
from tasklayer.layers.normalization import BatchNormalization
from tasklayer.layers.utils import constant_value, smart_cond
from tasklayer.ops import array_ops, math_ops, nn_impl
from tasklayer.ops.constant_op import constant, convert_to_tensor
from tasklayer.variable_scope import variable_scope
from tasklayer.contrib.framework.arg_scope import add_arg_scope
from tasklayer.contrib.framework.variables import add_model_variable, model_variable
from tasklayer.contrib.layers.utils import (add_variable_to_collections, collect_named_outputs,
                                            get_variable_collections)

__all__ = ["batch_norm", "assign_moving_average"]

NHWC, NCHW = "NHWC", "NCHW"


@add_arg_scope
def batch_norm(inputs, decay=0.999, center=True, scale=False, epsilon=0.001, activation_fn=None,
               param_initializers=None, param_regularizers=None, updates_collections=GraphKeys.UPDATE_OPS,
               is_training=True, reuse=None, variables_collections=None, outputs_collections=None, trainable=True,
               batch_weights=None, fused=None, data_format=NHWC, zero_debias_moving_mean=False, scope=None,
               renorm=False, renorm_clipping=None, renorm_decay=0.99, adjustment=None):
    """``inputs`` batch-normalized over every axis but the channels' (the last, or axis 1 for ``NCHW``): by the
    batch's statistics when ``is_training`` (a bool or a bool tensor), else by the moving ones. Variables under
    ``scope`` (default ``BatchNorm``): ``beta`` (with ``center``), ``gamma`` (with ``scale``), ``moving_mean``,
    ``moving_variance``, all model variables; ``param_initializers``/``param_regularizers`` are dicts by those
    names."""
    for arg, value in (("batch_weights", batch_weights), ("zero_debias_moving_mean", zero_debias_moving_mean),
                       ("renorm", renorm), ("adjustment", adjustment)):
        if value:
            raise NotImplementedError(f"batch_norm: {arg} is not supported by tasklayer's tf.contrib.layers")
    fused = True if fused is None else fused
    x = convert_to_tensor(inputs)
    rank = x.shape.ndims
    default_updates = updates_collections == GraphKeys.UPDATE_OPS
    args = dict(decay=decay, center=center, scale=scale, epsilon=epsilon, param_initializers=param_initializers or {},
                param_regularizers=param_regularizers or {}, updates_collections=updates_collections,
                is_training=is_training, variables_collections=variables_collections, trainable=trainable,
                data_format=data_format)
    if data_format not in (NCHW, NHWC):
        raise ValueError("data_format has to be either NCHW or NHWC.")
    with variable_scope(scope, "BatchNorm", [x], reuse=reuse) as sc:
        if fused and rank in (2, 4) and (rank == 2 or not default_updates):
            outputs = _own_batch_norm(x, fused=True, **args)
        elif default_updates:
            outputs = _layer_batch_norm(x, sc, reuse, fused, **args)
        else:
            outputs = _own_batch_norm(x, fused=False, **args)
        if activation_fn is not None:
            outputs = activation_fn(outputs)
        return collect_named_outputs(outputs_collections, sc.name, outputs)


def _layer_batch_norm(x, sc, reuse, fused, decay, center, scale, epsilon, param_initializers, param_regularizers,
                      updates_collections, is_training, variables_collections, trainable, data_format):
    """TF's way with the default collection: ``tf.layers.BatchNormalization`` in the scope ``sc``."""
    layer = BatchNormalization(
        axis=1 if data_format == NCHW else -1, momentum=decay, epsilon=epsilon, center=center, scale=scale,
        beta_initializer=param_initializers.get("beta", initializers.zeros()),
        gamma_initializer=param_initializers.get("gamma", initializers.ones()),
        moving_mean_initializer=param_initializers.get("moving_mean", initializers.zeros()),
        moving_variance_initializer=param_initializers.get("moving_variance", initializers.ones()),
        beta_regularizer=param_regularizers.get("beta"), gamma_regularizer=param_regularizers.get("gamma"),
        trainable=trainable, fused=None if fused else False, name=sc.name, _scope=sc, _reuse=reuse)
    outputs = layer.apply(x, training=is_training)
    for name in ("moving_mean", "moving_variance", "beta", "gamma"):
        variable = getattr(layer, name)
        if variable is not None:
            add_model_variable(variable)
            add_variable_to_collections(variable, variables_collections, name)
    return outputs


def _own_batch_norm(x, fused, decay, center, scale, epsilon, param_initializers, param_regularizers,
                    updates_collections, is_training, variables_collections, trainable, data_format):
    """TF's ``_fused_batch_norm`` (``fused``: 2-D or 4-D inputs, float32 parameters) and its non-fused path
    (``tf.nn.moments``, parameters of the inputs' dtype), in the current variable scope."""
    shape, rank = x.shape, x.shape.ndims
    if rank is None:
        raise ValueError(f"Inputs {x.name} has undefined rank")
    channel_axis = 1 if data_format == NCHW else rank - 1
    channels = shape.as_list()[channel_axis]
    if channels is None:
        raise ValueError(f"Inputs {x.name} has undefined `C` dimension {shape[channel_axis:channel_axis + 1]}.")
    param_dtype = dtypes.float32 if fused else x.dtype.base_dtype

    def parameter(name, default, present=True, moving=False):
        if not present:  # the fused kernel takes a constant in its place; nn.batch_normalization takes None
            return constant(0.0 if name == "beta" else 1.0, param_dtype, [channels]) if fused else None
        return model_variable(name, shape=[channels], dtype=param_dtype,
                              initializer=param_initializers.get(name, default),
                              regularizer=None if moving else param_regularizers.get(name),
                              collections=get_variable_collections(variables_collections, name),
                              trainable=trainable and not moving)

    beta = parameter("beta", initializers.zeros(), present=center)
    gamma = parameter("gamma", initializers.ones(), present=scale)
    moving_mean = parameter("moving_mean", initializers.zeros(), moving=True)
    moving_variance = parameter("moving_variance", initializers.ones(), moving=True)

    def updates(mean, variance):
        return (assign_moving_average(moving_mean, mean, decay),
                assign_moving_average(moving_variance, variance, decay))

    known = constant_value(is_training)
    need_updates = known is None or known
    if fused:
        x4 = x if rank == 4 else array_ops.reshape(x, [-1, channels, 1, 1] if data_format == NCHW
                                                   else [-1, 1, 1, channels])

        def train():
            return tuple(nn_impl.fused_batch_norm(x4, gamma, beta, epsilon=epsilon, data_format=data_format))

        def infer():
            return tuple(nn_impl.fused_batch_norm(x4, gamma, beta, mean=moving_mean, variance=moving_variance,
                                                  epsilon=epsilon, is_training=False, data_format=data_format))
        outputs, mean, variance = smart_cond(is_training, train, infer)
        if need_updates:
            if updates_collections is None:
                def force_updates():
                    with control_dependencies(list(updates(mean, variance))):
                        return array_ops.identity(outputs)
                outputs = smart_cond(is_training, force_updates, lambda: outputs)
            else:
                _collect_updates(updates_collections, smart_cond(is_training, lambda: updates(mean, variance),
                                                                 lambda: (moving_mean, moving_variance)))
        outputs.set_shape(x4.shape)
        if rank == 2:
            dims = shape.as_list()
            outputs = array_ops.reshape(outputs, [-1 if d is None else d for d in dims] if dims.count(None) <= 1
                                        else array_ops.shape(x))
        return outputs

    if need_updates:
        axes = [i for i in range(rank) if i != channel_axis]
        mean, variance = nn_impl.moments(x, axes)
        moving = (moving_mean, moving_variance)
        if updates_collections is None:
            def force_updates():
                with control_dependencies(list(updates(mean, variance))):
                    return array_ops.identity(mean), array_ops.identity(variance)
            mean, variance = smart_cond(is_training, force_updates, lambda: moving)
        else:
            _collect_updates(updates_collections, smart_cond(is_training, lambda: updates(mean, variance),
                                                             lambda: moving))
            batch = (mean, variance)
            mean, variance = smart_cond(is_training, lambda: batch, lambda: moving)
    else:
        mean, variance = moving_mean, moving_variance
    if data_format == NCHW:
        per_channel = [1, channels] + [1] * (rank - 2)
        mean, variance, beta, gamma = (None if t is None else array_ops.reshape(t, per_channel)
                                       for t in (mean, variance, beta, gamma))
    outputs = nn_impl.batch_normalization(x, mean, variance, beta, gamma, epsilon)
    outputs.set_shape(shape)
    return outputs


def _collect_updates(collections, update_ops):
    graph = get_default_graph()
    for op in update_ops:
        graph.add_to_collections(collections, op)


def assign_moving_average(variable, value, decay, name=None):
    """``variable -= (variable - value) * (1 - decay)``: the update op of a moving average (TF's
    ``moving_averages.assign_moving_average`` without zero debiasing)."""
    with name_scope(name, "AssignMovingAvg", [variable, value, decay]) as scope:
        with colocate_with(variable):
            decay = convert_to_tensor(1.0 - decay, name="decay")
            if decay.dtype != variable.dtype.base_dtype:
                decay = math_ops.cast(decay, variable.dtype.base_dtype)
            value = convert_to_tensor(value)
            if value.dtype != variable.dtype.base_dtype:
                value = math_ops.cast(value, variable.dtype.base_dtype)
            return variable.assign_sub((variable - value) * decay, name=scope)
