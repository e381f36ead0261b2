"""What the engine knows about each op type without running it: output dtypes, statefulness, commutativity.

The core ops are declared here; every other op is declared by its kernel module with ``register_op`` (e.g.
variables, which are stateful), beside its kernels. Those are found by asking: the first time ``lookup``,
``is_known``, ``is_stateful`` or ``output_dtypes`` meets an op type it does not know, it has the kernel
backends loaded (the kernel registry, ``engine.kernels.registry``, sets the loader with ``set_loader`` when it is
imported, and the ``engine`` package imports it), so no module imports a backend file for its op definitions.

>>> is_known("IteratorGetNext")  # declared by a tf.data kernel module, found when first asked for
True
"""

import dataclasses

from engine import dtypes
from engine.errors import InvalidArgumentError, NotFoundError
from engine.graph_util import get_attr


@dataclasses.dataclass(frozen=True)
class OpDef:
    """How to find an op's output dtypes from a NodeDef, and the properties graph passes care about."""

    name: str
    outputs: object            # callable(NodeDef) -> list[DType]
    stateful: bool = False     # never folded or merged; each run may differ or change state
    commutative: bool = False  # CSE may reorder its two data inputs
    blocking: bool = False     # may wait on something outside the graph (a _Recv)
    inputs: object = None      # the dtypes its data inputs must have (see ``expected_inputs``); None: unchecked
    ref_inputs: tuple = ()     # inputs that take a variable itself (a ``Ref``), not its value: Assign's input 0
    ref_output: bool = False   # outputs a ``Ref`` (a variable), which other consumers read when they run


_OPS = {}
_loader = None  # imports the kernel backends, which declare their ops (see ``set_loader``)


def register_op(name, outputs, *, stateful=False, commutative=False, blocking=False, inputs=None, ref_inputs=(),
                ref_output=False):
    """Declare op ``name``; ``outputs`` is a callable NodeDef -> list of DType (or an attr name, see below);
    ``inputs`` says what its data inputs must be (see ``expected_inputs``); ``ref_inputs`` which inputs take a
    variable itself (``engine.refs``): every other input gets values; ``ref_output`` that its output is such a
    variable."""
    _OPS[name] = OpDef(name, _as_rule(outputs), stateful, commutative, blocking, inputs, tuple(ref_inputs),
                       ref_output)


def set_inputs(name, inputs):
    """Declare the input dtypes of an op registered before (``inputs`` as in ``expected_inputs``)."""
    _OPS[name] = dataclasses.replace(lookup(name), inputs=inputs)


def expected_inputs(node, count):
    """The dtype each of ``node``'s ``count`` data inputs must have (None where any will do), or None when its op
    declares nothing. A rule is an attr name (every input has that attr's type), a sequence with one entry per
    input (an attr name, a DType, or None), or a callable ``(node, count) -> list``. An attr the node lacks checks
    nothing; a fixed-arity rule whose length differs from ``count`` is an InvalidArgumentError."""
    rule = lookup(node.op).inputs
    if rule is None:
        return None
    if callable(rule):
        return rule(node, count)
    if isinstance(rule, str):
        return [_attr_type(node, rule)] * count
    if len(rule) != count:
        raise InvalidArgumentError(None, None, f"NodeDef {node.name} ({node.op}) expects {len(rule)} inputs, got "
                                   f"{count}", node_name=node.name, op_type=node.op)
    return [_attr_type(node, r) if isinstance(r, str) else r for r in rule]


def _attr_type(node, attr):
    return get_attr(node, attr, None)


def set_loader(load):
    """Have ``load()`` import the kernel backends when an op type is not known yet (the kernel registry sets it;
    ``load`` must be idempotent and cheap once done)."""
    global _loader
    _loader = load


def _find(op_type):
    """The ``OpDef`` of ``op_type`` or None, loading the backends first if it is not known yet."""
    od = _OPS.get(op_type)
    if od is None and _loader is not None:
        _loader()
        od = _OPS.get(op_type)
    return od


def lookup(op_type):
    """The ``OpDef`` of an op type; NotFoundError naming it if unknown."""
    try:
        return _OPS[op_type]
    except KeyError:
        od = _find(op_type)
    if od is None:
        raise NotFoundError(None, None, f"op type {op_type!r} is not registered", op_type=op_type)
    return od


def is_known(op_type):
    """Whether an op type is registered."""
    return op_type in _OPS or _find(op_type) is not None


def is_stateful(op_type):
    """Whether an op must never be folded or merged (unknown ops count as stateful, to be safe)."""
    od = _find(op_type)
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


# What each op's data inputs must be, as TF's OpDefs say (see ``expected_inputs``).
_B, _I32 = dtypes.bool_, dtypes.int32
_INPUTS = {
    "MatMul": "T", "AddN": "T", "Pack": "T", "Softmax": "T", "LogSoftmax": "T", "ZerosLike": "T",
    "OnesLike": "T", "_Send": "T", "Squeeze": ("T",), "Unpack": ("T",), "Cast": ("SrcT",),
    "LogicalAnd": (_B, _B), "LogicalOr": (_B, _B), "LogicalNot": (_B,),
    "All": (_B, "Tidx"), "Any": (_B, "Tidx"), "ArgMax": ("T", "Tidx"), "ArgMin": ("T", "Tidx"),
    "Reshape": ("T", "Tshape"), "Transpose": ("T", "Tperm"), "ExpandDims": ("T", "Tdim"),
    "Tile": ("T", "Tmultiples"), "BroadcastTo": ("T", "Tidx"), "Slice": ("T", "Index", "Index"),
    "StridedSlice": ("T", "Index", "Index", "Index"), "Split": (_I32, "T"),
    "GatherV2": ("Tparams", "Tindices", "Taxis"), "Select": (_B, "T", "T"), "OneHot": ("TI", _I32, "T", "T"),
    "Fill": ("index_type", "T"), "Range": ("Tidx", "Tidx", "Tidx"),
    "SoftmaxCrossEntropyWithLogits": ("T", "T"), "SparseSoftmaxCrossEntropyWithLogits": ("T", "Tlabels"),
    "ConcatV2": lambda node, count: [_attr_type(node, "T")] * (count - 1) + [_attr_type(node, "Tidx")],
}
for _op in ARITHMETIC_BINARY + COMPARISONS + UNARY:
    _INPUTS.setdefault(_op, "T")
for _op in ("Sum", "Mean", "Max", "Min", "Prod"):
    _INPUTS[_op] = ("T", "Tidx")
for _op, _rule in _INPUTS.items():
    set_inputs(_op, _rule)
