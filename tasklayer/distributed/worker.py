"""The worker side of a task: partitions registered by handle and run with ``engine.executor.Executor``,
a rendezvous whose sends to another task PUSH the tensor there (by the peer's transport: its tensor channel, or
gRPC), so every receive waits on this process's own table. The partitions of one master session share that
session's state here (``WorkerSession``), until the master closes the session."""

import random
import threading
import time

from engine import device_spec
from engine.errors import InvalidArgumentError, NotFoundError, OpError
from engine.executor import Executor
from engine.rendezvous import Rendezvous, parse_key
from engine.resource_mgr import ResourceMgr
from tasklayer.distributed import handles, lossy
from tasklayer.distributed.cluster_spec import task_name
from tasklayer.distributed.step_table import StepTable

DEFAULT_STEP_TIMEOUT = 600.0


class StepRendezvous(Rendezvous):
    """A step's rendezvous as one partition sees it: a tensor for this process stays in its table, one for
    another task is pushed there; every receive waits on this process's table."""

    def __init__(self, worker, step, wire=None, deadline=None):
        self._worker = worker
        self._step = step
        self._wire = wire  # lossy transfer of float32 tensors between tasks ("float16"/"bfloat16"), or None
        self._deadline = deadline  # time.monotonic() by which the step must end (a push never outlives it)

    def send(self, key, value):
        """Publish a tensor this partition produced: locally, or pushed to the task whose _Recv takes it."""
        task = self._worker.receiver_task(key)
        if task == self._worker.task_key:
            self._step.rendezvous.send(key, value)
        else:
            timeout = None if self._deadline is None else self._deadline - time.monotonic()
            self._worker.push(task, self._step.step_id, key, value, self._wire, timeout=timeout)

    def recv(self, key, timeout=None):
        """The tensor under ``key``, sent in this process or pushed here by another task."""
        return self._step.rendezvous.recv(key, timeout)

    def recv_async(self, key, callback):
        """``recv`` by callback (see ``LocalRendezvous.recv_async``)."""
        self._step.rendezvous.recv_async(key, callback)

    def abort(self, error):
        """Abort the whole step on this process (its other partitions and remote pulls too)."""
        self._worker.table.abort(self._step.step_id, error)


class WorkerSession:
    """What one master session holds on this task, shared by all its partitions here (TF keeps stateful kernels
    per session): its kernels' per-node state (a random op's generator goes on where another partition, run
    with other fetches, left it) and its private resources (a queue without ``shared_name``)."""

    def __init__(self, handle, resources):
        self.handle = handle
        self.node_state = {}
        self.resources = resources.for_session(handle)


class Worker:
    """Runs partitions for the masters of a cluster; one per server."""

    def __init__(self, job, index, address, peers):
        self.peers = peers  # how this process reaches the other tasks (shared with its master)
        self.task_key = (job, int(index))
        self.task = task_name(job, index)
        self.address = address
        self.table = StepTable()
        self.resources = ResourceMgr()  # shared by every session: variables, queues with a shared_name
        self._sessions = {}  # session handle -> WorkerSession
        self._graphs = {}
        self._lock = threading.Lock()
        self.incarnation = random.getrandbits(63)
        self.recv_tensor_count = 0  # tensors this task sent to other tasks for steps (crossings)
        self.register_count = 0  # partitions built (a cached handle does not count)
        self.channel_port = 0  # this server's tensor channel (set by the server that owns it)
        self._task_of_key = {}

    def receiver_task(self, key):
        """``(job, task)`` of the receiver of a rendezvous key (cached)."""
        task = self._task_of_key.get(key)
        if task is None:
            task = device_spec.DeviceSpec.parse(parse_key(key)[2]).task_key
            if len(self._task_of_key) > 100_000:
                self._task_of_key.clear()
            self._task_of_key[key] = task
        return task

    def push(self, task_key, step_id, key, value, wire=None, crossing=True, timeout=None):
        """Send a step's tensor to the task whose _Recv takes it (float32 compressed when ``wire`` says so)
        within ``timeout`` s (the step's deadline); ``crossing`` counts it as a graph edge crossing (a feed the
        master forwards is not one)."""
        value, code = lossy.compress(value, wire) if wire else (value, 0)
        if crossing:
            with self._lock:
                self.recv_tensor_count += 1
        self.peers.transport(task_key).push_tensor(step_id, key, value, code, timeout)

    def deliver(self, step_id, key, value, code=0):
        """A tensor pushed here by another task: into its step's table (step 0: held by reference)."""
        if code:
            value = lossy.decompress(value, code)
        if step_id == 0:
            self.table.store_ref(key, value)
            return
        step = self.table.acquire(step_id)
        try:
            step.rendezvous.send(key, value)
        except OpError as e:
            if step.rendezvous.aborted is None:  # a duplicate: the step cannot be trusted any more
                self.table.abort(step_id, e)
        finally:
            self.table.release(step)

    def take_pushed(self, step_id, key, timeout=None):
        """Wait for a tensor pushed here under ``(step_id, key)`` (a feed the master pushed)."""
        step = self.table.acquire(step_id)
        try:
            return step.rendezvous.recv(key, timeout or DEFAULT_STEP_TIMEOUT)
        finally:
            self.table.release(step)

    # ---------------------------------------------------------------- the service's operations
    def register_graph(self, handle, graph_def, device):
        """Build the executor of a partition once per handle; errors (an unknown op) name the node."""
        if handle in self._graphs:
            return
        spec = device_spec.DeviceSpec.parse(device)
        if spec.task_key != self.task_key:
            raise InvalidArgumentError(None, None, f"partition for {device} was sent to {self.task}")
        session = self.session(handles.session_of(handle))
        executor = Executor(graph_def, device=device, resources=session.resources, node_state=session.node_state)
        with self._lock:
            self._graphs.setdefault(handle, executor)
            self.register_count += 1

    def run_graph(self, handle, step_id, feeds, fetches, targets, timeout=None, wire=None):
        """Run a registered partition for one step; the fetched arrays."""
        executor = self._graphs.get(handle)
        if executor is None:
            raise NotFoundError(None, None, f"graph handle {handle!r} is not registered on {self.task} "
                                            "(the task may have restarted)")
        timeout = timeout or DEFAULT_STEP_TIMEOUT
        step = self.table.acquire(step_id)
        try:
            if step.rendezvous.aborted is not None:
                raise step.rendezvous.aborted
            rendezvous = StepRendezvous(self, step, wire, time.monotonic() + timeout)
            return executor.run(feeds=feeds, fetches=fetches, targets=targets, rendezvous=rendezvous,
                                step_id=step_id, cancel=step.cancel, timeout=timeout)
        except OpError as e:
            self.table.abort(step_id, e)
            raise
        finally:
            self.table.release(step)

    def recv_local(self, step_id, key, timeout=None):
        """A tensor sent in a step on this process (waits for it), or one held by reference (step 0)."""
        if step_id == 0:
            value = self.table.take_ref(key)
            if value is None:
                raise NotFoundError(None, None, f"no tensor held under {key!r} on {self.task}")
            return value
        return self.take_pushed(step_id, key, timeout)

    def abort_step(self, step_id, error):
        """Abort a step on this process."""
        self.table.abort(step_id, error)

    def abort_all(self, error):
        """Abort every step in progress on this process (the server is stopping)."""
        for step_id in self.table.active_steps():
            self.table.abort(step_id, error)

    def cleanup_graph(self, graph_handles):
        """Forget registered partitions (their session's state stays until the session closes)."""
        with self._lock:
            for h in graph_handles:
                self._graphs.pop(h, None)

    def session(self, handle):
        """The state of master session ``handle`` here (made on its first partition)."""
        with self._lock:
            session = self._sessions.get(handle)
            if session is None:
                session = self._sessions[handle] = WorkerSession(handle, self.resources)
            return session

    def close_session(self, handle):
        """Forget a closed master session: its partitions, its kernels' state and its private resources (its
        steps were cancelled by its master)."""
        with self._lock:
            session = self._sessions.pop(handle, None)
            for h in [h for h in self._graphs if handles.session_of(h) == handle]:
                del self._graphs[h]
        if session is not None:
            session.resources.close()

    def sessions(self):
        """Handles of the sessions that hold state here now (tests check nothing leaks)."""
        with self._lock:
            return sorted(self._sessions)

    def registered(self):
        """Handles registered now (tests check the cache)."""
        return sorted(self._graphs)
