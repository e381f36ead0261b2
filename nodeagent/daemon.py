"""The NodeAgent daemon: serve ContainerManager, register with resmgr and heartbeat until told to stop.

Heartbeats go over one long-lived HeartbeatStream per node (far cheaper for resmgr than a call each);
a broken stream is reopened with the same backoff as any failed call, and a resmgr that has no
HeartbeatStream (UNIMPLEMENTED) is heartbeaten with unary NodeHeartbeat calls instead.
"""

import dataclasses
import logging
import pathlib
import queue
import threading

import grpc

from nodeagent import probe, service
from nodeagent.localizer import Localizer, resmgr_fetcher
from nodeagent.manager import ContainerManager
from protos import common_pb2, resmgr_pb2, resmgr_pb2_grpc
from yarnflow import auth, rpc
from yarnflow.errors import YarnflowError

log = logging.getLogger(__name__)

DEFAULT_HEARTBEAT_S = 1.0
RPC_TIMEOUT_S = 5.0
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 5.0


def parse_port_range(text):
    """``"20000-29999"`` (both ends included) -> ``(20000, 30000)``, the ``[start, end)`` resmgr expects."""
    start, sep, end = str(text).partition("-")
    if not sep or not start.strip().isdigit() or not end.strip().isdigit():
        raise YarnflowError(f"malformed port range {text!r}: expected FIRST-LAST, e.g. 20000-29999")
    first, last = int(start), int(end)
    if not 1024 <= first <= last < 65536:
        raise YarnflowError(f"port range {text!r} must satisfy 1024 <= FIRST <= LAST < 65536")
    return first, last + 1


@dataclasses.dataclass
class Settings:
    """How one node agent runs (from the command line)."""

    resmgr: str
    work_dir: pathlib.Path
    secret: str
    host: str = "127.0.0.1"
    port: int = 0
    capability: probe.Capability = None
    port_range: tuple = (20000, 30000)
    heartbeat_s: float = None       # None: resmgr's interval, else DEFAULT_HEARTBEAT_S


def _usage_proto():
    u = probe.usage()
    return resmgr_pb2.NodeUsage(**dataclasses.asdict(u))


class StreamBroken(grpc.RpcError):
    """The heartbeat stream failed without a gRPC status of its own (no answer in time, closed by resmgr)."""

    def __init__(self, code, details):
        super().__init__(details)
        self._code, self._details = code, details

    def code(self):
        """The status code the failure is best described by."""
        return self._code

    def details(self):
        """One line on what happened."""
        return self._details


_END = object()   # put in the request queue: half-closes the stream


class HeartbeatStream:
    """One open HeartbeatStream call: ``beat`` sends a heartbeat and waits for its answer."""

    def __init__(self, stub):
        self._requests = queue.SimpleQueue()
        self._answers = queue.SimpleQueue()
        self._call = stub.HeartbeatStream(iter(self._requests.get, _END))
        threading.Thread(target=self._read, name="heartbeat-stream", daemon=True).start()

    def _read(self):
        try:
            for answer in self._call:
                self._answers.put(answer)
            self._answers.put(StreamBroken(grpc.StatusCode.UNAVAILABLE, "resmgr closed the heartbeat stream"))
        except grpc.RpcError as exc:
            self._answers.put(exc)

    def beat(self, request, timeout):
        """Send ``request``; its NodeHeartbeatResponse, or a ``grpc.RpcError`` raised (the stream is then done)."""
        self._requests.put(request)
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise StreamBroken(grpc.StatusCode.DEADLINE_EXCEEDED,
                               f"no answer to a heartbeat within {timeout:g} s") from None
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self):
        """End the call (resmgr sees the stream end; a stuck call is cancelled)."""
        self._requests.put(_END)
        self._call.cancel()


class NodeAgent:
    """One node agent: its gRPC server, its containers and its conversation with resmgr."""

    def __init__(self, settings):
        self.settings = settings
        self.work_dir = pathlib.Path(settings.work_dir)
        for sub in ("apps", "logs"):
            (self.work_dir / sub).mkdir(parents=True, exist_ok=True)
        self.capability = settings.capability or probe.offered()
        self._heartbeat_s = settings.heartbeat_s or DEFAULT_HEARTBEAT_S
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._channel = None
        self._tracker = None
        self._stream = None             # the open HeartbeatStream, None until the next heartbeat opens one
        self._stream_unsupported = False   # resmgr answered UNIMPLEMENTED: unary heartbeats until reconnected
        self._sequence = 0
        self._stub_lock = threading.Lock()
        self._ever_registered = False
        self.registered = False
        self.node_id = None
        self.server = None
        self.manager = ContainerManager(
            self.work_dir, Localizer(self.work_dir, self._fetch_app_files),
            on_complete=lambda c: self._wake.set())

    # ------------------------------------------------------------------ lifecycle
    def start_server(self):
        """Bind and start the ContainerManager server; the node id is its ``host:port``."""
        self.server = rpc.make_server()
        port = rpc.bind(self.server, self.settings.host, self.settings.port)
        self.node_id = f"{self.settings.host}:{port}"
        service.add_to_server(self.server, self.manager, self.settings.secret, self.node_id)
        self.server.start()
        log.info("ContainerManager listening on %s (offering %s vcores, %s MB, %s GPUs)", self.node_id,
                 self.capability.vcores, self.capability.memory_mb, self.capability.gpus)
        return self.node_id

    def run(self):
        """Register, then heartbeat until ``stop()``; never gives up while resmgr is unreachable."""
        backoff = BACKOFF_FIRST_S
        while not self._stop.is_set():
            try:
                if not self.registered:
                    self._register()
                self._heartbeat()
                backoff = BACKOFF_FIRST_S
                self._wake.wait(self._heartbeat_s)
                self._wake.clear()
            except grpc.RpcError as exc:
                if exc.code() == grpc.StatusCode.UNAUTHENTICATED and not self._ever_registered:
                    raise YarnflowError(f"resmgr at {self.settings.resmgr} refused this node: "
                                        f"{exc.details()}") from None
                trouble = ("unreachable" if exc.code() in (grpc.StatusCode.UNAVAILABLE,
                                                           grpc.StatusCode.DEADLINE_EXCEEDED)
                           else "answered with an error")
                log.warning("resmgr at %s %s (%s); retrying in %.1f s", self.settings.resmgr, trouble,
                            rpc.describe_rpc_error(exc, "resmgr"), backoff)
                self._reconnect()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            except YarnflowError:
                raise
            except Exception:   # a bug in one heartbeat's handling must not take the node down
                log.exception("heartbeat failed; retrying in %.1f s", backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    def stop(self):
        """Ask ``run`` to return (safe from a signal handler)."""
        self._stop.set()
        self._wake.set()

    def shutdown(self):
        """Stop every container (SIGTERM, SIGKILL after the grace), tell resmgr, then stop the server."""
        self.manager.stop_everything()
        if self.registered:
            try:   # best effort: resmgr hears of the ended containers now rather than at node expiry
                self._heartbeat(timeout=2.0)
            except grpc.RpcError:
                pass
        if self.server is not None:
            self.server.stop(grace=1.0).wait(2.0)
        self._reconnect()

    # ------------------------------------------------------------------ resmgr conversation
    def _stub(self):
        with self._stub_lock:
            if self._tracker is None:
                self._channel = rpc.channel(self.settings.resmgr, auth.member_metadata(self.settings.secret))
                self._tracker = resmgr_pb2_grpc.ResourceTrackerStub(self._channel)
            return self._tracker

    def _reconnect(self):
        # A fresh channel reconnects at once when resmgr is back, instead of after gRPC's long backoff;
        # the resmgr met there may be a newer one that has HeartbeatStream.
        with self._stub_lock:
            self._close_stream()
            if self._channel is not None:
                self._channel.close()
            self._channel = self._tracker = None
            self._stream_unsupported = False

    def _close_stream(self):
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _send_heartbeat(self, request, timeout):
        """One heartbeat over the stream (opened when there is none), or unary where resmgr has no stream."""
        if not self._stream_unsupported:
            stub = self._stub()
            try:
                if self._stream is None:
                    self._stream = HeartbeatStream(stub)
                return self._stream.beat(request, timeout)
            except grpc.RpcError as exc:
                self._close_stream()   # a broken stream is reopened by the next heartbeat, after run's backoff
                if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                    raise
                log.info("resmgr at %s has no HeartbeatStream: heartbeating with unary calls", self.settings.resmgr)
                self._stream_unsupported = True
        return self._stub().NodeHeartbeat(request, timeout=timeout)

    def _fetch_app_files(self, app_id):
        return resmgr_fetcher(self._stub())(app_id)

    def _register(self):
        cap = self.capability
        request = resmgr_pb2.RegisterNodeRequest(
            node_id=self.node_id, hostname=self.settings.host,
            capability=common_pb2.Resource(vcores=cap.vcores, memory_mb=cap.memory_mb, gpus=cap.gpus),
            port_range_start=self.settings.port_range[0], port_range_end=self.settings.port_range[1],
            containers=self.manager.table.statuses(for_heartbeat=True))
        response = self._stub().RegisterNode(request, timeout=RPC_TIMEOUT_S)
        self._adopt_interval(response.heartbeat_interval_ms)
        first = not self._ever_registered
        self.registered = self._ever_registered = True
        if first:
            print(f"nodeagent {self.node_id} registered with {self.settings.resmgr}", flush=True)
        log.info("%s with resmgr at %s", "registered" if first else "re-registered", self.settings.resmgr)

    def _heartbeat(self, timeout=RPC_TIMEOUT_S):
        self._sequence += 1
        statuses = self.manager.table.statuses(for_heartbeat=True)
        request = resmgr_pb2.NodeHeartbeatRequest(node_id=self.node_id, usage=_usage_proto(),
                                                  containers=statuses, sequence=self._sequence)
        response = self._send_heartbeat(request, timeout)
        if response.reregister:
            log.info("resmgr does not know this node (it restarted?): registering again")
            self.registered = False   # registers again after one interval (no hot loop if it insists)
            return
        self.manager.table.mark_reported(
            [s.container_id for s in statuses if s.state == common_pb2.CONTAINER_COMPLETE])
        self._adopt_interval(response.heartbeat_interval_ms)
        if response.containers_to_kill:
            log.info("resmgr asks to stop %s", ", ".join(response.containers_to_kill))
            self.manager.stop(list(response.containers_to_kill), wait=False, reason="stopped by resmgr")
        for app_id in response.apps_finished:
            self.manager.app_finished(app_id)

    def _adopt_interval(self, interval_ms):
        # An interval given on the command line wins over resmgr's.
        if interval_ms > 0 and self.settings.heartbeat_s is None:
            self._heartbeat_s = interval_ms / 1000.0
