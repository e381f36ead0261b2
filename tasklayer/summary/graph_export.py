"""A graph as TensorBoard reads it: ``tensorboard_graph_def`` turns a ``tf.Graph`` (or yarnflow's ``GraphDef``)
into TensorFlow's own ``GraphDef`` shape (``yarnflow.tf.GraphDef``), which ``FileWriter.add_graph`` writes.

yarnflow's GraphDef (``protos/graph.proto``) numbers its attr values, tensors and shapes its own way, which
TensorBoard's graph plugin (parsing with TF's messages) cannot read; names, ops, inputs and devices are alike.
As TF's ``as_graph_def(add_shapes=True)``, each node of a ``tf.Graph`` gets an ``_output_shapes`` attr, which
TensorBoard shows on the edges.

>>> import tasklayer as tf
>>> with tf.Graph().as_default() as g:
...     x = tf.placeholder(tf.float32, [None, 3], name="x")
...     y = tf.reduce_sum(x * 2.0, name="total")
>>> node = tensorboard_graph_def(g).node[0]
>>> node.name, node.attr["dtype"].type, [d.size for d in node.attr["_output_shapes"].list.shape[0].dim]
('x', 1, [-1, 3])
"""

from protos import event_pb2, graph_pb2, summary_pb2
from tasklayer.graph import Graph

__all__ = ["tensorboard_graph_def", "tf_shape", "tf_tensor"]


def tf_shape(shape):
    """yarnflow's ``TensorShapeProto`` as TF's."""
    out = summary_pb2.TensorShapeProto(unknown_rank=shape.unknown_rank)
    for d in shape.dim:
        out.dim.add(size=d)
    return out


def _shape_of(tensor):
    """A tensor's static shape as TF's ``TensorShapeProto`` (-1 for an unknown dimension)."""
    dims = tensor.shape.as_tuple()
    if dims is None:
        return summary_pb2.TensorShapeProto(unknown_rank=True)
    return summary_pb2.TensorShapeProto(dim=[summary_pb2.TensorShapeProto.Dim(size=-1 if d is None else d)
                                             for d in dims])


def tf_tensor(tensor):
    """yarnflow's ``TensorProto`` (raw bytes, or string_val) as TF's."""
    out = summary_pb2.TensorProto(dtype=tensor.dtype, tensor_content=tensor.content)
    out.tensor_shape.CopyFrom(tf_shape(tensor.shape))
    out.string_val.extend(tensor.string_val)
    return out


def _tf_attr(value):
    """yarnflow's ``AttrValue`` as TF's (the same kinds, at TF's field numbers)."""
    out = event_pb2.AttrValue()
    kind = value.WhichOneof("value")
    if kind in ("s", "i", "f", "b", "type"):
        setattr(out, kind, getattr(value, kind))
    elif kind == "shape":
        out.shape.CopyFrom(tf_shape(value.shape))
    elif kind == "tensor":
        out.tensor.CopyFrom(tf_tensor(value.tensor))
    elif kind == "list":
        listed, source = out.list, value.list
        listed.SetInParent()
        listed.s.extend(source.s)
        listed.i.extend(source.i)
        listed.f.extend(source.f)
        listed.b.extend(source.b)
        listed.type.extend(source.type)
        listed.shape.extend(tf_shape(s) for s in source.shape)
    return out


def _tf_node(node):
    out = event_pb2.NodeDef(name=node.name, op=node.op, input=list(node.input), device=node.device)
    for key, value in node.attr.items():
        out.attr[key].CopyFrom(_tf_attr(value))
    return out


def tensorboard_graph_def(graph, add_shapes=True):
    """``graph`` (a ``tf.Graph``, yarnflow's ``GraphDef``, or TF's shape already) as TF's ``GraphDef``; a
    ``tf.Graph``'s nodes carry ``_output_shapes`` when ``add_shapes``."""
    if isinstance(graph, event_pb2.GraphDef):
        return graph
    if isinstance(graph, Graph):
        out = tensorboard_graph_def(graph.cached_graph_def())
        if add_shapes:
            ops = {op.name: op for op in graph.get_operations()}
            for node in out.node:
                op = ops.get(node.name)
                if op is not None and op.outputs:
                    node.attr["_output_shapes"].list.shape.extend(_shape_of(t) for t in op.outputs)
        return out
    if not isinstance(graph, graph_pb2.GraphDef):
        raise TypeError(f"The passed graph must be an instance of `Graph` or the deprecated `GraphDef`, got "
                        f"{type(graph).__name__}")
    return event_pb2.GraphDef(node=[_tf_node(node) for node in graph.node])
