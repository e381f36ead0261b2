"""``tf.gradients``: symbolic derivatives built from the per-op rules in ``tasklayer.grad_rules``.

The walk is micrograd's: find the ops between ``xs`` and ``ys``, visit them in reverse creation order (a graph's
creation order is topological, so every op is visited after all its consumers), sum the gradients reaching
each output (AddN) and hand them to the op's rule, which returns one gradient per input.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     x = tf.constant(3.0)
...     y = x * x + 2 * x
...     [dx] = tf.gradients(y, [x])
...     with tf.Session() as sess:
...         print(sess.run(dx))
8.0
"""

import collections

from tasklayer import dtypes, grad_rules
from tasklayer.grad_rules import while_grad
from tasklayer.graph import graph_of, name_scope
from tasklayer.ops import array_ops, math_ops
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.ops.control_flow_context import context_of, is_inside, output_context, while_context_of

__all__ = ["gradients"]

# Ops through which a tensor's value does not matter, only its shape: a path through them gives no gradient and
# no error.
_SHAPE_ONLY = frozenset({"Shape", "Size", "Rank", "ZerosLike", "OnesLike", "StopGradient"})


def _as_list(values):
    return list(values) if isinstance(values, (list, tuple)) else [values]


def _as_x(x):
    """A Variable becomes its VariableV2 tensor (reads go through ``w/read``, an Identity of it)."""
    ref = getattr(x, "_ref", None)
    return ref() if ref is not None else convert_to_tensor(x)


def _is_float(t):
    return t.dtype in dtypes.FLOATS


def gradients(ys, xs, grad_ys=None, name="gradients", colocate_gradients_with_ops=False, gate_gradients=False,
              aggregation_method=None, stop_gradients=None):
    """``[d(sum of ys) / dx for x in xs]``; None for an x that ``ys`` does not depend on.

    ``grad_ys`` (one per y, default ones) weights each y. ``stop_gradients`` are tensors treated as constants.
    An x whose every path to ``ys`` goes through a non-differentiable op (ArgMax, Equal, a cast to int...) gets
    None, as in TF1, unless no x gets a gradient at all: then LookupError names that op and the x. LookupError
    also when the path from an x crosses an op without a gradient rule.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     w, z = tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0])
    ...     loss = tf.reduce_sum(w * tf.cast(tf.argmax(z), tf.float32))
    ...     [gw, gz] = tf.gradients(loss, [w, z])
    ...     with tf.Session() as sess:
    ...         sess.run(gw).tolist(), gz
    ([1.0, 1.0], None)
    """
    ys = [convert_to_tensor(y) for y in _as_list(ys)]
    xs = [_as_x(x) for x in _as_list(xs)]
    grad_ys = [None] * len(ys) if grad_ys is None else _as_list(grad_ys)
    if len(grad_ys) != len(ys):
        raise ValueError(f"Passed {len(grad_ys)} grad_ys for {len(ys)} ys")
    stops = {id(t) for t in (convert_to_tensor(s) for s in _as_list(stop_gradients or []))}
    graph = graph_of(ys + xs)
    level = while_context_of(output_context(ys[0].op)) if ys else None  # tf.gradients inside a loop's body
    with graph.as_default(), name_scope(name):
        return _Backprop(graph, ys, xs, stops, level=level).run(grad_ys)


class _Backprop:
    """One reverse walk from ``ys`` to ``xs``. A while loop on the way is one step of it: at the loop's Exits,
    ``while_grad.loop_gradient`` builds the loop's gradient (walking the loop's body with a walk of its own,
    ``nested``), and the loop's other ops are skipped. ``level`` is the loop whose body this walk covers (None:
    outside every loop); ``within``, the ops it may visit (None: all)."""

    def __init__(self, graph, ys, xs, stops, level=None, within=None):
        self.ys, self.xs, self.stops = ys, xs, stops
        self.graph, self.level, self.within = graph, level, within
        self.order = {op: i for i, op in enumerate(graph.get_operations())
                      if within is None or op in within}
        consumers = collections.defaultdict(list)
        for op in self.order:
            for t in op.inputs:
                consumers[t].append(op)
        self.consumers = consumers
        self.reached = self._reached_from_xs()
        self.needed = self._ancestors_of_ys()

    def _reached_from_xs(self):
        """Ops downstream (by data edges) of some x."""
        seen, todo = set(), [op for x in self.xs for op in self.consumers[x]]
        while todo:
            op = todo.pop()
            if op in seen:
                continue
            seen.add(op)
            for out in op.outputs:
                todo.extend(self.consumers[out])
        return seen

    def _ancestors_of_ys(self):
        """Ops upstream (by data edges) of some y, the ys' ops included."""
        seen, todo = set(), [y.op for y in self.ys]
        while todo:
            op = todo.pop()
            if op in seen:
                continue
            seen.add(op)
            todo.extend(t.op for t in op.inputs if t.op in self.order)
        return seen

    def wants(self, t):
        """Whether a gradient reaching ``t`` is one this walk collects (``t`` is an x or depends on one)."""
        return _is_float(t) and id(t) not in self.stops and (t.op in self.reached or t in self.xs)

    def nested(self, loop, ys, xs, grad_ys):
        """The gradients of ``xs`` in ``loop``'s body, given ``grad_ys`` for its results ``ys`` (a walk over the
        body's ops only; None for an x nothing reaches)."""
        structure = loop.structure_ops()  # the loop's own Enters, Merges, Switches...: not the body's
        within = {op for op in self.graph.get_operations()
                  if is_inside(context_of(op), loop) and op not in structure}
        return _Backprop(self.graph, ys, xs, self.stops, level=loop, within=within).run(grad_ys, strict=False)

    def run(self, grad_ys, strict=True):
        grads = collections.defaultdict(list)
        for y, gy in zip(self.ys, grad_ys):
            if gy is None:
                if not _is_float(y):
                    raise TypeError(f"gradients: y {y.name} must be a float tensor, got {y.dtype.name}")
                gy = array_ops.ones_like(y, name="grad_ys")
            else:
                gy = convert_to_tensor(gy, dtype=y.dtype, name="grad_ys")
            grads[y].append(gy)
        xs_set = set(self.xs)
        between = sorted(self.reached & self.needed, key=self.order.__getitem__, reverse=True)
        loops_done = set()
        for op in between:
            loop = while_grad.loop_of_exit(op, self.level)
            if loop is not None:  # a loop's Exits come last in it: every gradient reaching them is in
                if loop not in loops_done:
                    loops_done.add(loop)
                    exit_grads = [_sum(grads.get(t)) for t in loop.loop_exits]
                    for t, g in while_grad.loop_gradient(self, loop, exit_grads):
                        if g is not None and self.wants(t):
                            grads[t].append(g)
                continue
            if while_grad.inside_other_loop(op, self.level):
                continue
            out_grads = [_sum(grads.get(t)) for t in op.outputs]
            if all(g is None for g in out_grads) or any(id(t) in self.stops for t in op.outputs):
                continue
            rule = self._rule_for(op)
            if rule is None:
                continue
            with name_scope(f"{op.name}_grad"):
                in_grads = rule(op, *out_grads)
            in_grads = list(in_grads)
            if len(in_grads) != len(op.inputs):
                raise ValueError(f"gradient rule of {op.type} returned {len(in_grads)} gradients for "
                                 f"{len(op.inputs)} inputs (op {op.name!r})")
            for t, g in zip(op.inputs, in_grads):
                if g is None or not _is_float(t) or id(t) in self.stops:
                    continue
                if t.op in self.reached or t in xs_set:
                    grads[t].append(g)
        out = [_sum(grads.get(x)) for x in self.xs]
        if strict and all(g is None for g in out):
            # TF1 gives None for a blocked x; but when nothing at all flows, say which op cut it off.
            for x in self.xs:
                blocked = self._blocking_op(x)
                if blocked is not None:
                    raise LookupError(f"gradient of {_describe(self.ys)} with respect to {x.name} cannot flow "
                                      f"through operation '{blocked.name}' (op type: {blocked.type}), which is "
                                      "not differentiable")
        return out

    def _rule_for(self, op):
        try:
            return grad_rules.get_rule(op.type)
        except LookupError:
            raise LookupError(f"No gradient defined for operation '{op.name}' (op type: {op.type}); it lies "
                              f"between the xs and ys of tf.gradients") from None

    def _blocking_op(self, x):
        """The non-differentiable op that cuts a path from ``x`` to the ys (None when there is no such path)."""
        seen, todo = set(), list(self.consumers[x])
        while todo:
            op = todo.pop()
            if op in seen or op not in self.needed:
                continue
            seen.add(op)
            if op.type in _SHAPE_ONLY or any(id(t) in self.stops for t in op.outputs):
                continue
            if grad_rules.is_not_differentiable(op.type) or not any(_is_float(t) for t in op.outputs):
                return op
            for out in op.outputs:
                todo.extend(self.consumers[out])
        return None


def _describe(ys):
    return ", ".join(y.name for y in ys)


def _sum(parts):
    """The sum of the gradients reaching one tensor (None if none did)."""
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return math_ops.add_n(parts)



