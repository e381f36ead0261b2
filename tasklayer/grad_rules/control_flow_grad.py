"""Gradient rules of ``tf.cond``'s ops: a Merge's gradient is a Switch of it on the same predicate (it flows back
into the branch that was taken); a Switch's gradient merges what came back through its outputs, with zeros for a
branch that did not use the input (zeros that are live exactly when that branch is taken).

A while loop's ops have no rules of their own: ``tf.gradients`` hands a whole loop to
``tasklayer.grad_rules.while_grad`` when it reaches the loop's Exits.
"""

from tasklayer.grad_rules import not_differentiable, register_gradient
from tasklayer.ops import array_ops, control_flow_ops, math_ops
from tasklayer.ops.control_flow_context import CondContext, context_of, output_context

not_differentiable("LoopCond", "ControlTrigger", "StackV2", "StackPushV2", "StackPopV2")


def _zeros_when_untaken(op, ctx):
    """Zeros like a Switch's input, live exactly when the *other* branch of ``ctx`` is taken."""
    x = op.inputs[0]
    shape = x.shape.as_tuple()
    if shape is not None and None not in shape:
        return control_flow_ops.switch(array_ops.zeros(list(shape), x.dtype), ctx.pred)[1 - ctx.branch]
    return array_ops.zeros_like(control_flow_ops.switch(x, ctx.pred)[1 - ctx.branch])


@register_gradient("Switch")
@register_gradient("RefSwitch")
def _switch_grad(op, grad_false, grad_true):
    ctx = context_of(op)
    if isinstance(ctx, CondContext):
        grads = [grad_false, grad_true]
        if grads[ctx.branch] is None:
            return [None, None]
        if grads[1 - ctx.branch] is None:
            grads[1 - ctx.branch] = _zeros_when_untaken(op, ctx)
        return [control_flow_ops.merge(grads, name="cond_grad")[0], None]
    # A Switch built by hand: what came back through each output, merged on its own predicate.
    pred = op.inputs[1]
    if grad_false is None and grad_true is None:
        return [None, None]
    zeros = None if grad_false is not None and grad_true is not None else array_ops.zeros_like(op.inputs[0])
    false_grad = control_flow_ops.switch(grad_false if grad_false is not None else zeros, pred)[0]
    true_grad = control_flow_ops.switch(grad_true if grad_true is not None else zeros, pred)[1]
    return [control_flow_ops.merge([false_grad, true_grad])[0], None]


@register_gradient("Merge")
def _merge_grad(op, grad, _):
    ctx = output_context(op.inputs[0].op)
    if isinstance(ctx, CondContext):  # a tf.cond's Merge: [false result, true result]
        return list(control_flow_ops.switch_ref_or_tensor(grad, ctx.pred, name="cond_grad"))
    return [control_flow_ops.switch(grad, math_ops.equal(op.outputs[1], i))[1] for i in range(len(op.inputs))]


def _loop_op_grad(op, *grads):
    raise LookupError(f"No gradient for '{op.name}' (op type: {op.type}) on its own: gradients of a while loop "
                      "need the loop's structure, which tf.while_loop records when it builds the loop in this graph")


for _op in ("Enter", "RefEnter", "Exit", "NextIteration"):
    register_gradient(_op)(_loop_op_grad)
