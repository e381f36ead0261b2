"""The gradient of a ``tf.while_loop``, as TF1 computes it: a backward while loop that runs as many iterations as
the forward one did, each one the gradient of the forward body at the matching forward iteration, in reverse.

- The forward loop gets a counter (its number of iterations, ``forward_count``) when a gradient first needs it.
- The backward loop carries the count, the gradients of the differentiable loop variables and one accumulator per
  captured outside tensor (a weight the body reads gets the sum of its gradients over all iterations).
- Its body is the gradient of the forward body's ops (the per-op rules, walked by ``tf.gradients``' own walk,
  restricted to the body). A forward value the rules use is not available there: the forward loop pushes it
  onto a stack in every iteration and the backward loop pops it (``GradState.real_value``), guarded by the
  predicate of the cond it lives in, if any. Constants are rebuilt, and loop invariants enter directly.

``tf.gradients`` calls ``loop_gradient`` when its walk reaches a loop's Exits, and skips the loop's other ops.
"""

from tasklayer import dtypes
from tasklayer.graph import colocate_with, name_scope
from tasklayer.ops import array_ops, control_flow_ops, math_ops, stack_ops
from tasklayer.ops.constant_op import constant
from tasklayer.ops.control_flow_context import (CondContext, WhileContext, context_of, is_inside, output_context,
                                                while_context_of)
from tasklayer.ops.while_loop import build_loop

__all__ = ["loop_of_exit", "inside_other_loop", "loop_gradient", "GradState"]


def _is_float(t):
    return t.dtype in dtypes.FLOATS


def loop_of_exit(op, level):
    """The loop whose Exit ``op`` is, when that loop sits directly in ``level`` (the loop whose body a gradient
    walk covers; None: outside every loop); else None."""
    if op.type != "Exit":
        return None
    loop = context_of(op)
    if isinstance(loop, WhileContext) and while_context_of(loop.outer) is level:
        return loop
    return None


def inside_other_loop(op, level):
    """Whether ``op`` belongs to a loop nested in ``level`` (its loop's gradient covers it)."""
    loop = while_context_of(context_of(op))
    return loop is not None and loop is not level


def _zeros_like(t):
    """Zeros of ``t``'s shape: a constant when the shape is known, else zeros_like (which reads ``t``)."""
    shape = t.shape.as_tuple()
    if shape is not None and None not in shape:
        return array_ops.zeros(list(shape), t.dtype)
    return array_ops.zeros_like(t)


def _switch_context(graph, ctx):
    """Set the graph's control-flow context to ``ctx``; returns the one it replaces."""
    saved = graph._get_control_flow_context()
    graph._set_control_flow_context(ctx)
    return saved


class GradState:
    """The bookkeeping of one loop's gradient: the forward loop, the backward loop's context, the gradient state
    of the loop around it (when the forward loop is nested in another one being differentiated), and the values
    of forward tensors already made available in the backward loop."""

    def __init__(self, forward, outer):
        self.forward = forward
        self.outer = outer
        self.grad_context = None
        self._real = {}

    def forward_count(self):
        """How many iterations the forward loop ran: a counter added to it (once), and its Exit."""
        loop = self.forward
        if loop.forward_count is not None:
            return loop.forward_count
        graph = loop.graph
        with graph.control_dependencies(None), name_scope(loop.name.rsplit("/", 1)[0] + "/"):
            saved = _switch_context(graph, loop.outer)
            n = constant(0, name="f_count")  # in the loop's outer context (so in its frame, when nested)
            graph._set_control_flow_context(None)
            enter = control_flow_ops.enter(n, loop.name, is_constant=False,
                                           parallel_iterations=loop.parallel_iterations, name="f_count")
            enter.op._control_flow_context = loop
            graph._set_control_flow_context(loop)
            try:
                merged = control_flow_ops.merge([enter, enter])[0]
                false, true = control_flow_ops.switch(merged, loop.pivot)
                index = math_ops.add(true, 1)
                graph._update_input(merged.op, 1, control_flow_ops.next_iteration(index))
                loop.forward_count = control_flow_ops.exit(false, name="f_count")
                loop.forward_index = index.op
            finally:
                graph._set_control_flow_context(saved)
        return loop.forward_count

    def _forward_sync(self):
        """A ControlTrigger of the forward loop that its counter waits for (pushes inside conds run before it)."""
        loop = self.forward
        if loop.forward_sync is None:
            graph = loop.graph
            with graph.control_dependencies(None):
                saved = _switch_context(graph, None)
                loop.forward_sync = control_flow_ops.control_trigger(name="f_sync")
                graph._set_control_flow_context(saved)
            loop.forward_sync._control_flow_context = loop
            loop.forward_index._add_control_inputs([loop.forward_sync])
        return loop.forward_sync

    def real_value(self, value):
        """``value`` (a tensor of the forward loop) as the backward loop sees it in the matching iteration."""
        found = self._real.get(value)
        if found is not None:
            return found
        graph = self.forward.graph
        op = value.op
        value_loop = while_context_of(output_context(op))
        if value_loop is not self.forward:
            raise ValueError(f"gradient of while loop '{self.forward.name}': '{value.name}' is inside the nested "
                             f"loop '{value_loop.name}'; only that loop's results may be used in its outer loop")
        if op.type in ("Enter", "RefEnter") and op.get_attr("is_constant") and context_of(op) is self.forward:
            outside = op.inputs[0]  # a loop invariant: the value from outside, entered into the backward loop
            if self.outer is not None and is_inside(output_context(outside.op), self.outer.forward):
                outside = self.outer.real_value(outside)
            real = self.grad_context.add_value(outside)
        elif op.type == "Const":
            saved = _switch_context(graph, self.grad_context)
            try:
                with graph.control_dependencies(None), self.grad_context.entered():
                    real = constant(op.get_attr("value"), dtype=value.dtype, name="b_const")
            finally:
                graph._set_control_flow_context(saved)
        else:
            real = self._pop(value, self._push(value))
        self._real[value] = real
        return real

    def _push(self, value):
        """A stack (made outside every loop, one per run) that the forward loop pushes ``value`` onto."""
        graph = self.forward.graph
        with graph.control_dependencies(None), colocate_with(value.op, ignore_existing=True):
            handle = stack_ops.stack_v2(-1, value.dtype, name="f_acc")
            ctx = output_context(value.op)
            saved = _switch_context(graph, ctx)
            try:
                push = stack_ops.stack_push_v2(handle, value, swap_memory=self.forward.swap_memory)
            finally:
                graph._set_control_flow_context(saved)
        if ctx is self.forward:  # the backward loop waits for the count, which waits for the pushes
            self.forward_count()
            self.forward.forward_index._add_control_inputs([push.op])
        else:  # a push in a branch may be dead: the counter waits through a ControlTrigger
            self.forward_count()
            self._forward_sync()._add_control_inputs([push.op])
        return handle

    def _pop(self, value, handle):
        """The pop of ``value``'s stack in the backward loop, guarded by the cond ``value`` lives in (a branch's
        value was pushed only when the branch was taken)."""
        graph = self.forward.graph
        cond = output_context(value.op)
        while cond is not None and cond is not self.forward and not isinstance(cond, CondContext):
            cond = cond.outer
        saved = _switch_context(graph, self.grad_context)
        try:
            with graph.control_dependencies(None), self.grad_context.entered():
                handle = self.grad_context.add_value(handle)
                if isinstance(cond, CondContext):
                    handle = control_flow_ops.switch(handle, self.real_value(cond.pred))[cond.branch]
                pop = stack_ops.stack_pop_v2(handle, value.dtype)
                pop.set_shape(value.shape)
        finally:
            graph._set_control_flow_context(saved)
        return pop


def _grad_state_around(graph):
    """The gradient state of the backward loop being built now (None outside every backward loop)."""
    loop = while_context_of(graph._get_control_flow_context())
    return None if loop is None else loop.grad_state


def loop_gradient(backprop, loop, exit_grads):
    """``[(tensor, gradient)]`` for the inputs of ``loop`` (the initial values of its loop variables and the
    outside tensors it reads), given the gradients reaching its Exits (None where none does).

    ``backprop`` is the walk of ``tf.gradients`` that reached the loop: it says which tensors want gradients
    (``wants``) and walks the body (``nested``).
    """
    if not loop.back_prop:
        return []
    if loop.grad_state is not None:
        raise TypeError("Second-order gradient for while loops not supported.")
    graph = loop.graph
    diff = [j for j, e in enumerate(loop.loop_exits) if _is_float(e)]
    if not any(exit_grads[j] is not None for j in diff):
        return []
    captured = [e for e in loop.captured if _is_float(e) and backprop.wants(e.op.inputs[0])]
    state = GradState(loop, _grad_state_around(graph))
    with name_scope(loop.name.rsplit("/", 1)[0] + "_grad"):
        count = state.forward_count()
        grads0 = [exit_grads[j] if exit_grads[j] is not None else _zeros_like(loop.loop_exits[j]) for j in diff]
        accs0 = [_zeros_like(e.op.inputs[0]) for e in captured]
        reached = [False] * len(captured)

        def body(i, *carried):
            incoming, accs = list(carried[:len(diff)]), list(carried[len(diff):])
            ys = [loop.next_iterations[j].inputs[0] for j in diff]
            xs = [loop.body_inputs[j] for j in diff] + captured
            grads = backprop.nested(loop, ys, xs, incoming)
            out = [math_ops.subtract(i, 1)]
            out += [g if g is not None else array_ops.zeros_like(incoming[k]) for k, g in enumerate(grads[:len(diff)])]
            for k, (acc, g) in enumerate(zip(accs, grads[len(diff):])):
                reached[k] = reached[k] or g is not None
                out.append(acc if g is None else math_ops.add(acc, g))
            return out

        invariants = ([count.shape] + [loop.merges[j].shape for j in diff]
                      + [e.op.inputs[0].shape for e in captured])
        backward = WhileContext(parallel_iterations=loop.parallel_iterations, back_prop=False,
                                swap_memory=loop.swap_memory, grad_state=state, graph=graph)
        state.grad_context = backward
        results = build_loop(backward, lambda i, *_: math_ops.greater(i, 0), body, [count] + grads0 + accs0,
                             invariants, return_same_structure=True)
    pairs = [(loop.loop_enters[j].op.inputs[0], results[1 + k]) for k, j in enumerate(diff)]
    pairs += [(e.op.inputs[0], results[1 + len(diff) + k]) for k, e in enumerate(captured) if reached[k]]
    return pairs
