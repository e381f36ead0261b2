"""Variable kernels (issue 5): VariableV2, Assign/AssignAdd/AssignSub, IsVariableInitialized and the optimizer
updates ApplyGradientDescent, ApplyMomentum, ApplyAdam.

A variable's value lives in the executor's ``ResourceMgr`` (it outlives runs), in a ``VariableState`` keyed by
``(container, shared_name or node name)``. Ref ops (Assign, Apply*) take the variable node as their first
input, as in TF; they find its state through an alias keyed by that node's name, so they must run in the same
process as the variable (the task layer colocates them).

A VariableV2 outputs its ``VariableState`` (an ``engine.refs.Ref``): ref ops take it as is, and every other
consumer reads the value when it runs (the plan does the read), so a read under ``control_dependencies`` on an
update sees the update, as TF1's ref variables do.

Updates replace the stored array under the variable's lock instead of writing into it: a reader that already
holds the old array keeps a consistent snapshot, and several steps updating one variable on a ps never tear it.
"""

import threading

import numpy as np

from engine import dtypes, op_defs
from engine.refs import Ref
from engine.errors import FailedPreconditionError, InvalidArgumentError
from engine.graph_util import get_attr, node_name
from engine.kernels.registry import register_kernel
from engine.kernels.resources import node_resources
from engine.op_constants import REF_OPS

# ResourceMgr container of the aliases ``variable node name -> VariableState`` that ref ops resolve.
REF_CONTAINER = "_variable_refs"

# How many leading inputs of each ref op are variables.
_REFS = {"ApplyMomentum": 2, "ApplyAdam": 3}

op_defs.register_op("VariableV2", "dtype", stateful=True, ref_output=True)
op_defs.register_op("IsVariableInitialized", dtypes.bool_, stateful=True, ref_inputs=(0,))
for _op in REF_OPS:
    op_defs.register_op(_op, "T", stateful=True, ref_inputs=tuple(range(_REFS.get(_op, 1))))


class VariableState(Ref):
    """One variable's value (an ndarray, or None before initialization), declared dtype/shape and lock."""

    __slots__ = ("name", "dtype", "shape", "value", "lock")

    def __init__(self, name, dtype, shape):
        self.name = name
        self.dtype = np.dtype(dtype)
        self.shape = shape  # tuple with None for unknown dims, or None for unknown rank
        self.value = None
        self.lock = threading.Lock()

    def get(self):
        """The current value; FailedPreconditionError naming the variable before initialization."""
        value = self.value
        if value is None:
            raise uninitialized_error(self.name)
        return value

    read = get  # what a non-ref consumer of the variable node gets, when it runs

    def set(self, value):
        """Store ``value`` (already our own array) read-only, so no consumer can change it in place."""
        value.setflags(write=False)
        self.value = value
        return value


def uninitialized_error(name):
    """TF's error for reading a variable that has no value yet."""
    return UninitializedValueError(None, None, f"Attempting to use uninitialized value {name}",
                                   node_name=name, op_type="VariableV2")


class UninitializedValueError(FailedPreconditionError, AttributeError):
    """Raised by any use of an uninitialized variable's value (an AttributeError too, as it used to be raised
    from attribute probes; callers may still catch it so)."""


@register_kernel("VariableV2", "CPU")
def variable(node, env):
    """Outputs the variable's state: ref ops use it, other consumers read its value when they run."""
    resources = node_resources(node, env, FailedPreconditionError)
    dtype = get_attr(node, "dtype")
    shape = get_attr(node, "shape", None)
    container = get_attr(node, "container", "") or ""
    shared = get_attr(node, "shared_name", "") or node.name
    state = resources.lookup_or_create(container, shared,
                                       lambda: VariableState(node.name, dtype.as_numpy_dtype, shape))
    resources.create(REF_CONTAINER, node.name, state)
    return lambda: state


def _ref_state(node, env, index=0):
    """A function giving the VariableState behind ref input ``index`` (looked up once, on first use)."""
    resources = node_resources(node, env, FailedPreconditionError)
    ref_node = node_name(node.input[index])
    found = []

    def state():
        if not found:
            try:
                found.append(resources.lookup(REF_CONTAINER, ref_node))
            except Exception:
                raise FailedPreconditionError(
                    None, None, f"{node.op} node {node.name!r}: its variable {ref_node!r} is not in this process; "
                                "a ref op must be placed with its variable", node_name=node.name,
                    op_type=node.op) from None
        return found[0]
    return state


def _shape_matches(declared, shape):
    if declared is None:
        return True
    return len(declared) == len(shape) and all(d is None or d == s for d, s in zip(declared, shape))


@register_kernel("Assign", "CPU")
def assign(node, env):
    """``ref = value`` (a copy); with validate_shape, the value must fit the variable's declared shape."""
    state_of = _ref_state(node, env)
    validate = bool(get_attr(node, "validate_shape", True))

    def assign_fn(ref, value):
        state = state_of()
        value = np.asarray(value)
        if validate and not _shape_matches(state.shape, value.shape):
            raise InvalidArgumentError(None, None, f"Assign requires shapes of both tensors to match. lhs shape= "
                                                   f"{list(state.shape)} rhs shape= {list(value.shape)} "
                                                   f"(variable {state.name})")
        new = np.array(value, dtype=state.dtype, copy=True)
        with state.lock:
            return state.set(new)
    return assign_fn


def _assign_update(sign):
    def factory(node, env):
        state_of = _ref_state(node, env)

        def update_fn(ref, value):
            state = state_of()
            value = np.asarray(value)
            with state.lock:
                old = state.get()
                if np.broadcast_shapes(old.shape, value.shape) != old.shape:
                    raise InvalidArgumentError(None, None, f"{node.op}: value of shape {list(value.shape)} does "
                                                           f"not fit variable {state.name} of shape "
                                                           f"{list(old.shape)}")
                new = old + value if sign > 0 else old - value
                return state.set(new.astype(state.dtype, copy=False))
        return update_fn
    return factory


register_kernel("AssignAdd", "CPU")(_assign_update(+1))
register_kernel("AssignSub", "CPU")(_assign_update(-1))


@register_kernel("IsVariableInitialized", "CPU")
def is_variable_initialized(node, env):
    """Whether the variable has a value."""
    state_of = _ref_state(node, env)
    return lambda ref: np.array(state_of().value is not None)


def _locked(states):
    """Acquire the locks of several variables in one global order (name), so two updates never deadlock."""
    class _Many:
        def __enter__(self):
            for s in ordered:
                s.lock.acquire()

        def __exit__(self, *exc):
            for s in reversed(ordered):
                s.lock.release()
    ordered = sorted(set(states), key=lambda s: (s.name, id(s)))
    return _Many()


def _check_grad(node, var, grad):
    if var.shape != grad.shape:
        raise InvalidArgumentError(None, None, f"{node.op}: var and grad do not have the same shape "
                                               f"{list(var.shape)} {list(grad.shape)}")


def _scalar(value, what, node):
    value = np.asarray(value)
    if value.ndim:
        raise InvalidArgumentError(None, None, f"{node.op}: {what} is not a scalar: {list(value.shape)}")
    return value


@register_kernel("ApplyGradientDescent", "CPU")
def apply_gradient_descent(node, env):
    """``var -= alpha * delta``."""
    var_of = _ref_state(node, env)

    def fn(var_ref, alpha, delta):
        state = var_of()
        alpha = _scalar(alpha, "alpha", node)
        with state.lock:
            var = state.get()
            _check_grad(node, var, delta)
            return state.set((var - alpha * delta).astype(state.dtype, copy=False))
    return fn


@register_kernel("ApplyMomentum", "CPU")
def apply_momentum(node, env):
    """``accum = accum * momentum + grad; var -= lr * accum`` (Nesterov: ``var -= lr * (grad + momentum * accum)``)."""
    var_of, accum_of = _ref_state(node, env, 0), _ref_state(node, env, 1)
    nesterov = bool(get_attr(node, "use_nesterov", False))

    def fn(var_ref, accum_ref, lr, grad, momentum):
        var_s, accum_s = var_of(), accum_of()
        lr, momentum = _scalar(lr, "lr", node), _scalar(momentum, "momentum", node)
        with _locked([var_s, accum_s]):
            var, accum = var_s.get(), accum_s.get()
            _check_grad(node, var, grad)
            accum = accum_s.set((accum * momentum + grad).astype(accum_s.dtype, copy=False))
            step = lr * (grad + momentum * accum) if nesterov else lr * accum
            return var_s.set((var - step).astype(var_s.dtype, copy=False))
    return fn


@register_kernel("ApplyAdam", "CPU")
def apply_adam(node, env):
    """Adam: ``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``; m, v moving averages; ``var -= lr_t * m /
    (sqrt(v) + epsilon)`` (Nesterov: ``m`` replaced by ``beta1 * m + (1 - beta1) * grad``), as TF computes it."""
    var_of, m_of, v_of = (_ref_state(node, env, i) for i in range(3))
    nesterov = bool(get_attr(node, "use_nesterov", False))

    def fn(var_ref, m_ref, v_ref, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad):
        var_s, m_s, v_s = var_of(), m_of(), v_of()
        b1p, b2p = _scalar(beta1_power, "beta1_power", node), _scalar(beta2_power, "beta2_power", node)
        lr, b1, b2 = _scalar(lr, "lr", node), _scalar(beta1, "beta1", node), _scalar(beta2, "beta2", node)
        eps = _scalar(epsilon, "epsilon", node)
        with _locked([var_s, m_s, v_s]):
            var, m, v = var_s.get(), m_s.get(), v_s.get()
            _check_grad(node, var, grad)
            lr_t = lr * np.sqrt(1 - b2p) / (1 - b1p)
            m = m_s.set((m + (grad - m) * (1 - b1)).astype(m_s.dtype, copy=False))
            v = v_s.set((v + (grad * grad - v) * (1 - b2)).astype(v_s.dtype, copy=False))
            m_hat = m * b1 + (1 - b1) * grad if nesterov else m
            return var_s.set((var - lr_t * m_hat / (np.sqrt(v) + eps)).astype(var_s.dtype, copy=False))
    return fn
