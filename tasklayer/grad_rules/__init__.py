"""Per-op gradient rules: ``@register_gradient("Mul") def _mul_grad(op, grad): return [dx, dy]``.

A rule gets the forward Operation and one gradient per output (None for an output no gradient reached) and
returns one gradient per input (None where the input is not differentiable, e.g. an axis or an index).
Importing this package registers every rule (math_grad: elementwise, matmul, reductions, nn; array_grad).
"""

_RULES = {}
_NOT_DIFFERENTIABLE = set()


def register_gradient(op_type):
    """Decorator registering the gradient rule of ``op_type``."""
    def wrap(rule):
        _RULES[op_type] = rule
        return rule
    return wrap


def not_differentiable(*op_types):
    """Declare op types whose outputs carry no gradient (comparisons, argmax, integer casts...)."""
    _NOT_DIFFERENTIABLE.update(op_types)


def get_rule(op_type):
    """The rule of ``op_type``, None for a declared non-differentiable op; LookupError when none is known."""
    rule = _RULES.get(op_type)
    if rule is None and op_type not in _NOT_DIFFERENTIABLE:
        raise LookupError(f"No gradient defined for operation type {op_type!r}")
    return rule


def is_not_differentiable(op_type):
    """Whether ``op_type`` was declared non-differentiable."""
    return op_type in _NOT_DIFFERENTIABLE


def registered():
    """Op types with a gradient rule (sorted)."""
    return sorted(_RULES)


from tasklayer.grad_rules import array_grad, math_grad  # noqa: E402,F401 - registers the rules

# ---- issue 10 (convolutions and pooling) ----
from tasklayer.grad_rules import conv_grad  # noqa: E402,F401 - registers the rules

# ---- issue 10 (rest of tf.nn, batch norm, clipping, metrics) ----
from tasklayer.grad_rules import nn_grad  # noqa: E402,F401 - registers the rules

# ---- issue 10 (random ops) ----
from tasklayer.grad_rules import random_grad  # noqa: E402,F401 - declares them not differentiable

# ---- issue 10 (package layers) ----
from tasklayer.grad_rules import data_flow_grad  # noqa: E402,F401 - declares queue and reader ops not differentiable

# ---- issue 10 (consolidation) ----
from tasklayer.grad_rules import pooling_grad  # noqa: E402,F401 - registers the rules

# ---- issue 10 (control flow: cond, case, while_loop) ----
from tasklayer.grad_rules import control_flow_grad  # noqa: E402,F401 - registers the rules
