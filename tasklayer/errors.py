"""``tf.errors``: the engine's run-time errors (``OpError`` and one subclass per status code)."""

from engine.errors import *  # noqa: F401,F403
from engine.errors import (AbortedError, AlreadyExistsError, CancelledError, DataLossError,  # noqa: F401
                           DeadlineExceededError, FailedPreconditionError, InternalError, InvalidArgumentError,
                           NotFoundError, OpError,
                           OutOfRangeError, PermissionDeniedError, ResourceExhaustedError, UnavailableError,
                           UnimplementedError, UnknownError)
