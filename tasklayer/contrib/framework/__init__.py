"""``tf.contrib.framework`` as TF 1.x programs use it: ``arg_scope`` and ``add_arg_scope``, model variables and
the variable queries by scope, and the global step functions.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     step = tf.contrib.framework.get_or_create_global_step()
...     step is tf.train.get_global_step(), step.op.name
(True, 'global_step')
"""

from tasklayer.contrib._missing import missing_names_hook
from tasklayer.contrib.framework.arg_scope import (add_arg_scope, arg_scope, arg_scope_func_key,  # noqa: F401
                                                   arg_scoped_arguments, current_arg_scope, has_arg_scope)
from tasklayer.contrib.framework.variables import (add_model_variable, assert_global_step,  # noqa: F401
                                                   create_global_step, get_global_step, get_local_variables,
                                                   get_model_variables, get_or_create_global_step,
                                                   get_trainable_variables, get_unique_variable, get_variables,
                                                   get_variables_by_name, get_variables_by_suffix,
                                                   get_variables_to_restore, global_variable, local_variable,
                                                   model_variable, variable)

__getattr__ = missing_names_hook(__name__, "tf.contrib.framework", "see dir(tf.contrib.framework) for what is")
