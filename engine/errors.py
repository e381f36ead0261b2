"""Run-time errors in TensorFlow's shape: ``OpError`` naming the node and op, one subclass per status code."""

from yarnflow.errors import YarnflowError

__all__ = ["OpError", "CancelledError", "UnknownError", "InvalidArgumentError", "DeadlineExceededError",
           "NotFoundError", "AlreadyExistsError", "PermissionDeniedError", "ResourceExhaustedError",
           "FailedPreconditionError", "AbortedError", "OutOfRangeError", "UnimplementedError", "InternalError",
           "UnavailableError", "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
           "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
           "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "DataLossError", "error_class",
           "from_code"]

# Status codes as TensorFlow (and gRPC) number them, so they can cross processes as an int.
OK = 0
CANCELLED = 1
UNKNOWN = 2
INVALID_ARGUMENT = 3
DEADLINE_EXCEEDED = 4
NOT_FOUND = 5
ALREADY_EXISTS = 6
PERMISSION_DENIED = 7
RESOURCE_EXHAUSTED = 8
FAILED_PRECONDITION = 9
ABORTED = 10
OUT_OF_RANGE = 11
UNIMPLEMENTED = 12
INTERNAL = 13
UNAVAILABLE = 14
DATA_LOSS = 15


class OpError(YarnflowError):
    """An error raised while running a graph; ``node_name``/``op_type`` say where, ``message`` says what.

    >>> e = InvalidArgumentError(None, None, "bad shape", node_name="add", op_type="Add")
    >>> e.node_name, e.op_type, e.error_code == INVALID_ARGUMENT
    ('add', 'Add', True)
    """

    error_code = UNKNOWN

    def __init__(self, node_def=None, op=None, message="", error_code=None, *, node_name=None, op_type=None):
        if error_code is not None:
            self.error_code = error_code
        self.node_def = node_def
        self.op = op
        self.message = str(message)
        # node_def is a NodeDef proto (engine) or None; op is a tasklayer Operation (frontend) or None.
        source = node_def if node_def is not None else op
        self.node_name = node_name if node_name is not None else getattr(source, "name", None)
        self.op_type = op_type if op_type is not None else (
            getattr(source, "op", None) if node_def is not None else getattr(source, "type", None))
        super().__init__(self.message)

    def __str__(self):
        return self.message

    def __reduce__(self):
        return (_rebuild, (type(self).__name__, self.message, self.error_code, self.node_name, self.op_type))


class CancelledError(OpError):
    """The step was cancelled."""
    error_code = CANCELLED


class UnknownError(OpError):
    """An error of no better-known kind."""
    error_code = UNKNOWN


class InvalidArgumentError(OpError):
    """An op got an argument it cannot accept (bad shape, bad value, missing feed)."""
    error_code = INVALID_ARGUMENT


class DeadlineExceededError(OpError):
    """A deadline passed before the operation finished."""
    error_code = DEADLINE_EXCEEDED


class NotFoundError(OpError):
    """Something named (a node, a kernel, a file, a task) does not exist."""
    error_code = NOT_FOUND


class AlreadyExistsError(OpError):
    """Something to be created exists already."""
    error_code = ALREADY_EXISTS


class PermissionDeniedError(OpError):
    """The caller may not do this."""
    error_code = PERMISSION_DENIED


class ResourceExhaustedError(OpError):
    """Out of memory or another resource."""
    error_code = RESOURCE_EXHAUSTED


class FailedPreconditionError(OpError):
    """The system is not in a state to do this (e.g. an uninitialized variable)."""
    error_code = FAILED_PRECONDITION


class AbortedError(OpError):
    """The operation was aborted (e.g. the rendezvous of the step was aborted)."""
    error_code = ABORTED


class OutOfRangeError(OpError):
    """Iteration past the end of a range."""
    error_code = OUT_OF_RANGE


class UnimplementedError(OpError):
    """The operation is not implemented (e.g. an op with no kernel on any device)."""
    error_code = UNIMPLEMENTED


class InternalError(OpError):
    """An invariant of the runtime broke."""
    error_code = INTERNAL


class UnavailableError(OpError):
    """A service (e.g. a remote task) is unavailable."""
    error_code = UNAVAILABLE


class DataLossError(OpError):
    """Data was lost or corrupted (a truncated or checksum-failing record)."""
    error_code = DATA_LOSS


_BY_CODE = {cls.error_code: cls for cls in (
    CancelledError, UnknownError, InvalidArgumentError, DeadlineExceededError, NotFoundError,
    AlreadyExistsError, PermissionDeniedError, ResourceExhaustedError, FailedPreconditionError,
    AbortedError, OutOfRangeError, UnimplementedError, InternalError, UnavailableError, DataLossError)}


def error_class(code):
    """The ``OpError`` subclass for a status code (``UnknownError`` for codes not known)."""
    return _BY_CODE.get(int(code), UnknownError)


def from_code(code, message, node_name=None, op_type=None):
    """Rebuild an error from its parts, e.g. one that crossed a process boundary as (code, message)."""
    return error_class(code)(None, None, message, node_name=node_name, op_type=op_type)


def _rebuild(cls_name, message, code, node_name, op_type):
    return from_code(code, message, node_name, op_type)


def _describe(value):
    dtype = getattr(value, "dtype", None)
    shape = getattr(value, "shape", None)
    if dtype is None or shape is None:
        return type(value).__name__
    return f"{dtype}[{','.join(str(d) for d in shape)}]"


def kernel_error(exc, node_name, op_type, input_names=(), input_values=()):
    """One ``OpError`` for an exception a kernel raised: names the node, op, inputs' dtypes/shapes, message.

    An OpError that already names a node (e.g. a rendezvous abort coming from another partition) is kept.
    """
    if isinstance(exc, OpError) and exc.node_name is not None:
        return exc
    if isinstance(exc, OpError):
        cls = type(exc)
    elif isinstance(exc, MemoryError):
        cls = ResourceExhaustedError
    elif isinstance(exc, NotImplementedError):
        cls = UnimplementedError
    elif isinstance(exc, (ValueError, IndexError, TypeError, ArithmeticError, KeyError)):
        cls = InvalidArgumentError
    else:
        cls = InternalError
    message = str(exc) or type(exc).__name__
    inputs = ", ".join(f"{n} {_describe(v)}" for n, v in zip(input_names, input_values))
    text = f"{op_type} node {node_name!r}: {message}" + (f" (inputs: {inputs})" if input_names else "")
    err = cls(None, None, text, node_name=node_name, op_type=op_type)
    err.__cause__ = exc if not isinstance(exc, OpError) else None
    return err
