"""``tf.contrib.framework``'s variables: ``model_variable`` and ``variable`` (``get_variable`` that arg scopes
reach), the collection queries by scope and suffix, and the global step functions of ``tf.train``.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     with tf.variable_scope("net"):
...         w = tf.contrib.framework.model_variable("weights", [2, 3])
...         step = tf.contrib.framework.variable("step", [], dtype=tf.int32, trainable=False)
...     [v.op.name for v in tf.contrib.framework.get_model_variables()], \\
...         [v.op.name for v in tf.contrib.framework.get_variables("net", suffix="step")]
(['net/weights'], ['net/step'])
"""

import contextlib

from tasklayer import dtypes
from tasklayer.graph import GraphKeys, add_to_collection, device, get_collection
from tasklayer.variable_scope import VariableScope, get_variable
from tasklayer.variables import (Variable, assert_global_step, create_global_step,  # noqa: F401 - re-exported
                                 get_global_step, get_or_create_global_step)
from tasklayer.contrib.framework.arg_scope import add_arg_scope

__all__ = ["variable", "model_variable", "add_model_variable", "get_variables", "get_model_variables",
           "get_local_variables", "get_trainable_variables", "get_variables_to_restore", "get_variables_by_name",
           "get_variables_by_suffix", "get_unique_variable", "local_variable", "global_variable",
           "get_or_create_global_step", "get_global_step", "create_global_step", "assert_global_step"]


@add_arg_scope
def variable(name, shape=None, dtype=None, initializer=None, regularizer=None, trainable=True, collections=None,
             caching_device=None, device=None, partitioner=None, custom_getter=None, use_resource=None):  # noqa: A002
    """``tf.get_variable`` in ``collections`` (default: the global variables) and on ``device`` if given."""
    _unsupported("variable", partitioner=partitioner, custom_getter=custom_getter)
    collections = list(dict.fromkeys(collections if collections is not None else [GraphKeys.GLOBAL_VARIABLES]))
    with _device(device):
        return get_variable(name, shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
                            trainable=trainable, collections=collections)


@add_arg_scope
def model_variable(name, shape=None, dtype=dtypes.float32, initializer=None, regularizer=None, trainable=True,
                   collections=None, caching_device=None, device=None, partitioner=None, custom_getter=None,
                   use_resource=None):  # noqa: A002 - TF's names
    """A variable of the model: ``variable`` also in the ``tf.GraphKeys.MODEL_VARIABLES`` collection (what
    ``tf.contrib.layers`` makes its weights, biases and statistics with)."""
    collections = list(collections or []) + [GraphKeys.GLOBAL_VARIABLES, GraphKeys.MODEL_VARIABLES]
    return variable(name, shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
                    trainable=trainable, collections=collections, device=device, partitioner=partitioner,
                    custom_getter=custom_getter)


def add_model_variable(var):
    """Add ``var`` to the ``MODEL_VARIABLES`` collection (once)."""
    if not any(var is v for v in get_collection(GraphKeys.MODEL_VARIABLES)):
        add_to_collection(GraphKeys.MODEL_VARIABLES, var)


@add_arg_scope
def local_variable(initial_value, validate_shape=True, name=None, use_resource=None):
    """A non-trainable variable in the ``LOCAL_VARIABLES`` collection, initialized to ``initial_value``."""
    return Variable(initial_value, trainable=False, collections=[GraphKeys.LOCAL_VARIABLES],
                    validate_shape=validate_shape, name=name)


@add_arg_scope
def global_variable(initial_value, validate_shape=True, name=None, use_resource=None):
    """A non-trainable variable in the ``GLOBAL_VARIABLES`` collection, initialized to ``initial_value``."""
    return Variable(initial_value, trainable=False, collections=[GraphKeys.GLOBAL_VARIABLES],
                    validate_shape=validate_shape, name=name)


def get_variables(scope=None, suffix=None, collection=GraphKeys.GLOBAL_VARIABLES):
    """The variables of ``collection`` whose names start with ``scope`` (a name, a regex or a ``VariableScope``)
    and, with ``suffix``, end their last part with it."""
    if isinstance(scope, VariableScope):
        scope = scope.name
    if suffix is not None:
        if ":" not in suffix:
            suffix += ":"
        scope = (scope or "") + ".*" + suffix
    return get_collection(collection, scope)


def get_model_variables(scope=None, suffix=None):
    """The model variables (``MODEL_VARIABLES``), filtered as ``get_variables`` does."""
    return get_variables(scope, suffix, GraphKeys.MODEL_VARIABLES)


def get_local_variables(scope=None, suffix=None):
    """The local variables, filtered as ``get_variables`` does."""
    return get_variables(scope, suffix, GraphKeys.LOCAL_VARIABLES)


def get_trainable_variables(scope=None, suffix=None):
    """The trainable variables, filtered as ``get_variables`` does."""
    return get_variables(scope, suffix, GraphKeys.TRAINABLE_VARIABLES)


def get_variables_to_restore(include=None, exclude=None):
    """The global variables under the scopes of ``include`` (default: all) but none under those of ``exclude``."""
    if include is not None and not isinstance(include, (list, tuple)):
        raise TypeError("include is provided but is not a list or a tuple.")
    if exclude is not None and not isinstance(exclude, (list, tuple)):
        raise TypeError("exclude is provided but is not a list or a tuple.")
    included = get_variables() if include is None else [v for scope in include for v in get_variables(scope)]
    excluded = {id(v) for scope in exclude or () for v in get_variables(scope)}
    return [v for v in included if id(v) not in excluded]


def get_variables_by_suffix(suffix, scope=None):
    """The global variables whose names end with ``suffix``."""
    return get_variables(scope=scope, suffix=suffix)


def get_variables_by_name(given_name, scope=None):
    """The global variables whose last name part is ``given_name``."""
    return get_variables(scope=scope, suffix=f"/{given_name}:|^{given_name}:")


def get_unique_variable(var_op_name):
    """The one global variable whose op is named ``var_op_name``; ValueError if none is."""
    candidates = get_variables(scope=var_op_name)
    if not candidates:
        raise ValueError(f"Couldn't find variable {var_op_name}")
    for candidate in candidates:
        if candidate.op.name == var_op_name:
            return candidate
    raise ValueError(f"Variable {var_op_name} does not uniquely identify a variable")


def _device(name):
    """The device scope of ``variable(device=...)``: none when not given (so an enclosing one stays)."""
    return device(name) if name else contextlib.nullcontext()


def _unsupported(func, **arguments):
    for arg, value in arguments.items():
        if value is not None:
            raise NotImplementedError(f"{func}: {arg} is not supported by tasklayer's tf.contrib.framework")
