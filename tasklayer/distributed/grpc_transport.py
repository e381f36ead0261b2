"""``GrpcTransport``: a peer reached by gRPC alone (it offers no tensor channel, or this process was told
``YARNFLOW_TENSOR_TRANSPORT=grpc``, for networks that only let the cluster spec's ports through)."""

import concurrent.futures

import grpc

from engine.errors import CancelledError
from protos import tasklayer_pb2 as pb
from tasklayer.distributed.peer_transport import PeerTransport
from tasklayer.distributed.worker_client import MASTER

# gRPC PushTensor's deadline when the caller gives none.
PUSH_TIMEOUT_S = 60.0


class _CallFuture(concurrent.futures.Future):
    """A ``concurrent.futures.Future`` fed by a ``grpc.Future``; ``cancel()`` cancels the gRPC call itself."""

    def __init__(self, call):
        super().__init__()
        self._call = call

    def cancel(self):
        self._call.cancel()
        return super().cancel()


class GrpcTransport(PeerTransport):
    """Pushes by gRPC PushTensor, runs graphs and steps by gRPC calls; nothing to interrupt."""

    def __init__(self, rpc):
        super().__init__(rpc)
        self._run_step = rpc.channel.unary_unary(MASTER + "RunStep", request_serializer=None,
                                                 response_deserializer=pb.RunStepResponse.FromString)

    def push_tensor(self, step_id, key, value, code=0, timeout=None):
        self.rpc.push_tensor(step_id, key, value, code, PUSH_TIMEOUT_S if timeout is None else max(timeout, 1e-3))

    def run_graph(self, request, timeout):
        call = self.rpc.run_graph_future(request, timeout + 1.0)
        out = _CallFuture(call)

        def done(finished):
            if finished.cancelled():
                out.set_exception(CancelledError(None, None, f"RunGraph on {self.task} ({self.address}) "
                                                             "was cancelled"))
                return
            exc = finished.exception()
            if exc is None:
                out.set_result(finished.result())
            else:
                out.set_exception(self.rpc.error(exc))
        if out.set_running_or_notify_cancel():
            call.add_done_callback(done)
        return out

    def run_step(self, request_bytes, timeout):
        try:
            return self._run_step(request_bytes, timeout=timeout)
        except grpc.RpcError as e:
            raise self.rpc.error(e) from None

    def interrupt(self):
        """Nothing to do: a gRPC call in flight ends at its deadline, or when the master aborts the step."""
