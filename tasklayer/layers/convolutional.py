"""``tf.layers`` convolution layers: ``conv2d``/``Conv2D`` and ``conv2d_transpose``/``Conv2DTranspose``.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     images = tf.placeholder(tf.float32, [None, 28, 28, 1])
...     h = tf.layers.conv2d(images, 16, 5, padding="same", activation=tf.nn.relu)
...     [v.name for v in tf.trainable_variables()], h.shape.as_list()
(['conv2d/kernel:0', 'conv2d/bias:0'], [None, 28, 28, 16])
"""

from tasklayer import initializers
from tasklayer.graph import add_to_collection
from tasklayer.layers.base import Layer
from tasklayer.ops import array_ops, math_ops
from tasklayer.ops.conv_ops import conv2d as nn_conv2d
from tasklayer.ops.conv_ops import conv2d_transpose as nn_conv2d_transpose

__all__ = ["Conv2D", "Conv2DTranspose", "Layer2D", "conv2d", "conv2d_transpose", "normalize_data_format",
           "normalize_padding", "normalize_tuple"]

REGULARIZATION_LOSSES = "regularization_losses"  # TF1's GraphKeys.REGULARIZATION_LOSSES, which get_variable fills


# ---------------------------------------------------------------- Keras's argument rules
def normalize_tuple(value, n, name):
    """``value`` (an int, or ``n`` ints) as a tuple of ``n`` ints; ValueError in Keras's words otherwise."""
    if isinstance(value, int):
        return (value,) * n
    try:
        values = tuple(value)
    except TypeError:
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. Received: {value}") from None
    if len(values) != n or not all(isinstance(v, int) for v in values):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. Received: {value}")
    return values


def normalize_padding(value):
    """``"valid"`` or ``"same"`` (any case)."""
    padding = value.lower() if isinstance(value, str) else value
    if padding not in ("valid", "same"):
        raise ValueError(f'The `padding` argument must be one of "valid", "same". Received: {value}')
    return padding


def normalize_data_format(value):
    """``"channels_last"`` (the default for None) or ``"channels_first"`` (any case)."""
    fmt = "channels_last" if value is None else (value.lower() if isinstance(value, str) else value)
    if fmt not in ("channels_first", "channels_last"):
        raise ValueError(f'The `data_format` argument must be one of "channels_first", "channels_last". '
                         f"Received: {value}")
    return fmt


class Layer2D(Layer):
    """What the 2-D layers share beyond ``Layer``: a ``data_format``, and a check that the inputs are 4-D with
    the channel count of the first call."""

    def __init__(self, data_format, trainable, name, reuse):
        super().__init__(trainable=trainable, name=name, _reuse=reuse)
        self.data_format = normalize_data_format(data_format)
        self._channels = None

    @property
    def channel_axis(self):
        """The axis of the channels in the inputs: 3, or 1 for ``channels_first``."""
        return 1 if self.data_format == "channels_first" else 3

    @property
    def nn_data_format(self):
        """``"NHWC"`` or ``"NCHW"``."""
        return "NCHW" if self.data_format == "channels_first" else "NHWC"

    def _check_input(self, x):
        shape = x.shape
        if shape.ndims is not None and shape.ndims != 4:
            raise ValueError(f"Input 0 of layer {self.name} is incompatible with the layer: expected ndim=4, found "
                             f"ndim={shape.ndims}. Full shape received: {shape.as_list()}")
        channels = None if shape.ndims is None else shape.as_list()[self.channel_axis]
        if self.variables and channels is not None and channels != self._channels:
            raise ValueError(f"Input 0 of layer {self.name} is incompatible with the layer: expected axis "
                             f"{self.channel_axis - 4} of input shape to have value {self._channels} but received "
                             f"input with shape {shape.as_list()}")

    def build(self, input_shape):
        """Note the channel count of the first inputs (None where unknown)."""
        self._channels = None if input_shape.ndims is None else input_shape.as_list()[self.channel_axis]


class _Conv2DBase(Layer2D):
    """A 2-D convolution layer with a ``kernel`` and an optional ``bias`` under its scope."""

    def __init__(self, filters, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                 kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer, activity_regularizer,
                 kernel_constraint, bias_constraint, trainable, name, reuse):
        super().__init__(data_format, trainable, name, reuse)
        self.filters = int(filters)
        if self.filters <= 0:
            raise ValueError(f"{self.default_name}: filters must be positive, got {filters}")
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size")
        self.strides = normalize_tuple(strides, 2, "strides")
        self.padding = normalize_padding(padding)
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("strides > 1 not supported in conjunction with dilation_rate > 1")
        self.activation, self.use_bias = activation, use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.activity_regularizer = activity_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.kernel = self.bias = None

    def _kernel_shape(self, channels):
        raise NotImplementedError

    def build(self, input_shape):
        """Make ``kernel`` and (with ``use_bias``) ``bias`` for the channels of the first inputs."""
        super().build(input_shape)
        if self._channels is None:
            raise ValueError("The channel dimension of the inputs should be defined. Found `None`.")
        # No kernel_initializer: the enclosing variable scope's initializer, else glorot_uniform (as TF1's layers).
        self.kernel = self.add_weight("kernel", self._kernel_shape(self._channels),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", [self.filters],
                                        initializer=self.bias_initializer or initializers.zeros(),
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def call(self, x):
        """``activation(convolution + bias)``, and the activity regularizer's loss if there is one."""
        out = self._convolve(x)
        if self.bias is not None:
            bias = self.bias if self.data_format == "channels_last" else array_ops.reshape(self.bias,
                                                                                         [self.filters, 1, 1])
            out = math_ops.add(out, bias, name="BiasAdd")
        if self.activation is not None:
            out = self.activation(out)
        if self.activity_regularizer is not None:
            # TF 1.14+'s layers: the penalty of the outputs, divided by the batch size, is a regularization loss.
            penalty = self.activity_regularizer(out)
            batch = math_ops.cast(array_ops.shape(out)[0], penalty.dtype)
            add_to_collection(REGULARIZATION_LOSSES, math_ops.divide(penalty, batch))
        return out


class Conv2D(_Conv2DBase):
    """A 2-D convolution layer, ``activation(conv2d(inputs, kernel) + bias)``; ``kernel`` is
    [kh, kw, in, filters] (glorot_uniform by default), ``bias`` [filters] (zeros).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     layer = tf.layers.Conv2D(8, (3, 5), strides=2, padding="SAME", name="c1")
    ...     y = layer(tf.zeros([4, 9, 9, 3]))
    ...     layer.kernel.name, layer.kernel.shape.as_list(), y.shape.as_list()
    ('c1/kernel:0', [3, 5, 3, 8], [4, 5, 5, 8])
    """

    default_name = "conv2d"

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer=None,
                 bias_initializer=None, kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, trainable=True, name=None, _reuse=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, trainable, name, _reuse)

    def _kernel_shape(self, channels):
        return [*self.kernel_size, channels, self.filters]

    def _convolve(self, x):
        return nn_conv2d(x, self.kernel, strides=list(self.strides), padding=self.padding.upper(),
                         data_format=self.nn_data_format, dilations=list(self.dilation_rate), name="Conv2D")


def deconv_output_length(size, kernel, padding, stride):
    """The output length of a transposed convolution along one axis (Keras's rule); None stays None."""
    if size is None:
        return None
    return size * stride + (max(kernel - stride, 0) if padding == "valid" else 0)


class Conv2DTranspose(_Conv2DBase):
    """A transposed 2-D convolution layer (the gradient of ``Conv2D``): its ``kernel`` is
    [kh, kw, filters, in]; each spatial size grows to ``size * stride`` (``"same"``) or
    ``size * stride + max(kernel - stride, 0)`` (``"valid"``).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     layer = tf.layers.Conv2DTranspose(4, 3, strides=2, padding="same")
    ...     y = layer(tf.zeros([2, 5, 5, 8]))
    ...     layer.kernel.shape.as_list(), y.shape.as_list()
    ([3, 3, 4, 8], [2, 10, 10, 4])
    """

    default_name = "conv2d_transpose"

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
                 activation=None, use_bias=True, kernel_initializer=None, bias_initializer=None,
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, trainable=True, name=None, _reuse=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, (1, 1), activation, use_bias,
                         kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, trainable, name, _reuse)

    def _kernel_shape(self, channels):
        return [*self.kernel_size, self.filters, channels]

    def _convolve(self, x):
        h_axis, w_axis = (2, 3) if self.data_format == "channels_first" else (1, 2)
        dims = x.shape.as_list()
        spatial = [deconv_output_length(dims[a], k, self.padding, s)
                   for a, k, s in zip((h_axis, w_axis), self.kernel_size, self.strides)]
        static = [dims[0], *spatial, self.filters] if self.data_format == "channels_last" else \
            [dims[0], self.filters, *spatial]
        if None in static:
            # Sizes known only when running: the output shape is computed from the input's Shape.
            shape = array_ops.shape(x)
            parts = [shape[0]] + [shape[a] * s + (max(k - s, 0) if self.padding == "valid" else 0)
                                  for a, k, s in zip((h_axis, w_axis), self.kernel_size, self.strides)]
            parts = [parts[0], *parts[1:], self.filters] if self.data_format == "channels_last" else \
                [parts[0], self.filters, *parts[1:]]
            output_shape = array_ops.stack(parts)
        else:
            output_shape = static
        out = nn_conv2d_transpose(x, self.kernel, output_shape, strides=list(self.strides),
                                  padding=self.padding.upper(), data_format=self.nn_data_format,
                                  name="conv2d_transpose")
        out.set_shape(static)
        return out


def conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
           dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer=None, bias_initializer=None,
           kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
           bias_constraint=None, trainable=True, name=None, reuse=None):
    """``activation(conv2d(inputs, kernel) + bias)``: a ``Conv2D`` layer applied once; with ``reuse`` it takes
    the variables of the scope ``name`` made before."""
    layer = Conv2D(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                   dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                   kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint, trainable=trainable, name=name, _reuse=reuse)
    return layer(inputs)


def conv2d_transpose(inputs, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
                     activation=None, use_bias=True, kernel_initializer=None, bias_initializer=None,
                     kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                     kernel_constraint=None, bias_constraint=None, trainable=True, name=None, reuse=None):
    """A ``Conv2DTranspose`` layer applied once (``reuse`` as for ``conv2d``)."""
    layer = Conv2DTranspose(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                            activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                            trainable=trainable, name=name, _reuse=reuse)
    return layer(inputs)
