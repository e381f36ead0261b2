"""Stacks of tensors (TF's StackV2/StackPushV2/StackPopV2): a while loop's gradient pushes each forward value it
needs in every iteration and pops them in reverse (``tasklayer.grad_rules.while_grad``). A stack lives for one
run; its handle is a string scalar, as TF1's stack and queue handles were.

>>> import tasklayer as tf
>>> with tf.Graph().as_default(), tf.Session() as sess:
...     h = stack_v2(-1, tf.float32)
...     push = stack_push_v2(h, tf.constant(2.0))
...     with tf.control_dependencies([push]):
...         top = stack_pop_v2(h, tf.float32)
...     print(sess.run(top))
2.0
"""

from tasklayer import dtypes
from tasklayer.graph import name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops._build import make_op, who
from tasklayer.ops.constant_op import convert_to_tensor

__all__ = ["stack_v2", "stack_push_v2", "stack_pop_v2"]


def _infer_handle(op):
    if op.inputs[0].dtype != dtypes.int32:
        raise TypeError(f"{who(op)}: max_size must be int32, got {op.inputs[0].dtype.name}")
    return [(dtypes.string, ())]


def _infer_push(op):
    elem = op.inputs[1]
    return [(elem.dtype, elem.shape)]


register_op("StackV2", _infer_handle, stateful=True)
register_op("StackPushV2", _infer_push, stateful=True)
register_op("StackPopV2", lambda op: [(op.get_attr("elem_type"), None)], stateful=True)


def stack_v2(max_size, elem_type, stack_name="", name=None):
    """A new stack (a fresh one in every run) of at most ``max_size`` elements (-1: no limit)."""
    with name_scope(name, "StackV2", []) as scope:
        max_size = convert_to_tensor(max_size, dtype=dtypes.int32, name="max_size")
        return make_op("StackV2", [max_size], {"elem_type": dtypes.as_dtype(elem_type), "stack_name": stack_name},
                       scope).outputs[0]


def stack_push_v2(handle, elem, swap_memory=False, name=None):
    """Push ``elem``; its value again."""
    with name_scope(name, "StackPushV2", [handle, elem]) as scope:
        elem = convert_to_tensor(elem, name="elem")
        return make_op("StackPushV2", [handle, elem], {"T": elem.dtype, "swap_memory": bool(swap_memory)},
                       scope).outputs[0]


def stack_pop_v2(handle, elem_type, name=None):
    """The element pushed last (taken off the stack)."""
    with name_scope(name, "StackPopV2", [handle]) as scope:
        return make_op("StackPopV2", [handle], {"elem_type": dtypes.as_dtype(elem_type)}, scope).outputs[0]
