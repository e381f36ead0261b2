"""gRPC failures and ``StepError`` messages to and from ``engine.errors`` (errors that name the task)."""

import threading

import grpc

from engine import errors
from protos import tasklayer_pb2


def to_proto(error):
    """A ``StepError`` for an exception (OpErrors keep their code, node and op)."""
    if isinstance(error, errors.OpError):
        return tasklayer_pb2.StepError(code=error.error_code, message=error.message,
                                       node_name=error.node_name or "", op_type=error.op_type or "")
    return tasklayer_pb2.StepError(code=errors.INTERNAL, message=f"{type(error).__name__}: {error}")


def from_proto(proto):
    """The OpError of a ``StepError``, or None when it says OK."""
    if not proto.code:
        return None
    return errors.from_code(proto.code, proto.message, proto.node_name or None, proto.op_type or None)


def from_rpc(exc, task, address):
    """An OpError for a failed RPC to ``task`` at ``address``, saying which task failed and how."""
    code = exc.code() if hasattr(exc, "code") else None
    details = (exc.details() if hasattr(exc, "details") else str(exc)) or str(code)
    where = f"{task} ({address})"
    if code == grpc.StatusCode.UNAVAILABLE:
        return errors.UnavailableError(None, None, f"{where} is unavailable: {details}")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return errors.DeadlineExceededError(None, None, f"{where} did not answer before the deadline: {details}")
    if code == grpc.StatusCode.CANCELLED:
        return errors.CancelledError(None, None, f"call to {where} was cancelled: {details}")
    if code is None:
        return errors.UnknownError(None, None, f"{where}: {details}")
    return errors.from_code(code.value[0], details)


def grpc_code(error):
    """The ``grpc.StatusCode`` for an OpError's code."""
    code = getattr(error, "error_code", errors.UNKNOWN)
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return status
    return grpc.StatusCode.UNKNOWN


def caller_gone_error(step_id, who, task):
    """The CancelledError of a step whose caller (``who``: its master or its client) went away mid-call."""
    return errors.CancelledError(None, None, f"step {step_id} was cancelled on {task}: {who} closed its "
                                             "connection before the answer (it died, or gave up on the step)")


def cancel_when_caller_leaves(context, cancel):
    """Have ``cancel()`` run if the gRPC call of ``context`` ends (its caller cancelled or went away) before the
    handler finished; the handler sets the returned Event when it has. No-op without a gRPC context."""
    finished = threading.Event()
    if context is not None:
        context.add_callback(lambda: None if finished.is_set() else cancel())
    return finished
