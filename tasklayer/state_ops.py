"""Variable ops of the graph (TF1's ref ops): VariableV2, Assign, AssignAdd, AssignSub, IsVariableInitialized.

A ref op takes the VariableV2 tensor itself (not its ``read`` snapshot) as input 0 and is colocated with the
variable: the engine keeps the value in the variable's process, and updates it there under a lock.
"""

from engine.op_constants import REF_OPS  # noqa: F401 (the ref ops, named here for the task layer)
from tasklayer import dtypes
from tasklayer.graph import colocate_with, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops._build import make_op, who
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.shapes import TensorShape


def _infer_variable(op):
    return [(op.get_attr("dtype"), op.get_attr("shape"))]


def _infer_assign(op):
    ref, value = op.inputs[:2]
    if op.get_attr("validate_shape"):
        if not ref.shape.is_compatible_with(value.shape):
            raise ValueError(f"{who(op)}: shapes of the variable {ref.shape} and the value {value.shape} must "
                             "match (pass validate_shape=False to change the variable's shape)")
        return [(ref.dtype, ref.shape.merge_with(value.shape))]
    return [(ref.dtype, value.shape)]


def _infer_assign_update(op):
    ref, value = op.inputs[:2]
    return [(ref.dtype, ref.shape)]


register_op("VariableV2", _infer_variable, stateful=True)
register_op("Assign", _infer_assign, stateful=True)
register_op("AssignAdd", _infer_assign_update, stateful=True)
register_op("AssignSub", _infer_assign_update, stateful=True)
register_op("IsVariableInitialized", lambda op: [(dtypes.bool_, ())], stateful=True)


def variable_op(shape, dtype, name="Variable", container="", shared_name=""):
    """A VariableV2 op (its output is the variable's value; ref ops take it as input 0)."""
    attrs = {"shape": TensorShape(shape), "dtype": dtypes.as_dtype(dtype), "container": container,
             "shared_name": shared_name}
    return make_op("VariableV2", [], attrs, name).outputs[0]


def ref_tensor(ref):
    """The VariableV2 tensor behind ``ref`` (a Variable or the tensor itself)."""
    ref = getattr(ref, "_ref", lambda: ref)()
    if getattr(ref, "op", None) is None or ref.op.type != "VariableV2":
        raise TypeError(f"expected a variable (a VariableV2 tensor), got {ref!r}")
    return ref


def colocation(ref):
    """TF's ``_class`` attr value that pins an op to its variable's task in the placement pass."""
    return [f"loc:@{ref.op.name}"]


def _ref_update(op_type, ref, value, name, extra_attrs=None):
    ref = ref_tensor(ref)
    with name_scope(name, op_type, [ref, value]) as scope, colocate_with(ref.op, ignore_existing=True):
        value_t = convert_to_tensor(value, dtype=ref.dtype, name="value")
        attrs = {"T": ref.dtype, "use_locking": True, "_class": colocation(ref)}
        attrs.update(extra_attrs or {})
        return make_op(op_type, [ref, value_t], attrs, scope).outputs[0]


def assign(ref, value, validate_shape=True, use_locking=True, name=None):
    """``ref = value``; returns the new value."""
    return _ref_update("Assign", ref, value, name, {"validate_shape": bool(validate_shape)})


def assign_add(ref, value, use_locking=True, name=None):
    """``ref += value``; returns the new value."""
    return _ref_update("AssignAdd", ref, value, name)


def assign_sub(ref, value, use_locking=True, name=None):
    """``ref -= value``; returns the new value."""
    return _ref_update("AssignSub", ref, value, name)


def is_variable_initialized(ref, name=None):
    """A bool scalar: whether the variable has a value."""
    ref = ref_tensor(ref)
    with name_scope(name, "IsVariableInitialized", [ref]) as scope, colocate_with(ref.op, ignore_existing=True):
        return make_op("IsVariableInitialized", [ref], {"dtype": ref.dtype, "_class": colocation(ref)},
                       scope).outputs[0]
