"""What a kernel may see beyond its inputs: its build-time environment and, for a few, the current run."""


class KernelEnv:
    """Given to a kernel factory once, when a plan is compiled: device, the process's resources, per-node state.

    ``state`` is a dict kept by the executor for this node across plans and runs (e.g. a random generator).
    """

    __slots__ = ("device", "device_type", "resources", "state")

    def __init__(self, device="", device_type="CPU", resources=None, state=None):
        self.device = device
        self.device_type = device_type
        self.resources = resources
        self.state = {} if state is None else state


class RunContext:
    """Given as first argument to kernels registered with ``needs_context=True``, once per run."""

    __slots__ = ("rendezvous", "step_id", "cancel", "resources", "timeout")

    def __init__(self, rendezvous=None, step_id=0, cancel=None, resources=None, timeout=None):
        self.rendezvous = rendezvous
        self.step_id = step_id
        self.cancel = cancel
        self.resources = resources
        self.timeout = timeout
