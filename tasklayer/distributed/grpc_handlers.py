"""gRPC method handlers for the task layer's servicers, answering errors as TensorFlow does: a request that
cannot be parsed is INVALID_ARGUMENT (not gRPC's INTERNAL), and an ``OpError`` raised by a servicer, or a
``StepError`` in the response it returns, ends the call with that error's status code (see ``errors.abort``)."""

import grpc

from tasklayer.distributed import errors as derrors


generic = grpc.method_handlers_generic_handler  # the service's handler, from its methods' handlers


def _serialize(message):
    return message.SerializeToString()


def _parse(request_cls, raw, context):
    try:
        return request_cls.FromString(raw)
    except Exception as e:  # noqa: BLE001 - any undecodable request is the caller's mistake
        derrors.abort(context, derrors.invalid_request(request_cls.__name__, e))


def _answer(method, request, context):
    try:
        response = method(request, context)
    except Exception as e:  # noqa: BLE001 - an OpError keeps its code; anything else is the server's bug: INTERNAL
        derrors.abort(context, e)
    error = getattr(response, "error", None)
    if error is not None and error.code:
        derrors.abort(context, derrors.from_proto(error))
    return response


def unary(method, request_cls):
    """A unary handler calling ``method(request, context)``."""
    return grpc.unary_unary_rpc_method_handler(lambda raw, context: _answer(method, _parse(request_cls, raw, context),
                                                                            context),
                                               request_deserializer=None, response_serializer=_serialize)


def unary_stream(method, request_cls):
    """A handler for a call with one request and a stream of raw responses (bytes) from ``method``."""
    def handle(raw, context):
        request = _parse(request_cls, raw, context)
        try:
            yield from method(request, context)
        except Exception as e:  # noqa: BLE001 - as in _answer
            derrors.abort(context, e)
    return grpc.unary_stream_rpc_method_handler(handle, request_deserializer=None, response_serializer=None)


def stream_unary(method):
    """A handler for a call with a stream of raw requests (bytes) and one response from ``method``."""
    return grpc.stream_unary_rpc_method_handler(lambda requests, context: _answer(method, requests, context),
                                                request_deserializer=None, response_serializer=_serialize)
