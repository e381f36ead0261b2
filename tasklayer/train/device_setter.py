"""``tf.train.replica_device_setter``: variables round-robin on ps tasks, everything else on the worker."""

from engine import device_spec
from tasklayer.distributed.cluster_spec import ClusterSpec

# Op types that hold state and belong on a parameter server (TF's default ps_ops).
STANDARD_PS_OPS = ("Variable", "VariableV2", "AutoReloadVariable", "MutableHashTable", "MutableHashTableV2",
                   "MutableHashTableOfTensors", "MutableHashTableOfTensorsV2", "MutableDenseHashTable",
                   "MutableDenseHashTableV2", "VarHandleOp")


class _RoundRobin:
    """Chooses ps tasks in turn, from ``indices`` (a sparse job's tasks need not be 0..n-1)."""

    def __init__(self, indices):
        self._indices = list(indices)
        self._next = 0

    def __call__(self, unused_op):
        task = self._indices[self._next]
        self._next = (self._next + 1) % len(self._indices)
        return task


def replica_device_setter(ps_tasks=0, ps_device="/job:ps", worker_device="/job:worker", merge_devices=True,
                          cluster=None, ps_ops=None, ps_strategy=None):
    """A device function for ``tf.device``: ps ops round-robin over the ps tasks, the rest on ``worker_device``.

    >>> f = replica_device_setter(ps_tasks=2)
    >>> class Op: type, device = "VariableV2", ""
    >>> f(Op()), f(Op())
    ('/job:ps/task:0', '/job:ps/task:1')

    With a ``cluster``, the turns go over the ps job's own task indices (sparse ones included):

    >>> f = replica_device_setter(cluster={"ps": {0: "a:1", 2: "b:2"}, "worker": ["w:1"]})
    >>> f(Op()), f(Op()), f(Op())
    ('/job:ps/task:0', '/job:ps/task:2', '/job:ps/task:0')

    Returns None (no placement) when there are no ps tasks, as TF does.
    """
    ps_indices = range(ps_tasks)
    if cluster is not None:
        cluster = cluster if isinstance(cluster, ClusterSpec) else ClusterSpec(cluster)
        ps_job = device_spec.DeviceSpec.parse(ps_device).job or "ps"
        ps_indices = cluster.task_indices(ps_job) if ps_job in cluster.jobs else []
    if not ps_indices:
        return None
    ps_ops = tuple(ps_ops) if ps_ops is not None else STANDARD_PS_OPS
    strategy = ps_strategy or _RoundRobin(ps_indices)
    worker_spec = device_spec.DeviceSpec.parse(worker_device)

    def choose_device(op):
        current = device_spec.DeviceSpec.parse(op.device if merge_devices else "")
        node_op = getattr(op, "type", None) or getattr(op, "op", None)
        if node_op in ps_ops:
            ps_spec = device_spec.DeviceSpec.parse(ps_device)
            if ps_spec.task is None:
                ps_spec = ps_spec.merged_with(f"/task:{strategy(op)}")
            return current.merged_with(ps_spec).to_string() if merge_devices else ps_spec.to_string()
        return current.merged_with(worker_spec).to_string() if merge_devices else worker_spec.to_string()

    return choose_device
