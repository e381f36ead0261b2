"""What the engine knows about each op type without running it: output dtypes, statefulness, commutativity.

Later issues add their ops with ``register_op`` (e.g. variables, which are stateful).
"""

import dataclasses

from engine import dtypes
from engine.errors import NotFoundError
from engine.graph_util import get_attr


@dataclasses.dataclass(frozen=True)
class OpDef:
    """How to find an op's output dtypes from a NodeDef, and the properties graph passes care about."""

    name: str
    outputs: object            # callable(NodeDef) -> list[DType]
    stateful: bool = False     # never folded or merged; each run may differ or change state
    commutative: bool = False  # CSE may reorder its two data inputs
    blocking: bool = False     # may wait on something outside the graph (a _Recv)


_OPS = {}


def register_op(name, outputs, *, stateful=False, commutative=False, blocking=False):
    """Declare op ``name``; ``outputs`` is a callable NodeDef -> list of DType (or an attr name, see below)."""
    _OPS[name] = OpDef(name, _as_rule(outputs), stateful, commutative, blocking)


def lookup(op_type):
    """The ``OpDef`` of an op type; NotFoundError naming it if unknown."""
    try:
        return _OPS[op_type]
    except KeyError:
        raise NotFoundError(None, None, f"op type {op_type!r} is not registered", op_type=op_type) from None


def is_known(op_type):
    """Whether an op type is registered."""
    return op_type in _OPS


def is_stateful(op_type):
    """Whether an op must never be folded or merged (unknown ops count as stateful, to be safe)."""
    od = _OPS.get(op_type)
    return True if od is None else od.stateful


def output_dtypes(node):
    """The dtypes of ``node``'s outputs from its attrs."""
    return lookup(node.op).outputs(node)


def _as_rule(spec):
    """A rule from shorthand: ``"T"`` = one output of attr T's dtype; a DType = one fixed output."""
    if callable(spec):
        return spec
    if isinstance(spec, dtypes.DType):
        return lambda node: [spec]
    if isinstance(spec, str):
        return lambda node: [get_attr(node, spec)]
    raise TypeError(f"bad output rule {spec!r}")


def _none(node):
    return []


def _attr_default(attr, default):
    return lambda node: [get_attr(node, attr, default)]


def _repeat(attr_t, attr_n):
    return lambda node: [get_attr(node, attr_t)] * int(get_attr(node, attr_n))


# Sources.
for _op, _attr in (("Const", "dtype"), ("Placeholder", "dtype"), ("PlaceholderWithDefault", "dtype"),
                   ("RandomStandardNormal", "dtype"), ("RandomUniform", "dtype"),
                   ("TruncatedNormal", "dtype")):
    register_op(_op, _attr, stateful=_op.startswith(("Random", "Truncated")))
register_op("Fill", "T")
register_op("ZerosLike", "T")
register_op("OnesLike", "T")
register_op("Range", _attr_default("Tidx", dtypes.int32))
register_op("Shape", _attr_default("out_type", dtypes.int32))
register_op("Size", _attr_default("out_type", dtypes.int32))
register_op("Rank", dtypes.int32)

# Elementwise.
COMMUTATIVE_BINARY = ("Add", "AddV2", "Mul", "Maximum", "Minimum", "SquaredDifference", "Equal", "NotEqual",
                      "LogicalAnd", "LogicalOr")
ARITHMETIC_BINARY = ("Add", "AddV2", "Sub", "Mul", "RealDiv", "Div", "FloorDiv", "FloorMod", "Pow", "Maximum",
                     "Minimum", "SquaredDifference")
COMPARISONS = ("Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual")
UNARY = ("Neg", "Square", "Sqrt", "Rsqrt", "Exp", "Log", "Abs", "Sign", "Reciprocal", "Relu", "Sigmoid", "Tanh",
         "Identity", "StopGradient")
for _op in ARITHMETIC_BINARY:
    register_op(_op, "T", commutative=_op in COMMUTATIVE_BINARY)
for _op in COMPARISONS:
    register_op(_op, dtypes.bool_, commutative=_op in COMMUTATIVE_BINARY)
for _op in ("LogicalAnd", "LogicalOr"):
    register_op(_op, dtypes.bool_, commutative=True)
register_op("LogicalNot", dtypes.bool_)
for _op in UNARY:
    register_op(_op, "T")
register_op("AddN", "T")
register_op("MatMul", "T")

# Reductions.
for _op in ("Sum", "Mean", "Max", "Min", "Prod"):
    register_op(_op, "T")
for _op in ("All", "Any"):
    register_op(_op, dtypes.bool_)
register_op("ArgMax", _attr_default("output_type", dtypes.int64))
register_op("ArgMin", _attr_default("output_type", dtypes.int64))

# Shapes and slicing.
for _op in ("Reshape", "Transpose", "ExpandDims", "Squeeze", "Tile", "BroadcastTo", "Slice", "StridedSlice",
            "ConcatV2", "Pack"):
    register_op(_op, "T")
register_op("Split", _repeat("T", "num_split"))
register_op("Unpack", _repeat("T", "num"))
register_op("GatherV2", "Tparams")

# Other.
register_op("Cast", "DstT")
register_op("Select", "T")
register_op("Where", dtypes.int64)
register_op("OneHot", "T")

# NN.
register_op("Softmax", "T")
register_op("LogSoftmax", "T")
register_op("SoftmaxCrossEntropyWithLogits", lambda node: [get_attr(node, "T")] * 2)
register_op("SparseSoftmaxCrossEntropyWithLogits", lambda node: [get_attr(node, "T")] * 2)

# Control and cross-partition.
register_op("NoOp", _none)
register_op("_Send", _none, stateful=True)
register_op("_Recv", "tensor_type", stateful=True, blocking=True)
