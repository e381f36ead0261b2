"""The worker side of a task: partitions registered by handle and run with ``engine.executor.Executor``,
a rendezvous whose sends to another task PUSH the tensor there (the tensor channel; gRPC PushTensor when a peer
has none), so every receive waits on this process's own table."""

import os
import random
import threading
import time

from engine import device_spec
from engine.errors import DeadlineExceededError, InvalidArgumentError, NotFoundError, OpError, UnavailableError
from engine.executor import Executor
from engine.rendezvous import Rendezvous, parse_key
from engine.resource_mgr import ResourceMgr
from tasklayer.distributed import lossy
from tasklayer.distributed.channel import ChannelClient, ChannelError, ChannelTimeout, StaleConnectionError
from tasklayer.distributed.step_table import StepTable
from tasklayer.distributed.worker_client import RemoteWorker

DEFAULT_STEP_TIMEOUT = 600.0
# "grpc" sends pushed tensors with gRPC PushTensor instead of the tensor channel (for networks that only let the
# cluster spec's ports through); the default uses the channel wherever a peer offers one.
TRANSPORT_ENV = "YARNFLOW_TENSOR_TRANSPORT"
_NO_CHANNEL = object()


def task_name(job, index):
    """``/job:J/task:I``, how errors name a task."""
    return f"/job:{job}/task:{index}"


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


class Worker:
    """Runs partitions for the masters of a cluster; one per server."""

    def __init__(self, cluster, job, index, address):
        self.cluster = cluster
        self.task_key = (job, int(index))
        self.task = task_name(job, index)
        self.address = address
        self.table = StepTable()
        self.resources = ResourceMgr()
        self._graphs = {}
        self._peers = {}
        self._lock = threading.Lock()
        self.incarnation = random.getrandbits(63)
        self.recv_tensor_count = 0  # tensors this task sent to other tasks for steps (crossings)
        self.register_count = 0  # partitions built (a cached handle does not count)
        self.channel_port = 0  # this server's tensor channel (set by the server that owns it)
        self._channels = {}  # task key -> ChannelClient, or _NO_CHANNEL (push with gRPC)
        self._channel_lock = threading.Lock()
        self._task_of_key = {}

    # ---------------------------------------------------------------- peers
    def forget_peers(self, keys):
        """Close and drop the cached clients of ``keys`` (task keys or addresses), so the next call dials anew."""
        with self._lock:
            clients = [self._peers.pop(key, None) for key in keys]
            clients += [self._channels.pop(key, None) for key in keys]
        for client in clients:
            if client is not None and client is not _NO_CHANNEL:
                client.close()

    def peer(self, task_key):
        """The client of another task of the cluster (``task_key`` = ``(job, index)``)."""
        client = self._peers.get(task_key)
        if client is None:
            job, index = task_key
            if not self.cluster.has_task(job, index):
                raise UnavailableError(None, None, f"{task_name(job, index)} is not in the cluster spec")
            client = self.client_for(self.cluster.task_address(job, index), task_name(job, index))
            self._peers[task_key] = client
        return client

    def client_for(self, address, task=None):
        """A (cached) client of the WorkerService at ``address``."""
        with self._lock:
            client = self._peers.get(address)
            if client is None:
                client = self._peers[address] = RemoteWorker(task or address, address)
            return client

    def receiver_task(self, key):
        """``(job, task)`` of the receiver of a rendezvous key (cached)."""
        task = self._task_of_key.get(key)
        if task is None:
            task = device_spec.DeviceSpec.parse(parse_key(key)[2]).task_key
            if len(self._task_of_key) > 100_000:
                self._task_of_key.clear()
            self._task_of_key[key] = task
        return task

    def channel(self, task_key):
        """The tensor channel to another task, or None when it has none (or gRPC is asked for)."""
        client = self._channels.get(task_key)
        if client is not None and (client is _NO_CHANNEL or not client.broken):
            return None if client is _NO_CHANNEL else client
        with self._channel_lock:  # one thread finds the channel again; the others take what it found
            client = self._channels.get(task_key)
            if client is not None and (client is _NO_CHANNEL or not client.broken):
                return None if client is _NO_CHANNEL else client
            return self._resolve_channel(task_key)

    def _resolve_channel(self, task_key):
        """Ask the task for its channel port (under ``_channel_lock``) and cache the client."""
        port = 0
        if os.environ.get(TRANSPORT_ENV, "").lower() != "grpc":
            port = self.peer(task_key).get_status().channel_port  # the peer's error (naming it) if unreachable
        host = self.cluster.task_address(*task_key).rsplit(":", 1)[0]
        client = ChannelClient(f"{host}:{port}") if port else _NO_CHANNEL
        with self._lock:
            old, self._channels[task_key] = self._channels.get(task_key), client
        if old is not None and old is not _NO_CHANNEL:
            old.close()
        return None if client is _NO_CHANNEL else client

    def push(self, task_key, step_id, key, value, wire=None, crossing=True, timeout=None):
        """Send a step's tensor to the task whose _Recv takes it (float32 compressed when ``wire`` says so)
        within ``timeout`` s (the step's deadline); ``crossing`` counts it as a graph edge crossing (a feed the
        master forwards is not one)."""
        value, code = lossy.compress(value, wire) if wire else (value, 0)
        if crossing:
            with self._lock:
                self.recv_tensor_count += 1
        client = self.channel(task_key)
        if client is None:
            self.peer(task_key).push_tensor(step_id, key, value, code)
            return
        try:
            try:
                client.push(step_id, key, value, code, timeout)
            except StaleConnectionError:  # the peer restarted since: find its channel again and resend
                client = self.channel(task_key)
                try:
                    if client is not None:
                        client.push(step_id, key, value, code, timeout)
                        return
                except StaleConnectionError:
                    pass  # its channel cannot be reached from here: gRPC may still get through
                self.peer(task_key).push_tensor(step_id, key, value, code)
        except ChannelTimeout as e:
            raise DeadlineExceededError(None, None, f"{task_name(*task_key)} ({self.cluster.task_address(*task_key)}) "
                                                    f"took no data before the step's deadline: {e}") from None
        except ChannelError as e:
            raise UnavailableError(None, None, f"{task_name(*task_key)} "
                                               f"({self.cluster.task_address(*task_key)}) is unreachable: {e}") from None

    def interrupt_channel(self, task_key):
        """Fail every push and call in progress to ``task_key`` now (it stopped answering)."""
        client = self._channels.get(task_key)
        if client is not None and client is not _NO_CHANNEL:
            client.interrupt()

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
        executor = Executor(graph_def, device=device, resources=self.resources)
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

    def cleanup_graph(self, handles):
        """Forget registered partitions."""
        with self._lock:
            for h in handles:
                self._graphs.pop(h, None)

    def registered(self):
        """Handles registered now (tests check the cache)."""
        return sorted(self._graphs)

    def close(self):
        """Close the connections to peers."""
        for client in set(self._peers.values()) | set(self._channels.values()):
            if client is not _NO_CHANNEL:
                client.close()
