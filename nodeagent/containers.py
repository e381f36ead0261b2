"""The container lifecycle as a state machine, with no processes or files: NEW -> LOCALIZING -> RUNNING -> COMPLETE.

Every change goes through ``ContainerTable.transition``; the allowed moves live in one table and an
unknown one raises. The launcher and the service do the I/O and tell the table what happened.
"""

import collections
import dataclasses
import threading
import time

from protos import common_pb2

NEW = "NEW"
LOCALIZING = "LOCALIZING"
RUNNING = "RUNNING"
COMPLETE = "COMPLETE"

# Exit codes that are not a process's own (YARN's ContainerExitStatus values where one exists).
EXIT_INVALID = -1000          # never ran: localization or launch failed, or stopped before it started

_PROTO_STATE = {NEW: common_pb2.CONTAINER_NEW, LOCALIZING: common_pb2.CONTAINER_LOCALIZING,
                RUNNING: common_pb2.CONTAINER_RUNNING, COMPLETE: common_pb2.CONTAINER_COMPLETE}


class InvalidTransition(Exception):
    """A container was asked to move between two states the lifecycle does not connect."""


@dataclasses.dataclass
class Container:
    """What the node agent knows about one container (its launch request and how it is doing)."""

    container_id: str
    app_id: str
    launch: object = None             # the ContainerLaunch message it was started with
    state: str = NEW
    exit_code: int = 0
    diagnostics: str = ""
    pid: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    stop_requested: bool = False      # a stop arrived; the exit that follows is a kill, not a failure
    reported: bool = False            # its COMPLETE status reached resmgr in a heartbeat

    @property
    def done(self):
        """True once the container has ended."""
        return self.state == COMPLETE

    def to_proto(self):
        """This container as a ``ContainerStatus`` message."""
        return common_pb2.ContainerStatus(
            container_id=self.container_id, app_id=self.app_id, state=_PROTO_STATE[self.state],
            exit_code=self.exit_code, diagnostics=self.diagnostics, pid=self.pid,
            started_at=self.started_at, finished_at=self.finished_at)


def _to_localizing(c, **facts):
    pass


def _to_running(c, pid, at=None, **facts):
    c.pid = int(pid)
    c.started_at = at if at is not None else time.time()


def _to_complete(c, exit_code=EXIT_INVALID, diagnostics="", at=None, **facts):
    c.exit_code = int(exit_code)
    c.diagnostics = diagnostics
    c.finished_at = at if at is not None else time.time()


# (from, to) -> what the move records; a pair not here is not a move the lifecycle makes.
TRANSITIONS = {
    (NEW, LOCALIZING): _to_localizing,
    (NEW, RUNNING): _to_running,          # nothing to localize
    (NEW, COMPLETE): _to_complete,        # stopped or rejected before it started
    (LOCALIZING, RUNNING): _to_running,
    (LOCALIZING, COMPLETE): _to_complete,  # localization or launch failed, or stopped meanwhile
    (RUNNING, COMPLETE): _to_complete,
}


class ContainerTable:
    """All containers of this node, moved only by ``transition``; thread-safe.

    ``on_change(container)`` is called (outside the lock) after every move, so the daemon can send a
    heartbeat at once when a container completes. ``history`` keeps the last moves for tests and logs.
    """

    def __init__(self, on_change=None, history_size=1000, clock=time.time):
        self._lock = threading.Condition()
        self._containers = {}
        self._on_change = on_change
        self._clock = clock
        self.history = collections.deque(maxlen=history_size)

    def add(self, container_id, app_id, launch=None):
        """Record a NEW container; raises ValueError when the id is already taken."""
        with self._lock:
            if container_id in self._containers:
                raise ValueError(f"container {container_id} already exists on this node")
            c = Container(container_id=container_id, app_id=app_id, launch=launch)
            self._containers[container_id] = c
            self.history.append((container_id, None, NEW, "add"))
            return c

    def transition(self, container_id, to_state, reason="", **facts):
        """Move a container to ``to_state``, recording ``facts`` (pid, exit_code, diagnostics, at)."""
        with self._lock:
            c = self._containers.get(container_id)
            if c is None:
                raise KeyError(f"no container {container_id} on this node")
            handler = TRANSITIONS.get((c.state, to_state))
            if handler is None:
                raise InvalidTransition(f"container {container_id}: {c.state} -> {to_state} is not allowed")
            facts.setdefault("at", self._clock())
            handler(c, **facts)
            self.history.append((container_id, c.state, to_state, reason))
            c.state = to_state
            self._lock.notify_all()
        if self._on_change:
            self._on_change(c)
        return c

    def complete(self, container_id, exit_code, diagnostics, reason=""):
        """Move a container to COMPLETE unless it already is; True when this call completed it."""
        with self._lock:
            c = self._containers.get(container_id)
            if c is None or c.done:
                return False
        self.transition(container_id, COMPLETE, reason=reason, exit_code=exit_code, diagnostics=diagnostics)
        return True

    def mark_stop_requested(self, container_id):
        """Note that a stop was asked for; returns the container (None when unknown)."""
        with self._lock:
            c = self._containers.get(container_id)
            if c is not None:
                c.stop_requested = True
            return c

    def get(self, container_id):
        """The container with this id, or None."""
        with self._lock:
            return self._containers.get(container_id)

    def all(self, app_id=None):
        """Every container (of ``app_id`` when given), oldest first."""
        with self._lock:
            return [c for c in self._containers.values() if app_id is None or c.app_id == app_id]

    def live(self):
        """Containers that have not ended."""
        with self._lock:
            return [c for c in self._containers.values() if not c.done]

    def statuses(self, for_heartbeat=False):
        """``ContainerStatus`` messages: every container, or for a heartbeat the live ones and the
        completed ones resmgr has not yet heard of."""
        with self._lock:
            return [c.to_proto() for c in self._containers.values()
                    if not for_heartbeat or not c.done or not c.reported]

    def mark_reported(self, container_ids):
        """Note that resmgr received the COMPLETE status of these containers."""
        with self._lock:
            for cid in container_ids:
                c = self._containers.get(cid)
                if c is not None and c.done:
                    c.reported = True

    def forget_app(self, app_id):
        """Drop the ended (and reported) containers of a finished app from the table."""
        with self._lock:
            for cid in [cid for cid, c in self._containers.items()
                        if c.app_id == app_id and c.done and c.reported]:
                del self._containers[cid]

    def wait_done(self, container_id, timeout):
        """Block until the container has ended or ``timeout`` s passed; True when it has ended."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                c = self._containers.get(container_id)
                if c is None or c.done:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
