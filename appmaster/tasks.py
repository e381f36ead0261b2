"""The appmaster's task table: a pure state machine, events in, decisions out (no I/O, no clock).

One ``Task`` per (role, index). Its life, one attempt after another::

    PENDING -> ALLOCATED -> LAUNCHED -> RUNNING -> SUCCEEDED
                  ^                        |-----> RETRYING --(new container)--> ALLOCATED ...
                  |________________________|-----> FAILED          (out of attempts: the app fails)
    any live state -> STOPPING -> STOPPED  (the master stops it: ps after success, all on failure/kill)

Policy: the app succeeds when every worker exits 0 (then the ps tasks, which never exit by themselves,
are stopped); with no workers, when every task exits 0. A task that fails (non-zero exit, killed, node
lost, could not start) is retried in a fresh container up to its max attempts; when one runs out the app
fails with diagnostics naming the task, its exit code, its attempts and the tail of its stderr.

Every change goes through ``_TRANSITIONS``; an unknown (start, finish) pair raises. Each change is kept,
with the stimulus that caused it, in a bounded log so a test can assert the exact story.
"""

import collections
import dataclasses

DEFAULT_MAX_ATTEMPTS = 2
WORKER_ROLE = "worker"
LOG_LENGTH = 1000

PENDING = "PENDING"
ALLOCATED = "ALLOCATED"
LAUNCHED = "LAUNCHED"
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
RETRYING = "RETRYING"
FAILED = "FAILED"
STOPPING = "STOPPING"
STOPPED = "STOPPED"

_WAITING = (PENDING, RETRYING)          # wants a container
_STARTED = (LAUNCHED, RUNNING)          # has a process, or soon will
_DONE = (SUCCEEDED, FAILED, STOPPED)

# App outcomes.
APP_RUNNING = "RUNNING"
APP_SUCCEEDED = "SUCCEEDED"
APP_FAILED = "FAILED"
APP_KILLED = "KILLED"


class InvalidTransition(Exception):
    """A task was asked to move between two states that have no transition."""


# ---------------------------------------------------------------- events (stimuli)

@dataclasses.dataclass(frozen=True)
class Allocated:
    """resmgr granted a container for the task whose ask id is ``ask_id`` (``role:index``)."""

    ask_id: str
    container_id: str
    node_id: str
    host: str
    port: int
    stimulus_id: str = ""


@dataclasses.dataclass(frozen=True)
class Started:
    """The task's nodeagent accepted its container (StartContainers listed it as started)."""

    container_id: str
    stimulus_id: str = ""


@dataclasses.dataclass(frozen=True)
class StartFailed:
    """The task's nodeagent refused or could not be reached to start its container."""

    container_id: str
    reason: str
    stimulus_id: str = ""


@dataclasses.dataclass(frozen=True)
class Completed:
    """A container of the app ended (as reported by resmgr in an Allocate answer)."""

    container_id: str
    exit_code: int
    diagnostics: str = ""
    stimulus_id: str = ""


@dataclasses.dataclass(frozen=True)
class GangFailed:
    """resmgr says a gang can never be placed."""

    gang_id: str
    diagnostics: str = ""
    stimulus_id: str = ""


@dataclasses.dataclass(frozen=True)
class Shutdown:
    """The app was killed: stop everything, finish nothing."""

    stimulus_id: str = ""


# ---------------------------------------------------------------- decisions (instructions)

@dataclasses.dataclass(frozen=True)
class Ask:
    """One container ask of a gang."""

    ask_id: str
    role: str
    index: int
    resource: object      # a protos Resource, passed through untouched


@dataclasses.dataclass(frozen=True)
class AskGang:
    """Ask resmgr for these containers, all or none."""

    gang_id: str
    asks: tuple


@dataclasses.dataclass(frozen=True)
class Launch:
    """Start attempt ``attempt`` of task ``role:index`` in its allocated container."""

    role: str
    index: int
    attempt: int
    container_id: str


@dataclasses.dataclass(frozen=True)
class StopContainers:
    """Stop these running containers."""

    container_ids: tuple


@dataclasses.dataclass(frozen=True)
class Release:
    """Give back allocated containers that will never be launched."""

    container_ids: tuple


@dataclasses.dataclass(frozen=True)
class Finish:
    """Tell resmgr the app's final status (``SUCCEEDED`` or ``FAILED``) and exit."""

    final_status: str
    diagnostics: str


# ---------------------------------------------------------------- the table

@dataclasses.dataclass
class Attempt:
    """One try of a task: its container and how it ended."""

    number: int
    container_id: str = ""
    node_id: str = ""
    host: str = ""
    port: int = 0
    exit_code: int | None = None
    diagnostics: str = ""


@dataclasses.dataclass
class Task:
    """One task of the app (role, index), with its attempts."""

    role: str
    index: int
    resource: object
    max_attempts: int
    state: str = PENDING
    attempts: list = dataclasses.field(default_factory=list)

    @property
    def key(self):
        """The task's name and ask id, ``role:index``."""
        return task_key(self.role, self.index)

    @property
    def attempt(self):
        """The current attempt (the last one), or None before the first allocation."""
        return self.attempts[-1] if self.attempts else None

    @property
    def endpoint(self):
        """``host:port`` of the current attempt, or None before any allocation."""
        att = self.attempt
        return f"{att.host}:{att.port}" if att else None


def task_key(role, index):
    """The name of a task and the ask id of its containers: ``worker:3``."""
    return f"{role}:{index}"


def stderr_tail(diagnostics, limit=2000):
    """The last ``limit`` characters of a container's diagnostics (which end with its stderr tail)."""
    text = (diagnostics or "").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


class TaskTable:
    """Every task of one app and the policy that turns container events into decisions."""

    def __init__(self, spec, validate=False):
        self.validate = validate
        self.app_state = APP_RUNNING
        self.diagnostics = ""
        self.log = collections.deque(maxlen=LOG_LENGTH)
        self.tasks = {}                   # key -> Task, in spec order
        self._by_container = {}           # container id -> Task (every attempt's container)
        self._gang_launched = False       # the first gang starts all at once, retries one by one
        self._gang_seq = 0
        default = spec.max_task_attempts or DEFAULT_MAX_ATTEMPTS
        for role in spec.roles:
            if role.count < 0:
                raise ValueError(f"role {role.name!r} has a negative count {role.count}")
            for index in range(role.count):
                task = Task(role.name, index, role.resource, role.max_attempts or default)
                self.tasks[task.key] = task
        if not self.tasks:
            raise ValueError("the app has no tasks: every role has count 0")

    # ---------------------------------------------------------------- queries

    @property
    def done(self):
        """True once the app has an outcome (succeeded, failed or killed)."""
        return self.app_state != APP_RUNNING

    def endpoints(self):
        """``{(role, index): "host:port"}`` of every task that has a container (current attempt)."""
        return {(t.role, t.index): t.endpoint for t in self.tasks.values() if t.attempt}

    def count(self, *states):
        """How many tasks are in any of ``states``."""
        return sum(t.state in states for t in self.tasks.values())

    def task_of(self, container_id):
        """The task a container belongs (or belonged) to, or None."""
        return self._by_container.get(container_id)

    def story(self):
        """The transition log as ``(key, start, finish, stimulus_id)`` tuples, oldest first."""
        return list(self.log)

    # ---------------------------------------------------------------- stimuli

    def start(self):
        """The first decision: ask for every task as one gang (``gang-1``)."""
        if self._gang_seq:
            raise RuntimeError("the task table was already started")
        return [self._ask(list(self.tasks.values()))]

    def handle(self, event):
        """Apply one event and return the decisions it leads to."""
        handler = {Allocated: self._allocated, Started: self._started, StartFailed: self._start_failed,
                   Completed: self._completed, GangFailed: self._gang_failed,
                   Shutdown: self._shutdown}.get(type(event))
        if handler is None:
            raise TypeError(f"unknown event {event!r}")
        decisions = handler(event)
        if self.validate:
            self._check_invariants()
        return decisions

    def _allocated(self, ev):
        task = self.tasks.get(ev.ask_id)
        if self.done or task is None or task.state not in _WAITING:
            # Not wanted (duplicate, unknown ask or the app has ended): hand it back.
            return [Release((ev.container_id,))]
        task.attempts.append(Attempt(len(task.attempts) + 1, ev.container_id, ev.node_id, ev.host, ev.port))
        self._by_container[ev.container_id] = task
        self._transition(task, ALLOCATED, ev.stimulus_id)
        if not self._gang_launched:
            if self.count(ALLOCATED) < len(self.tasks):
                return []       # gang semantics: nobody starts before everyone has a place
            self._gang_launched = True
            return [self._launch(t, ev.stimulus_id) for t in self.tasks.values()]
        return [self._launch(task, ev.stimulus_id)]

    def _launch(self, task, stimulus_id):
        self._transition(task, LAUNCHED, stimulus_id)
        return Launch(task.role, task.index, task.attempt.number, task.attempt.container_id)

    def _started(self, ev):
        task = self._current(ev.container_id)
        if task is not None and task.state == LAUNCHED:
            self._transition(task, RUNNING, ev.stimulus_id)
        return []

    def _start_failed(self, ev):
        task = self._current(ev.container_id)
        if task is None or task.state not in _STARTED:
            return []
        return self._failed(task, None, f"could not start: {ev.reason}", ev.stimulus_id)

    def _completed(self, ev):
        task = self._current(ev.container_id)
        if task is None or task.state in _DONE or task.state == RETRYING:
            # an old attempt, the AM's own container, or already settled (a container that could not
            # start is reported by StartContainers AND as completed by resmgr: the first one counts)
            return []
        task.attempt.exit_code = ev.exit_code
        task.attempt.diagnostics = ev.diagnostics
        if task.state == STOPPING:
            self._transition(task, STOPPED, ev.stimulus_id)
            return []
        if task.state == ALLOCATED:
            # Lost before the gang launched (say its node died): nothing ran, so no attempt is spent.
            task.attempts.pop()
            self._transition(task, RETRYING, ev.stimulus_id)
            return [self._ask([task])]
        if ev.exit_code == 0:
            self._transition(task, SUCCEEDED, ev.stimulus_id)
            return self._maybe_succeed(ev.stimulus_id)
        return self._failed(task, ev.exit_code, ev.diagnostics, ev.stimulus_id)

    def _failed(self, task, exit_code, diagnostics, stimulus_id):
        if len(task.attempts) < task.max_attempts:
            self._transition(task, RETRYING, stimulus_id)
            return [self._ask([task])]
        self._transition(task, FAILED, stimulus_id)
        code = "none (it never started)" if exit_code is None else str(exit_code)
        tail = stderr_tail(diagnostics)
        return self._end(APP_FAILED,
                         f"task {task.key} failed after {len(task.attempts)} attempt"
                         f"{'s' if len(task.attempts) != 1 else ''}: exit code {code}"
                         + (f"; {tail}" if tail else ""), stimulus_id)

    def _maybe_succeed(self, stimulus_id):
        workers = [t for t in self.tasks.values() if t.role == WORKER_ROLE]
        judged = workers or list(self.tasks.values())
        if all(t.state == SUCCEEDED for t in judged):
            what = "every worker" if workers else "every task"
            return self._end(APP_SUCCEEDED, f"{what} exited 0", stimulus_id)
        return []

    def _gang_failed(self, ev):
        if self.done:
            return []
        return self._end(APP_FAILED, f"containers can never be placed (gang {ev.gang_id}): "
                                     f"{ev.diagnostics or 'no node is large enough'}", ev.stimulus_id)

    def _shutdown(self, ev):
        if self.done:
            return []
        return self._end(APP_KILLED, "the app was killed", ev.stimulus_id)

    # ---------------------------------------------------------------- helpers

    def _current(self, container_id):
        """The task whose CURRENT attempt runs in ``container_id`` (old attempts' news is stale)."""
        task = self._by_container.get(container_id)
        if task is None or task.attempt.container_id != container_id:
            return None
        return task

    def _ask(self, tasks):
        self._gang_seq += 1
        asks = tuple(Ask(t.key, t.role, t.index, t.resource) for t in tasks)
        return AskGang(f"gang-{self._gang_seq}", asks)

    def _end(self, outcome, diagnostics, stimulus_id):
        """Settle the app: stop what runs, give back what is only allocated, then finish."""
        self.app_state = outcome
        self.diagnostics = diagnostics
        stop, release = [], []
        for task in self.tasks.values():
            if task.state in _STARTED:
                stop.append(task.attempt.container_id)
                self._transition(task, STOPPING, stimulus_id)
            elif task.state == ALLOCATED:
                release.append(task.attempt.container_id)
                self._transition(task, STOPPED, stimulus_id)
            elif task.state in _WAITING:
                self._transition(task, STOPPED, stimulus_id)
        decisions = []
        if stop:
            decisions.append(StopContainers(tuple(stop)))
        if release:
            decisions.append(Release(tuple(release)))
        if outcome != APP_KILLED:
            decisions.append(Finish(outcome, diagnostics))
        return decisions

    def _transition(self, task, finish, stimulus_id):
        start = task.state
        if (start, finish) not in _TRANSITIONS:
            raise InvalidTransition(f"task {task.key}: no transition {start} -> {finish}")
        task.state = finish
        self.log.append((task.key, start, finish, stimulus_id))

    def _check_invariants(self):
        for task in self.tasks.values():
            if task.state not in _WAITING and task.state != STOPPED:
                assert task.attempt is not None, f"{task.key} is {task.state} without a container"
            assert len(task.attempts) <= task.max_attempts, f"{task.key} has too many attempts"
        if self.done:
            live = [t.key for t in self.tasks.values() if t.state not in _DONE + (STOPPING,)]
            assert not live, f"the app ended but {live} are still live"


# The whole life of a task, in one table: (start, finish) pairs that are allowed.
_TRANSITIONS = frozenset({
    (PENDING, ALLOCATED), (RETRYING, ALLOCATED),
    (ALLOCATED, LAUNCHED),
    (LAUNCHED, RUNNING),
    (LAUNCHED, SUCCEEDED), (RUNNING, SUCCEEDED),    # a completion is proof that it ran
    (LAUNCHED, RETRYING), (RUNNING, RETRYING),
    (LAUNCHED, FAILED), (RUNNING, FAILED),
    (LAUNCHED, STOPPING), (RUNNING, STOPPING),
    (STOPPING, STOPPED),
    (ALLOCATED, RETRYING),                          # its container was lost before launch
    (PENDING, STOPPED), (RETRYING, STOPPED), (ALLOCATED, STOPPED),
})
