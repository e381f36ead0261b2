"""``PeerTransport``: how this process reaches one other task's server, whatever carries the bytes.

Control calls (status, RegisterGraph, CleanupGraph, AbortStep, pulling a tensor held by reference) go by gRPC in
every transport: they must get through when the data plane is stuck. The data plane (pushing a tensor, RunGraph,
RunStep, interrupting what is in flight) is the implementation's: ``GrpcTransport`` sends it all over gRPC,
``ChannelTransport`` over the tensor channel. Which one a peer gets is decided once, when it is first reached
(``peers.choose_transport``); a call site never tries one and then the other. Every method raises the
``OpError`` that names the task, never a transport's own exception.
"""

import abc

# Tensors up to this size travel inside a RunGraph/RunStep message over gRPC; larger ones by reference.
GRPC_INLINE_BYTES = 4 << 20


class PeerTransport(abc.ABC):
    """One peer task's server, reached through ``rpc`` (a ``RemoteWorker``: the gRPC control plane)."""

    # A client sends feeds up to this size inside its RunStep, larger ones with ``push_tensor`` first.
    inline_bytes = GRPC_INLINE_BYTES

    def __init__(self, rpc):
        self.rpc = rpc
        self.task = rpc.task
        self.address = rpc.address

    @property
    def channel_address(self):
        """``host:port`` of the peer's tensor channel when this transport uses it, else None."""
        return None

    # ---------------------------------------------------------------- control: gRPC in every transport
    def get_status(self, timeout=10.0):
        """The peer's ``GetStatusResponse``."""
        return self.rpc.get_status(timeout=timeout)

    def register_graph(self, handle, graph_def, device, timeout=60.0):
        """Register a partition on the peer (a no-op if the handle is known)."""
        self.rpc.register_graph(handle, graph_def, device, timeout)

    def cleanup_graph(self, handles):
        """Drop registered partitions; does not wait."""
        self.rpc.cleanup_graph(handles)

    def abort_step(self, step_id, error):
        """Abort a step on the peer; does not wait."""
        self.rpc.abort_step(step_id, error)

    def recv_tensor(self, step_id, key, timeout=None):
        """Pull a tensor the peer holds (by reference when ``step_id`` is 0)."""
        return self.rpc.recv_tensor(step_id, key, timeout)

    # ---------------------------------------------------------------- the data plane
    @abc.abstractmethod
    def push_tensor(self, step_id, key, value, code=0, timeout=None):
        """Deliver ``value`` into the peer's step ``step_id`` under ``key`` (step 0: hold it by reference) within
        ``timeout`` s; ``code`` says how it was lossily compressed (``lossy``)."""

    @abc.abstractmethod
    def run_graph(self, request, timeout):
        """Start a ``RunGraphRequest``; a ``concurrent.futures.Future`` of its ``RunGraphResponse`` (its error,
        an OpError naming the task or the node). ``cancel()`` gives up on the call where it can."""

    @abc.abstractmethod
    def run_step(self, request_bytes, timeout):
        """Run a serialized ``RunStepRequest`` on the peer's master; its ``RunStepResponse`` (raises its error)."""

    @abc.abstractmethod
    def interrupt(self):
        """Fail every push and call in flight to the peer now, from any thread (the peer stopped answering)."""

    def close(self):
        """Release the data plane's connections (the owner of ``rpc`` closes it)."""
