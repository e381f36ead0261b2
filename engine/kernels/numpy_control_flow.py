"""Control-flow kernels (TF1's): Switch and Merge for ``tf.cond``; Enter, Exit, NextIteration and LoopCond for
``tf.while_loop``; the stacks that carry a loop's forward values to its gradient loop.

The executor gives these ops their meaning (``engine.frames``, ``engine.flow_run``): it skips an op with a dead
input, hands a Merge its inputs dead or alive, and runs a loop's frame once per iteration. The kernels only move
values: a Switch forwards its data to one output and leaves the other ``DEAD``; a Merge forwards its first live
input and that input's index; the loop ops forward their input (the frame they enter or leave is the
executor's business).

Ops (inputs -> outputs; attrs):
  Switch / RefSwitch(data T, pred bool) -> (output_false T, output_true T)
  Merge(inputs T x N) -> (output T, value_index int32); N
  Enter / RefEnter(data T) -> T; frame_name, is_constant, parallel_iterations
  Exit(data T) -> T;  NextIteration(data T) -> T;  LoopCond(input bool) -> bool
  ControlTrigger() -> ()                                     [runs even when its control inputs are dead]
  StackV2(max_size int32) -> handle (string); elem_type, stack_name           [a fresh stack every run]
  StackPushV2(handle, elem T) -> T; swap_memory;  StackPopV2(handle) -> elem_type
"""

import numpy as np

from engine import dtypes, op_defs
from engine.dead import DEAD
from engine.errors import InvalidArgumentError
from engine.graph_util import get_attr
from engine.kernels.numpy_state import REF_CONTAINER
from engine.kernels.registry import register_kernel
from engine.refs import Ref

_B, _S = dtypes.bool_, dtypes.string


def _two(node):
    t = get_attr(node, "T")
    return [t, t]


# Stateful: the passes never fold or merge them (a folded Switch would lose which branch is dead; two Enters
# into different frames only look alike).
op_defs.register_op("Switch", _two, stateful=True, inputs=("T", _B))
op_defs.register_op("RefSwitch", _two, stateful=True, inputs=("T", _B), ref_inputs=(0,), ref_output=True)
op_defs.register_op("Merge", lambda node: [get_attr(node, "T"), dtypes.int32], stateful=True, inputs="T")
op_defs.register_op("Enter", "T", stateful=True, inputs=("T",))
op_defs.register_op("RefEnter", "T", stateful=True, inputs=("T",), ref_inputs=(0,), ref_output=True)
op_defs.register_op("Exit", "T", stateful=True, inputs=("T",))
op_defs.register_op("NextIteration", "T", stateful=True, inputs=("T",))
op_defs.register_op("LoopCond", _B, stateful=True, inputs=(_B,))
op_defs.register_op("ControlTrigger", lambda node: [], stateful=True)
op_defs.register_op("StackV2", _S, stateful=True, inputs=(dtypes.int32,))
op_defs.register_op("StackPushV2", "T", stateful=True, inputs=(_S, "T"))
op_defs.register_op("StackPopV2", "elem_type", stateful=True, inputs=(_S,))


def _scalar_pred(node, pred):
    """The Python bool of a Switch's predicate; InvalidArgumentError unless it is a scalar."""
    if getattr(pred, "ndim", 0) != 0:
        raise InvalidArgumentError(None, None, f"The second input must be a scalar, but it has shape "
                                   f"{list(pred.shape)}", node_name=node.name, op_type=node.op)
    return bool(pred)


def _ref_alias(node, env):
    """Make a ref op that takes this node's output find the variable: ref ops look their variable up by the name
    of their input node (``engine.kernels.numpy_state``), here a RefSwitch or RefEnter forwarding it."""
    resources = env.resources

    def alias(value):
        if resources is not None and isinstance(value, Ref):
            resources.create(REF_CONTAINER, node.name, value)
        return value
    return alias


@register_kernel("Switch", "CPU", xp_generic=True)
def switch(node, env, xp=None):
    """``(data, DEAD)`` when ``pred`` is false, ``(DEAD, data)`` when it is true."""
    def fn(data, pred):
        return (DEAD, data) if _scalar_pred(node, pred) else (data, DEAD)
    return fn


@register_kernel("RefSwitch", "CPU")
def ref_switch(node, env):
    """A Switch of a variable itself (a ``Ref``), for the ref ops (Assign...) of a branch."""
    alias = _ref_alias(node, env)

    def fn(data, pred):
        alias(data)
        return (DEAD, data) if _scalar_pred(node, pred) else (data, DEAD)
    return fn


@register_kernel("Merge", "CPU", xp_generic=True)
def merge(node, env, xp=None):
    """The first live input and its index (the executor calls it only when some input is live)."""
    def fn(*inputs):
        for i, value in enumerate(inputs):
            if value is not DEAD:
                return value, np.int32(i)
        raise InvalidArgumentError(None, None, f"Merge {node.name!r} ran with every input dead",
                                   node_name=node.name, op_type=node.op)
    return fn


def _forward(node, env, xp=None):
    """Forwards its input: the executor gives Enter/Exit/NextIteration their meaning (frames, iterations)."""
    return lambda value: value


for _op in ("Enter", "Exit", "NextIteration"):
    register_kernel(_op, "CPU", xp_generic=True)(_forward)


@register_kernel("RefEnter", "CPU")
def ref_enter(node, env):
    """An Enter of a variable itself (a ``Ref``), for the ref ops of a loop body."""
    return _ref_alias(node, env)


@register_kernel("ControlTrigger", "CPU", xp_generic=True)
def control_trigger(node, env, xp=None):
    """Does nothing: the executor runs it even when its control inputs are dead (so what waits on it never dies)."""
    return lambda: None


@register_kernel("LoopCond", "CPU", xp_generic=True)
def loop_cond(node, env, xp=None):
    """Forwards the loop's predicate (a scalar bool: the Switches of the loop variables take it)."""
    def fn(pred):
        _scalar_pred(node, pred)
        return pred
    return fn


class Stack:
    """One run's stack of tensors (TF's ``StackV2`` resource): a loop pushes its forward values, the gradient loop
    pops them in reverse."""

    __slots__ = ("name", "max_size", "items")

    def __init__(self, name, max_size):
        self.name = name
        self.max_size = max_size
        self.items = []

    def push(self, node, value):
        """Push ``value``; InvalidArgumentError past ``max_size`` (when one was given)."""
        if 0 <= self.max_size <= len(self.items):
            raise InvalidArgumentError(None, None, f"Stack[{self.name}] overflowed its max_size ({self.max_size})",
                                       node_name=node.name, op_type=node.op)
        self.items.append(value)
        return value

    def pop(self, node):
        """The last value pushed; InvalidArgumentError when there is none."""
        if not self.items:
            raise InvalidArgumentError(None, None, f"Stack[{self.name}] is empty.", node_name=node.name,
                                       op_type=node.op)
        return self.items.pop()

    def __repr__(self):
        return f"<Stack {self.name!r} of {len(self.items)}>"


@register_kernel("StackV2", "CPU", xp_generic=True)
def stack_v2(node, env, xp=None):
    """A new empty ``Stack`` each time it runs (so each run's pushes and pops are its own)."""
    name = get_attr(node, "stack_name", "") or node.name
    return lambda max_size: Stack(name, int(max_size))


@register_kernel("StackPushV2", "CPU", xp_generic=True)
def stack_push_v2(node, env, xp=None):
    """Push the element; output it too (as TF does, so consumers may order themselves after the push)."""
    return lambda stack, elem: _stack(node, stack).push(node, elem)


@register_kernel("StackPopV2", "CPU", xp_generic=True)
def stack_pop_v2(node, env, xp=None):
    """Pop the last element pushed."""
    return lambda stack: _stack(node, stack).pop(node)


def _stack(node, handle):
    if not isinstance(handle, Stack):
        raise InvalidArgumentError(None, None, f"{node.op} {node.name!r}: input 0 is not a stack handle",
                                   node_name=node.name, op_type=node.op)
    return handle
