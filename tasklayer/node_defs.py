"""Ops and graphs as protobuf: ``node_def_of`` (an Operation as a NodeDef) and ``graph_to_graph_def``.

The writing half of ``graph_io``, kept apart so that ``Operation.node_def`` and ``Graph.as_graph_def`` use it
without importing the module that imports graphs (which needs ``Graph`` itself).

>>> import tasklayer as tf
>>> with tf.Graph().as_default() as g:
...     _ = tf.constant(5, name="x") + 1
>>> node = node_def_of(g.get_operation_by_name("add"))
>>> node.op, list(node.input), graph_to_graph_def(g).node[0].name
('Add', ['x', 'add/y'], 'x')
"""

import numpy as np

from engine import graph_util, tensor_codec
from protos import graph_pb2
from tasklayer.shapes import TensorShape


def _attr_to_proto(value):
    if isinstance(value, TensorShape):
        return graph_pb2.AttrValue(shape=value.as_proto())
    if isinstance(value, np.ndarray):
        return graph_pb2.AttrValue(tensor=tensor_codec.to_proto(value))
    return graph_util.make_attr(value)


def _input_name(t):
    return t.op.name if t.value_index == 0 else t.name


def node_def_of(op):
    """``op`` as a NodeDef: data inputs (``"a"``, ``"a:1"``), then control inputs (``"^a"``)."""
    node = graph_pb2.NodeDef(name=op.name, op=op.type, device=op.device)
    node.input.extend([_input_name(t) for t in op.inputs] + [f"^{c.name}" for c in op.control_inputs])
    for key, value in op._attrs.items():
        node.attr[key].CopyFrom(_attr_to_proto(value))
    return node


def graph_to_graph_def(graph):
    """All ops of ``graph`` in creation order (a topological order) as a GraphDef."""
    gd = graph_pb2.GraphDef(version=graph.version)
    gd.node.extend(node_def_of(op) for op in graph.get_operations())
    return gd
