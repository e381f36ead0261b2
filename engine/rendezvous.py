"""Where _Send and _Recv of one step meet: a table of tensors by key, filled by senders, drained by receivers.

A rendezvous belongs to one step (it is passed to ``Executor.run``); the distributed runtime subclasses
``Rendezvous`` with one whose ``recv`` fetches remote tensors.
"""

import threading
import time

from engine.errors import AbortedError, DeadlineExceededError, InvalidArgumentError, OpError
from engine.graph_util import get_attr


def make_key(send_device, incarnation, recv_device, tensor_name):
    """TF's key of one edge: ``"send_device;incarnation as 16 hex;recv_device;tensor_name;0:0"``.

    >>> make_key("/job:a/replica:0/task:0/device:CPU:0", 1, "/job:b/replica:0/task:0/device:CPU:0", "x:0")
    '/job:a/replica:0/task:0/device:CPU:0;0000000000000001;/job:b/replica:0/task:0/device:CPU:0;x:0;0:0'
    """
    return f"{send_device};{int(incarnation) & 0xFFFFFFFFFFFFFFFF:016x};{recv_device};{tensor_name};0:0"


def key_of(node):
    """The key of the edge a _Send or _Recv NodeDef carries, from its attrs (what a partition records for each
    _Recv, and what the kernels send and wait under)."""
    return make_key(get_attr(node, "send_device"), int(get_attr(node, "send_device_incarnation", 0)),
                    get_attr(node, "recv_device"), get_attr(node, "tensor_name"))


def parse_key(key):
    """``make_key``'s inverse: ``(send_device, incarnation, recv_device, tensor_name)``."""
    parts = key.split(";")
    if len(parts) != 5:
        raise InvalidArgumentError(None, None, f"malformed rendezvous key {key!r}")
    return parts[0], int(parts[1], 16), parts[2], parts[3]


class Rendezvous:
    """The interface: ``send`` never blocks; ``recv`` blocks until the value, a timeout, or an abort."""

    def send(self, key, value):
        """Make ``value`` available under ``key`` (``engine.dead.DEAD`` for a dead tensor: it is passed on as is,
        and the transports between tasks carry it as a marker)."""
        raise NotImplementedError

    def recv(self, key, timeout=None):
        """The value sent under ``key``; DeadlineExceededError after ``timeout`` s; the abort error if aborted."""
        raise NotImplementedError

    def abort(self, error):
        """Fail every pending and future ``recv`` (and ``send``) with ``error`` (an OpError)."""
        raise NotImplementedError


class LocalRendezvous(Rendezvous):
    """An in-process rendezvous; thread-safe; a send may come before or after its recv.

    >>> r = LocalRendezvous(); r.send("k", 1); r.recv("k", timeout=1)
    1
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._values = {}
        self._callbacks = {}  # key -> callback(value, error) of a recv_async still waiting
        self._error = None

    def send(self, key, value):
        """Store ``value`` (or hand it to the callback waiting for it); AbortedError after an abort;
        InvalidArgumentError if ``key`` was sent already."""
        with self._cond:
            if self._error is not None:
                raise self._error
            if key in self._values:
                raise InvalidArgumentError(None, None, f"duplicate send of rendezvous key {key!r}")
            callback = self._callbacks.pop(key, None)
            if callback is None:
                self._values[key] = value
                self._cond.notify_all()
                return
        callback(value, None)

    def recv_async(self, key, callback):
        """Call ``callback(value, None)`` once ``key`` is sent (at once if it was), or ``callback(None, error)``
        on an abort; the callback runs on the sending (or aborting) thread and must not block."""
        with self._cond:
            error = self._error
            if error is None:
                if key not in self._values:
                    self._callbacks[key] = callback
                    return
                value = self._values.pop(key)
        if error is not None:
            callback(None, error)
        else:
            callback(value, None)

    def recv(self, key, timeout=None):
        """Wait for and take the value under ``key``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._error is not None:
                    raise self._error
                if key in self._values:
                    return self._values.pop(key)
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise DeadlineExceededError(None, None, f"timed out after {timeout} s waiting for rendezvous "
                                                            f"key {key!r}")
                self._cond.wait(remaining)

    def abort(self, error):
        """Fail pending and future receives with ``error`` (the first abort wins)."""
        if not isinstance(error, OpError):
            error = AbortedError(None, None, str(error))
        with self._cond:
            if self._error is None:
                self._error = error
            self._cond.notify_all()
            callbacks, self._callbacks = list(self._callbacks.values()), {}
            error = self._error
        for callback in callbacks:
            callback(None, error)

    @property
    def aborted(self):
        """The abort error, or None."""
        return self._error

    def pending_keys(self):
        """Keys sent and not yet received (for tests and debugging)."""
        with self._cond:
            return sorted(self._values)
