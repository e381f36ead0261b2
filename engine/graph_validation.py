"""A GraphDef checked as TensorFlow checks one it imports: node names, inputs, attrs and input dtypes.

Every task runs this once per graph it is given (``Executor`` builds call it), so a graph from a client that did
not use the task layer's builder, or was edited by hand, fails at once with the node named, never runs with
types its attrs contradict (a float ``MatMul`` on an int32 input would otherwise answer float64).

>>> import numpy as np
>>> from engine.graph_util import make_const, make_node
>>> from protos import graph_pb2
>>> g = graph_pb2.GraphDef(node=[make_const("a", np.int32(1)), make_const("b", np.float32(2)),
...                              make_node("m", "Mul", ["a", "b"], T=dtypes.float32)])
>>> try:
...     validate_graph_def(g)
... except InvalidArgumentError as e:
...     print(e)
Input 0 of node m was passed int32 from a:0 incompatible with expected float.
"""

import re

from engine import dtypes, op_defs  # noqa: F401 (dtypes: doctest)
from engine.errors import InvalidArgumentError, NotFoundError
from engine.graph_util import parse_input

# TF's rule for node names (core/graph/graph_constructor.cc): a first character, then the rest.
_NODE_NAME = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.\-/>]*\Z")
_INTERNAL_NODE_NAME = re.compile(r"_[A-Za-z0-9_.\-/>]*\Z")  # Send/Recv and control nodes the master inserts
_TF_NAMES = {"float32": "float", "float64": "double", "float16": "half"}


def _tf_name(dtype):
    return _TF_NAMES.get(dtype.name, dtype.name)


def validate_graph_def(graph_def, partial=False):
    """Raise InvalidArgumentError (or NotFoundError for an unknown op) naming the first bad node of ``graph_def``.

    Checks: names are non-empty, well formed and unique; every input names an existing node and one of its
    outputs; every op type is known and has the attrs its outputs need; and, for ops that declare their input
    types, every data input has the dtype the node's attrs ask for. ``partial``: the graph may lack nodes its
    inputs name (a pruned graph whose fed nodes were dropped), whose inputs are then not checked, and it may hold
    the ``_``-prefixed nodes a master inserts (TF's ``allow_internal_ops``).
    """
    nodes = {}
    for node in graph_def.node:
        if not node.name:
            raise InvalidArgumentError(None, None, f"Node of op type {node.op or '?'} has an empty name "
                                       f"(input {list(node.input)})", op_type=node.op or None)
        if not (_NODE_NAME.match(node.name) or partial and _INTERNAL_NODE_NAME.match(node.name)):
            raise InvalidArgumentError(None, None, f"Node '{node.name}': Node name contains invalid characters",
                                       node_name=node.name, op_type=node.op)
        if node.name in nodes:
            raise InvalidArgumentError(None, None, f"Node '{node.name}' is not unique", node_name=node.name,
                                       op_type=node.op)
        if not op_defs.is_known(node.op):
            raise NotFoundError(None, None, f"Op type not registered '{node.op}' in node {node.name!r}",
                                node_name=node.name, op_type=node.op)
        nodes[node.name] = node
    outputs = {name: _outputs_of(node) for name, node in nodes.items()}
    for node in graph_def.node:
        _check_inputs(node, nodes, outputs, partial)


def _outputs_of(node):
    try:
        return list(op_defs.output_dtypes(node))
    except InvalidArgumentError as e:
        raise InvalidArgumentError(None, None, f"NodeDef {node.name} ({node.op}): {e.message}",
                                   node_name=node.name, op_type=node.op) from None


def _check_inputs(node, nodes, outputs, partial):
    seen_control = False
    data = []
    for i, ref in enumerate(node.input):
        if ref.startswith("^"):
            seen_control = True
            if ref[1:] not in nodes and not partial:
                raise InvalidArgumentError(None, None, f"Node '{node.name}': Unknown input node '{ref}'",
                                           node_name=node.name, op_type=node.op)
            continue
        if seen_control:
            raise InvalidArgumentError(None, None, f"Node '{node.name}': Non-control input '{ref}' after "
                                       "control input", node_name=node.name, op_type=node.op)
        src, index, _ = parse_input(ref)
        if src not in nodes:
            if partial:
                data.append((ref, None))
                continue
            raise InvalidArgumentError(None, None, f"Node '{node.name}': Unknown input node '{ref}'",
                                       node_name=node.name, op_type=node.op)
        produced = outputs[src]
        if index >= len(produced):
            raise InvalidArgumentError(None, None, f"Node '{node.name}': Connecting to invalid output {index} of "
                                       f"source node {src} which has {len(produced)} outputs",
                                       node_name=node.name, op_type=node.op)
        data.append((ref, produced[index]))
    expected = op_defs.expected_inputs(node, len(data))
    if expected is None:
        return
    for i, ((ref, got), want) in enumerate(zip(data, expected)):
        if want is not None and got is not None and got is not want:
            src, index, _ = parse_input(ref)
            raise InvalidArgumentError(None, None, f"Input {i} of node {node.name} was passed {_tf_name(got)} "
                                       f"from {src}:{index} incompatible with expected {_tf_name(want)}.",
                                       node_name=node.name, op_type=node.op)

