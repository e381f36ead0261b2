"""Small helpers on GraphDefs: input names, node maps, consumers, attrs and the dtypes a node outputs."""

import collections

from engine import dtypes, tensor_codec
from engine.errors import InvalidArgumentError, NotFoundError
from protos import graph_pb2


def parse_input(name):
    """``"a:1"`` -> ``("a", 1, False)``; ``"a"`` -> ``("a", 0, False)``; ``"^a"`` -> ``("a", -1, True)``."""
    if name.startswith("^"):
        return name[1:], -1, True
    node, sep, idx = name.rpartition(":")
    if sep and idx.isdigit():
        return node, int(idx), False
    return name, 0, False


def tensor_name(name):
    """The canonical tensor name: ``"a"`` -> ``"a:0"``, ``"a:1"`` stays; ValueError for a control name."""
    node, idx, is_control = parse_input(name)
    if is_control:
        raise ValueError(f"{name!r} names a control input, not a tensor")
    return f"{node}:{idx}"


def node_name(name):
    """The node part of a tensor or control input name (``"^a"``, ``"a:1"`` -> ``"a"``)."""
    return parse_input(name)[0]


def node_map(graph_def):
    """``{name: NodeDef}``; InvalidArgumentError on a duplicate name."""
    out = {}
    for node in graph_def.node:
        if node.name in out:
            raise InvalidArgumentError(None, None, f"duplicate node name {node.name!r} in GraphDef",
                                       node_name=node.name, op_type=node.op)
        out[node.name] = node
    return out


def consumers(graph_def):
    """``{producer name: [(consumer name, input position, is_control), ...]}`` for every edge."""
    out = collections.defaultdict(list)
    for node in graph_def.node:
        for pos, inp in enumerate(node.input):
            src, _, is_control = parse_input(inp)
            out[src].append((node.name, pos, is_control))
    return out


def data_inputs(node):
    """The data (non-control) input names of a NodeDef."""
    return [i for i in node.input if not i.startswith("^")]


def control_inputs(node):
    """The control input node names of a NodeDef (without the ``^``)."""
    return [i[1:] for i in node.input if i.startswith("^")]


def attr_value(av):
    """The Python value of an ``AttrValue``: int, float, bool, str, DType, shape tuple, ndarray or list."""
    kind = av.WhichOneof("value")
    if kind is None:
        return None
    if kind == "s":
        return av.s.decode()
    if kind == "type":
        return dtypes.as_dtype(av.type)
    if kind == "shape":
        return tensor_codec.shape_from_proto(av.shape)
    if kind == "tensor":
        return tensor_codec.from_proto(av.tensor)
    if kind == "list":
        lv = av.list
        for field in ("i", "f", "b", "s", "type", "shape"):
            items = getattr(lv, field)
            if len(items):
                if field == "s":
                    return [x.decode() for x in items]
                if field == "type":
                    return [dtypes.as_dtype(x) for x in items]
                if field == "shape":
                    return [tensor_codec.shape_from_proto(x) for x in items]
                return list(items)
        return []
    return getattr(av, kind)


_MISSING = object()


def get_attr(node, name, default=_MISSING):
    """Attr ``name`` of a NodeDef as a Python value; InvalidArgumentError naming node and attr if missing."""
    if name in node.attr:
        return attr_value(node.attr[name])
    if default is _MISSING:
        raise InvalidArgumentError(None, None, f"node {node.name!r} ({node.op}) has no attr {name!r}",
                                   node_name=node.name, op_type=node.op)
    return default


def make_attr(value):
    """An ``AttrValue`` from a Python value (int, float, bool, str, DType, ndarray via TensorProto, lists)."""
    av = graph_pb2.AttrValue()
    if isinstance(value, graph_pb2.AttrValue):
        av.CopyFrom(value)
    elif isinstance(value, bool):
        av.b = value
    elif isinstance(value, int):
        av.i = value
    elif isinstance(value, float):
        av.f = value
    elif isinstance(value, (str, bytes)):
        av.s = value.encode() if isinstance(value, str) else value
    elif isinstance(value, dtypes.DType):
        av.type = value.as_datatype_enum
    elif isinstance(value, graph_pb2.TensorProto):
        av.tensor.CopyFrom(value)
    elif isinstance(value, graph_pb2.TensorShapeProto):
        av.shape.CopyFrom(value)
    elif isinstance(value, (list, tuple)):
        lv = av.list
        lv.SetInParent()
        for item in value:
            if isinstance(item, bool):
                lv.b.append(item)
            elif isinstance(item, int):
                lv.i.append(item)
            elif isinstance(item, float):
                lv.f.append(item)
            elif isinstance(item, dtypes.DType):
                lv.type.append(item.as_datatype_enum)
            elif isinstance(item, graph_pb2.TensorShapeProto):
                lv.shape.append(item)
            else:
                lv.s.append(item.encode() if isinstance(item, str) else item)
    else:
        av.tensor.CopyFrom(tensor_codec.to_proto(value))
    return av


def make_node(name, op, inputs=(), device="", **attrs):
    """A NodeDef with the given inputs and attrs (values converted by ``make_attr``)."""
    node = graph_pb2.NodeDef(name=name, op=op, input=list(inputs), device=device)
    for key, value in attrs.items():
        node.attr[key].CopyFrom(make_attr(value))
    return node


def make_const(name, value, dtype=None, device=""):
    """A Const NodeDef holding ``value`` (converted with ``tensor_codec.to_proto``)."""
    proto = tensor_codec.to_proto(value, dtype)
    node = graph_pb2.NodeDef(name=name, op="Const", device=device)
    node.attr["value"].tensor.CopyFrom(proto)
    node.attr["dtype"].type = proto.dtype
    return node


def topological_order(nodes, inputs_of):
    """Node names in an order where every node follows its inputs; ties keep the given order.

    ``nodes`` is an ordered iterable of names, ``inputs_of(name)`` the names it depends on (names outside
    ``nodes`` are ignored). InvalidArgumentError naming a node on a cycle if there is one.
    """
    names = list(nodes)
    members = set(names)
    pending = {}
    users = collections.defaultdict(list)
    for name in names:
        deps = {d for d in inputs_of(name) if d in members}
        pending[name] = len(deps)
        for d in deps:
            users[d].append(name)
    position = {n: i for i, n in enumerate(names)}
    ready = collections.deque(n for n in names if pending[n] == 0)
    order = []
    while ready:
        name = ready.popleft()
        order.append(name)
        for user in sorted(users[name], key=position.__getitem__):
            pending[user] -= 1
            if pending[user] == 0:
                ready.append(user)
    if len(order) != len(names):
        stuck = next(n for n in names if pending[n] > 0)
        raise InvalidArgumentError(None, None, f"graph has a cycle through node {stuck!r}", node_name=stuck)
    return order


def require_node(nodes, name, what="node"):
    """``nodes[name]``, or NotFoundError saying which name is missing."""
    try:
        return nodes[name]
    except KeyError:
        raise NotFoundError(None, None, f"{what} {name!r} not found in the graph", node_name=name) from None


def needed_nodes(nodes, fetches, feeds=(), targets=()):
    """Names of the nodes that fetches (tensor names) and targets (node names) need, given fed tensor names.

    A fed tensor cuts the edge to its producer (the producer runs only if something else needs it); control
    edges are always followed. NotFoundError names a missing fetch, target or input.
    """
    feeds = {tensor_name(f) for f in feeds}
    needed = set()
    stack = []
    for f in fetches:
        t = tensor_name(f)
        if t not in feeds:
            stack.append(require_node(nodes, node_name(t), "fetched tensor's node").name)
    for t in targets:
        stack.append(require_node(nodes, node_name(t), "target node").name)
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        for inp in nodes[name].input:
            src, idx, ctl = parse_input(inp)
            if ctl or f"{src}:{idx}" not in feeds:
                require_node(nodes, src, f"input of node {name!r}:")
                stack.append(src)
    return needed
