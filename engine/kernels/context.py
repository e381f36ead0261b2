"""What a kernel may see beyond its inputs: its build-time environment and, for a few, the current run."""

from engine.errors import FailedPreconditionError


class NoFunctions:
    """The function library of a ``KernelEnv`` built outside an executor: it runs no function graph."""

    def instantiate(self, graph_def):
        """FailedPreconditionError: only an executor's library runs function graphs."""
        raise FailedPreconditionError(None, None, "this kernel runs a function graph, and its KernelEnv has no "
                                                  "function library (an engine.executor.Executor gives one)")


_NO_FUNCTIONS = NoFunctions()


class KernelEnv:
    """Given to a kernel factory once, when a plan is compiled: device, the process's resources, per-node state,
    and the function library that runs the function graphs an op carries (tf.data's map and filter functions).

    ``state`` is a dict kept by the executor for this node across plans and runs (e.g. a random generator).
    ``functions.instantiate(graph_def)`` gives a runner of that GraphDef, ``run(feeds=None, fetches=())`` ->
    the fetched arrays, on the same resources as this kernel (TF's FunctionLibraryRuntime); the executor that
    compiles the plan fills it, so no kernel imports the executor that loads it.
    """

    __slots__ = ("device", "device_type", "resources", "state", "functions")

    def __init__(self, device="", device_type="CPU", resources=None, state=None, functions=None):
        self.device = device
        self.device_type = device_type
        self.resources = resources
        self.state = {} if state is None else state
        self.functions = _NO_FUNCTIONS if functions is None else functions


class RunContext:
    """Given as first argument to kernels registered with ``needs_context=True``, once per run."""

    __slots__ = ("rendezvous", "step_id", "cancel", "resources", "timeout")

    def __init__(self, rendezvous=None, step_id=0, cancel=None, resources=None, timeout=None):
        self.rendezvous = rendezvous
        self.step_id = step_id
        self.cancel = cancel
        self.resources = resources
        self.timeout = timeout
