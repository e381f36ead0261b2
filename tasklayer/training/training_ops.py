"""The optimizer update ops (TF's names): ApplyGradientDescent, ApplyMomentum, ApplyAdam.

Each takes its variable and slots as refs (inputs 0..k), is colocated with the variable, and outputs the
variable's new value; the engine applies it under the variable's lock.
"""

from tasklayer import state_ops
from tasklayer.graph import colocate_with, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops._build import make_op, who
from tasklayer.ops.constant_op import convert_to_tensor


def _infer_apply(num_refs, grad_index):
    def infer(op):
        var = op.inputs[0]
        for t in op.inputs[1:num_refs]:
            if not var.shape.is_compatible_with(t.shape):
                raise ValueError(f"{who(op)}: slot {t.name} of shape {t.shape} does not match variable "
                                 f"{var.name} of shape {var.shape}")
        grad = op.inputs[grad_index]
        if not var.shape.is_compatible_with(grad.shape):
            raise ValueError(f"{who(op)}: gradient of shape {grad.shape} does not match variable {var.name} of "
                             f"shape {var.shape}")
        return [(var.dtype, var.shape)]
    return infer


register_op("ApplyGradientDescent", _infer_apply(1, 2), stateful=True)
register_op("ApplyMomentum", _infer_apply(2, 3), stateful=True)
register_op("ApplyAdam", _infer_apply(3, 9), stateful=True)


def _apply(op_type, refs, scalars, grad, name, attrs=None):
    refs = [state_ops.ref_tensor(r) for r in refs]
    var = refs[0]
    with name_scope(name, op_type, refs + [grad]) as scope, colocate_with(var.op, ignore_existing=True):
        values = [convert_to_tensor(s, dtype=var.dtype) for s in scalars]
        grad = convert_to_tensor(grad, dtype=var.dtype, name="grad")
        all_attrs = {"T": var.dtype, "use_locking": True, "_class": state_ops.colocation(var)}
        all_attrs.update(attrs or {})
        return refs, values, grad, scope, all_attrs


def apply_gradient_descent(var, alpha, delta, use_locking=True, name=None):
    """``var -= alpha * delta``; the new value."""
    refs, (alpha,), delta, scope, attrs = _apply("ApplyGradientDescent", [var], [alpha], delta, name)
    with colocate_with(refs[0].op, ignore_existing=True):
        return make_op("ApplyGradientDescent", refs + [alpha, delta], attrs, scope).outputs[0]


def apply_momentum(var, accum, lr, grad, momentum, use_locking=True, use_nesterov=False, name=None):
    """``accum = accum * momentum + grad; var -= lr * accum`` (or Nesterov's variant); the new value."""
    refs, (lr, momentum), grad, scope, attrs = _apply("ApplyMomentum", [var, accum], [lr, momentum], grad, name,
                                                      {"use_nesterov": bool(use_nesterov)})
    with colocate_with(refs[0].op, ignore_existing=True):
        return make_op("ApplyMomentum", refs + [lr, grad, momentum], attrs, scope).outputs[0]


def apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, use_locking=True,
               use_nesterov=False, name=None):
    """One Adam step on ``var`` with slots ``m``, ``v``; the new value."""
    refs, scalars, grad, scope, attrs = _apply("ApplyAdam", [var, m, v],
                                               [beta1_power, beta2_power, lr, beta1, beta2, epsilon], grad, name,
                                               {"use_nesterov": bool(use_nesterov)})
    with colocate_with(refs[0].op, ignore_existing=True):
        return make_op("ApplyAdam", refs + scalars + [grad], attrs, scope).outputs[0]
