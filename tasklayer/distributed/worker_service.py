"""The WorkerService servicer: translates gRPC messages to ``Worker`` calls (tensors in, tensors out). A caller's
mistake (an unknown graph handle, a malformed partition or tensor) is answered with its gRPC status code."""

from google.protobuf.message import DecodeError

from engine import tensor_codec
from engine.errors import InvalidArgumentError, OpError
from protos import tasklayer_pb2 as pb
from tasklayer.distributed import errors as derrors
from tasklayer.distributed import grpc_handlers
from tasklayer.distributed.tensor_stream import INLINE_BYTES, as_contiguous, decode_stream, encode_stream

SERVICE_NAME = "yarnflow.WorkerService"


def tensor_in(nt):
    """The value of an inline NamedTensor; InvalidArgumentError naming it when its TensorProto is malformed."""
    try:
        return tensor_codec.from_proto(nt.tensor)
    except (ValueError, TypeError, KeyError) as e:
        raise InvalidArgumentError(None, None, f"tensor {nt.name!r}: malformed TensorProto ({e})") from None


def tensors_in(named, worker, timeout=None, step_id=0):
    """``{name: ndarray}`` of NamedTensors: inline ones decoded in place, pushed ones waited for, references
    pulled."""
    out = {}
    for nt in named:
        if nt.pushed:
            out[nt.name] = worker.take_pushed(step_id, nt.ref_key, timeout)
        elif nt.ref_key:
            out[nt.name] = worker.peers.rpc_at(nt.ref_address).recv_tensor(0, nt.ref_key, timeout)
        else:
            out[nt.name] = tensor_in(nt)
    return out


def tensor_out(name, value, table, address):
    """A NamedTensor: inline when small, else held in ``table`` for the receiver to pull from ``address``."""
    arr = as_contiguous(value)
    if arr.nbytes <= INLINE_BYTES:
        return pb.NamedTensor(name=name, tensor=tensor_codec.to_proto(arr))
    return pb.NamedTensor(name=name, ref_key=table.put_ref(arr), ref_address=address)


def decode_upload(request_iterator):
    """``(ndarray, meta)`` of a stream of TensorChunks; InvalidArgumentError when it is malformed."""
    try:
        return decode_stream(request_iterator)
    except (ValueError, TypeError, KeyError, StopIteration, DecodeError) as e:
        raise derrors.invalid_request("tensor stream", e) from None


class WorkerServicer:
    """The servicer; every method answers errors in its response or as a status, never kills the server."""

    def __init__(self, worker, on_shutdown=None):
        self.worker = worker
        self._on_shutdown = on_shutdown

    def GetStatus(self, request, context):
        return pb.GetStatusResponse(task=self.worker.task, incarnation=self.worker.incarnation,
                                    recv_tensor_count=self.worker.recv_tensor_count,
                                    active_steps=len(self.worker.table.active_steps()),
                                    channel_port=self.worker.channel_port)

    def RegisterGraph(self, request, context):
        try:
            self.worker.register_graph(request.graph_handle, request.graph_def, request.device)
        except (ValueError, TypeError, KeyError) as e:  # a partition that cannot be read (a malformed device)
            raise derrors.invalid_request(f"partition {request.graph_handle!r}", e) from None
        return pb.RegisterGraphResponse()

    def RunGraph(self, request, context):
        """Run a partition for a step; its error travels in the response (the tensor channel answers it as it
        is; a gRPC call ends with the error's status)."""
        timeout = request.timeout_ms / 1000 if request.timeout_ms else None
        on_gone = derrors.cancel_when_caller_leaves(context, lambda: self.cancel_step(request.step_id))
        try:
            feeds = tensors_in(request.feed, self.worker, timeout, request.step_id)
            values = self.worker.run_graph(request.graph_handle, request.step_id, feeds, list(request.fetch),
                                           list(request.target), timeout, request.transfer_dtype or None)
            return pb.RunGraphResponse(tensor=[tensor_out(n, v, self.worker.table, self.worker.address)
                                               for n, v in zip(request.fetch, values)])
        except Exception as e:  # noqa: BLE001 - answered as the step's error
            return pb.RunGraphResponse(error=derrors.to_proto(e))
        finally:
            on_gone.set()

    def cancel_step(self, step_id):
        """Cancel a step whose master went away mid-RunGraph: its partitions here stop waiting."""
        self.worker.abort_step(step_id, derrors.caller_gone_error(step_id, "its master", self.worker.task))

    def RecvTensor(self, request, context):
        timeout = request.timeout_ms / 1000 if request.timeout_ms else None
        value = self.worker.recv_local(request.step_id, request.key, timeout)
        yield from encode_stream(value)

    def PushTensor(self, request_iterator, context):
        value, meta = decode_upload(request_iterator)
        try:
            self.worker.deliver(meta.step_id, meta.key, value, meta.lossy)
        except (ValueError, TypeError) as e:  # a lossy code that does not fit the payload
            raise derrors.invalid_request(f"pushed tensor {meta.key!r}", e) from None
        return pb.PushTensorResponse()

    def CleanupGraph(self, request, context):
        self.worker.cleanup_graph(request.graph_handle)
        return pb.CleanupGraphResponse()

    def DeleteWorkerSession(self, request, context):
        """Forget a master session's state here (TF's DeleteWorkerSession; the request is a CloseSessionRequest)."""
        self.worker.close_session(request.session_handle)
        return pb.CloseSessionResponse()

    def AbortStep(self, request, context):
        self.worker.abort_step(request.step_id, derrors.from_proto(request.error) or OpError(None, None, "aborted"))
        return pb.AbortStepResponse()

    def Shutdown(self, request, context):
        if self._on_shutdown is not None:
            self._on_shutdown()
        return pb.ShutdownResponse()

    def handler(self):
        """The generic handler to add to a grpc server."""
        unary = grpc_handlers.unary
        return grpc_handlers.generic(SERVICE_NAME, {
            "GetStatus": unary(self.GetStatus, pb.GetStatusRequest),
            "RegisterGraph": unary(self.RegisterGraph, pb.RegisterGraphRequest),
            "RunGraph": unary(self.RunGraph, pb.RunGraphRequest),
            "RecvTensor": grpc_handlers.unary_stream(self.RecvTensor, pb.RecvTensorRequest),
            "PushTensor": grpc_handlers.stream_unary(self.PushTensor),
            "CleanupGraph": unary(self.CleanupGraph, pb.CleanupGraphRequest),
            "AbortStep": unary(self.AbortStep, pb.AbortStepRequest),
            "DeleteWorkerSession": unary(self.DeleteWorkerSession, pb.CloseSessionRequest),
            "Shutdown": unary(self.Shutdown, pb.ShutdownRequest),
        })
