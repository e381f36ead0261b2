"""The MasterService servicer: translates gRPC messages to ``Master`` calls."""

import threading

import grpc

from engine import tensor_codec
from engine.errors import NotFoundError, OpError
from protos import tasklayer_pb2 as pb
from tasklayer.distributed import errors as derrors
from tasklayer.distributed import feed_routing, lossy
from tasklayer.distributed.transport import decode_stream
from tasklayer.distributed.worker_service import tensor_out

SERVICE_NAME = "yarnflow.MasterService"
# How long RunStep waits for a feed the client pushed on the tensor channel just before it.
_UPLOAD_WAIT = 60.0


class MasterServicer:
    """The servicer; a client's mistake is answered as an error, never kills the server."""

    def __init__(self, master):
        self.master = master
        self.table = master.worker.table
        self.address = master.worker.address

    def _call(self, context, fn, *args):
        try:
            return fn(*args)
        except OpError as e:
            context.abort(derrors.grpc_code(e), e.message)

    def CreateSession(self, request, context):
        try:
            transfer_dtype = lossy.parse_wire_dtype(request.transfer_dtype)
        except ValueError as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        handle = self._call(context, self.master.create_session, request.graph_def, request.graph_version,
                            transfer_dtype)
        return pb.CreateSessionResponse(session_handle=handle, master_device=self.master.default_device,
                                        channel_port=self.master.worker.channel_port)

    def ExtendSession(self, request, context):
        self._call(context, self.master.extend_session, request.session_handle, request.graph_def,
                   request.graph_version)
        return pb.ExtendSessionResponse()

    def CloseSession(self, request, context):
        self.master.close_session(request.session_handle)
        return pb.CloseSessionResponse()

    def RunStep(self, request, context):
        if request.abandon:
            self.master.abandon_step(request.step_id)
            return pb.RunStepResponse()
        on_gone = derrors.cancel_when_caller_leaves(context if request.step_id else None,
                                                    lambda: self.abandon_soon(request.step_id))
        try:
            return self._run_step(request)
        finally:
            on_gone.set()

    def abandon_soon(self, step_id):
        """Cancel a step whose client went away mid-call, on every task (in a thread: it calls each of them)."""
        error = derrors.caller_gone_error(step_id, "its client", self.master.worker.task)
        threading.Thread(target=self.master.abandon_step, args=(step_id, error), name="abandon-step",
                         daemon=True).start()

    def _run_step(self, request):
        try:
            feeds = {}
            for nt in request.feed:
                if nt.routed:  # the client pushed it to its consumers under request.step_id
                    feeds[nt.name] = feed_routing.ROUTED
                elif nt.ref_key:
                    # A feed pushed on the tensor channel may still be arriving: its own connection races this one.
                    value = self.table.take_ref(nt.ref_key, _UPLOAD_WAIT if nt.pushed else 0.0)
                    if value is None:
                        raise NotFoundError(None, None, f"uploaded feed {nt.name!r} ({nt.ref_key}) is not held here")
                    feeds[nt.name] = value
                else:
                    feeds[nt.name] = tensor_codec.from_proto(nt.tensor)
            timeout = request.options.timeout_ms / 1000 if request.options.timeout_ms else None
            values = self.master.run_step(request.session_handle, request.graph_version, feeds,
                                          list(request.fetch), list(request.target), timeout, request.step_id,
                                          request.routes_id)
            response = pb.RunStepResponse(tensor=[tensor_out(n, v, self.table, self.address)
                                                  for n, v in zip(request.fetch, values)])
        except feed_routing.StaleRoutesError:
            response = pb.RunStepResponse(stale_routes=True)
        except Exception as e:  # noqa: BLE001 - the step's error goes back to the client
            return pb.RunStepResponse(error=derrors.to_proto(e))
        if request.want_routes:
            self._add_routes(request, response)
        return response

    def _add_routes(self, request, response):
        """Answer ``want_routes``: where this signature's feeds may go straight from the client."""
        try:
            routes_id, routes = self.master.feed_routes(request.session_handle, request.graph_version,
                                                        list(request.fetch), [nt.name for nt in request.feed],
                                                        list(request.target))
        except Exception:  # noqa: BLE001 - without routes the client sends its feeds through the master
            return
        response.routes_id = routes_id
        response.route.extend(routes)

    def PutTensor(self, request_iterator, context):
        try:
            value, meta = decode_stream(request_iterator)
        except (ValueError, StopIteration) as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"bad tensor upload: {e}")
        self.table.store_ref(meta.key, value)
        return pb.PutTensorResponse(key=meta.key)

    def handler(self):
        """The generic handler to add to a grpc server."""
        def unary(fn, req):
            return grpc.unary_unary_rpc_method_handler(fn, request_deserializer=req.FromString,
                                                       response_serializer=lambda m: m.SerializeToString())
        return grpc.method_handlers_generic_handler(SERVICE_NAME, {
            "CreateSession": unary(self.CreateSession, pb.CreateSessionRequest),
            "ExtendSession": unary(self.ExtendSession, pb.ExtendSessionRequest),
            "CloseSession": unary(self.CloseSession, pb.CloseSessionRequest),
            "RunStep": unary(self.RunStep, pb.RunStepRequest),
            "PutTensor": grpc.stream_unary_rpc_method_handler(
                self.PutTensor, request_deserializer=None,
                response_serializer=lambda m: m.SerializeToString()),
        })
