"""Python functions of dataset elements (``map``, ``filter``) traced into graphs of their own, and datasets
captured by value (``make_one_shot_iterator``).

A traced function is a separate ``Graph`` with one Placeholder per element component (``args_0``, ...); its
GraphDef travels inside the dataset op as attrs, so the task that runs the iterator runs the function, wherever
the client is. The trace also decides whether the function is *elementwise*: built only of elementwise ops whose
element-derived inputs agree in rank, so that running it once on a block of elements (a leading axis more)
gives every element's result. Only then does the engine run it per block; otherwise it runs per element.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     f = trace(lambda x: x * 2 + 1, tf.int64, tf.TensorShape([]), "map_func")
>>> f.arguments, f.output_types, f.elementwise
(['args_0:0'], tf.int64, True)
"""

import numpy as np

from engine import op_defs as engine_op_defs
from protos import graph_pb2
from tasklayer import op_registry
from tasklayer.data import structure
from tasklayer.graph import Graph, get_default_graph
from tasklayer.graph_io import node_def_of
from tasklayer.ops.array_ops import placeholder
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.tensor import Tensor

# Ops whose result for a block of elements is the block of their per-element results (given equal ranks).
ELEMENTWISE_OPS = frozenset(engine_op_defs.UNARY + engine_op_defs.ARITHMETIC_BINARY + engine_op_defs.COMPARISONS
                            + ("LogicalAnd", "LogicalOr", "LogicalNot", "Cast"))


class TracedFunction:
    """A function traced into its own graph: the GraphDef bytes, argument and result tensor names, the output
    structure (types and shapes) and whether it may run on blocks of elements."""

    def __init__(self, graph_def, arguments, results, output_types, output_shapes, elementwise):
        self.graph_def = graph_def
        self.arguments = arguments
        self.results = results
        self.output_types = output_types
        self.output_shapes = output_shapes
        self.elementwise = elementwise

    def attrs(self, prefix):
        """The attrs that carry this function on a dataset op, under ``prefix`` (``f``, ``predicate``)."""
        return {prefix: np.array(self.graph_def, dtype=object), f"{prefix}_arguments": list(self.arguments),
                f"{prefix}_results": list(self.results), f"{prefix}_elementwise": bool(self.elementwise)}


def trace(func, input_types, input_shapes, what):
    """Trace ``func`` on an element of the given structure of types and shapes.

    As in TF, a tuple element is passed as separate arguments, anything else (a dict, one component) as one.
    A list result becomes a tuple; Python and numpy values become constants. ValueError/TypeError name
    ``what`` (``map_func``, ``predicate``) when the result is not made of tensors of this trace.
    """
    outer = get_default_graph()
    graph = Graph()
    graph.seed = outer.seed  # random ops in the function follow the program's graph-level seed
    flat_types, flat_shapes = structure.flatten(input_types), structure.flatten(input_shapes)
    with graph.as_default():
        args = [placeholder(t, s, name=f"args_{i}") for i, (t, s) in enumerate(zip(flat_types, flat_shapes))]
        element = structure.pack_as(input_types, args)
        try:
            result = func(*element) if type(element) is tuple else func(element)
        except ValueError as e:
            if "same graph" in str(e):
                raise ValueError(f"{what} uses a tensor of the enclosing graph ({e}). A tf.data function is traced "
                                 "into a graph of its own and cannot capture tensors: pass the value in the dataset "
                                 "(e.g. zip it in), or as a Python or numpy constant.") from None
            raise
        if result is None:
            raise ValueError(f"{what} must return a tensor or a (nested) tuple or dict of tensors, got None")
        if isinstance(result, list):  # TF turns a returned list into a tuple (a list would be one tensor)
            result = tuple(result)
        result = structure.map_structure(lambda v: _as_result(v, graph, what), result)
    flat = structure.flatten(result)
    graph_def = graph.as_graph_def()
    for node in graph_def.node:
        if node.op == "Placeholder":  # any shape: the engine feeds blocks (a leading axis more) to elementwise runs
            node.attr["shape"].CopyFrom(graph_pb2.AttrValue(shape=graph_pb2.TensorShapeProto(unknown_rank=True)))
    return TracedFunction(graph_def.SerializeToString(), [a.name for a in args], [t.name for t in flat],
                          structure.map_structure(lambda t: t.dtype, result),
                          structure.map_structure(lambda t: t.shape, result), is_elementwise(graph, args, flat))


def _as_result(value, graph, what):
    if isinstance(value, Tensor):
        if value.graph is not graph:
            raise ValueError(f"{what} returned {value}, a tensor of the enclosing graph; a tf.data function "
                             "cannot capture tensors (return a Python or numpy value, or put it in the dataset)")
        return value
    try:
        return convert_to_tensor(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what} must return tensors (or values convertible to them); got {value!r}: {e}") from None


def is_elementwise(graph, args, results):
    """Whether running the traced ``graph`` on a block of elements gives every element's results.

    True when the graph has no stateful op (a random op would give one value for the whole block), every op
    that depends on an argument is elementwise, its argument-derived inputs have one known rank and its other
    inputs no larger a rank (so broadcasting never reaches the block's axis), and every result depends on an
    argument (a constant result would lack the block's axis).
    """
    derived = {a for a in args}
    for op in graph.get_operations():
        if op.type != "Placeholder" and (op_registry.lookup(op.type).stateful or engine_op_defs.is_stateful(op.type)):
            return False
        if op.type == "Placeholder" or not any(t in derived for t in op.inputs):
            continue
        if op.type not in ELEMENTWISE_OPS:
            return False
        ranks = {t.shape.ndims for t in op.inputs if t in derived}
        if len(ranks) != 1 or None in ranks:
            return False
        rank = ranks.pop()
        if any(t.shape.ndims is None or t.shape.ndims > rank for t in op.inputs if t not in derived):
            return False
        derived.update(op.outputs)
    return all(t in derived for t in results)


def capture_by_value(tensor):
    """The ops ``tensor`` depends on, as a GraphDef of their own (bytes), for a one-shot iterator's factory.

    ValueError (TF's words) for a Placeholder, or a stateful op that is not a dataset op (a Variable).
    """
    needed, stack = set(), [tensor.op]
    while stack:
        op = stack.pop()
        if op in needed:
            continue
        if op.type == "Placeholder":
            raise ValueError(f"Cannot capture a placeholder (name:{op.name}, type:{op.type}) by value.")
        # Dataset ops (their outputs are variants) are stateful for the passes, yet captured like constants.
        is_dataset = bool(op.outputs) and all(t.dtype == structure.variant for t in op.outputs)
        if not is_dataset and op_registry.lookup(op.type).stateful:
            raise ValueError("Failed to create a one-shot iterator for a dataset. `Dataset.make_one_shot_iterator()`"
                             " does not support datasets that capture stateful objects, such as a `Variable` or "
                             "`LookupTable`. In these cases, use `Dataset.make_initializable_iterator()`. (Original "
                             f"error: Cannot capture a stateful node (name:{op.name}, type:{op.type}) by value.)")
        needed.add(op)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    graph_def = graph_pb2.GraphDef()
    for op in tensor.graph.get_operations():  # creation order is a topological order
        if op in needed:
            node = graph_def.node.add()
            node.CopyFrom(node_def_of(op))
            node.device = ""  # the factory runs wherever its iterator is placed
    return graph_def.SerializeToString()
