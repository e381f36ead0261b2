"""This process's way to every other task of its cluster: a gRPC client each (the control plane, made without
any I/O) and a ``PeerTransport`` each, chosen once, when the peer is first reached for data."""

import logging
import os
import threading

from engine.daemon_pool import DaemonPool
from engine.errors import OpError, UnavailableError
from tasklayer.distributed.channel_codec import ChannelError
from tasklayer.distributed.channel_transport import ChannelTransport
from tasklayer.distributed.cluster_spec import task_name
from tasklayer.distributed.grpc_transport import GrpcTransport
from tasklayer.distributed.worker_client import RemoteWorker

log = logging.getLogger(__name__)

# "grpc" sends everything over gRPC instead of the tensor channel (for networks that only let the cluster spec's
# ports through); the default uses the channel wherever a peer offers one that can be reached.
TRANSPORT_ENV = "YARNFLOW_TENSOR_TRANSPORT"
# RunGraph calls on tensor channels hold a thread for their whole step: as many as the gRPC server's, so that
# such calls never queue behind (or starve) anything else.
CALL_THREADS = 256


def grpc_only(environ=None):
    """Whether ``YARNFLOW_TENSOR_TRANSPORT`` asks for gRPC alone."""
    env = os.environ if environ is None else environ
    return env.get(TRANSPORT_ENV, "").lower() == "grpc"


def choose_transport(rpc, channel_port=None, call_pool=None, environ=None):
    """The transport to the peer that ``rpc`` (a ``RemoteWorker``) calls: its tensor channel when it offers one
    (``channel_port``; asked with GetStatus when None) that can be reached from here and gRPC is not asked for,
    else gRPC. Raises the peer's error, naming it, when it cannot be asked."""
    if grpc_only(environ):
        return GrpcTransport(rpc)
    if channel_port is None:
        channel_port = rpc.get_status().channel_port
    if not channel_port:
        return GrpcTransport(rpc)
    transport = ChannelTransport(rpc, channel_port, call_pool)
    try:
        transport.connect()
    except ChannelError as e:
        log.warning("%s (%s): its tensor channel cannot be reached (%s); using gRPC", rpc.task, rpc.address, e)
        transport.close()
        return GrpcTransport(rpc)
    return transport


class Peers:
    """The clients and transports of the other tasks of ``cluster`` (thread-safe)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self._rpcs = {}  # task key or address -> RemoteWorker
        self._transports = {}  # task key -> PeerTransport
        self._choosing = {}  # task key -> the lock of the one thread that chooses its transport
        self._lock = threading.Lock()
        # Daemon threads: a RunGraph waiting on a remote queue must not keep a finished program from exiting.
        self._call_pool = DaemonPool(CALL_THREADS, thread_name_prefix="peer-call")

    def rpc(self, task_key):
        """The gRPC client of task ``(job, index)``; UnavailableError if the cluster has no such task."""
        client = self._rpcs.get(task_key)
        if client is None:
            job, index = task_key
            if not self.cluster.has_task(job, index):
                raise UnavailableError(None, None, f"{task_name(job, index)} is not in the cluster spec")
            client = self.rpc_at(self.cluster.task_address(job, index), task_name(job, index))
            with self._lock:
                client = self._rpcs.setdefault(task_key, client)
        return client

    def rpc_at(self, address, task=None):
        """The (cached) gRPC client of the server at ``address``."""
        with self._lock:
            client = self._rpcs.get(address)
            if client is None:
                client = self._rpcs[address] = RemoteWorker(task or address, address)
            return client

    def transport(self, task_key):
        """The transport to task ``(job, index)``, chosen on first use (which asks the task for its status)."""
        transport = self._transports.get(task_key)
        if transport is not None:
            return transport
        with self._lock:
            choosing = self._choosing.setdefault(task_key, threading.Lock())
        with choosing:  # one thread asks the peer; the others take what it chose
            transport = self._transports.get(task_key)
            if transport is None:
                transport = choose_transport(self.rpc(task_key), call_pool=self._call_pool)
                with self._lock:
                    self._transports[task_key] = transport
            return transport

    def chosen(self):
        """``{task key: transport}`` of the peers reached so far."""
        with self._lock:
            return dict(self._transports)

    def channel_address(self, task_key):
        """The tensor channel's address of a task, or None when it is reached by gRPC (or not at all now)."""
        try:
            return self.transport(task_key).channel_address
        except OpError:
            return None

    def abort_step(self, task_key, step_id, error):
        """Abort a step on a task, by gRPC whatever its transport; does not wait."""
        try:
            self.rpc(task_key).abort_step(step_id, error)
        except OpError:
            pass  # a task no longer in the cluster holds nothing of it

    def interrupt(self, task_key):
        """Fail every push and call in flight to a task now (it stopped answering)."""
        transport = self._transports.get(task_key)
        if transport is not None:
            transport.interrupt()

    def update_cluster(self, cluster, moved):
        """Follow ``cluster``; the clients of ``moved`` tasks (and of their old addresses) are dropped."""
        stale = [self.cluster.task_address(j, i) for j, i in moved if self.cluster.has_task(j, i)]
        self.forget(list(moved) + stale)
        self.cluster = cluster

    def forget(self, keys):
        """Close and drop the clients of ``keys`` (task keys or addresses), so the next call dials anew."""
        with self._lock:
            dropped = [self._transports.pop(key, None) for key in keys] + [self._rpcs.pop(key, None) for key in keys]
        for client in dropped:
            if client is not None:
                client.close()

    def close(self):
        """Close every connection to the peers."""
        with self._lock:
            dropped = list(self._transports.values()) + list(set(self._rpcs.values()))
            self._transports, self._rpcs = {}, {}
        for client in dropped:
            client.close()
        self._call_pool.shutdown(wait=False)
