"""Constant folding: subgraphs that depend only on constants are evaluated once and become Const nodes."""

import numpy as np

from engine import frames, graph_util, op_defs
from engine.executor import Executor
from engine.kernels import registry
from protos import graph_pb2

# Outputs larger than this stay computed at run time (TF's default limit), so GraphDefs stay small.
MAX_CONSTANT_BYTES = 10 << 20

# Never folded even though not stateful: fed, or only there for ordering.
_NOT_FOLDABLE = frozenset({"Placeholder", "PlaceholderWithDefault", "NoOp", "_Send", "_Recv"})


def _foldable_op(op):
    return (op not in _NOT_FOLDABLE and op_defs.is_known(op) and not op_defs.is_stateful(op)
            and registry.get(op, "CPU") is not None)


def _constant_region(graph_def, nodes, protected):
    """Names of nodes whose value depends only on Consts: unprotected, stateless, without control inputs."""
    order = graph_util.topological_order([n.name for n in graph_def.node],
                                         lambda name: frames.ordering_inputs(nodes, name))
    region = set()
    for name in order:
        node = nodes[name]
        if name in protected or not _foldable_op(node.op):
            continue
        if any(i.startswith("^") for i in node.input):
            continue  # folding would lose an ordering the graph asked for
        srcs = [graph_util.node_name(i) for i in node.input]
        if all(s in region for s in srcs):
            region.add(name)
    return region


def constant_folding(graph_def, protected=()):
    """A new GraphDef where every constant subgraph feeding a non-constant node is replaced by Const nodes.

    ``protected`` names nodes (or tensors) that are fetched or fed: they are never replaced, removed, or
    treated as constant (a fed Const's value may differ at run time). A folded single-output node keeps its
    name (so control edges onto it stay valid); a folded output of a multi-output node becomes a new Const
    named ``<node>/folded_<index>``. Folded nodes keep their device.
    """
    protected = {graph_util.node_name(p) for p in protected}
    nodes = graph_util.node_map(graph_def)
    region = _constant_region(graph_def, nodes, protected)
    consumers = graph_util.consumers(graph_def)
    # Boundary: computed region nodes that something outside the region reads.
    boundary = [n for n in region if nodes[n].op != "Const"
                and any(c not in region for c, _, _ in consumers.get(n, ()))]
    if not boundary:
        return _copy(graph_def)
    wanted = []  # (node, output index) read from outside the region
    for name in boundary:
        used = sorted({graph_util.parse_input(nodes[c].input[pos])[1]
                       for c, pos, ctl in consumers[name] if c not in region and not ctl})
        wanted.extend((name, idx) for idx in used)
    sub = graph_pb2.GraphDef()
    for node in graph_def.node:
        if node.name in region:
            copy = sub.node.add()
            copy.CopyFrom(node)
            copy.device = ""  # evaluate on the CPU kernels
    values = Executor(sub).run(fetches=[f"{n}:{i}" for n, i in wanted])
    folded = {}  # (node, index) -> new Const NodeDef
    for (name, idx), value in zip(wanted, values):
        value = np.asarray(value)
        if value.nbytes > MAX_CONSTANT_BYTES:
            continue
        single = len(op_defs.output_dtypes(nodes[name])) == 1
        const_name = name if single else f"{name}/folded_{idx}"
        dtype = op_defs.output_dtypes(nodes[name])[idx]
        folded[(name, idx)] = graph_util.make_const(const_name, value.astype(dtype.as_numpy_dtype, copy=False),
                                                   device=nodes[name].device)
    return _rewrite(graph_def, nodes, region, consumers, folded, protected)


def _rewrite(graph_def, nodes, region, consumers, folded, protected):
    """Swap in the folded Consts, then drop region nodes nothing reachable reads any more."""
    replaced_in_place = {name for (name, idx), c in folded.items() if c.name == name}
    renamed = {(name, idx): c.name for (name, idx), c in folded.items() if c.name != name}
    new_nodes = {}
    for node in graph_def.node:
        if node.name in replaced_in_place:
            new_nodes[node.name] = folded[(node.name, 0)]
            continue
        copy = graph_pb2.NodeDef()
        copy.CopyFrom(node)
        if renamed and node.name not in region:
            del copy.input[:]
            for inp in node.input:
                src, idx, ctl = graph_util.parse_input(inp)
                copy.input.append(renamed.get((src, idx), inp) if not ctl else inp)
        new_nodes[node.name] = copy
    extra = [c for c in folded.values() if c.name not in new_nodes]
    # Keep everything outside the region, protected nodes, and region nodes nobody consumed in the first
    # place (someone may fetch them later); keep region nodes only if one of those still reads them.
    roots = [n for n in new_nodes if n not in region or n in protected or not consumers.get(n)]
    keep = set()
    stack = roots + [c.name for c in extra]
    all_nodes = dict(new_nodes, **{c.name: c for c in extra})
    while stack:
        name = stack.pop()
        if name in keep:
            continue
        keep.add(name)
        stack.extend(graph_util.node_name(i) for i in all_nodes[name].input if graph_util.node_name(i) in all_nodes)
    out = graph_pb2.GraphDef(version=graph_def.version)
    for node in graph_def.node:
        if node.name in keep:
            out.node.append(new_nodes[node.name])
        out.node.extend(c for c in extra if c.name.startswith(node.name + "/folded_"))
    return out


def _copy(graph_def):
    out = graph_pb2.GraphDef()
    out.CopyFrom(graph_def)
    return out
