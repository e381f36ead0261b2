"""The worker side of a task: partitions registered by handle and run with ``engine.executor.Executor``,
a rendezvous whose receives of remote tensors pull them from the producing task (RecvTensor)."""

import random
import threading

from engine import device_spec
from engine.errors import InvalidArgumentError, NotFoundError, OpError, UnavailableError
from engine.executor import Executor
from engine.rendezvous import Rendezvous, parse_key
from engine.resource_mgr import ResourceMgr
from tasklayer.distributed.step_table import StepTable
from tasklayer.distributed.worker_client import RemoteWorker

DEFAULT_STEP_TIMEOUT = 600.0


def task_name(job, index):
    """``/job:J/task:I``, how errors name a task."""
    return f"/job:{job}/task:{index}"


class StepRendezvous(Rendezvous):
    """A step's rendezvous as one partition sees it: local keys meet in the process's table, keys sent from
    another task are pulled from it."""

    def __init__(self, worker, step):
        self._worker = worker
        self._step = step

    def send(self, key, value):
        """Publish a tensor this partition produced (taken by a local _Recv or a remote RecvTensor)."""
        self._step.rendezvous.send(key, value)

    def recv(self, key, timeout=None):
        """The tensor under ``key``: from this process, or streamed from the task that sends it."""
        task = self._worker.sender_task(key)
        if task == self._worker.task_key:
            return self._step.rendezvous.recv(key, timeout)
        return self._worker.peer(task).recv_tensor(self._step.step_id, key, timeout, step=self._step)

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
        self._sender_tasks = {}
        self._lock = threading.Lock()
        self.incarnation = random.getrandbits(63)
        self.recv_tensor_count = 0  # RecvTensor calls served for steps
        self.register_count = 0  # partitions built (a cached handle does not count)

    # ---------------------------------------------------------------- peers

    def forget_peers(self, keys):
        """Close and drop the cached clients of ``keys`` (task keys or addresses), so the next call dials anew."""
        with self._lock:
            clients = [self._peers.pop(key, None) for key in keys]
        for client in clients:
            if client is not None:
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

    def sender_task(self, key):
        """``(job, task)`` of the sender of a rendezvous key (cached)."""
        task = self._sender_tasks.get(key)
        if task is None:
            task = device_spec.DeviceSpec.parse(parse_key(key)[0]).task_key
            if len(self._sender_tasks) > 100_000:
                self._sender_tasks.clear()
            self._sender_tasks[key] = task
        return task

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

    def run_graph(self, handle, step_id, feeds, fetches, targets, timeout=None):
        """Run a registered partition for one step; the fetched arrays."""
        executor = self._graphs.get(handle)
        if executor is None:
            raise NotFoundError(None, None, f"graph handle {handle!r} is not registered on {self.task} "
                                            "(the task may have restarted)")
        step = self.table.acquire(step_id)
        try:
            if step.rendezvous.aborted is not None:
                raise step.rendezvous.aborted
            return executor.run(feeds=feeds, fetches=fetches, targets=targets,
                                rendezvous=StepRendezvous(self, step), step_id=step_id, cancel=step.cancel,
                                timeout=timeout or DEFAULT_STEP_TIMEOUT)
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
        with self._lock:
            self.recv_tensor_count += 1
        step = self.table.acquire(step_id)
        try:
            return step.rendezvous.recv(key, timeout or DEFAULT_STEP_TIMEOUT)
        finally:
            self.table.release(step)

    def abort_step(self, step_id, error):
        """Abort a step on this process."""
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
        """Close the channels to peers."""
        for client in set(self._peers.values()):
            client.close()
