"""The executor: a GraphDef compiled once per (fetches, feeds, targets) into a ``Plan``, then run many times.

The serial path is a tight loop over precomputed slots. A plan whose steps could overlap (a blocking _Recv,
or two non-trivial ops at the same depth) runs in dataflow order instead: ready cheap ops run inline, and only
blocking ops, or heavy ones while something else is ready, go to a small shared thread pool.

>>> from engine.graph_util import make_const, make_node
>>> from protos import graph_pb2
>>> g = graph_pb2.GraphDef(node=[make_const("a", 2.0), make_node("sq", "Square", ["a"], T=dtypes.float64)])
>>> Executor(g).run(fetches=["sq:0"])[0]
array(4.)
"""

import collections
import concurrent.futures
import dataclasses
import logging
import os
import queue
import threading
import time

import numpy as np

from engine import (device_spec, dtypes, flow_run, graph_util, graph_validation, op_defs,  # noqa: F401 (dtypes)
                    refs)
from engine.daemon_pool import DaemonPool
from engine.dead import DEAD
from engine.errors import CancelledError, DeadlineExceededError, InvalidArgumentError, OpError
from engine.kernels import registry
from engine.kernels.context import RunContext
from engine.kernels.host import to_host
from engine.plan import BINARY, NULLARY, UNARY, check_feeds, compile_plan, normalize_fetch, step_error

DEFAULT_DEVICE = "/job:localhost/replica:0/task:0/device:CPU:0"

# An op whose run took longer than this is worth running beside others next time.
_HEAVY_SECONDS = 2e-4
# On its first run, an op with an input this large (elements) is presumed heavy.
_HEAVY_ELEMENTS = 1 << 16
# How often a dataflow run waiting on the pool looks at its cancel event.
_POLL_SECONDS = 0.02
# How many ops may compute side by side in this process (see ``compute_width``).
INTER_OP_ENV = "YARNFLOW_INTER_OP_THREADS"


def compute_width(environ=None):
    """How many ops of a run may compute at once in this process: ``YARNFLOW_INTER_OP_THREADS`` if set, else
    ``OMP_NUM_THREADS`` (what the node agent gives a container: its vcores), else the CPUs this process may
    use. With 1, heavy ops run on the scheduling thread: a second compute thread on a 1-vcore container only
    adds thread switches (and on a shared machine, steals the core of a neighbouring task)."""
    env = os.environ if environ is None else environ
    for name in (INTER_OP_ENV, "OMP_NUM_THREADS"):
        raw = env.get(name, "").strip()
        if raw:
            try:
                return max(1, int(raw))
            except ValueError:  # read at import: a typo must not stop every program, only be told
                logging.getLogger(__name__).warning("ignoring %s=%r: not a whole number of threads", name, raw)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclasses.dataclass
class RunStats:
    """Facts about one run."""

    nodes_executed: int = 0
    mode: str = "serial"
    seconds: float = 0.0


class _Pools:
    """Two shared pools: a small one for compute, a larger one for ops that may block (so they never starve
    compute, and many waiting _Recvs cannot deadlock one another)."""

    _lock = threading.Lock()
    _compute = None
    _blocking = None
    width = compute_width()  # 1: no compute pool at all, heavy ops run inline

    @classmethod
    def compute(cls):
        with cls._lock:
            if cls._compute is None:
                workers = max(1, min(8, cls.width))
                cls._compute = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="engine-op")
            return cls._compute

    @classmethod
    def blocking(cls):
        with cls._lock:
            if cls._blocking is None:
                # Daemon threads: a program whose queue runner waits on a full queue still exits, as in TF.
                cls._blocking = DaemonPool(64, thread_name_prefix="engine-wait")
            return cls._blocking


class Executor:
    """Runs one GraphDef (a partition) on one device; thread-safe; plans are cached per run signature.

    Every op type is checked to have a kernel when the executor is built, so a graph with an unknown op fails
    at once (NotFoundError naming op and node), not at its first run; the graph is validated as TF validates
    one it imports (``engine.graph_validation``).
    """

    def __init__(self, graph_def, device=DEFAULT_DEVICE, resources=None, *, fetches=None, feeds=(), targets=(),
                 node_state=None):
        self.device = device_spec.canonical(device) if device else DEFAULT_DEVICE
        self.resources = resources
        self._nodes = graph_util.node_map(graph_def)
        self._order = [n.name for n in graph_def.node]
        # Per-node kernel state (random generators) that outlives plans and runs; a session passes one dict to
        # all its executors of a graph, so that state lives as long as the session (TF's per-session kernels).
        self._node_state = {} if node_state is None else node_state
        self.functions = FunctionLibrary(resources)
        self._plans = {}
        self._lock = threading.Lock()
        self._heavy = {}  # node name -> learned: worth running beside others
        self.last_stats = RunStats()
        default_type = device_spec.DeviceSpec.parse(self.device).device_type or "CPU"
        for node in graph_def.node:  # fail now, naming op and node, if any op cannot run here
            if not op_defs.is_known(node.op):
                _unknown_op(node)
            dev_type = device_spec.DeviceSpec.parse(node.device).device_type if node.device else None
            registry.find(node.op, dev_type or default_type, node.name)
        graph_validation.validate_graph_def(graph_def, partial=True)  # as TF checks a graph; fed nodes may be gone
        if fetches is not None or targets:
            self.plan_for(fetches or (), feeds, targets)

    def plan_for(self, fetches, feeds=(), targets=()):
        """The (cached) ``Plan`` for a run signature."""
        key = (tuple(fetches), frozenset(feeds), tuple(targets))
        plan = self._plans.get(key)
        if plan is None:
            with self._lock:
                plan = self._plans.get(key)
                if plan is None:
                    plan = compile_plan(self._nodes, self._order, fetches, feeds, targets, self.device,
                                        self.resources, self._node_state, self.functions)
                    self._plans[key] = plan
        return plan

    def run(self, feeds=None, fetches=(), targets=(), rendezvous=None, step_id=0, cancel=None, timeout=None):
        """Run the nodes the fetches and targets need; the fetched values as ndarrays, in fetch order.

        ``feeds`` maps tensor names to arrays (any tensor may be fed); ``rendezvous`` serves _Send/_Recv;
        ``cancel`` is a ``threading.Event`` that stops the run with CancelledError; ``timeout`` bounds the
        waits for _Recv values (DeadlineExceededError): each one on its own, or all of them from the run's start
        when the rendezvous calls back.
        """
        feeds = feeds or {}
        started = time.perf_counter()
        plan = self.plan_for(fetches, feeds.keys(), targets)
        if cancel is not None and cancel.is_set():
            raise CancelledError(None, None, "run cancelled before it started")
        vals = [None] * plan.num_slots
        vals[0] = RunContext(rendezvous, step_id, cancel, self.resources, timeout)
        for name, value in feeds.items():
            vals[plan.feed_slots[normalize_fetch(name)] if name not in plan.feed_slots
                 else plan.feed_slots[name]] = value if isinstance(value, np.ndarray) else np.asarray(value)
        if plan.feed_checks:
            check_feeds(plan, vals)
        # Control flow (dead tensors, loops) gets a run of its own, so plans without it keep the tight loops.
        dead = None if plan.flow is None else [False] * len(plan.steps)
        try:
            if plan.parallel:
                executed = self._run_dataflow(plan, vals, cancel, rendezvous, dead)
                mode = "dataflow"
            elif dead is not None:
                executed = flow_run.run_serial(plan, vals, dead, cancel)
                mode = "serial"
            else:
                executed = _run_serial(plan, vals, cancel)
                mode = "serial"
        except OpError as e:
            if rendezvous is not None:  # let the other partitions of this step stop too
                rendezvous.abort(e)
            raise
        self.last_stats = RunStats(executed, mode, time.perf_counter() - started)
        out = []
        for k, slot in enumerate(plan.fetch_slots):
            value = vals[slot]
            if value is DEAD:  # fetched from an untaken branch (TF's words)
                raise InvalidArgumentError(None, None, f"Retval[{k}] does not have value")
            if isinstance(value, refs.Ref):  # a fetched variable: its value as the step leaves it
                value = value.read()
            if plan.uses_gpu:
                value = to_host(value)
            out.append(value if type(value) is np.ndarray else np.asarray(value))
        return out

    def _run_dataflow(self, plan, vals, cancel, rendezvous, dead=None):
        """Run steps as their inputs become ready; returns how many ran. ``dead`` (a plan with a ``FlowPlan``):
        the steps' deadness, checked before a step runs once a dead tensor may be about."""
        steps, successors, blocking = plan.steps, plan.successors, plan.blocking
        # A _Recv waits without a thread when the rendezvous can call back: the sender's thread hands the value
        # straight to this loop (one thread wake-up per crossing instead of two).
        recv_async = getattr(rendezvous, "recv_async", None)
        waiting = {}  # step -> rendezvous key of a _Recv called back on arrival
        timeout = vals[0].timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        pending = list(plan.pending)
        ready = collections.deque(i for i, p in enumerate(pending) if p == 0)
        done = queue.SimpleQueue()
        heavy = self._heavy
        side_by_side = _Pools.width > 1  # heavy ops may go to the compute pool while others are ready
        names = plan.names
        inflight = 0
        executed = 0

        # Dead tensors come from control-flow ops, or from a _Recv in a plan without any.
        dead_possible = dead is not None and plan.flow.has_control_flow

        def release(i):
            for s in successors[i]:
                pending[s] -= 1
                if pending[s] == 0:
                    ready.append(s)

        def store(i, result):
            nonlocal dead_possible
            _store(vals, steps[i], plan.num_outputs[i], result, i, plan)
            if dead is not None and result is DEAD:  # a _Recv of a dead tensor
                dead[i] = dead_possible = True
            for s in successors[i]:
                pending[s] -= 1
                if pending[s] == 0:
                    ready.append(s)

        def on_pool(i, fn, args):
            t0 = time.perf_counter()
            try:
                result = fn(*args)
                done.put((i, result, None, time.perf_counter() - t0))
            except BaseException as e:  # handed to the scheduling thread, which raises it
                done.put((i, None, e, 0.0))

        while True:
            while ready:
                if cancel is not None and cancel.is_set():
                    raise _cancelled(rendezvous)
                i = ready.popleft()
                if dead_possible and flow_run.settle(plan, i, vals, dead, cancel):
                    executed += 1
                    release(i)
                    continue
                fn, ins = steps[i][:2]
                if recv_async is not None and blocking[i]:
                    key = getattr(fn, "recv_key", None)
                    if key is not None:
                        waiting[i] = key
                        inflight += 1
                        recv_async(key, lambda value, err, i=i: done.put((i, value, err, 0.0)))
                        continue
                args = [vals[j] for j in ins]
                is_heavy = heavy.get(names[i])
                if is_heavy is None:
                    is_heavy = any(getattr(a, "size", 0) >= _HEAVY_ELEMENTS for a in args)
                if blocking[i] or (is_heavy and side_by_side and (ready or inflight)):
                    pool = _Pools.blocking() if blocking[i] else _Pools.compute()
                    pool.submit(on_pool, i, fn, args)
                    inflight += 1
                    continue
                t0 = time.perf_counter()
                try:
                    result = fn(*args)
                except Exception as e:
                    raise step_error(plan, i, vals, e) from None
                heavy[names[i]] = time.perf_counter() - t0 > _HEAVY_SECONDS
                executed += 1
                try:
                    store(i, result)
                except ValueError as e:
                    raise step_error(plan, i, vals, e) from None
            if not inflight:
                return executed
            try:
                i, result, err, seconds = done.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if cancel is not None and cancel.is_set():
                    raise _cancelled(rendezvous) from None
                if waiting and deadline is not None and time.monotonic() > deadline:
                    keys = ", ".join(repr(k) for k in sorted(waiting.values())[:3])
                    raise DeadlineExceededError(None, None, f"timed out after {timeout} s waiting for rendezvous "
                                                            f"key {keys}") from None
                continue
            inflight -= 1
            waiting.pop(i, None)
            if err is not None:
                raise step_error(plan, i, vals, err) from None
            if not blocking[i]:
                heavy[names[i]] = seconds > _HEAVY_SECONDS
            executed += 1
            try:
                store(i, result)
            except ValueError as e:
                raise step_error(plan, i, vals, e) from None


class FunctionLibrary:
    """Runs the function graphs of an executor's ops (TF's FunctionLibraryRuntime), as ``KernelEnv.functions``:
    ``instantiate(graph_def)`` gives an ``Executor`` of that graph on the same resources, so a tf.data map
    function reads the variables, queues and iterators of the process that runs its dataset."""

    __slots__ = ("resources",)

    def __init__(self, resources=None):
        self.resources = resources

    def instantiate(self, graph_def):
        """A runner of ``graph_def``: ``run(feeds=None, fetches=())`` gives the fetched arrays (on CPU)."""
        return Executor(graph_def, resources=self.resources)


def _unknown_op(node):
    registry.find(node.op, "CPU", node.name)  # NotFoundError naming op and node when it has no kernel
    op_defs.lookup(node.op)  # a kernel without an op definition: NotFoundError naming the op


def _cancelled(rendezvous):
    err = CancelledError(None, None, "run cancelled")
    if rendezvous is not None:
        rendezvous.abort(err)
    return err


def _store(vals, step, nout, result, i, plan):
    """Put a kernel's result into its output slots."""
    out = step[2]
    if nout == 1:
        vals[out] = result
    elif nout > 1:
        if len(result) != nout:
            raise ValueError(f"kernel returned {len(result)} outputs, expected {nout}")
        vals[out:out + nout] = result


def _run_serial(plan, vals, cancel):
    """Run every step in topological order: the fast path, one tight loop; returns how many ran."""
    steps = plan.steps
    check = cancel is not None
    step = None
    try:
        for step in steps:
            if check and cancel.is_set():
                raise CancelledError(None, None, "run cancelled")
            fn, ins, out, kind, nout = step
            if kind == BINARY:
                vals[out] = fn(vals[ins[0]], vals[ins[1]])
            elif kind == UNARY:
                vals[out] = fn(vals[ins[0]])
            elif kind == NULLARY:
                vals[out] = fn()
            else:  # GENERAL: several inputs or outputs
                result = fn(*[vals[j] for j in ins])
                if nout == 1:
                    vals[out] = result
                elif nout:
                    if len(result) != nout:
                        raise ValueError(f"kernel returned {len(result)} outputs, expected {nout}")
                    vals[out:out + nout] = result
    except CancelledError:
        raise
    except Exception as e:
        raise step_error(plan, steps.index(step), vals, e) from None
    return len(steps)
