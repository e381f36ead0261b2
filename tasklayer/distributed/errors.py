"""Errors across processes, as TensorFlow carries them: an ``OpError``'s class IS a gRPC status code on the wire
(TF's codes are gRPC's), with a ``StepError`` in the call's trailing metadata so that the node and op that failed
cross too; a client turns the status back into the same ``tf.errors`` class.

>>> from engine import errors
>>> grpc_code(errors.NotFoundError(None, None, "no such handle")).name
'NOT_FOUND'
>>> type(from_proto(to_proto(errors.InvalidArgumentError(None, None, "bad feed")))).__name__
'InvalidArgumentError'
"""

import threading

import grpc

from engine import errors
from protos import tasklayer_pb2

# Trailing metadata that carries the StepError of a failed call (``-bin``: gRPC sends it as bytes).
STEP_ERROR_KEY = "yarnflow-step-error-bin"


def to_proto(error):
    """A ``StepError`` for an exception (OpErrors keep their code, node and op; anything else is INTERNAL)."""
    if isinstance(error, errors.OpError):
        return tasklayer_pb2.StepError(code=error.error_code, message=error.message,
                                       node_name=error.node_name or "", op_type=error.op_type or "")
    return tasklayer_pb2.StepError(code=errors.INTERNAL, message=f"{type(error).__name__}: {error}")


def from_proto(proto):
    """The OpError of a ``StepError``, or None when it says OK."""
    if not proto.code:
        return None
    return errors.from_code(proto.code, proto.message, proto.node_name or None, proto.op_type or None)


def grpc_code(error):
    """The ``grpc.StatusCode`` of an OpError (the same number); INTERNAL for anything else."""
    code = getattr(error, "error_code", errors.INTERNAL)
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return status
    return grpc.StatusCode.UNKNOWN


def abort(context, error):
    """End the gRPC call of ``context`` with ``error``'s status code, its message and its ``StepError``."""
    context.set_trailing_metadata(((STEP_ERROR_KEY, to_proto(error).SerializeToString()),))
    context.abort(grpc_code(error), getattr(error, "message", None) or f"{type(error).__name__}: {error}")


def invalid_request(what, exc):
    """The InvalidArgumentError for a request (or a part of one) that cannot be read."""
    return errors.InvalidArgumentError(None, None, f"malformed {what}: {type(exc).__name__}: {exc}")


def _step_error(exc):
    """The StepError a failed call carries in its trailing metadata, or None."""
    try:
        metadata = exc.trailing_metadata() or ()
    except Exception:  # noqa: BLE001 - not a finished call (a future's error, a test double)
        return None
    for key, value in metadata:
        if key == STEP_ERROR_KEY:
            return tasklayer_pb2.StepError.FromString(value)
    return None


def from_rpc(exc, task, address):
    """An OpError for a failed RPC to ``task`` at ``address``: the server's own error when it answered one (its
    class, message, node and op), else one that says which task failed and how."""
    step_error = _step_error(exc)
    if step_error is not None and step_error.code:
        return from_proto(step_error)
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
