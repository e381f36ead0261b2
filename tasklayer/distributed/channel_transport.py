"""``ChannelTransport``: a peer whose data plane is its tensor channel (pushes, RunGraph, RunStep), gRPC
carrying the control calls. A peer that restarted listens on a new channel port: a connection found closed
before anything was sent on it is opened again to the port the peer reports now, and the frame sent there."""

import threading

from engine.errors import CancelledError, DeadlineExceededError, InternalError, UnavailableError
from protos import tasklayer_pb2 as pb
from tasklayer.distributed import errors as derrors
from tasklayer.distributed.channel_client import ChannelClient
from tasklayer.distributed.channel_codec import CallError, ChannelError, ChannelTimeout, StaleConnectionError
from tasklayer.distributed.peer_transport import PeerTransport
from tasklayer.distributed.tensor_stream import PUSH_BYTES


class ChannelTransport(PeerTransport):
    """The peer's tensor channel at its host and ``channel_port``; RunGraph calls run on ``call_pool`` (a
    RunGraph holds a thread for its whole step)."""

    inline_bytes = PUSH_BYTES  # a raw push costs far less than a large protobuf message

    def __init__(self, rpc, channel_port, call_pool=None):
        super().__init__(rpc)
        self._host = rpc.address.rsplit(":", 1)[0]
        self._channel = ChannelClient(f"{self._host}:{channel_port}")
        self._call_pool = call_pool
        self._lock = threading.Lock()

    @property
    def channel_address(self):
        return self._channel.address

    def connect(self):
        """Check that the channel can be reached from here (StaleConnectionError if not)."""
        self._channel.connect()

    def _current(self, stale=None):
        """The channel client, opened anew (at the port the peer reports now) when ``stale`` is the one in use
        or the one in use broke; one thread asks the peer, the others take what it found."""
        channel = self._channel
        if channel is not stale and not channel.broken:
            return channel
        with self._lock:
            if self._channel is not channel:
                return self._channel
            port = self.rpc.get_status().channel_port  # the peer's error, naming it, if it cannot be reached
            if not port:
                raise UnavailableError(None, None, f"{self.task} ({self.address}) no longer offers a tensor "
                                                   "channel")
            self._channel = ChannelClient(f"{self._host}:{port}")
        channel.close()
        return self._channel

    def push_tensor(self, step_id, key, value, code=0, timeout=None):
        channel = self._current()
        try:
            try:
                channel.push(step_id, key, value, code, timeout)
            except StaleConnectionError:  # nothing was sent: the peer restarted since, or was interrupted
                self._current(stale=channel).push(step_id, key, value, code, timeout)
        except ChannelTimeout as e:
            raise DeadlineExceededError(None, None, f"{self.task} ({self.address}) took no data before the step's "
                                                    f"deadline: {e}") from None
        except ChannelError as e:
            raise UnavailableError(None, None, f"{self.task} ({self.address}) is unreachable: {e}") from None

    def _call(self, method, payload, timeout):
        """The response bytes of a call on the channel; errors as OpErrors naming the task."""
        channel = self._current()
        try:
            try:
                return channel.call(method, payload, timeout)
            except StaleConnectionError:  # nothing was sent: a step is never sent twice otherwise
                return self._current(stale=channel).call(method, payload, timeout)
        except CallError as e:
            raise InternalError(None, None, f"{method} on {self.task} ({self.address}) failed: {e}") from None
        except ChannelTimeout as e:
            raise DeadlineExceededError(None, None, f"{self.task} ({self.address}) did not answer before the "
                                                    f"deadline: {e}") from None
        except ChannelError as e:
            raise UnavailableError(None, None, f"{self.task} ({self.address}) is unavailable: {e}") from None

    def _run_graph_now(self, request, timeout):
        response = pb.RunGraphResponse.FromString(self._call("RunGraph", request.SerializeToString(),
                                                             timeout + 1.0))
        error = derrors.from_proto(response.error)
        if error is not None:
            raise error
        return response

    def run_graph(self, request, timeout):
        try:
            return self._call_pool.submit(self._run_graph_now, request, timeout)
        except RuntimeError:  # the pool was shut down: this process's server is stopping
            raise CancelledError(None, None, f"RunGraph on {self.task} ({self.address}) was not sent: this "
                                             "process's server is stopping") from None

    def run_step(self, request_bytes, timeout):
        response = pb.RunStepResponse.FromString(self._call("RunStep", request_bytes, timeout))
        error = derrors.from_proto(response.error)
        if error is not None:
            raise error
        return response

    def interrupt(self):
        self._channel.interrupt()

    def close(self):
        self._channel.close()
