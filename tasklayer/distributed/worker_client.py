"""Calling a remote task's WorkerService over gRPC: typed methods over raw gRPC calls, errors that name the task
(a server's own error comes back as the same ``tf.errors`` class, node and op; see ``errors.from_rpc``)."""

import grpc
import grpc.experimental  # noqa: F401 - ChannelOptions lives here

from protos import tasklayer_pb2 as pb
from tasklayer.distributed import errors as derrors
from tasklayer.distributed.tensor_stream import decode_stream, encode_stream
from yarnflow import rpc

SERVICE = "/yarnflow.WorkerService/"
MASTER = "/yarnflow.MasterService/"


def unary(ch, service, method, req_cls, resp_cls):
    """A callable for the unary method ``service + method`` of channel ``ch``."""
    return ch.unary_unary(service + method, request_serializer=req_cls.SerializeToString,
                          response_deserializer=resp_cls.FromString)


def _channel(address):
    """A channel whose unary-stream calls (RecvTensor) run on the calling thread: each chunk is read where it
    is consumed, with no hop through gRPC's channel thread (a round trip and one thread switch per chunk less)."""
    return grpc.insecure_channel(address, options=rpc.CHANNEL_OPTIONS + [
        (grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1)])


class RemoteWorker:
    """A client of one task's WorkerService (thread-safe; one channel per task)."""

    def __init__(self, task, address, channel=None):
        self.task = task
        self.address = address
        self.channel = channel or _channel(address)
        ch = self.channel
        self._status = unary(ch, SERVICE, "GetStatus", pb.GetStatusRequest, pb.GetStatusResponse)
        self._register = unary(ch, SERVICE, "RegisterGraph", pb.RegisterGraphRequest, pb.RegisterGraphResponse)
        self._run_graph = unary(ch, SERVICE, "RunGraph", pb.RunGraphRequest, pb.RunGraphResponse)
        self._cleanup = unary(ch, SERVICE, "CleanupGraph", pb.CleanupGraphRequest, pb.CleanupGraphResponse)
        self._abort = unary(ch, SERVICE, "AbortStep", pb.AbortStepRequest, pb.AbortStepResponse)
        self._delete_session = unary(ch, SERVICE, "DeleteWorkerSession", pb.CloseSessionRequest,
                                     pb.CloseSessionResponse)
        self._shutdown = unary(ch, SERVICE, "Shutdown", pb.ShutdownRequest, pb.ShutdownResponse)
        # Raw bytes both ways: chunks are decoded by hand (see tensor_stream.py).
        self._background = set()  # fire-and-forget calls: held until done (a dropped call is cancelled)
        self._recv = ch.unary_stream(SERVICE + "RecvTensor", request_serializer=pb.RecvTensorRequest.SerializeToString,
                                     response_deserializer=None)
        self._push = ch.stream_unary(SERVICE + "PushTensor", request_serializer=None,
                                     response_deserializer=pb.PushTensorResponse.FromString)

    def error(self, exc):
        """An OpError for a failed call to this task."""
        return derrors.from_rpc(exc, self.task, self.address)

    def get_status(self, timeout=10.0):
        """This task's name, incarnation and tensor channel port."""
        try:
            return self._status(pb.GetStatusRequest(), timeout=timeout)
        except grpc.RpcError as e:
            raise self.error(e) from None

    def register_graph(self, handle, graph_def, device, timeout=60.0):
        """Register a partition (a no-op if the handle is known); raises the worker's error."""
        try:
            self._register(pb.RegisterGraphRequest(graph_handle=handle, graph_def=graph_def, device=device),
                           timeout=timeout)
        except grpc.RpcError as e:
            raise self.error(e) from None

    def run_graph_future(self, request, timeout):
        """Start a RunGraph; the ``grpc.Future`` of its response (``cancel()`` cancels the call)."""
        return self._run_graph.future(request, timeout=timeout)

    def recv_tensor(self, step_id, key, timeout=None):
        """Pull one tensor (one held by reference when ``step_id`` is 0, else a step's) as an ndarray."""
        req = pb.RecvTensorRequest(step_id=step_id, key=key, timeout_ms=int((timeout or 0) * 1000))
        try:
            return decode_stream(self._recv(req, timeout=None if timeout is None else timeout + 5.0))[0]
        except grpc.RpcError as e:
            raise self.error(e) from None

    def push_tensor(self, step_id, key, value, lossy_code=0, timeout=60.0):
        """Push a step's tensor (step 0: one held by reference) to this task over gRPC."""
        try:
            self._push(encode_stream(value, key=key, step_id=step_id, lossy=lossy_code), timeout=timeout)
        except grpc.RpcError as e:
            raise self.error(e) from None

    def _fire(self, method, request):
        """Start a call without waiting for it (best effort: a dead task needs no abort or cleanup)."""
        try:
            fut = method.future(request, timeout=5.0)
        except Exception:  # noqa: BLE001
            return
        self._background.add(fut)
        fut.add_done_callback(self._background.discard)

    def abort_step(self, step_id, error):
        """Tell the task to abort a step; does not wait."""
        self._fire(self._abort, pb.AbortStepRequest(step_id=step_id, error=derrors.to_proto(error)))

    def cleanup_graph(self, handles):
        """Drop registered partitions; does not wait."""
        self._fire(self._cleanup, pb.CleanupGraphRequest(graph_handle=list(handles)))

    def close_session(self, session_handle):
        """Tell the task that a master session closed (it drops the session's state); does not wait."""
        self._fire(self._delete_session, pb.CloseSessionRequest(session_handle=session_handle))

    def shutdown(self, timeout=5.0):
        """Ask the task's server to stop."""
        try:
            self._shutdown(pb.ShutdownRequest(), timeout=timeout)
        except grpc.RpcError as e:
            raise self.error(e) from None

    def close(self):
        """Close the channel."""
        self.channel.close()
