"""Ops that order work rather than compute: no_op and group."""

from tasklayer.graph import Operation, Tensor, control_dependencies, get_default_graph, name_scope
from tasklayer.op_registry import register_op

register_op("NoOp", lambda op: [])


def no_op(name=None):
    """An op that does nothing (a target to hang control dependencies on).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.no_op(name="nothing").type
    'NoOp'
    """
    return get_default_graph().create_op("NoOp", [], {}, name=name)


def group(*inputs, name=None):
    """An op that runs after all of ``inputs`` (Tensors/Operations, possibly in lists); it has no output.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     a, b = tf.constant(1), tf.constant(2)
    ...     [op.name for op in tf.group(a, b).control_inputs]
    ['Const', 'Const_1']
    """
    deps = []
    for item in _flatten(inputs):
        op = item.op if isinstance(item, Tensor) else item
        if not isinstance(op, Operation):
            raise TypeError(f"group: expected Tensors or Operations, got {item!r}")
        if op not in deps:
            deps.append(op)
    with name_scope(name, "group_deps", deps) as scope:
        with control_dependencies(deps):
            return no_op(name=scope)


def _flatten(items):
    for item in items:
        if isinstance(item, (list, tuple, set)):
            yield from _flatten(item)
        elif isinstance(item, dict):
            yield from _flatten(list(item.values()))
        else:
            yield item
