"""The application lifecycle: a pure state machine of apps, their AM attempts and containers.

SUBMITTED -> ACCEPTED (AM container placed) -> RUNNING (AM registered) -> FINISHED / FAILED / KILLED.
An AM attempt that dies sends the app back to SUBMITTED for the next attempt. Every state change goes
through ``AppManager._transition`` and the one table ``_TRANSITIONS``; a pair not in it raises.
Completed containers and new allocations wait per app until its appmaster's next Allocate takes them.
"""

import collections
import dataclasses

from resmgr.model import ContainerStatus

# Same numbers as common.proto's AppState and FinalStatus.
SUBMITTED, ACCEPTED, RUNNING, FINISHED, FAILED, KILLED = 1, 2, 3, 4, 5, 6
STATE_NAMES = {SUBMITTED: "SUBMITTED", ACCEPTED: "ACCEPTED", RUNNING: "RUNNING",
               FINISHED: "FINISHED", FAILED: "FAILED", KILLED: "KILLED"}
TERMINAL = frozenset({FINISHED, FAILED, KILLED})
FINAL_UNSPECIFIED, FINAL_SUCCEEDED, FINAL_FAILED, FINAL_KILLED = 0, 1, 2, 3
AM_ROLE = "appmaster"


class AppError(Exception):
    """An app event that does not fit the app's state (a bug in the caller)."""


@dataclasses.dataclass
class ContainerRecord:
    """One container of an app: where it runs and its last status."""

    container_id: str
    node_id: str
    host: str
    port: int
    role: str
    task_index: int
    attempt: int
    status: ContainerStatus


@dataclasses.dataclass
class AppRecord:
    """Everything resmgr keeps about one application."""

    app_id: str
    spec: object                 # the ApplicationSpec, opaque here
    spec_bytes: bytes
    name: str = ""
    queue: str = ""
    state: int = SUBMITTED
    final_status: int = FINAL_UNSPECIFIED
    diagnostics: str = ""
    submitted_at: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    am_attempt: int = 0
    am_failures: int = 0
    am_container_id: str = ""
    am_host: str = ""
    tasks_running: int = 0
    tasks_total: int = 0
    next_seq: int = 1
    containers: dict = dataclasses.field(default_factory=dict)          # id -> ContainerRecord
    task_attempts: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    new_allocations: list = dataclasses.field(default_factory=list)     # Placements not yet told
    new_completed: list = dataclasses.field(default_factory=list)       # ContainerStatus not yet told
    new_failed_gangs: list = dataclasses.field(default_factory=list)    # (gang_id, reason) not yet told
    gangs_seen: set = dataclasses.field(default_factory=set)            # (attempt, gang_id)

    @property
    def terminal(self):
        """True once the app has ended."""
        return self.state in TERMINAL

    @property
    def shutdown(self):
        """True when the appmaster must stop everything (the app was killed)."""
        return self.state == KILLED

    def has_news(self):
        """True when the appmaster's Allocate has something to hear."""
        return bool(self.new_allocations or self.new_completed or self.new_failed_gangs or self.shutdown)

    def live_containers(self):
        """Containers of the app not known to have ended."""
        return [c for c in self.containers.values() if not c.status.complete]


class AppManager:
    """Holds every app and moves them through their lifecycle."""

    def __init__(self, max_am_attempts=2):
        self.max_am_attempts = max_am_attempts
        self.apps = {}   # app_id -> AppRecord, in submission order
        self._transitions = {
            (SUBMITTED, ACCEPTED): self._to_accepted,
            (ACCEPTED, RUNNING): self._to_running,
            (ACCEPTED, SUBMITTED): self._to_retry,
            (RUNNING, SUBMITTED): self._to_retry,
            **{(s, end): self._to_end for s in (SUBMITTED, ACCEPTED, RUNNING) for end in TERMINAL},
        }

    def get(self, app_id):
        """The AppRecord of ``app_id``, or None."""
        return self.apps.get(app_id)

    # ------------------------------------------------------------ lifecycle
    def submit(self, app_id, spec, spec_bytes, name, queue, now):
        """Record a new app (SUBMITTED)."""
        if app_id in self.apps:
            raise AppError(f"app {app_id} exists already")
        app = AppRecord(app_id, spec, spec_bytes, name, queue, submitted_at=now)
        self.apps[app_id] = app
        return app

    def restore(self, app):
        """Take back an app read from the store (after a resmgr restart).

        An app that had not ended waits for a new AM attempt: its old containers died with the old resmgr's
        knowledge of them.
        """
        if not app.terminal:
            app.state = SUBMITTED
            app.am_host = ""
        self.apps[app.app_id] = app
        return app

    def start_attempt(self, app_id):
        """Begin the next AM attempt; returns the id of its AM container (seq 000001)."""
        app = self.apps[app_id]
        if app.state != SUBMITTED:
            raise AppError(f"app {app_id} is {STATE_NAMES[app.state]}: no new AM attempt")
        app.am_attempt += 1
        app.next_seq = 1
        app.am_container_id = self.next_container_id(app_id)
        return app.am_container_id

    def next_container_id(self, app_id):
        """A fresh container id ``<app_id>_<attempt 2 digits>_<seq 6 digits>``."""
        app = self.apps[app_id]
        cid = f"{app_id}_{app.am_attempt:02d}_{app.next_seq:06d}"
        app.next_seq += 1
        return cid

    def am_placed(self, app_id, placement, now):
        """The AM container got a place: ACCEPTED."""
        app = self.apps[app_id]
        self._transition(app, ACCEPTED, now)
        self._add_container(app, placement, AM_ROLE, 0, app.am_attempt)
        app.am_host = placement.hostname

    def am_registered(self, app_id, host, now):
        """The appmaster registered: RUNNING (a repeated registration changes nothing)."""
        app = self.apps[app_id]
        if app.state == RUNNING:
            return
        self._transition(app, RUNNING, now)
        if host:
            app.am_host = host

    def gang_placed(self, app_id, placements):
        """Task containers were placed: record them and hold them for the next Allocate."""
        app = self.apps[app_id]
        for p in placements:
            app.task_attempts[(p.role, p.task_index)] += 1
            self._add_container(app, p, p.role, p.task_index, app.task_attempts[(p.role, p.task_index)])
            app.new_allocations.append(p)

    def gang_rejected(self, app_id, gang_id, reason):
        """A gang can never be placed: tell the appmaster on its next Allocate."""
        self.apps[app_id].new_failed_gangs.append((gang_id, reason))

    def container_status(self, status):
        """A container's status moved on; returns its ContainerRecord when it just ended, else None."""
        app = self.apps.get(status.app_id)
        record = app.containers.get(status.container_id) if app else None
        if record is None or record.status.complete:
            return None
        record.status = status
        if not status.complete:
            return None
        current = status.container_id.startswith(f"{app.app_id}_{app.am_attempt:02d}_")
        if status.container_id != app.am_container_id and current and not app.terminal:
            app.new_completed.append(status)  # a container of an earlier attempt is no news to this AM
        return record

    def am_attempt_failed(self, app_id, diagnostics, now):
        """The AM died before finishing: back to SUBMITTED for another attempt, or FAILED when none is left.

        Returns True when another attempt is due.
        """
        app = self.apps[app_id]
        app.am_failures += 1
        app.new_allocations.clear()
        app.new_completed.clear()
        app.new_failed_gangs.clear()
        if app.am_failures < self.max_am_attempts:
            app.diagnostics = f"AM attempt {app.am_attempt} failed: {diagnostics}"
            self._transition(app, SUBMITTED, now)
            return True
        app.final_status = FINAL_FAILED
        app.diagnostics = (f"the appmaster failed {app.am_failures} time(s), the most allowed; "
                           f"last attempt {app.am_attempt}: {diagnostics}")
        self._transition(app, FAILED, now)
        return False

    def finish(self, app_id, final_status, diagnostics, now):
        """The appmaster unregistered with its final status."""
        app = self.apps[app_id]
        end = {FINAL_SUCCEEDED: FINISHED, FINAL_KILLED: KILLED}.get(final_status, FAILED)
        app.final_status = final_status if final_status else FINAL_FAILED
        app.diagnostics = diagnostics or ("" if final_status else "the appmaster gave no final status")
        self._transition(app, end, now)

    def fail(self, app_id, diagnostics, now):
        """Fail the app from resmgr's side (e.g. its appmaster can never be placed)."""
        app = self.apps[app_id]
        app.final_status = FINAL_FAILED
        app.diagnostics = diagnostics
        self._transition(app, FAILED, now)

    def kill(self, app_id, reason, now):
        """Kill the app; returns False when it had already ended."""
        app = self.apps[app_id]
        if app.terminal:
            return False
        app.final_status = FINAL_KILLED
        app.diagnostics = reason or "killed by a client"
        self._transition(app, KILLED, now)
        return True

    def take_news(self, app_id):
        """Hand over (allocations, completed statuses, failed gangs) held for the appmaster, and forget them."""
        app = self.apps[app_id]
        news = (app.new_allocations, app.new_completed, app.new_failed_gangs)
        app.new_allocations, app.new_completed, app.new_failed_gangs = [], [], []
        return news

    # ------------------------------------------------------------ transitions
    def _transition(self, app, state, now):
        handler = self._transitions.get((app.state, state))
        if handler is None:
            raise AppError(f"app {app.app_id}: no transition from {STATE_NAMES.get(app.state, app.state)} "
                           f"to {STATE_NAMES.get(state, state)}")
        app.state = state
        handler(app, now)

    def _to_accepted(self, app, now):
        pass

    def _to_running(self, app, now):
        if not app.started_at:
            app.started_at = now

    def _to_retry(self, app, now):
        app.am_host = ""

    def _to_end(self, app, now):
        app.finished_at = now
        app.new_allocations.clear()  # nobody will take them now

    def _add_container(self, app, p, role, task_index, attempt):
        status = ContainerStatus(p.container_id, app.app_id)
        app.containers[p.container_id] = ContainerRecord(p.container_id, p.node_id, p.hostname, p.port,
                                                         role, task_index, attempt, status)
