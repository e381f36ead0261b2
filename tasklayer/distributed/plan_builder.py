"""Building one step's plan from a session's graph: prune to the fetches, place on the cluster's tasks, optimize,
partition per device with Send/Recv pairs, and say where each fetch comes from. A pure function of its
arguments: no sockets, no threads; the kernel a plan needs (the Slice that cuts a feed) comes from the kernel
registry, not from a backend module.

>>> from engine import dtypes
>>> from engine.graph_util import make_node
>>> from protos import graph_pb2
>>> from tasklayer.distributed.cluster_spec import ClusterSpec
>>> g = graph_pb2.GraphDef(node=[make_node("x", "Placeholder", dtype=dtypes.float32),
...                              make_node("y", "Neg", ["x"], device="/job:w/task:1", T=dtypes.float32),
...                              make_node("z", "Neg", ["y"], T=dtypes.float32)])
>>> plan = build_plan(g, ["z:0"], {"x:0"}, [], ClusterSpec({"w": ["a:1", "b:2"]}), ("w", 0), "s1/1")
>>> [(run.task, run.local, run.part.feeds) for run in plan.runs]  # x goes straight to task 1, which takes it
[('/job:w/task:0', True, []), ('/job:w/task:1', False, ['x:0'])]
>>> plan.fetch_routes  # z:0 is the first fetch of the first partition
[(0, 0)]
"""

import dataclasses

from engine import device_spec, graph_util, passes, tensor_codec
from engine.errors import NotFoundError
from engine.kernels import registry
from engine.passes.partition import partition
from engine.passes.placement import place
from tasklayer.distributed.cluster_spec import task_name


@dataclasses.dataclass(eq=False)
class PartRun:
    """A partition of a plan and the task that runs it."""

    part: object  # engine.passes.partition.Partition
    handle: str  # what the partition is registered as on its task
    task_key: tuple  # (job, index)
    task: str  # /job:J/task:I, for errors
    address: str
    local: bool  # runs on the master's own task


@dataclasses.dataclass(eq=False)
class Plan:
    """A step's partitions and where each fetch comes from; the runtime's bookkeeping of its use."""

    runs: list
    fetch_routes: list  # per fetch: (run index, position in that partition's fetches)
    derived: dict = dataclasses.field(default_factory=dict)  # tensor -> (fed tensor, Slice kernel, begin, size)
    registered: bool = False  # every partition is registered on its task (the runtime sets it)
    users: int = 0  # steps running it now
    retired: bool = False  # dropped from the cache: its partitions go once no step uses them
    routes: tuple = None  # (routes_id, [FeedRoute]) once a client asked (see feed_routing)


def build_plan(graph_def, fetches, feeds, targets, cluster, own_task, handle_prefix, optimize=True):
    """The ``Plan`` of one step signature on ``cluster``; nodes without a device run on ``own_task``'s CPU.

    ``feeds`` are the fed tensors' names; ``handle_prefix`` names the plan's partitions (``prefix/device``).
    Errors name the node: a fetch, target or feed that is not in the graph, an op no task can place.
    """
    _check_feeds(graph_def, feeds)
    tasks = {job: cluster.task_indices(job) for job in cluster.jobs}
    default_device = f"/job:{own_task[0]}/replica:0/task:{own_task[1]}/device:CPU:0"
    graph = passes.prune(graph_def, fetches, targets, feeds)
    graph = place(graph, tasks, default_device)
    derived = feed_slices(graph, feeds, fetches, targets, own_task)
    if derived:  # those slices are fed instead: only the slice crosses, not the whole feed
        feeds = set(feeds) | set(derived)
        graph = passes.prune(graph, fetches, targets, feeds)
    if optimize:
        graph = place(passes.optimize(graph, fetches, targets, feeds), tasks, default_device)
    parts = partition(graph, fetches, targets, feeds)
    runs, index = [], {}
    for device in sorted(parts):
        part = parts[device]
        job, task = part.task
        index[device] = len(runs)
        runs.append(PartRun(part, f"{handle_prefix}/{device}", (job, task), task_name(job, task),
                            cluster.task_address(job, task), (job, task) == tuple(own_task)))
    routes = []
    nodes = graph_util.node_map(graph)
    for f in fetches:
        t = graph_util.tensor_name(f)
        run = index[nodes[graph_util.node_name(t)].device]
        routes.append((run, runs[run].part.fetches.index(t)))
    return Plan(runs, routes, derived)


def _check_feeds(graph_def, feeds):
    """NotFoundError (TF's words) for a feed whose node is not in the graph."""
    names = {node.name for node in graph_def.node}
    for feed in sorted(feeds):
        if graph_util.node_name(feed) not in names:
            raise NotFoundError(None, None, f"FeedInputs: unable to find feed output {feed}",
                                node_name=graph_util.node_name(feed))


def feed_slices(graph, feeds, fetches, targets, own_task):
    """Slices of fed tensors with constant bounds, placed on another task: the master cuts them itself, so
    only the slice crosses (e.g. the seed's map/reduce mean sends each task its half, not all of ``x``).

    Returns ``{slice tensor: (fed tensor, Slice kernel, begin, size)}``.
    """
    nodes = graph_util.node_map(graph)
    keep = {graph_util.node_name(f) for f in fetches} | {graph_util.node_name(t) for t in targets}
    out = {}
    for node in graph.node:
        if node.op != "Slice" or node.name in keep or len(node.input) != 3:
            continue
        if device_spec.DeviceSpec.parse(node.device).task_key == tuple(own_task):
            continue
        source = graph_util.tensor_name(node.input[0]) if not node.input[0].startswith("^") else None
        bounds = [nodes.get(graph_util.node_name(i)) for i in node.input[1:]]
        if source not in feeds or any(b is None or b.op != "Const" or graph_util.tensor_name(i) in feeds
                                      for b, i in zip(bounds, node.input[1:])):
            continue
        begin, size = (tensor_codec.from_proto(b.attr["value"].tensor) for b in bounds)
        kernel = registry.find("Slice", "CPU", node.name).factory(node, None)
        out[f"{node.name}:0"] = (source, kernel, begin, size)
    return out
