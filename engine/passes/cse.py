"""Common subexpression elimination: nodes with the same op, inputs, attrs and device become one."""

from engine import frames, graph_util, op_defs
from protos import graph_pb2

# Two of these are different even with identical attrs (each is fed, or holds its own state).
_NEVER_MERGED = frozenset({"Placeholder", "PlaceholderWithDefault", "NoOp"})


def _rename(inp, replaced):
    src, idx, ctl = graph_util.parse_input(inp)
    if src not in replaced:
        return inp
    new = replaced[src]
    if ctl:
        return "^" + new
    return new if idx == 0 and ":" not in inp else f"{new}:{idx}"


def _key(node, data, controls):
    attrs = tuple((k, node.attr[k].SerializeToString(deterministic=True)) for k in sorted(node.attr))
    if op_defs.is_known(node.op) and op_defs.lookup(node.op).commutative and len(data) == 2:
        data = sorted(data, key=graph_util.tensor_name)
    return (node.op, node.device, tuple(graph_util.tensor_name(d) for d in data), tuple(sorted(set(controls))),
            attrs)


def common_subexpression_elimination(graph_def, protected=()):
    """A new GraphDef where each duplicate of an earlier node is removed and its consumers read the earlier one.

    Inputs are compared in order, except the two inputs of commutative ops (Add, Mul, ...). Stateful ops,
    placeholders, NoOps and ``protected`` nodes (names of nodes or tensors) are never merged.
    """
    protected = {graph_util.node_name(p) for p in protected}
    nodes = graph_util.node_map(graph_def)
    order = graph_util.topological_order([n.name for n in graph_def.node],
                                         lambda name: frames.ordering_inputs(nodes, name))
    replaced = {}
    seen = {}
    rewritten = {}
    for name in order:
        node = graph_pb2.NodeDef()
        node.CopyFrom(nodes[name])
        inputs = [_rename(i, replaced) for i in node.input]
        data = [i for i in inputs if not i.startswith("^")]
        controls = []
        for i in inputs:  # deduplicate control inputs that now name the same node
            if i.startswith("^") and i not in controls:
                controls.append(i)
        del node.input[:]
        node.input.extend(data + controls)
        rewritten[name] = node
        if name in protected or node.op in _NEVER_MERGED or op_defs.is_stateful(node.op):
            continue
        key = _key(node, data, controls)
        if key in seen:
            replaced[name] = seen[key]
        else:
            seen[key] = name
    out = graph_pb2.GraphDef(version=graph_def.version)
    out.node.extend(rewritten[n.name] for n in graph_def.node if n.name not in replaced)
    return out
