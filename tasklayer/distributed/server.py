"""One task's gRPC server: a MasterService and a WorkerService on one port, and the in-process registry
that lets a session in the same process reach its master without RPC."""

import threading

from engine.errors import CancelledError
from protos import tasklayer_pb2 as pb
from tasklayer.distributed import errors as derrors
from tasklayer.distributed.channel_server import ChannelServer
from tasklayer.distributed.cluster_spec import ClusterSpec
from tasklayer.distributed.master import Master
from tasklayer.distributed.master_service import MasterServicer
from tasklayer.distributed.peers import Peers
from tasklayer.distributed.worker import Worker
from tasklayer.distributed.worker_service import WorkerServicer
from yarnflow import rpc
from yarnflow.errors import YarnflowError

_LOCAL = {}  # port -> TaskServer running in this process
_LOCAL_LOCK = threading.Lock()
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1", "[::1]"}


class TaskServer:
    """Serves one task of a cluster; ``start``/``stop``/``join``; ``address`` is the bound ``host:port``."""

    def __init__(self, cluster, job, index, optimize=True):
        self.job, self.index = job, int(index)
        address = cluster.task_address(job, self.index)  # ValueError naming an unknown job/task
        self.host, port = address.rsplit(":", 1)
        self._grpc = rpc.make_server(max_workers=256)
        try:
            bound = rpc.bind(self._grpc, "0.0.0.0", int(port))
        except YarnflowError as exc:  # say which task could not start, and the address its spec gave it
            self._grpc.stop(None)  # release the unstarted server's resources
            raise YarnflowError(f"cannot start /job:{job}/task:{self.index}: port {port} of {address} is in use "
                                f"({exc})") from None
        self.address = f"{self.host}:{bound}"
        if bound != int(port):  # port 0 picked a free port: the cluster must say where we really are
            spec = cluster.as_dict()
            tasks = spec[job]
            if isinstance(tasks, list):
                tasks[self.index] = self.address
            else:
                tasks[self.index] = self.address
            cluster = ClusterSpec(spec)
        self.cluster = cluster
        self.peers = Peers(cluster)  # shared by the worker (its pushes) and the master (its RunGraphs)
        self.worker = Worker(job, self.index, self.address, self.peers)
        self._channel = None  # the tensor channel, listening once started
        self.master = Master(cluster, job, self.index, self.worker, self.peers, optimize=optimize)
        self._worker_servicer = worker_servicer = WorkerServicer(self.worker, self.shutdown_soon)
        self._master_servicer = master_servicer = MasterServicer(self.master)
        self._grpc.add_generic_rpc_handlers([worker_servicer.handler(), master_servicer.handler()])
        # The per-step calls, also served on the tensor channel (a raw-socket round trip instead of a gRPC call).
        self._channel_calls = {
            "RunGraph": _bytes_handler(worker_servicer.RunGraph, pb.RunGraphRequest, pb.RunGraphResponse),
            "RunStep": _bytes_handler(master_servicer.RunStep, pb.RunStepRequest, pb.RunStepResponse),
        }
        self._started = False
        self._stopped = threading.Event()

    def update_cluster(self, cluster):
        """Point this server at the addresses of ``cluster`` (its own address stays): for tasks restarted
        elsewhere. Returns the ``(job, index)`` that moved; sessions made before keep their old plans."""
        jobs = {j: dict(enumerate(t)) if isinstance(t, list) else dict(t)
                for j, t in ClusterSpec(cluster).as_dict().items()}
        jobs.setdefault(self.job, {})[self.index] = self.address
        cluster, old = ClusterSpec(jobs), self.cluster
        moved = [(j, i) for j, i, a in cluster.tasks() if not old.has_task(j, i) or old.task_address(j, i) != a]
        if moved:
            self.peers.update_cluster(cluster, moved)
            self.cluster = self.master.cluster = cluster
        return moved

    @property
    def port(self):
        """The bound port."""
        return int(self.address.rsplit(":", 1)[1])

    def start(self):
        """Start serving (idempotent)."""
        if not self._started:
            self._started = True
            self._channel = ChannelServer(self.worker.deliver, handlers=self._channel_calls,
                                          on_hangup=self._caller_went_away)
            self.worker.channel_port = self._channel.port
            self._grpc.start()
            with _LOCAL_LOCK:
                _LOCAL[self.port] = self

    def stop(self, grace=0.5):
        """Stop serving; ``join`` returns."""
        with _LOCAL_LOCK:
            if _LOCAL.get(self.port) is self:
                del _LOCAL[self.port]
        self._grpc.stop(grace).wait()
        if self._channel is not None:
            self.worker.abort_all(CancelledError(None, None, f"{self.worker.task} is stopping"))
            self._channel.stop()  # its calls in progress end now that their steps are aborted
        self.master.close()
        self.peers.close()
        self._stopped.set()

    def _caller_went_away(self, method, payload):
        """A RunGraph or RunStep whose caller closed its channel connection before the answer (it died, or gave
        up on the step): cancel the step, so that its partitions stop waiting (and taking what other steps
        wait for, such as a queue's next element) instead of holding on until the step's deadline."""
        if method == "RunGraph":
            self._worker_servicer.cancel_step(pb.RunGraphRequest.FromString(payload).step_id)
        elif method == "RunStep":
            step_id = pb.RunStepRequest.FromString(payload).step_id
            if step_id:
                self._master_servicer.abandon_soon(step_id)

    def shutdown_soon(self):
        """Stop serving, from a thread of its own (a Shutdown RPC or a signal asks for it)."""
        threading.Thread(target=self.stop, name="shutdown", daemon=True).start()

    def join(self, timeout=None):
        """Block until the server stops; True if it did."""
        return self._stopped.wait(timeout)

    @property
    def stopped(self):
        """Whether the server was stopped."""
        return self._stopped.is_set()


def _bytes_handler(method, request_cls, response_cls):
    """A servicer method (one that answers every error in its response) as ``bytes -> bytes``; a request that
    cannot be parsed is answered with an InvalidArgumentError."""
    def handle(payload):
        try:
            request = request_cls.FromString(payload)
        except Exception as e:  # noqa: BLE001 - any undecodable request is the caller's mistake
            error = derrors.invalid_request(request_cls.__name__, e)
            return response_cls(error=derrors.to_proto(error)).SerializeToString()
        return method(request, None).SerializeToString()
    return handle


def local_server(address):
    """The TaskServer of this process serving ``host:port``, or None."""
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        return None
    server = _LOCAL.get(int(port))
    if server is not None and (host in _LOCAL_HOSTS or host == server.host):
        return server
    return None
