"""Control flow in a compiled plan: which steps may see dead tensors, and the frames of while loops.

A plan without Switch/Merge/loop ops and without _Recv (which may deliver a dead tensor from another partition)
gets no ``FlowPlan`` and keeps the executor's fast paths (the tight serial loop; the dataflow loop unchecked).
Otherwise every step gets a *policy* saying how deadness reaches it (``engine.flow_run`` applies them):

- NORMAL: a dead data input or a dead control input kills it: it does not run and its outputs are dead;
- MERGE: runs when any data input is live (dead control inputs do not matter), dies when all are dead;
- SEND: always runs, and sends ``DEAD`` when it would be dead (so the receiving partition learns it);
- RECV: always runs; its output is dead when a dead tensor was sent;
- TRIGGER: a ControlTrigger always runs and is never dead.

While loops follow TF's frames: an Enter's output is in a child frame named by its ``frame_name``, an Exit's
output in its parent frame, every other node in the frame of its inputs (``assign_frames``; inputs from two
frames are an error, as in TF). Instead of TF's per-iteration bookkeeping, each loop becomes one *unit* of its
parent frame, a ``LoopPlan``: its Enter steps run once, then its body (the frame's other steps and the units of
loops nested in it) runs once per iteration, each Merge reading the value its NextIteration produced in the
previous iteration, until no NextIteration produced a live value; the Exits' live values are the loop's
results. That is the dataflow TF's executor runs when iterations do not overlap (``parallel_iterations`` is a
performance hint), and it keeps a loop's values in the plan's slots.
"""

import dataclasses

from engine import graph_util
from engine.errors import InvalidArgumentError
from engine.op_constants import CONTROL_FLOW_OPS, ENTER_OPS, EXIT_OPS, MERGE_OPS, NEXT_ITERATION_OPS

NORMAL, MERGE, SEND, RECV, LOOP, TRIGGER = range(6)
_TRANSFER = {"_Send": SEND, "_Recv": RECV}
_POLICIES = dict(_TRANSFER, ControlTrigger=TRIGGER)


@dataclasses.dataclass
class LoopPlan:
    """One while loop of a plan: what runs once, what runs every iteration, and where values cross iterations."""

    frame: str                  # the loop's frame name (its Enters' ``frame_name``)
    enters: list                # Enter steps: run once, before the first iteration
    variable_enter_slots: list  # output slots of the non-constant Enters: live in the first iteration only
    body: list                  # units run every iteration, in order (steps, and the units of nested loops)
    back_edges: list            # (NextIteration output slot, the slot its Merge reads) per back edge
    exits: list                 # (step, output slot) of every Exit


@dataclasses.dataclass
class FlowPlan:
    """How deadness and loops run in a plan (see the module docstring)."""

    policy: list          # step -> NORMAL, MERGE, SEND, RECV, TRIGGER or LOOP (a loop's unit)
    control_preds: list   # step -> steps whose deadness kills it through a control edge
    units: list           # what a serial run runs at the top level, in order
    loops: dict           # unit step -> LoopPlan
    has_control_flow: bool  # False: only _Send/_Recv (a dead tensor can only arrive from another partition)
    table: list = None    # step -> (fn, input slots, first output slot, outputs, policy, control preds): what
    #                       a run reads per step, in one tuple


def is_back_edge(dst_node, src_node):
    """Whether the edge ``src_node -> dst_node`` is a loop's back edge (NextIteration into Merge), which every
    topological order must ignore."""
    return dst_node.op in MERGE_OPS and src_node is not None and src_node.op in NEXT_ITERATION_OPS


def ordering_inputs(nodes, name):
    """The names of the nodes that node ``name`` must follow in a topological order (its inputs but back edges).

    >>> from engine.graph_util import make_node
    >>> nodes = {"m": make_node("m", "Merge", ["e", "n"]), "n": make_node("n", "NextIteration", ["m"])}
    >>> ordering_inputs(nodes, "m")
    ['e']
    """
    node = nodes[name]
    out = []
    for inp in node.input:
        src = graph_util.node_name(inp)
        if not is_back_edge(node, nodes.get(src)):
            out.append(src)
    return out


def needs_flow(ops):
    """Whether a plan running these op types needs a ``FlowPlan``: it has control-flow ops, or a _Recv (a dead
    tensor may come from another partition; a plan that only sends never makes one)."""
    return any(op in CONTROL_FLOW_OPS or op == "_Recv" for op in ops)


def build_flow(plan, nodes, parsed, feeds, index, deps):
    """The ``FlowPlan`` of a compiled plan, or None when it needs none; may append loop units to ``plan``.

    ``parsed`` maps node names to parsed inputs, ``feeds`` holds fed tensor names, ``index`` maps node names to
    steps, ``deps(name)`` lists the nodes a node waits on (back edges and fed inputs left out).
    """
    order = plan.names
    if not needs_flow(plan.ops):
        return None
    policy = [MERGE if op in MERGE_OPS else _POLICIES.get(op, NORMAL) for op in plan.ops]
    control_preds = [tuple(index[src] for src, _, ctl in parsed[name] if ctl) for name in order]
    flow = FlowPlan(policy, control_preds, list(range(len(order))), {},
                    any(op in CONTROL_FLOW_OPS for op in plan.ops))
    if any(op in ENTER_OPS for op in plan.ops):
        _plan_loops(plan, flow, nodes, parsed, feeds, index, deps)
    flow.table = [(fn, ins, out, nout, flow.policy[i], flow.control_preds[i])
                  for i, (fn, ins, out, _, nout) in enumerate(plan.steps)]
    return flow


def assign_frames(order, nodes, parsed, feeds):
    """``{node name: frame}``, a frame being the tuple of loop frame names it runs in (``()`` outside loops).

    An Exit runs in the frame it leaves (its *output* is in the parent frame). InvalidArgumentError names a node
    whose inputs come from different frames, an Exit or NextIteration outside any loop.
    """
    frame = {}

    def out_frame(src):
        f = frame[src]
        return f[:-1] if nodes[src].op in EXIT_OPS else f

    for name in order:
        node = nodes[name]
        srcs = [src for src, idx, ctl in parsed[name]
                if (ctl or f"{src}:{idx}" not in feeds) and src in frame]  # not in frame yet: a back edge
        if node.op in ENTER_OPS:
            data = [src for src, idx, ctl in parsed[name] if not ctl and src in frame]
            parent = out_frame(data[0]) if data else ()
            _same_frame(name, [(s, out_frame(s)) for s in srcs] or [(name, parent)])
            frame[name] = parent + (graph_util.get_attr(node, "frame_name"),)
            continue
        frame[name] = _same_frame(name, [(s, out_frame(s)) for s in srcs])
        if node.op in EXIT_OPS | NEXT_ITERATION_OPS and not frame[name]:
            raise InvalidArgumentError(None, None, f"{node.op} node {name!r} is not inside a while loop: its "
                                       "input comes from no Enter", node_name=name, op_type=node.op)
    for name in order:
        node = nodes[name]
        for src, _, ctl in parsed[name]:
            if not ctl and src in frame and is_back_edge(node, nodes.get(src)) and frame[src] != frame[name]:
                _frames_differ(name, (src, frame[src]), (name, frame[name]))
    return frame


def _same_frame(name, placed):
    """The one frame of ``placed`` (``(input, frame)`` pairs; ``()`` for none), or InvalidArgumentError."""
    if not placed:
        return ()
    first = placed[0]
    for other in placed[1:]:
        if other[1] != first[1]:
            _frames_differ(name, first, other)
    return first[1]


def _frames_differ(name, a, b):
    raise InvalidArgumentError(None, None, f"The node '{name}' has inputs from different frames. The input "
                               f"'{a[0]}' is in frame '{'/'.join(a[1])}'. The input '{b[0]}' is in frame "
                               f"'{'/'.join(b[1])}'.", node_name=name)


def _plan_loops(plan, flow, nodes, parsed, feeds, index, deps):
    """Give every loop frame of ``plan`` a unit step and a ``LoopPlan``; order each frame's units."""
    order = list(plan.names)  # the node steps (loop units are appended below)
    frame = assign_frames(order, nodes, parsed, feeds)
    for name in order:
        if frame[name] and plan.ops[index[name]] in _TRANSFER:
            raise InvalidArgumentError(None, None, f"{plan.ops[index[name]]} node {name!r} is inside while loop "
                                       f"{frame[name][-1]!r}: a loop runs inside one task, so place all of its "
                                       "ops on one device", node_name=name, op_type=plan.ops[index[name]])
    frames = sorted({f for f in frame.values() if f}, key=lambda f: (len(f), f))
    unit_of_frame = {}
    for f in frames:
        unit_of_frame[f] = len(plan.steps)
        plan.steps.append((None, (), 0, 0, 0))
        plan.names.append(f"while loop {f[-1]!r}")
        plan.ops.append("while loop")
        plan.input_names.append([])
        plan.num_outputs.append(0)
        plan.blocking.append(False)
        flow.policy.append(LOOP)
        flow.control_preds.append(())

    def unit_at(level, name):
        """The unit of frame ``level`` that holds node ``name`` (None when the node is outside that frame)."""
        f = frame[name]
        if f == level:
            return index[name]
        if len(f) > len(level) and f[:len(level)] == level:
            return unit_of_frame[f[:len(level) + 1]]
        return None

    members = {f: [] for f in [()] + frames}
    for name in order:
        if nodes[name].op not in ENTER_OPS:  # an Enter runs once, before its loop's iterations
            members[frame[name]].append(index[name])
    for f in frames:
        members[f[:-1]].append(unit_of_frame[f])
    unit_deps = {u: set() for us in members.values() for u in us}
    for name in order:
        f = frame[name]
        for src in deps(name):
            for depth in range(len(f) + 1):
                level = f[:depth]
                u, d = unit_at(level, name), unit_at(level, src)
                if d is not None and d != u and u in unit_deps and d in unit_deps:
                    unit_deps[u].add(d)
    ordered = {f: graph_util.topological_order(us, lambda u: unit_deps[u]) for f, us in members.items()}
    flow.units = ordered[()]
    for f in frames:
        flow.loops[unit_of_frame[f]] = _loop_plan(plan, f, ordered[f], frame, nodes, parsed, feeds, index)
    # A dataflow run schedules the top level's units; the steps inside loops run in their loop's unit.
    plan.pending = [-1] * len(plan.steps)
    plan.successors = [[] for _ in plan.steps]
    for u in flow.units:
        plan.pending[u] = len(unit_deps[u])
        for d in sorted(unit_deps[u]):
            plan.successors[d].append(u)


def _loop_plan(plan, f, body, frame, nodes, parsed, feeds, index):
    """The ``LoopPlan`` of frame ``f``; gives each back edge a slot of its own (rewriting its Merge's step)."""
    enters, variable, back_edges, exits = [], [], [], []
    for name in plan.names[:len(index)]:  # the node steps
        if frame[name] != f:
            continue
        i, node = index[name], nodes[name]
        out = plan.steps[i][2]
        if node.op in ENTER_OPS:
            enters.append(i)
            if not graph_util.get_attr(node, "is_constant", False):
                variable.append(out)
        elif node.op in EXIT_OPS:
            exits.append((i, out))
        elif node.op in MERGE_OPS:
            data = [(src, idx) for src, idx, ctl in parsed[name] if not ctl]
            fn, ins, out, kind, nout = plan.steps[i]
            ins = list(ins)
            for k, (src, idx) in enumerate(data):
                if f"{src}:{idx}" not in feeds and is_back_edge(node, nodes.get(src)):
                    back_edges.append((ins[k], plan.num_slots))
                    ins[k] = plan.num_slots
                    plan.num_slots += 1
            plan.steps[i] = (fn, tuple(ins), out, kind, nout)
    return LoopPlan(f[-1], enters, variable, body, back_edges, exits)
