"""Noticing a task that stopped answering in the middle of a step.

A task that dies closes its connections, and the step fails at once. A task that hangs (stopped with SIGSTOP,
swapped out, wedged) keeps its sockets open, and without a check the step would wait for its deadline (600 s
by default). So a master watches the steps it runs: once a step has run for ``interval`` seconds, each remote
task it involves is asked for its status (a trivial gRPC call, answered by the server's threads whatever the
task's partition is doing) at most once per ``interval``; no answer within ``probe_timeout`` seconds and the
step's ``on_lost(task, error)`` is called, which aborts the step. Fast steps cost nothing: nothing is probed
before ``interval``.

>>> import threading
>>> lost = threading.Event()
>>> def probe(task, timeout):
...     raise TimeoutError("no answer")
>>> monitor = LivenessMonitor(probe, interval=0.05, probe_timeout=0.1)
>>> token = monitor.watch(["/job:w/task:1"], lambda task, error: lost.set())
>>> lost.wait(5)
True
>>> monitor.unwatch(token); monitor.stop()
"""

import itertools
import logging
import os
import threading
import time

log = logging.getLogger(__name__)

# Seconds a step runs before its remote tasks are probed, and between two probes of one task.
INTERVAL_ENV, DEFAULT_INTERVAL = "YARNFLOW_LIVENESS_INTERVAL_S", 2.0
# Seconds a probe waits for an answer before the task is declared lost.
TIMEOUT_ENV, DEFAULT_TIMEOUT = "YARNFLOW_LIVENESS_TIMEOUT_S", 5.0


def settings(environ=None):
    """``(interval, probe_timeout)`` from the environment (``YARNFLOW_LIVENESS_INTERVAL_S`` and
    ``YARNFLOW_LIVENESS_TIMEOUT_S``), else the defaults; ValueError naming a malformed value."""
    env = os.environ if environ is None else environ
    out = []
    for name, default in ((INTERVAL_ENV, DEFAULT_INTERVAL), (TIMEOUT_ENV, DEFAULT_TIMEOUT)):
        raw = env.get(name, "")
        try:
            value = float(raw) if raw else default
        except ValueError:
            raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
        if not value > 0:
            raise ValueError(f"{name}={raw!r} must be a positive number of seconds")
        out.append(value)
    return tuple(out)


class _Watch:
    """One watched step: its remote tasks, its callback, when it started, whether it was reported lost."""

    def __init__(self, tasks, on_lost):
        self.tasks = list(tasks)
        self.on_lost = on_lost
        self.started = time.monotonic()
        self.reported = False


class LivenessMonitor:
    """Probes the remote tasks of long-running steps; ``probe(task, timeout)`` raises when ``task`` is lost.

    One thread watches every step of a master; probes run on threads of their own, one at a time per task.
    """

    def __init__(self, probe, interval=DEFAULT_INTERVAL, probe_timeout=DEFAULT_TIMEOUT):
        self._probe = probe
        self.interval = interval
        self.probe_timeout = probe_timeout
        self._watches = {}
        self._tokens = itertools.count(1)
        self._last_probe = {}  # task -> monotonic time its last probe started
        self._probing = set()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopped = False
        self._thread = None

    def watch(self, tasks, on_lost):
        """Watch a step that involves the remote ``tasks``; a token for ``unwatch``."""
        with self._lock:
            token = next(self._tokens)
            self._watches[token] = _Watch(tasks, on_lost)
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._run, name="liveness", daemon=True)
                self._thread.start()
            return token

    def unwatch(self, token):
        """Stop watching a step (it ended)."""
        with self._lock:
            self._watches.pop(token, None)

    def stop(self):
        """End the watching thread."""
        with self._lock:
            self._stopped = True
            self._wake.notify_all()

    def _run(self):
        tick = self.interval / 4
        while True:
            with self._lock:
                self._wake.wait(tick)
                if self._stopped:
                    return
                now = time.monotonic()
                due = set()
                for watch in self._watches.values():
                    if not watch.reported and now - watch.started >= self.interval:
                        due.update(t for t in watch.tasks if t not in self._probing
                                   and now - self._last_probe.get(t, 0.0) >= self.interval)
                for task in due:
                    self._probing.add(task)
                    self._last_probe[task] = now
            for task in due:
                threading.Thread(target=self._check, args=(task,), name=f"probe {task}", daemon=True).start()

    def _check(self, task):
        try:
            self._probe(task, self.probe_timeout)
            error = None
        except Exception as e:  # noqa: BLE001 - any failure to answer means the task is lost to this step
            error = e
        with self._lock:
            self._probing.discard(task)
            lost = [] if error is None else [w for w in self._watches.values() if task in w.tasks and not w.reported]
            for watch in lost:
                watch.reported = True
        for watch in lost:
            try:
                watch.on_lost(task, error)
            except Exception:  # noqa: BLE001 - one step's handler must not stop the others'
                log.exception("handling the loss of %s failed", task)
