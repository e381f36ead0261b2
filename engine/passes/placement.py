"""Placement: give every node a full device (``/job:J/replica:0/task:I/device:CPU:0``) that exists in the
cluster. Nodes without a device go to the session's default device; partial specs are completed."""

from engine import device_spec, graph_util  # noqa: F401 (graph_util: doctest)
from engine.errors import InvalidArgumentError
from protos import graph_pb2


def place(graph_def, cluster_tasks, default_device):
    """A copy of ``graph_def`` with every node placed.

    ``cluster_tasks`` maps job name -> iterable of task indices; ``default_device`` is where nodes without a
    device go (the task the session connected to). A partial spec naming the default's job takes the
    default's task; one naming another job takes that job's first task. Colocation attrs (``_class`` =
    ``loc:@other``) put a node on ``other``'s device. InvalidArgumentError names a node whose device names
    a job or task the cluster does not have.

    >>> g = graph_pb2.GraphDef(node=[graph_util.make_node("a", "NoOp", device="/job:ps")])
    >>> place(g, {"ps": [0, 1], "w": [0]}, "/job:w/task:0").node[0].device
    '/job:ps/replica:0/task:0/device:CPU:0'
    """
    tasks = {job: sorted(int(i) for i in indices) for job, indices in cluster_tasks.items()}
    default = _complete(device_spec.DeviceSpec.parse(default_device), device_spec.DeviceSpec(), tasks)
    _check(default, tasks, "the session's default device", default_device)
    out = graph_pb2.GraphDef()
    out.CopyFrom(graph_def)
    cache = {}
    for node in out.node:
        requested = node.device
        placed = cache.get(requested)
        if placed is None:
            try:
                spec = device_spec.DeviceSpec.parse(requested)
            except ValueError as e:
                raise InvalidArgumentError(None, None, f"node {node.name!r}: {e}", node_name=node.name,
                                           op_type=node.op) from None
            full = _complete(spec, default, tasks)
            _check(full, tasks, f"node {node.name!r}", requested, node)
            placed = cache[requested] = full.to_string()
        node.device = placed
    _colocate(out)
    return out


def _complete(spec, default, tasks):
    """Fill the unset fields of ``spec``: from the default device on its job, else the job's first task."""
    if spec.job is None or spec.job == default.job:
        spec = spec.merged_with(default)
    else:
        first = tasks.get(spec.job, [0])[0] if tasks.get(spec.job) else 0
        spec = spec.merged_with(device_spec.DeviceSpec(replica=0, task=first))
    if spec.device_type is None:
        spec = spec.merged_with(device_spec.DeviceSpec(device_type="CPU", device_index=0))
    return device_spec.DeviceSpec(spec.job, spec.replica if spec.replica is not None else 0,
                                  spec.task if spec.task is not None else 0, spec.device_type,
                                  spec.device_index if spec.device_index is not None else 0)


def _check(spec, tasks, what, requested, node=None):
    """InvalidArgumentError if ``spec`` names a job or task the cluster does not have."""
    name = getattr(node, "name", None)
    op = getattr(node, "op", None)
    if spec.job not in tasks:
        raise InvalidArgumentError(None, None, f"{what} is placed on {requested!r}, but the cluster has no job "
                                   f"{spec.job!r} (jobs: {', '.join(sorted(tasks)) or 'none'})",
                                   node_name=name, op_type=op)
    if spec.task not in tasks[spec.job]:
        raise InvalidArgumentError(None, None, f"{what} is placed on {requested!r}, but job {spec.job!r} has no "
                                   f"task {spec.task} (tasks: {', '.join(map(str, tasks[spec.job]))})",
                                   node_name=name, op_type=op)


def _colocate(graph_def):
    """Honour ``_class: ["loc:@name"]``: the node runs where ``name`` runs."""
    devices = {n.name: n.device for n in graph_def.node}
    for node in graph_def.node:
        if "_class" not in node.attr:
            continue
        for item in node.attr["_class"].list.s:
            item = item.decode() if isinstance(item, bytes) else item
            if item.startswith("loc:@") and item[5:] in devices:
                node.device = devices[item[5:]]
                break
