"""Partitioning: split a placed GraphDef into one GraphDef per device, with a _Send/_Recv pair for every
edge that crosses devices (ONE _Recv per tensor per destination partition, however many consumers)."""

import dataclasses
import re

from engine import device_spec, dtypes, graph_util, op_defs, rendezvous
from protos import graph_pb2


# Consts up to this size are copied into every partition that reads them instead of crossing by Send/Recv.
SMALL_CONST_BYTES = 1024


@dataclasses.dataclass
class Partition:
    """One device's share of a step: its graph, what to feed it, fetch from it and run in it."""

    device: str
    graph_def: graph_pb2.GraphDef
    feeds: list = dataclasses.field(default_factory=list)     # tensor names fed into this partition
    fetches: list = dataclasses.field(default_factory=list)   # tensor names fetched from it
    targets: list = dataclasses.field(default_factory=list)   # node names to run (user targets + _Sends)
    recv_keys: list = dataclasses.field(default_factory=list)  # (key, send_device) of every _Recv

    @property
    def task(self):
        """``(job, task)`` of the process this partition runs in."""
        return device_spec.DeviceSpec.parse(self.device).task_key


def partition(graph_def, fetches=(), targets=(), feeds=(), incarnations=None):
    """``{device: Partition}`` for a placed, pruned GraphDef.

    ``feeds`` are fed tensor names: each partition that consumes one is fed it directly (no Send/Recv).
    ``fetches``/``targets`` are routed to their node's partition. ``incarnations`` maps device -> int for the
    keys (0 when unknown). Control edges across devices become a dummy tensor's Send/Recv; a node's
    several control inputs from one partition cross as one such pair, gathered there by a NoOp.

    >>> from engine.graph_util import make_const, make_node
    >>> a, b = "/job:w/replica:0/task:0/device:CPU:0", "/job:w/replica:0/task:1/device:CPU:0"
    >>> g = graph_pb2.GraphDef(node=[make_node("x", "Placeholder", device=a, dtype=dtypes.float32),
    ...                              make_node("y", "Neg", ["x"], device=b, T=dtypes.float32)])
    >>> parts = partition(g, fetches=["y:0"])
    >>> [n.op for n in parts[a].graph_def.node], [n.op for n in parts[b].graph_def.node]
    (['Placeholder', '_Send'], ['Neg', '_Recv'])
    """
    incarnations = incarnations or {}
    feeds = {graph_util.tensor_name(f) for f in feeds}
    nodes = graph_util.node_map(graph_def)
    parts = {}

    def part(device):
        if device not in parts:
            parts[device] = Partition(device, graph_pb2.GraphDef(version=graph_def.version))
        return parts[device]

    recvs = {}   # (tensor or "^node", dst) or (src device, sorted control sources, dst) -> recv node name
    fed = set()  # (tensor, device) already routed
    copied = set()  # (const, device) copied into a consumer's partition
    taken = {n.name for n in graph_def.node}  # names a new node must not reuse

    def recv_for(edge, src_node, idx, is_control):
        """The _Recv carrying ``edge`` into its destination partition, added on first use."""
        dst = edge[-1]
        if edge not in recvs:
            recvs[edge] = _add_pair(part(src_node.device), part(dst), src_node, idx, is_control,
                                    incarnations.get(src_node.device, 0))
            recv_node = part(dst).graph_def.node[-1]
            part(dst).recv_keys.append((rendezvous.key_of(recv_node), src_node.device))
        return recvs[edge]

    for node in graph_def.node:
        dst = node.device
        out = part(dst).graph_def.node.add()
        out.CopyFrom(node)
        del out.input[:]
        ctrl_from = {}  # src device -> this node's control sources there, in input order, once each
        for inp in node.input:
            src, idx, is_control = graph_util.parse_input(inp)
            tensor = f"{src}:{idx}"
            if not is_control and tensor in feeds:
                out.input.append(tensor)  # the executor takes a feed for a producer it does not hold
                if (tensor, dst) not in fed:
                    fed.add((tensor, dst))
                    part(dst).feeds.append(tensor)
                continue
            src_node = nodes.get(src)
            if src_node is None or src_node.device == dst:
                out.input.append(inp)
                continue
            if is_control:
                sources = ctrl_from.setdefault(src_node.device, [])
                if src not in sources:
                    sources.append(src)
                continue
            if _is_small_const(src_node):
                # A small Const is cheaper to copy into the consumer's partition than to send every step.
                if (src, dst) not in copied:
                    copied.add((src, dst))
                    copy = part(dst).graph_def.node.add()
                    copy.CopyFrom(src_node)
                    copy.device = dst
                out.input.append(inp)
                continue
            out.input.append(recv_for((tensor, dst), src_node, idx, False))
        for src_dev, sources in ctrl_from.items():
            if len(sources) == 1:
                out.input.append("^" + recv_for(("^" + sources[0], dst), nodes[sources[0]], -1, True))
                continue
            # Several control sources in one partition cross as ONE message: a NoOp there gathers them.
            # Only one node's sources are merged, so no node waits on anything it did not already need.
            edge = (src_dev, tuple(sorted(sources)), dst)
            if edge not in recvs:
                gather = graph_util.make_node(_unique(f"_ctrl/{_slug(node.name)}/{_slug(src_dev)}", taken),
                                              "NoOp", ["^" + s for s in sources], device=src_dev)
                part(src_dev).graph_def.node.append(gather)
                recv_for(edge, gather, -1, True)
            out.input.append("^" + recvs[edge])
    # Inputs must come data-first, then control; a rewritten control input may now precede nothing wrong.
    for p in parts.values():
        for n in p.graph_def.node:
            data = [i for i in n.input if not i.startswith("^")]
            ctrl = [i for i in n.input if i.startswith("^")]
            del n.input[:]
            n.input.extend(data + ctrl)
    for f in fetches:
        t = graph_util.tensor_name(f)
        if t not in feeds:
            part(graph_util.require_node(nodes, graph_util.node_name(t), "fetched tensor's node").device) \
                .fetches.append(t)
    for t in targets:
        part(graph_util.require_node(nodes, graph_util.node_name(t), "target node").device).targets.append(
            graph_util.node_name(t))
    for p in parts.values():
        p.targets.extend(n.name for n in p.graph_def.node if n.op == "_Send")
    # A partition with nothing to fetch, run or send (e.g. only Consts copied elsewhere) need not run.
    return {d: p for d, p in parts.items() if p.fetches or p.targets}


def _is_small_const(node):
    return (node.op == "Const" and not node.input
            and len(node.attr["value"].tensor.content) <= SMALL_CONST_BYTES)


def _slug(text):
    """A name fragment: ':' and '^' become '_' (node names never hold ':', so fragments stay unique)."""
    return re.sub(r"[:^]", "_", text).strip("/_")


def _unique(name, taken):
    """``name``, or ``name_1``, ``name_2``... if a node already holds it; the result is marked taken."""
    candidate, n = name, 0
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate)
    return candidate


def _add_pair(src_part, dst_part, src_node, idx, is_control, incarnation):
    """Append a _Send to ``src_part`` and a _Recv to ``dst_part`` for one edge; the _Recv's name."""
    src_dev, dst_dev = src_part.device, dst_part.device
    if is_control:
        # A control edge crosses as a tiny dummy tensor that waits on the source node.
        const = graph_util.make_const(f"_ctrl/{src_node.name}/to_{_slug(dst_dev)}", 0.0, dtypes.float32,
                                      device=src_dev)
        const.input.append("^" + src_node.name)
        src_part.graph_def.node.append(const)
        tensor, dtype, sent = f"^{src_node.name}", dtypes.float32, const.name + ":0"
    else:
        tensor = f"{src_node.name}:{idx}"
        dtype = dtypes.as_dtype(op_defs.output_dtypes(src_node)[idx])
        sent = tensor
    common = dict(tensor_name=tensor, send_device=src_dev, send_device_incarnation=int(incarnation),
                  recv_device=dst_dev, client_terminated=False)
    src_part.graph_def.node.append(graph_util.make_node(
        f"_send/{_slug(tensor)}/to_{_slug(dst_dev)}", "_Send", [sent], device=src_dev, T=dtype, **common))
    recv_name = f"_recv/{_slug(tensor)}/from_{_slug(src_dev)}"
    dst_part.graph_def.node.append(graph_util.make_node(recv_name, "_Recv", [], device=dst_dev,
                                                        tensor_type=dtype, **common))
    return recv_name
