"""What the ``tf.contrib.layers`` layers share: the variables they make (model variables named ``weights`` and
``biases``, with the regularizer's penalty named as TF's layers name it), the collections a caller asks for, and
the outputs collected under the layer's name.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     y = tf.contrib.layers.fully_connected(tf.zeros([2, 3]), 4, outputs_collections="outs", scope="fc")
...     tf.get_collection("outs") == [y], y.aliases
(True, ['fc'])
"""

from tasklayer.graph import GraphKeys, add_to_collection, get_collection, get_default_graph, name_scope
from tasklayer.contrib.framework.variables import model_variable

__all__ = ["collect_named_outputs", "get_variable_collections", "add_variable_to_collections", "layer_variable"]


def collect_named_outputs(collections, alias, outputs):
    """``outputs``, added to ``collections`` (if any) with ``alias`` (the layer's scope) in its ``aliases``."""
    if collections:
        alias = alias[:-1] if alias.endswith("/") else alias
        outputs.aliases = [*getattr(outputs, "aliases", []), alias]
        get_default_graph().add_to_collections(collections, outputs)
    return outputs


def get_variable_collections(variables_collections, name):
    """The collections for the variable ``name``: ``variables_collections[name]`` for a dict, else the list."""
    if isinstance(variables_collections, dict):
        return variables_collections.get(name)
    return variables_collections


def add_variable_to_collections(variable, collections_set, collections_name):
    """Add ``variable`` to the collections ``collections_set`` gives for ``collections_name`` (each once)."""
    collections = get_variable_collections(collections_set, collections_name) or []
    for collection in [collections] if isinstance(collections, str) else collections:
        if not any(variable is v for v in get_collection(collection)):
            add_to_collection(collection, variable)


def layer_variable(name, layer_name, shape, dtype, initializer, regularizer, trainable, variables_collections):
    """The model variable ``name`` of the current variable scope (made, or reused by the scope), as a contrib layer
    makes it from TF's core layer: its penalty (made once, with the variable) is named
    ``<layer_name>/Regularizer/...`` after the core layer's own variable name (``kernel``, ``bias``)."""
    before = get_collection(GraphKeys.GLOBAL_VARIABLES)
    variable = model_variable(name, shape=shape, dtype=dtype, initializer=initializer, trainable=trainable)
    if regularizer is not None and not any(variable is v for v in before):
        with name_scope(f"{layer_name}/Regularizer"):
            penalty = regularizer(variable)
        if penalty is not None:
            add_to_collection(GraphKeys.REGULARIZATION_LOSSES, penalty)
    add_variable_to_collections(variable, variables_collections, name)
    return variable
