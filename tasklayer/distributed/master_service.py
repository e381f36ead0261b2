"""The MasterService servicer: translates gRPC messages to ``Master`` calls. A caller's mistake (an unknown
session, a graph version never sent, a malformed feed, an unknown op) is answered with its gRPC status code."""

import threading

from engine.errors import InvalidArgumentError, NotFoundError
from protos import tasklayer_pb2 as pb
from tasklayer.distributed import errors as derrors
from tasklayer.distributed import feed_routing, grpc_handlers, lossy
from tasklayer.distributed.worker_service import decode_upload, tensor_in, tensor_out

SERVICE_NAME = "yarnflow.MasterService"
# How long RunStep waits for a feed the client pushed on the tensor channel just before it.
_UPLOAD_WAIT = 60.0


class MasterServicer:
    """The servicer; a client's mistake is answered as an error, never kills the server."""

    def __init__(self, master):
        self.master = master
        self.table = master.worker.table
        self.address = master.worker.address

    def CreateSession(self, request, context):
        try:
            transfer_dtype = lossy.parse_wire_dtype(request.transfer_dtype)
        except ValueError as e:
            raise InvalidArgumentError(None, None, str(e)) from None
        handle = self.master.create_session(request.graph_def, request.graph_version, transfer_dtype)
        return pb.CreateSessionResponse(session_handle=handle, master_device=self.master.default_device,
                                        channel_port=self.master.worker.channel_port)

    def ExtendSession(self, request, context):
        self.master.extend_session(request.session_handle, request.graph_def, request.graph_version)
        return pb.ExtendSessionResponse()

    def CloseSession(self, request, context):
        self.master.close_session(request.session_handle)
        return pb.CloseSessionResponse()

    def RunStep(self, request, context):
        """Run a step; its error travels in the response (the tensor channel answers it as it is; a gRPC call
        ends with the error's status)."""
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

    def _feeds(self, request):
        """The step's feeds: by value, uploaded before it (held here by reference) or routed by the client."""
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
                feeds[nt.name] = tensor_in(nt)
        return feeds

    def _run_step(self, request):
        try:
            timeout = request.options.timeout_ms / 1000 if request.options.timeout_ms else None
            values = self.master.run_step(request.session_handle, request.graph_version, self._feeds(request),
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
        value, meta = decode_upload(request_iterator)
        self.table.store_ref(meta.key, value)
        return pb.PutTensorResponse(key=meta.key)

    def handler(self):
        """The generic handler to add to a grpc server."""
        unary = grpc_handlers.unary
        return grpc_handlers.generic(SERVICE_NAME, {
            "CreateSession": unary(self.CreateSession, pb.CreateSessionRequest),
            "ExtendSession": unary(self.ExtendSession, pb.ExtendSessionRequest),
            "CloseSession": unary(self.CloseSession, pb.CloseSessionRequest),
            "RunStep": unary(self.RunStep, pb.RunStepRequest),
            "PutTensor": grpc_handlers.stream_unary(self.PutTensor),
        })
