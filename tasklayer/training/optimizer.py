"""``tf.train.Optimizer``: ``minimize`` = ``compute_gradients`` + ``apply_gradients``.

Subclasses create their slots (per-variable state such as momentum) with ``_zeros_slot`` and build one update
op per variable in ``_apply_dense``. Slots are variables placed beside their variable (same device), named
``<var>/<optimizer name>`` like TF's, in GLOBAL_VARIABLES so that the initializer and the Saver see them.
"""

from tasklayer import dtypes, initializers, variables as variables_lib
from tasklayer.gradients import gradients
from tasklayer.graph import GraphKeys, colocate_with, control_dependencies, get_default_graph, name_scope
from tasklayer.ops import array_ops, control_flow_ops, math_ops
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.variable_scope import _ExactName


class Optimizer:
    """Base class of the optimizers; not used directly."""

    GATE_NONE, GATE_OP, GATE_GRAPH = 0, 1, 2

    def __init__(self, use_locking, name):
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking = use_locking
        self._name = name
        self._slots = {}           # slot name -> {var: slot Variable}
        self._non_slots = {}       # (name, graph) -> Variable

    def get_name(self):
        """The optimizer's name (used in slot and op names)."""
        return self._name

    # ------------------------------------------------------------------ the three entry points
    def minimize(self, loss, global_step=None, var_list=None, gate_gradients=GATE_OP, aggregation_method=None,
                 colocate_gradients_with_ops=False, name=None, grad_loss=None):
        """Add ops that update ``var_list`` (default: trainable variables) to reduce ``loss``; returns the op.

        ValueError naming the loss and the variables when no variable has a path to the loss.
        """
        grads_and_vars = self.compute_gradients(loss, var_list=var_list, grad_loss=grad_loss)
        if not any(g is not None for g, _ in grads_and_vars):
            names = [v.op.name for _, v in grads_and_vars]
            raise ValueError(f"No gradients provided for any variable, check your graph for ops that do not support "
                             f"gradients, between variables {names} and loss {loss}.")
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(self, loss, var_list=None, gate_gradients=GATE_OP, aggregation_method=None,
                          colocate_gradients_with_ops=False, grad_loss=None):
        """``[(gradient or None, variable)]`` of ``loss`` for ``var_list`` (default: trainable variables)."""
        if callable(loss):
            raise NotImplementedError("callable losses (eager execution) are not supported; pass a Tensor")
        loss = convert_to_tensor(loss)
        if loss.dtype not in dtypes.FLOATS:
            raise ValueError(f"Invalid type {loss.dtype.name} for {loss.name}, expected: float16, float32, "
                             "float64.")
        if var_list is None:
            var_list = loss.graph.get_collection(GraphKeys.TRAINABLE_VARIABLES)
        var_list = list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        for v in var_list:
            if not isinstance(v, variables_lib.Variable):
                raise TypeError(f"var_list must hold Variables, got {v!r}")
        grads = gradients(loss, var_list, grad_ys=grad_loss)
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """Apply ``[(gradient, variable)]``; returns the update op (which also bumps ``global_step`` if given)."""
        grads_and_vars = [(g, v) for g, v in grads_and_vars]
        if not grads_and_vars:
            raise ValueError("No variables provided.")
        for g, v in grads_and_vars:
            if not isinstance(v, variables_lib.Variable):
                raise TypeError(f"apply_gradients expects (gradient, Variable) pairs, got {v!r}")
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            raise ValueError(f"No gradients provided for any variable: {[v.op.name for _, v in grads_and_vars]}.")
        var_list = [v for _, v in pairs]
        with get_default_graph().as_default(), control_dependencies(None):
            self._create_slots(var_list)
        with name_scope(name, self._name) as scope:
            self._prepare()
            updates = []
            for g, v in pairs:
                with name_scope(f"update_{v.op.name}"), colocate_with(v.op, ignore_existing=True):
                    g = convert_to_tensor(g, dtype=v.dtype)
                    updates.append(self._apply_dense(g, v))
            if global_step is None:
                return self._finish(updates, scope)
            with control_dependencies([self._finish(updates, "update")]):
                with colocate_with(global_step.op, ignore_existing=True):
                    return global_step.assign_add(convert_to_tensor(1, dtype=global_step.dtype), name=scope).op

    # ------------------------------------------------------------------ what subclasses provide
    def _create_slots(self, var_list):
        """Create the slots the update needs (none by default)."""

    def _prepare(self):
        """Convert hyper-parameters to tensors once per ``apply_gradients``."""

    def _apply_dense(self, grad, var):
        raise NotImplementedError

    def _finish(self, update_ops, name):
        """One op grouping the per-variable updates."""
        return control_flow_ops.group(*update_ops, name=name)

    # ------------------------------------------------------------------ slots
    def get_slot_names(self):
        """The names of this optimizer's slots (e.g. ``["momentum"]``)."""
        return sorted(self._slots)

    def get_slot(self, var, name):
        """The slot ``name`` of ``var`` (a Variable), or None."""
        return self._slots.get(name, {}).get(var)

    def variables(self):
        """Every variable this optimizer created (slots and others such as Adam's beta powers)."""
        out = [s for slots in self._slots.values() for s in slots.values()]
        return out + list(self._non_slots.values())

    def _zeros_slot(self, var, slot_name, op_name):
        """The slot ``slot_name`` of ``var``: zeros of its shape, beside it, named ``<var>/<op_name>``."""
        slots = self._slots.setdefault(slot_name, {})
        if var not in slots:
            if var.shape.is_fully_defined():
                def zeros():
                    return initializers.zeros()(var.shape.as_list(), var.dtype)
            else:  # a variable whose shape is known only at run time: its slot starts like its initial value
                def zeros():
                    return array_ops.zeros_like(var.initial_value)
            slots[var] = self._make_beside(var, f"{var.op.name}/{op_name}", zeros)
        return slots[var]

    def _make_beside(self, var, full_name, initial_value, dtype=None):
        graph = var.graph
        with graph.as_default(), graph.name_scope(None), colocate_with(var.op, ignore_existing=True):
            return variables_lib.Variable(initial_value, trainable=False, name=_ExactName(_unique(graph, full_name)),
                                          dtype=dtype or var.dtype)

    def _non_slot(self, name, initial_value, colocate_with_var, dtype=None):
        """A per-optimizer variable (e.g. Adam's ``beta1_power``), created once per graph beside a variable."""
        graph = colocate_with_var.graph
        key = (name, graph)
        dtype = dtype or colocate_with_var.dtype
        if key not in self._non_slots:
            self._non_slots[key] = self._make_beside(colocate_with_var, name, lambda: convert_to_tensor(
                initial_value, dtype=dtype), dtype)
        return self._non_slots[key]

    def _get_non_slot(self, name, graph=None):
        return self._non_slots.get((name, graph or get_default_graph()))


def hyper(value, dtype, name):
    """A hyper-parameter for a variable of ``dtype``: Python floats become float32 tensors first and are then
    cast, as TF1's optimizers do, so float64 variables see the same (float32-rounded) rates as in TF."""
    t = value.value() if isinstance(value, variables_lib.Variable) else convert_to_tensor(value, name=name)
    if t.dtype != dtype:
        t = math_ops.cast(t, dtype)
    return t


def _unique(graph, name):
    """``name``, or ``name_1``... when an op of that name exists already."""
    taken = {op.name for op in graph.get_operations()}
    if name not in taken:
        return name
    i = 1
    while f"{name}_{i}" in taken:
        i += 1
    return f"{name}_{i}"
