"""Compiling a GraphDef for given fetches, feeds and targets into a ``Plan``: the pruned nodes in
topological order, one kernel each, and integer slots for every value, so a run is a tight loop.

Slot 0 holds the run's ``RunContext`` (read by kernels that need it); fed tensors and node outputs follow.
"""

import dataclasses

import numpy as np

from engine import device_spec, frames, graph_util, op_defs, refs
from engine.errors import InvalidArgumentError, OpError, kernel_error
from engine.kernels import registry
from engine.kernels.context import KernelEnv
from engine.kernels.host import host_inputs
from engine.kernels.util import placeholder_message

# Step kinds: how the run loop calls a kernel (specialised for the common one-output cases).
NULLARY, UNARY, BINARY, GENERAL = 0, 1, 2, 3

# Ops too cheap to be worth running beside another one; they never make a plan "parallel".
_TRIVIAL_OPS = frozenset({"Const", "Placeholder", "NoOp", "Identity", "StopGradient", "Shape", "Size", "Rank",
                          "_Send", "PlaceholderWithDefault"})


@dataclasses.dataclass
class Plan:
    """What one (fetches, feeds, targets) signature runs; built once by ``compile_plan``, read by every run."""

    steps: list              # (fn, input slots, first output slot, kind, outputs) in topological order
    names: list              # node name of each step
    ops: list                # op type of each step
    input_names: list        # data input tensor names of each step (for error messages)
    num_outputs: list        # outputs of each step
    num_slots: int
    feed_slots: dict         # tensor name -> slot
    fetch_slots: list        # slot of each fetch, in fetch order
    successors: list         # step -> steps that wait on it (data or control), without duplicates
    pending: list            # step -> how many distinct steps it waits on
    blocking: list           # step -> may block (a _Recv)
    parallel: bool           # some steps could usefully run at the same time
    uses_gpu: bool           # some step runs a GPU kernel (values may need copying to the host)
    feed_checks: list = dataclasses.field(default_factory=list)  # (tensor, slot, numpy dtype, shape or None)
    flow: object = None      # engine.frames.FlowPlan: dead tensors and loops (None: neither can occur)


def normalize_fetch(name):
    """A fetch as ``"node:idx"``."""
    return graph_util.tensor_name(name)


def compile_plan(nodes, order_hint, fetches, feeds, targets, device, resources, node_state, functions=None):
    """Build the ``Plan``; NotFoundError/InvalidArgumentError naming the node or tensor that is wrong.

    ``nodes`` maps names to NodeDefs, ``order_hint`` is their GraphDef order, ``feeds`` a set of tensor names,
    ``node_state`` the executor's per-node dicts (kernels keep state there across plans), ``functions`` the
    executor's function library (``KernelEnv.functions``: kernels run the function graphs of their ops on it).
    """
    fetches = [normalize_fetch(f) for f in fetches]
    feeds = {normalize_fetch(f) for f in feeds}
    target_nodes = [graph_util.node_name(t) for t in targets]
    outputs_of = {}

    def n_outputs(name):
        if name not in outputs_of:
            outputs_of[name] = len(op_defs.output_dtypes(nodes[name]))
        return outputs_of[name]

    def check_tensor(tensor, what):
        name, idx, _ = graph_util.parse_input(tensor)
        graph_util.require_node(nodes, name, what)
        if idx >= n_outputs(name):
            raise InvalidArgumentError(None, None, f"{what} {tensor!r} does not exist: node {name!r} "
                                                   f"({nodes[name].op}) has {n_outputs(name)} outputs",
                                       node_name=name, op_type=nodes[name].op)

    for f in feeds:
        if graph_util.node_name(f) in nodes:  # a fed tensor's producer may have been pruned away
            check_tensor(f, "fed tensor")
    for f in fetches:
        check_tensor(f, "fetched tensor")
    for t in target_nodes:
        graph_util.require_node(nodes, t, "target node")

    needed = _needed_nodes(nodes, fetches, feeds, target_nodes)
    parsed = {name: [graph_util.parse_input(i) for i in nodes[name].input] for name in needed}

    def deps(name):
        node = nodes[name]
        return [src for src, idx, ctl in parsed[name] if (ctl or f"{src}:{idx}" not in feeds)
                and not frames.is_back_edge(node, nodes.get(src))]  # a loop's back edge orders nothing

    order = graph_util.topological_order([n for n in order_hint if n in needed], deps)

    # Slots: 0 = run context; then fed tensors; then each node's outputs, contiguously.
    feed_slots = {}
    next_slot = 1
    for f in sorted(feeds):
        feed_slots[f] = next_slot
        next_slot += 1
    first_slot = {}
    for name in order:
        first_slot[name] = next_slot
        next_slot += n_outputs(name)

    def slot_of(tensor):
        if tensor in feed_slots:
            return feed_slots[tensor]
        src, idx, _ = graph_util.parse_input(tensor)
        return first_slot[src] + idx

    index = {name: i for i, name in enumerate(order)}
    checks = _feed_checks(nodes, feed_slots)
    ref_nodes = _ref_nodes(order, nodes, parsed, feeds)
    plan = Plan(steps=[], names=list(order), ops=[], input_names=[], num_outputs=[], num_slots=next_slot,
                feed_slots=feed_slots, fetch_slots=[slot_of(f) for f in fetches], successors=[],
                pending=[], blocking=[], parallel=False, uses_gpu=False, feed_checks=checks)
    default_type = device_spec.DeviceSpec.parse(device).device_type or "CPU"
    for name in order:
        node = nodes[name]
        data = []
        for src, idx, ctl in parsed[name]:
            if ctl:
                continue
            tensor = f"{src}:{idx}"
            if tensor not in feeds:
                check_tensor(tensor, f"input of node {name!r}:")
            data.append(tensor)
        kd, fn = _instantiate(node, default_type, device, resources, node_state, functions)
        reads = _ref_reads(node, data, ref_nodes, 1 if kd.needs_context else 0)
        if reads:
            fn = refs.reading(fn, reads)
        plan.uses_gpu |= kd.device_type == "GPU"
        ins = tuple(slot_of(t) for t in data)
        if kd.needs_context:
            ins = (0,) + ins
        nout = n_outputs(name)
        kind = GENERAL if nout != 1 or len(ins) > 2 else len(ins)
        plan.steps.append((fn, ins, first_slot[name], kind, nout))
        plan.ops.append(node.op)
        plan.input_names.append(data)
        plan.num_outputs.append(nout)
        plan.blocking.append(op_defs.lookup(node.op).blocking)
        preds = {index[d] for d in deps(name)}
        plan.pending.append(len(preds))
    plan.successors = [[] for _ in order]
    for i, name in enumerate(order):
        for p in sorted({index[d] for d in deps(name)}):
            plan.successors[p].append(i)
    plan.parallel = any(plan.blocking) or _has_width(plan, deps, index)
    if plan.uses_gpu:
        _copy_gpu_values_to_host_for_cpu_kernels(plan, nodes, default_type)
    plan.flow = frames.build_flow(plan, nodes, parsed, feeds, index, deps)
    return plan


def step_error(plan, i, vals, exc):
    """The one OpError for step ``i``'s exception (naming its node, op and inputs)."""
    ins = plan.steps[i][1]
    data_slots = ins[1:] if ins and ins[0] == 0 else ins
    return kernel_error(exc, plan.names[i], plan.ops[i], plan.input_names[i], [vals[s] for s in data_slots])


def _feed_checks(nodes, feed_slots):
    """What each fed tensor of the graph must be: its producer's output dtype, and a Placeholder's declared shape
    (a tuple with None for unknown dims; None when the rank is unknown too)."""
    checks = []
    for tensor, slot in sorted(feed_slots.items()):
        name, idx, _ = graph_util.parse_input(tensor)
        node = nodes.get(name)
        if node is None:  # a fed tensor whose producer was pruned away: nothing declares what it must be
            continue
        dtype = op_defs.output_dtypes(node)[idx]
        shape = graph_util.get_attr(node, "shape", None) if node.op == "Placeholder" else None
        checks.append((tensor, slot, np.dtype(dtype.as_numpy_dtype), dtype, shape))
    return checks


def check_feeds(plan, vals):
    """InvalidArgumentError naming the tensor when a fed value has another dtype than its tensor, or a shape its
    placeholder does not admit (TF's checks of a feed)."""
    for tensor, slot, np_dtype, dtype, shape in plan.feed_checks:
        value = vals[slot]
        if value.dtype != np_dtype:
            raise InvalidArgumentError(None, None, f"Cannot feed value of dtype {value.dtype} for Tensor "
                                       f"'{tensor}', which has dtype {dtype.name}",
                                       node_name=graph_util.node_name(tensor))
        if shape is not None and (len(shape) != value.ndim or any(
                d is not None and d != v for d, v in zip(shape, value.shape))):
            want = "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"
            raise InvalidArgumentError(None, None, f"Cannot feed value of shape {list(value.shape)} for Tensor "
                                       f"'{tensor}', which has shape {want}", node_name=graph_util.node_name(tensor))


def _ref_nodes(order, nodes, parsed, feeds):
    """The nodes whose output is a variable (a ``Ref``): variable nodes, and Identity nodes of them, which forward
    the variable as TF's Identity forwards its buffer (``v/read`` then sees later updates, as in TF1)."""
    found = set()
    for name in order:
        node = nodes[name]
        if op_defs.lookup(node.op).ref_output:
            found.add(name)
        elif node.op == "Identity":
            data = [(src, idx) for src, idx, ctl in parsed[name] if not ctl]
            if data and data[0][0] in found and f"{data[0][0]}:{data[0][1]}" not in feeds:
                found.add(name)
    return found


def _ref_reads(node, data, ref_nodes, offset):
    """Argument positions of ``node``'s kernel that get a variable (a ``Ref``) but want its value, read when the
    kernel runs: every input from a ref node but the op's declared ref inputs (and an Identity's, forwarded)."""
    if node.op == "Identity" and node.name in ref_nodes:
        return []
    takes_refs = op_defs.lookup(node.op).ref_inputs
    return [k + offset for k, tensor in enumerate(data)
            if k not in takes_refs and graph_util.node_name(tensor) in ref_nodes]


def _needed_nodes(nodes, fetches, feeds, target_nodes):
    """The nodes the fetches and targets need; an unfed Placeholder among them is an error naming it."""
    needed = graph_util.needed_nodes(nodes, fetches, feeds, target_nodes)
    for name in needed:
        if nodes[name].op == "Placeholder":
            raise InvalidArgumentError(None, None, placeholder_message(nodes[name]), node_name=name,
                                       op_type="Placeholder")
    return needed


def _instantiate(node, default_type, default_device, resources, node_state, functions):
    """The node's kernel def and callable, with errors in its attrs naming the node."""
    dev = node.device or default_device
    dev_type = default_type
    if node.device:
        dev_type = device_spec.DeviceSpec.parse(node.device).device_type or default_type
    kd = registry.find(node.op, dev_type, node.name)
    env = KernelEnv(dev, kd.device_type, resources, node_state.setdefault(node.name, {}), functions)
    try:
        return kd, kd.factory(node, env)
    except OpError as e:
        if e.node_name is None:
            e.node_name, e.op_type = node.name, node.op
        raise
    except Exception as e:  # bad attrs: one clear error naming the node
        raise InvalidArgumentError(None, None, f"{node.op} node {node.name!r}: cannot build its kernel: {e}",
                                   node_name=node.name, op_type=node.op) from e


def _has_width(plan, deps, index):
    """Whether two non-trivial steps sit at the same depth (so they might run side by side)."""
    depth = []
    seen = set()
    for i, name in enumerate(plan.names):
        d = 1 + max((depth[index[p]] for p in deps(name)), default=-1)
        depth.append(d)
        if plan.ops[i] in _TRIVIAL_OPS:
            continue
        if d in seen:
            return True
        seen.add(d)
    return False


def _copy_gpu_values_to_host_for_cpu_kernels(plan, nodes, default_type):
    """Wrap CPU kernels so GPU arrays reaching them are copied to the host first."""
    for i, (fn, *rest) in enumerate(plan.steps):
        if not getattr(fn, "runs_on_gpu", False):
            plan.steps[i] = (host_inputs(fn), *rest)
