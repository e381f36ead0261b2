"""gRPC plumbing shared by daemons and clients: servers, channels, metadata, clear connect errors."""

import concurrent.futures

import grpc

from yarnflow.errors import YarnflowError

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.enable_http_proxy", 0),
]


def make_server(max_workers=32):
    """A gRPC server with yarnflow's message limits and a thread pool of ``max_workers``."""
    return grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=max_workers),
                       options=CHANNEL_OPTIONS + [("grpc.so_reuseport", 0)])


def bind(server, host, port):
    """Bind ``server`` to host:port (0 = any free port) and return the port, or raise a clear error."""
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError as exc:
        raise YarnflowError(f"cannot listen on {host}:{port}: {exc}") from None
    if bound == 0:
        raise YarnflowError(f"cannot listen on {host}:{port}: the port is taken or the address is invalid")
    return bound


class _Metadata(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds fixed metadata (credentials) to every call on a channel."""

    def __init__(self, metadata):
        self._metadata = tuple(metadata)

    def _details(self, details):
        md = tuple(details.metadata or ()) + self._metadata
        return details._replace(metadata=md) if hasattr(details, "_replace") else _Details(details, md)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)


class _Details(grpc.ClientCallDetails):
    def __init__(self, base, metadata):
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


def channel(address, metadata=()):
    """An insecure channel to ``address`` that sends ``metadata`` (credentials) with every call."""
    ch = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
    if metadata:
        ch = grpc.intercept_channel(ch, _Metadata(metadata))
    return ch


def wait_ready(ch, address, what="server", timeout=5.0):
    """Block until ``ch`` connects, or raise a clear error naming ``what`` and ``address`` within ``timeout``."""
    try:
        grpc.channel_ready_future(ch).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise YarnflowError(f"cannot reach the {what} at {address}: nothing answered within "
                            f"{timeout:g} s (is it running?)") from None


def describe_rpc_error(exc, what="server", address=""):
    """Turn a ``grpc.RpcError`` into one line a user can act on."""
    code = exc.code() if hasattr(exc, "code") else None
    details = exc.details() if hasattr(exc, "details") else str(exc)
    where = f" at {address}" if address else ""
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"cannot reach the {what}{where}: {details}"
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"the {what}{where} did not answer in time"
    return details or f"{what} call failed ({code})"
