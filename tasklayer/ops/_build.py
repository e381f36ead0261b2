"""Helpers every ops module uses: operand conversion and dtype checks, op creation, inference rules."""

from tasklayer import dtypes, shapes
from tasklayer.graph import Tensor, get_default_graph, name_scope
from tasklayer.ops.constant_op import convert_to_tensor, is_tensor_like


def who(op):
    """The label shape errors start with: ``MatMul 'matmul_1'``."""
    return f"{op.type} '{op.name}'"


def shape_of(t):
    """A tensor's static shape as a tuple of int/None (None for unknown rank)."""
    return t.shape.as_tuple()


def make_op(op_type, inputs, attrs=None, name=None):
    """Create an op in the default graph (inside an op function's ``name_scope``, that is the inputs' graph)."""
    return get_default_graph().create_op(op_type, inputs, attrs or {}, name=name)


def check_dtype(op_type, arg, tensor, allowed):
    """TypeError in TF's words when ``tensor``'s dtype is not in ``allowed``."""
    if tensor.dtype not in allowed:
        names = ", ".join(d.name for d in allowed)
        raise TypeError(f"Value passed to parameter '{arg}' of '{op_type}' has DataType {tensor.dtype.name} "
                        f"not in list of allowed values: {names}")


def binary_operands(x, y, op_type):
    """Convert ``x`` and ``y`` to Tensors of one dtype: a non-tensor side takes the tensor side's dtype
    (a Python float with a float32 tensor stays float32); two tensors must already agree (TypeError)."""
    if is_tensor_like(x):
        x = convert_to_tensor(x, name="x")
    if is_tensor_like(y):
        y = convert_to_tensor(y, name="y")
    if isinstance(x, Tensor) and not isinstance(y, Tensor):
        y = convert_to_tensor(y, dtype=x.dtype, name="y")
    elif isinstance(y, Tensor) and not isinstance(x, Tensor):
        x = convert_to_tensor(x, dtype=y.dtype, name="x")
    elif not isinstance(x, Tensor):
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, dtype=x.dtype, name="y")
    if x.dtype != y.dtype:
        raise TypeError(f"Input 'y' of '{op_type}' Op has type {y.dtype.name} that does not match type "
                        f"{x.dtype.name} of argument 'x'.")
    return x, y


def binary(op_type, x, y, name, default_name, allowed=dtypes.NUMERIC):
    """Build an elementwise binary op with attr T."""
    with name_scope(name, default_name, [x, y]) as scope:
        x, y = binary_operands(x, y, op_type)
        check_dtype(op_type, "x", x, allowed)
        return make_op(op_type, [x, y], {"T": x.dtype}, scope).outputs[0]


def unary(op_type, x, name, allowed=dtypes.NUMERIC):
    """Build an elementwise unary op with attr T."""
    with name_scope(name, op_type, [x]) as scope:
        x = convert_to_tensor(x, name="x")
        check_dtype(op_type, "x", x, allowed)
        return make_op(op_type, [x], {"T": x.dtype}, scope).outputs[0]


def as_int_tensor(value, name, dtype=None):
    """``value`` (ints, a list of ints or an integer Tensor) as an int32/int64 Tensor."""
    if isinstance(value, Tensor):
        if value.dtype not in (dtypes.int32, dtypes.int64):
            raise TypeError(f"'{name}' must be an int32 or int64 tensor, got {value.dtype.name}")
        return value
    return convert_to_tensor(value, dtype=dtype, name=name, preferred_dtype=dtypes.int32)


# ---------------------------------------------------------------- inference rules shared by op types
def infer_same(op):
    """One output like input 0 (dtype and shape)."""
    x = op.inputs[0]
    return [(x.dtype, x.shape)]


def infer_broadcast(out_dtype=None):
    """One output: the broadcast shape of all inputs; dtype ``out_dtype`` or input 0's."""
    def infer(op):
        shape = shapes.broadcast(who(op), *(shape_of(t) for t in op.inputs))
        return [(out_dtype or op.inputs[0].dtype, shape)]
    return infer
