"""``tf.contrib.slim``: TF-Slim's names for the pieces of ``tf.contrib.layers`` and ``tf.contrib.framework``
(``slim.conv2d``, ``slim.fully_connected``, ``slim.max_pool2d``, ``slim.arg_scope``, ``slim.repeat``, ...),
the very same functions, so an ``arg_scope`` set through either name applies to both.

>>> import tasklayer as tf
>>> slim = tf.contrib.slim
>>> with tf.Graph().as_default():
...     with slim.arg_scope([slim.conv2d], padding="VALID", weights_regularizer=slim.l2_regularizer(0.0005)):
...         net = slim.conv2d(tf.zeros([1, 8, 8, 3]), 16, [3, 3], scope="conv1")
...         net = slim.max_pool2d(net, [2, 2], scope="pool1")
...     net.shape.as_list(), [v.op.name for v in slim.get_model_variables()]
([1, 3, 3, 16], ['conv1/weights', 'conv1/biases'])
"""

from tasklayer.contrib._missing import missing_names_hook
from tasklayer.contrib.framework import (add_arg_scope, add_model_variable, arg_scope,  # noqa: F401
                                         arg_scoped_arguments, assert_global_step, create_global_step,
                                         current_arg_scope, get_global_step, get_local_variables,
                                         get_model_variables, get_or_create_global_step, get_trainable_variables,
                                         get_unique_variable, get_variables, get_variables_by_name,
                                         get_variables_by_suffix, get_variables_to_restore, global_variable,
                                         has_arg_scope, local_variable, model_variable, variable)
from tasklayer.contrib.layers import (apply_regularization, avg_pool2d, batch_norm, conv2d,  # noqa: F401
                                      convolution, convolution2d, dropout, flatten, fully_connected, l1_l2_regularizer,
                                      l1_regularizer, l2_regularizer, linear, max_pool2d, optimize_loss, repeat,
                                      stack, sum_regularizer, variance_scaling_initializer, xavier_initializer,
                                      xavier_initializer_conv2d)

__getattr__ = missing_names_hook(__name__, "tf.contrib.slim", "see dir(tf.contrib.slim) for what is")
