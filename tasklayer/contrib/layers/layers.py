"""``tf.contrib.layers``' layers as TF 1.15 has them: ``fully_connected``, ``conv2d``, ``max_pool2d``,
``avg_pool2d``, ``flatten``, ``dropout``, and slim's ``repeat`` and ``stack``. Each is decorated with
``add_arg_scope``; the layers with variables make them in a variable scope of their own (``fully_connected``,
``Conv``, ``_1``, ... unless ``scope`` is given) as model variables ``weights`` and ``biases``.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     images = tf.placeholder(tf.float32, [None, 28, 28, 1])
...     net = tf.contrib.layers.conv2d(images, 8, [5, 5])           # SAME padding and a ReLU by default
...     net = tf.contrib.layers.max_pool2d(net, [2, 2])             # stride 2, VALID
...     logits = tf.contrib.layers.fully_connected(tf.contrib.layers.flatten(net), 10, activation_fn=None)
...     [v.op.name for v in tf.contrib.framework.get_model_variables()], logits.shape.as_list()
(['Conv/weights', 'Conv/biases', 'fully_connected/weights', 'fully_connected/biases'], [None, 10])
"""

import functools

from tasklayer import initializers
from tasklayer.graph import name_scope
from tasklayer.layers.convolutional import normalize_padding, normalize_tuple
from tasklayer.layers.core import Dropout, apply_kernel
from tasklayer.layers.core import flatten as core_flatten
from tasklayer.ops import conv_ops, nn_extra_ops, nn_ops, pooling_ops
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.variable_scope import variable_scope
from tasklayer.contrib.framework.arg_scope import add_arg_scope
from tasklayer.contrib.layers.initializers import xavier_initializer
from tasklayer.contrib.layers.utils import collect_named_outputs, layer_variable

__all__ = ["fully_connected", "linear", "convolution", "convolution2d", "conv2d", "max_pool2d", "avg_pool2d", "flatten",
           "dropout", "repeat", "stack"]

NHWC, NCHW = "NHWC", "NCHW"


@add_arg_scope
def fully_connected(inputs, num_outputs, activation_fn=nn_ops.relu, normalizer_fn=None, normalizer_params=None,
                    weights_initializer=xavier_initializer(), weights_regularizer=None,
                    biases_initializer=initializers.zeros(), biases_regularizer=None, reuse=None,
                    variables_collections=None, outputs_collections=None, trainable=True, scope=None):
    """``activation_fn(inputs @ weights + biases)`` over the last axis of ``inputs``, with ``normalizer_fn`` (e.g.
    ``batch_norm``) in place of the biases when given; ``biases_initializer=None`` leaves the biases out."""
    if not isinstance(num_outputs, int) or isinstance(num_outputs, bool):
        raise ValueError(f"num_outputs type should be one of [<class 'int'>], got {type(num_outputs)}.")
    with variable_scope(scope, "fully_connected", [inputs], reuse=reuse) as sc:
        x = convert_to_tensor(inputs)
        rank = x.shape.ndims
        if rank is not None and rank < 2:
            raise ValueError(f"Input 0 of layer {sc.name} is incompatible with the layer: expected min_ndim=2, "
                             f"found ndim={rank}. Full shape received: {x.shape.as_list()}")
        units_in = None if rank is None else x.shape.as_list()[-1]
        if units_in is None:
            raise ValueError("The last dimension of the inputs to `Dense` should be defined. Found `None`.")
        weights = layer_variable("weights", "kernel", [units_in, num_outputs], x.dtype.base_dtype,
                                 weights_initializer, weights_regularizer, trainable, variables_collections)
        outputs = apply_kernel(x, weights)
        if not normalizer_fn and biases_initializer:
            biases = layer_variable("biases", "bias", [num_outputs], x.dtype.base_dtype, biases_initializer,
                                    biases_regularizer, trainable, variables_collections)
            outputs = nn_extra_ops.bias_add(outputs, biases)
        return _finish(outputs, normalizer_fn, normalizer_params, activation_fn, outputs_collections, sc.name)


@add_arg_scope
def convolution(inputs, num_outputs, kernel_size, stride=1, padding="SAME", data_format=None, rate=1,
                activation_fn=nn_ops.relu, normalizer_fn=None, normalizer_params=None,
                weights_initializer=xavier_initializer(), weights_regularizer=None,
                biases_initializer=initializers.zeros(), biases_regularizer=None, reuse=None,
                variables_collections=None, outputs_collections=None, trainable=True, scope=None, conv_dims=None):
    """A convolution of ``num_outputs`` filters of ``kernel_size`` (an int or [height, width]) moved by
    ``stride``, dilated by ``rate``, then ``normalizer_fn`` or ``biases``, then ``activation_fn``; ``weights`` are
    [kh, kw, in, out]. Only 2-D (4-D inputs, NHWC or NCHW) is provided."""
    if data_format not in (None, "NWC", "NCW", "NHWC", "NCHW", "NDHWC", "NCDHW"):
        raise ValueError(f"Invalid data_format: {data_format!r}")
    with variable_scope(scope, "Conv", [inputs], reuse=reuse) as sc:
        x = convert_to_tensor(inputs)
        rank = x.shape.ndims
        if conv_dims is not None and conv_dims + 2 != rank:
            raise ValueError(f"Convolution expects input with rank {conv_dims + 2}, got {rank}")
        if rank in (3, 5):
            raise NotImplementedError(f"{sc.name}: tasklayer's tf.contrib.layers provides 2-D convolutions only "
                                      f"(inputs of rank 4), got an input of rank {rank}")
        if rank != 4:
            raise ValueError(f"Convolution not supported for input with rank {rank}")
        channels_first = bool(data_format) and data_format.startswith("NC")
        kernel = normalize_tuple(kernel_size, 2, "kernel_size")
        strides = normalize_tuple(stride, 2, "strides")
        dilations = normalize_tuple(rate, 2, "dilation_rate")
        padding = normalize_padding(padding).upper()
        if max(strides) > 1 and max(dilations) > 1:
            raise ValueError("strides > 1 not supported in conjunction with dilation_rate > 1")
        channels = x.shape.as_list()[1 if channels_first else 3]
        if channels is None:
            raise ValueError("The channel dimension of the inputs should be defined. Found `None`.")
        weights = layer_variable("weights", "kernel", [*kernel, channels, num_outputs], x.dtype.base_dtype,
                                 weights_initializer, weights_regularizer, trainable, variables_collections)
        fmt = NCHW if channels_first else NHWC
        outputs = conv_ops.conv2d(x, weights, strides=_per_dim(strides, fmt), padding=padding, data_format=fmt,
                                  dilations=_per_dim(dilations, fmt), name="Conv2D")
        if not normalizer_fn and biases_initializer:
            biases = layer_variable("biases", "bias", [num_outputs], x.dtype.base_dtype, biases_initializer,
                                    biases_regularizer, trainable, variables_collections)
            outputs = nn_extra_ops.bias_add(outputs, biases, data_format=fmt)
        return _finish(outputs, normalizer_fn, normalizer_params, activation_fn, outputs_collections, sc.name)


@add_arg_scope
def convolution2d(inputs, num_outputs, kernel_size, stride=1, padding="SAME", data_format=None, rate=1,
                  activation_fn=nn_ops.relu, normalizer_fn=None, normalizer_params=None,
                  weights_initializer=xavier_initializer(), weights_regularizer=None,
                  biases_initializer=initializers.zeros(), biases_regularizer=None, reuse=None,
                  variables_collections=None, outputs_collections=None, trainable=True, scope=None):
    """``convolution`` of a 4-D input (``conv2d``): SAME padding and a ReLU unless told otherwise.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     y = tf.contrib.layers.conv2d(tf.ones([1, 3, 3, 1]), 1, 3, weights_initializer=tf.ones_initializer())
    ...     sess.run(tf.global_variables_initializer())
    ...     sess.run(y)[0, :, :, 0].tolist()
    [[4.0, 6.0, 4.0], [6.0, 9.0, 6.0], [4.0, 6.0, 4.0]]
    """
    return convolution(inputs, num_outputs, kernel_size, stride, padding, data_format, rate, activation_fn,
                       normalizer_fn, normalizer_params, weights_initializer, weights_regularizer,
                       biases_initializer, biases_regularizer, reuse, variables_collections, outputs_collections,
                       trainable, scope, conv_dims=2)


conv2d = convolution2d
linear = functools.partial(fully_connected, activation_fn=None)  # TF's linear: fully_connected with no activation


def _per_dim(pair, fmt):
    return [1, 1, *pair] if fmt == NCHW else [1, *pair, 1]


def _finish(outputs, normalizer_fn, normalizer_params, activation_fn, outputs_collections, alias):
    """The normalizer and the activation after a layer's linear part, and its outputs collected."""
    if normalizer_fn is not None:
        outputs = normalizer_fn(outputs, **(normalizer_params or {}))
    if activation_fn is not None:
        outputs = activation_fn(outputs)
    return collect_named_outputs(outputs_collections, alias, outputs)


def _pool(pool_fn, op_name, default_name, inputs, kernel_size, stride, padding, data_format, outputs_collections,
          scope):
    if data_format not in (NCHW, NHWC):
        raise ValueError("data_format has to be either NCHW or NHWC.")
    with name_scope(scope, default_name, [inputs]) as sc:
        x = convert_to_tensor(inputs)
        if x.shape.ndims not in (None, 4):
            raise ValueError(f"Input 0 of layer {sc.rstrip('/')} is incompatible with the layer: expected ndim=4, "
                             f"found ndim={x.shape.ndims}. Full shape received: {x.shape.as_list()}")
        window = _per_dim(normalize_tuple(kernel_size, 2, "pool_size"), data_format)
        strides = _per_dim(normalize_tuple(stride, 2, "strides"), data_format)
        outputs = pool_fn(x, ksize=window, strides=strides, padding=normalize_padding(padding).upper(),
                          data_format=data_format, name=op_name)
        return collect_named_outputs(outputs_collections, sc, outputs)


@add_arg_scope
def max_pool2d(inputs, kernel_size, stride=2, padding="VALID", data_format=NHWC, outputs_collections=None,
               scope=None):
    """Max pooling of 4-D ``inputs`` over ``kernel_size`` windows (an int or [height, width]) moved by ``stride``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     y = tf.contrib.layers.max_pool2d(tf.reshape(tf.range(16.0), [1, 4, 4, 1]), [2, 2])
    ...     y.op.name, sess.run(y)[0, :, :, 0].tolist()
    ('MaxPool2D/MaxPool', [[5.0, 7.0], [13.0, 15.0]])
    """
    return _pool(pooling_ops.max_pool, "MaxPool", "MaxPool2D", inputs, kernel_size, stride, padding, data_format,
                 outputs_collections, scope)


@add_arg_scope
def avg_pool2d(inputs, kernel_size, stride=2, padding="VALID", data_format=NHWC, outputs_collections=None,
               scope=None):
    """Average pooling of 4-D ``inputs`` over ``kernel_size`` windows moved by ``stride``."""
    return _pool(pooling_ops.avg_pool, "AvgPool", "AvgPool2D", inputs, kernel_size, stride, padding, data_format,
                 outputs_collections, scope)


@add_arg_scope
def flatten(inputs, outputs_collections=None, scope=None):
    """``inputs`` as ``[batch, everything else]``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.contrib.layers.flatten(tf.placeholder(tf.float32, [None, 7, 7, 64])).shape.as_list()
    [None, 3136]
    """
    with name_scope(scope, "Flatten", [inputs]) as sc:
        x = convert_to_tensor(inputs)
        return collect_named_outputs(outputs_collections, sc, core_flatten(x))


@add_arg_scope
def dropout(inputs, keep_prob=0.5, noise_shape=None, is_training=True, outputs_collections=None, scope=None,
            seed=None):
    """``inputs`` with each unit kept with probability ``keep_prob`` (a float or a tensor) and scaled by
    ``1 / keep_prob``, else 0, when ``is_training`` (a bool or a bool tensor); unchanged otherwise.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     kept = tf.contrib.layers.dropout(tf.ones([2, 2]), is_training=False)
    ...     dropped = tf.contrib.layers.dropout(tf.ones([1, 100]), keep_prob=0.25)
    ...     sess.run(kept).tolist(), set(sess.run(dropped).ravel()) <= {0.0, 4.0}
    ([[1.0, 1.0], [1.0, 1.0]], True)
    """
    with variable_scope(scope, "Dropout", [inputs]) as sc:
        x = convert_to_tensor(inputs)
        layer = Dropout(rate=1 - keep_prob, noise_shape=noise_shape, seed=seed, name=sc.name, _scope=sc)
        return collect_named_outputs(outputs_collections, sc.name, layer.apply(x, training=is_training))


def _layer_scope_name(layer, default):
    """The name ``repeat``/``stack`` give the scopes of their calls: the layer function's own name."""
    if hasattr(layer, "__name__"):
        return layer.__name__
    if hasattr(getattr(layer, "func", None), "__name__"):
        return layer.func.__name__  # a functools.partial
    return default


def repeat(inputs, repetitions, layer, *args, **kwargs):
    """``layer`` applied ``repetitions`` times with the same arguments, each call in scope ``<scope>_<i>`` under
    ``scope`` (default ``Repeat``; the calls' default is the layer function's name).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     y = tf.contrib.slim.repeat(tf.zeros([1, 8, 8, 3]), 2, tf.contrib.slim.conv2d, 4, [3, 3], scope="conv1")
    ...     [v.op.name for v in tf.contrib.framework.get_variables(suffix="weights")]
    ['conv1/conv1_1/weights', 'conv1/conv1_2/weights']
    """
    scope = kwargs.pop("scope", None)
    with variable_scope(scope, "Repeat", [inputs]):
        outputs = convert_to_tensor(inputs)
        prefix = scope if scope is not None else _layer_scope_name(layer, "repeat")
        for i in range(repetitions):
            kwargs["scope"] = f"{prefix}_{i + 1}"
            outputs = layer(outputs, *args, **kwargs)
        return outputs


def stack(inputs, layer, stack_args, **kwargs):
    """``layer`` applied once per entry of ``stack_args`` (the positional arguments of that call), each call in
    scope ``<scope>_<i>`` under ``scope`` (default ``Stack``), e.g. ``stack(x, fully_connected, [32, 64])``."""
    scope = kwargs.pop("scope", None)
    if not isinstance(stack_args, (list, tuple)):
        raise ValueError("stack_args need to be a list or tuple")
    with variable_scope(scope, "Stack", [inputs]):
        outputs = convert_to_tensor(inputs)
        prefix = scope if scope is not None else _layer_scope_name(layer, "stack")
        for i, layer_args in enumerate(stack_args):
            kwargs["scope"] = f"{prefix}_{i + 1}"
            outputs = layer(outputs, *(layer_args if isinstance(layer_args, (list, tuple)) else [layer_args]),
                            **kwargs)
        return outputs
