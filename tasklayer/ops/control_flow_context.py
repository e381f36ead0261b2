"""Control-flow contexts (TF1's CondContext and WhileContext): while a branch of ``tf.cond`` or the body of
``tf.while_loop`` is being built, ``Graph.create_op`` hands every new op's inputs and control inputs to the
innermost context (``admit``), which makes outside values available inside:

- a branch takes an outside tensor through a Switch on its predicate (dead when the other branch is taken), and
  gives an op without data inputs a control input from its *pivot*, so the op is dead in the untaken branch too;
- a loop takes an outside tensor through a constant Enter into its frame, gives ops without data inputs (and ops
  that read only such constants) a control input from its pivot, and turns control inputs from outside the loop
  into control inputs from Identities of their values entered into it.

Each op records its context (``op._control_flow_context``); an Exit's output belongs to its loop's outer context.
A gradient loop's context also has a ``grad_state`` (``tasklayer.grad_rules.while_grad``): a forward value it
uses is replaced by the value that forward iteration had, popped from a stack.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     x = tf.constant(2.0, name="x")
...     y = tf.cond(tf.placeholder(tf.bool, []), lambda: x + 1, lambda: x - 1)
...     branch = y.op.inputs[1].op  # the true branch's add
...     type(context_of(branch)).__name__, branch.inputs[0].op.type, context_of(y.op) is None
('CondContext', 'Switch', True)
"""

import contextlib

from tasklayer.graph import get_default_graph
from tasklayer.ops import array_ops, control_flow_ops

__all__ = ["ControlFlowContext", "CondContext", "WhileContext", "context_of", "output_context", "is_inside",
           "while_context_of"]


def context_of(op):
    """The context ``op`` was built in (None: outside every cond and loop)."""
    return getattr(op, "_control_flow_context", None)


def output_context(op):
    """The context ``op``'s outputs belong to: its own, but its loop's outer one for an Exit."""
    ctx = context_of(op)
    if ctx is not None and op.type == "Exit" and isinstance(ctx, WhileContext):
        return ctx.outer
    return ctx


def is_inside(ctx, outer):
    """Whether context ``ctx`` is ``outer`` or nested in it (everything is inside the graph's top, None)."""
    while ctx is not None:
        if ctx is outer:
            return True
        ctx = ctx.outer
    return outer is None


def while_context_of(ctx):
    """The innermost loop context around (or being) ``ctx``, or None."""
    while ctx is not None and not isinstance(ctx, WhileContext):
        ctx = ctx.outer
    return ctx


def _is_constant_enter(tensor):
    op = tensor.op
    return op.type in ("Enter", "RefEnter") and op.get_attr("is_constant")


class ControlFlowContext:
    """What the contexts share: the outer context (the one active when this one was made), entering and leaving,
    and the values from outside already made available here."""

    def __init__(self, graph):
        self.graph = graph
        self.outer = graph._get_control_flow_context()
        self._external = {}  # outside tensor -> the tensor that stands for it in here
        self._saved = []

    def enter(self):
        """Build the following ops in this context."""
        self._saved.append(self.graph._get_control_flow_context())
        self.graph._set_control_flow_context(self)

    def exit(self):
        """Go back to the context that was active before ``enter``."""
        self.graph._set_control_flow_context(self._saved.pop())

    @contextlib.contextmanager
    def entered(self):
        """``enter`` for the ``with`` block."""
        self.enter()
        try:
            yield self
        finally:
            self.exit()

    def holds(self, tensor):
        """Whether ``tensor`` was computed in this context (or one nested in it)."""
        return is_inside(output_context(tensor.op), self)

    def while_context(self):
        """The innermost loop context around (or being) this one."""
        return while_context_of(self)

    def control_pivot(self):
        """The tensor whose op ops without inputs here take a control input from (None: none yet)."""
        return None

    def _split_control(self, control_inputs):
        """``(internal, external)`` control inputs: in this context's loop, or outside it (outside every loop,
        all are internal)."""
        loop = self.while_context()
        if loop is None:
            return list(control_inputs), []
        internal, external = [], []
        for op in control_inputs:
            ctx = output_context(op)
            (internal if ctx is not None and while_context_of(ctx) is loop else external).append(op)
        return internal, external

    def _check_reachable(self, tensor):
        """ValueError when ``tensor`` lives inside a loop this context is not in (only its Exit may leave it)."""
        loop = while_context_of(output_context(tensor.op))
        if loop is not None and not is_inside(self, loop):
            raise ValueError(f"Cannot use '{tensor.name}' as an input here because it is inside while loop "
                             f"'{loop.name}': only the loop's results (its Exits) may be used outside it.")


class CondContext(ControlFlowContext):
    """One branch of a ``tf.cond``: its predicate, its pivot (an Identity of the Switch output of the predicate
    that is live when this branch is taken) and which branch it is (1: true, 0: false)."""

    def __init__(self, pred, pivot, branch):
        super().__init__(pred.graph)
        self.pred = pred
        self.pivot = pivot
        self.branch = branch
        pivot.op._control_flow_context = self

    def control_pivot(self):
        """The branch's pivot."""
        return self.pivot

    def add_value(self, tensor):
        """``tensor`` as this branch sees it: itself when computed here, else a Switch of it (made once)."""
        if tensor is self.pred or self.holds(tensor):
            return tensor
        found = self._external.get(tensor)
        if found is not None:
            return found
        self._check_reachable(tensor)
        result = tensor if self.outer is None else self.outer.add_value(tensor)
        with self.graph.control_dependencies(None):  # built outside every context, then placed in this one
            result = control_flow_ops.switch_ref_or_tensor(result, self.pred)[self.branch]
        result.op._control_flow_context = self
        self._external[tensor] = result
        return result

    def admit(self, op_type, inputs, control_inputs):
        """The inputs and control inputs a new op of this branch gets (see the module docstring)."""
        control_inputs, _ = self._split_control(control_inputs)  # inside a loop, outside ones are dropped (TF)
        if not inputs:
            if not any(is_inside(context_of(op), self) for op in control_inputs):
                control_inputs = control_inputs + [self.pivot.op]
            return inputs, control_inputs
        inputs = [x if op_type == "Merge" and x.op.type == "NextIteration" else self.add_value(x) for x in inputs]
        return inputs, control_inputs


class WhileContext(ControlFlowContext):
    """One ``tf.while_loop``: its frame name, pivots and the ops that make its structure (``build_loop`` in
    ``tasklayer.ops.while_loop`` fills them in)."""

    def __init__(self, maximum_iterations=None, parallel_iterations=10, back_prop=True, swap_memory=False,
                 name="while_context", grad_state=None, graph=None):
        super().__init__(graph if graph is not None else get_default_graph())
        if not isinstance(parallel_iterations, int) or parallel_iterations <= 0:
            raise ValueError(f"'parallel_iterations' must be a positive integer: {parallel_iterations}")
        self.name = self.graph.unique_name(name)
        self.maximum_iterations = maximum_iterations
        self.parallel_iterations = parallel_iterations
        self.back_prop = back_prop
        self.swap_memory = swap_memory
        self.grad_state = grad_state
        self.pivot_for_pred = None   # the first loop variable's Merge: controls constants of the cond function
        self.pivot_for_body = None   # the first loop variable's body input: controls constants of the body
        self.pivot = None            # the LoopCond output
        self.loop_enters = []        # Enter outputs of the loop variables
        self.merges = []             # their Merges' outputs
        self.switches = []           # their Switches (ops)
        self.body_inputs = []        # the Identities the body gets
        self.next_iterations = []    # NextIteration ops (input 0: what the body returned)
        self.loop_exits = []         # Exit outputs: the loop's results
        self.captured = []           # constant Enters of the outside values the loop uses
        self.forward_count = None    # the number of iterations (an Exit), once a gradient asked for it
        self.forward_index = None    # the op counting them (pushes of forward values run before it)
        self.forward_sync = None     # a ControlTrigger the pushes inside conds run before

    def structure_ops(self):
        """The ops that make this loop (Enters, Merges, LoopCond, Switches, the body's Identities, NextIterations,
        Exits), as opposed to those of its cond function and body."""
        tensors = self.loop_enters + self.merges + self.body_inputs + self.loop_exits
        return ({t.op for t in tensors} | set(self.switches) | set(self.next_iterations)
                | ({self.pivot.op} if self.pivot is not None else set()))

    def control_pivot(self):
        """The body's pivot once the body is being built, the cond function's before."""
        return self.pivot_for_body if self.pivot_for_body is not None else self.pivot_for_pred

    def add_value(self, tensor):
        """``tensor`` as this loop sees it: itself when computed here, else a constant Enter of it (made once);
        in a gradient loop, a forward value becomes the value of the matching forward iteration."""
        if self.holds(tensor):
            return tensor
        found = self._external.get(tensor)
        if found is not None:
            return found
        if self.grad_state is not None and is_inside(output_context(tensor.op), self.grad_state.forward):
            result = self.grad_state.real_value(tensor)
            self._external[tensor] = result
            return result
        self._check_reachable(tensor)
        result = tensor if self.outer is None else self.outer.add_value(tensor)
        with self.graph.control_dependencies(None):  # built outside every context, then placed in this one
            result = control_flow_ops.enter(result, self.name, is_constant=True,
                                            parallel_iterations=self.parallel_iterations)
        result.op._control_flow_context = self
        self.captured.append(result)
        self._external[tensor] = result
        return result

    def admit(self, op_type, inputs, control_inputs):
        """The inputs and control inputs a new op of this loop gets (see the module docstring)."""
        internal, external = self._split_control(control_inputs)
        if not inputs:
            control_inputs = internal or [self.control_pivot().op]
        else:
            inputs = [x if op_type == "Merge" and x.op.type == "NextIteration" else self.add_value(x)
                      for x in inputs]
            control_inputs = internal
            if not control_inputs and all(_is_constant_enter(x) for x in inputs):
                # Reading only loop invariants, it would run once more when the loop ends: the pivot stops it.
                control_inputs = [self.control_pivot().op]
        if external:  # a control input from outside the loop comes in as an Identity of its entered value
            with self.graph.control_dependencies(None), self.entered():
                control_inputs = control_inputs + [array_ops.identity(op.outputs[0]).op for op in external
                                                   if op.outputs]
        return inputs, control_inputs
