"""``RemoteBackend``: the SessionBackend of ``tf.Session("grpc://host:port")``. It sends the graph once per
version, then one RunStep per ``run``; a master in this very process is called directly, without RPC."""

import threading

from engine.errors import CancelledError, OpError
from tasklayer.distributed import lossy
from tasklayer.distributed.cluster_spec import validate_address
from tasklayer.distributed.master_client import RemoteMaster
from tasklayer.distributed.server import local_server
from tasklayer.session import register_session_target

CONNECT_TIMEOUT = 10.0


def _option(obj, name, default=0):
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default) or default


class RemoteBackend:
    """Runs a session's graph on a cluster through the master at ``target`` (``grpc://host:port``).

    ``config`` (a dict or object) may set ``operation_timeout_in_ms`` (a step's deadline) and
    ``connect_timeout_in_ms``; ``run``'s ``options`` may set ``timeout_in_ms``.
    """

    def __init__(self, target, config=None):
        address = target[len("grpc://"):] if target.startswith("grpc://") else target
        try:
            validate_address(address, "session", 0)
        except ValueError:
            raise ValueError(f"malformed session target {target!r}: expected grpc://HOST:PORT") from None
        self.target = target
        self._transfer_dtype = lossy.parse_wire_dtype(_option(config, "transfer_dtype", None))
        self._timeout = _option(config, "operation_timeout_in_ms") / 1000 or None
        connect_timeout = _option(config, "connect_timeout_in_ms") / 1000 or CONNECT_TIMEOUT
        server = local_server(address)
        self._master = server.master if server is not None else RemoteMaster(address, connect_timeout)
        self.in_process = server is not None
        self._handle = None
        self._version = None
        self._closed = False
        self._lock = threading.Lock()

    def run(self, graph, fetch_names, feeds, target_names, options=None):
        """Run one step on the cluster; the fetched arrays in order."""
        with self._lock:
            # The graph only grows, so the master's newest version holds every tensor an older one did: a run
            # that read an older version while another thread extended the session still finds its fetches.
            version = graph.version
            if self._closed:
                raise CancelledError(None, None, "Session has been closed.")
            if self._handle is None:
                self._handle = self._master.create_session(graph.as_graph_def(), version, self._transfer_dtype)
                self._version = version
            elif version > self._version:
                self._master.extend_session(self._handle, graph.as_graph_def(), version)
                self._version = version
            handle = self._handle
        timeout = _option(options, "timeout_in_ms") / 1000 or self._timeout or 600.0
        try:
            return self._master.run_step(handle, version, feeds, list(fetch_names), list(target_names), timeout)
        except OpError as e:
            if self._closed and not isinstance(e, CancelledError):
                # Closed from another thread mid-step: the master cancelled the step, and the connection that
                # would have brought the answer may have closed first.
                raise CancelledError(None, None, f"the session was closed while its step ran ({e.message})") from None
            raise

    def close(self):
        """Close the session on the master: its steps in progress fail with CancelledError."""
        with self._lock:
            self._closed = True
            handle, self._handle = self._handle, None
        if handle is not None:
            self._master.close_session(handle)
        elif isinstance(self._master, RemoteMaster):
            self._master.close()


register_session_target("grpc://", RemoteBackend)  # tf.Session("grpc://host:port") runs here
