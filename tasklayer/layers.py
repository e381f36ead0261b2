"""``tf.layers``: the small layer functions TF1 programs use (``dense``).

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, [None, 4])
...     h = tf.layers.dense(x, 8, activation=tf.nn.relu, name="hidden")
...     [v.name for v in tf.trainable_variables()], h.shape.as_list()
(['hidden/kernel:0', 'hidden/bias:0'], [None, 8])
"""

from tasklayer import initializers
from tasklayer.ops import math_ops
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.variable_scope import AUTO_REUSE, get_variable, variable_scope

__all__ = ["dense"]


def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None, bias_initializer=None,
          kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
          bias_constraint=None, trainable=True, name=None, reuse=None):
    """``activation(inputs @ kernel + bias)``; ``kernel`` [in, units] (glorot_uniform by default) and ``bias``
    [units] (zeros) are variables under the scope ``name`` (default ``dense``, ``dense_1``, ...)."""
    x = convert_to_tensor(inputs, name="inputs")
    if x.shape.ndims != 2:
        raise ValueError(f"dense: inputs must be 2-D [batch, features], got shape {x.shape}")
    in_dim = x.shape.as_list()[-1]
    if in_dim is None:
        raise ValueError("dense: the last dimension of the inputs should be defined. Found `None`.")
    units = int(units)
    if units <= 0:
        raise ValueError(f"dense: units must be positive, got {units}")
    reuse = AUTO_REUSE if reuse is AUTO_REUSE else (True if reuse else None)
    with variable_scope(name, default_name="dense", reuse=reuse):
        kernel = get_variable("kernel", [in_dim, units], dtype=x.dtype,
                              initializer=kernel_initializer or initializers.glorot_uniform(),
                              regularizer=kernel_regularizer, trainable=trainable)
        out = math_ops.matmul(x, kernel)
        if use_bias:
            bias = get_variable("bias", [units], dtype=x.dtype, initializer=bias_initializer or initializers.zeros(),
                                regularizer=bias_regularizer, trainable=trainable)
            out = out + bias
        if activation is not None:
            out = activation(out)
    return out
