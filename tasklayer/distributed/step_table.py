"""The per-process table where a step's partitions meet: one ``Step`` (a local rendezvous that this process's
sends and other tasks' pushes fill) per step id, and single-use tensors held by reference."""

import collections
import itertools
import threading
import time

from engine.errors import AbortedError, OpError
from engine.rendezvous import LocalRendezvous

# How many aborted step ids to remember, so a late push or RecvTensor of an aborted step is refused at once.
_ABORTED_MEMORY = 1024
# Tensors held by reference that nobody pulled are dropped after this long.
REF_TTL_SECONDS = 600.0
# A step that nobody used for this long, holding only tensors pushed to it (its client died between pushing its
# feeds and asking for the step, say), is dropped: longer than any step's default deadline (600 s).
ORPHAN_STEP_TTL_SECONDS = 900.0


class Step:
    """One step on this process: its rendezvous (where sends, pushes and receives meet) and its users."""

    def __init__(self, step_id):
        self.step_id = step_id
        self.rendezvous = LocalRendezvous()
        self.cancel = threading.Event()
        self.users = 0
        self.idle_since = None  # when its last user left it holding tensors nobody took yet

    def abort(self, error):
        """Fail every pending receive of this step and stop its executors."""
        if not isinstance(error, OpError):
            error = AbortedError(None, None, str(error))
        self.rendezvous.abort(error)
        self.cancel.set()


class StepTable:
    """Steps by id (created by whichever of RunGraph or a pushed tensor comes first) and tensors by reference.
    A step left unused for ``orphan_ttl`` seconds with tensors nobody took is dropped (and remembered as
    aborted), so a dead client's pushes do not stay forever."""

    def __init__(self, orphan_ttl=ORPHAN_STEP_TTL_SECONDS):
        self._orphan_ttl = orphan_ttl
        self._next_sweep = time.monotonic() + orphan_ttl
        self._lock = threading.Lock()
        self._ref_arrived = threading.Condition(self._lock)
        self._steps = {}
        self._aborted = collections.OrderedDict()
        self._refs = {}
        self._ref_ids = itertools.count(1)

    def acquire(self, step_id):
        """The step, created if new; the caller must ``release`` it."""
        with self._lock:
            orphans = self._sweep_orphans()
            step = self._steps.get(step_id)
            if step is None:
                step = self._steps[step_id] = Step(step_id)
                error = self._aborted.get(step_id)
                if error is not None:
                    step.abort(error)
            step.users += 1
            step.idle_since = None
        for orphan, error in orphans:
            orphan.abort(error)
        return step

    def release(self, step):
        """Drop the step once nobody uses it and every tensor sent in it was taken."""
        with self._lock:
            step.users -= 1
            if step.users <= 0 and (not step.rendezvous.pending_keys() or step.rendezvous.aborted is not None):
                if self._steps.get(step.step_id) is step:
                    del self._steps[step.step_id]
            elif step.users <= 0:
                step.idle_since = time.monotonic()

    def _sweep_orphans(self):
        """Drop (under the lock) the steps idle past ``orphan_ttl``, at most once per ``orphan_ttl / 4``;
        ``[(step, error)]`` to abort outside the lock."""
        now = time.monotonic()
        if now < self._next_sweep:
            return []
        self._next_sweep = now + self._orphan_ttl / 4
        orphans = []
        for step_id, step in list(self._steps.items()):
            if step.users <= 0 and step.idle_since is not None and now - step.idle_since > self._orphan_ttl:
                error = AbortedError(None, None, f"step {step_id} was dropped: nothing used it for "
                                                 f"{self._orphan_ttl:g} s (its client went away?)")
                del self._steps[step_id]
                self._remember_aborted(step_id, error)
                orphans.append((step, error))
        return orphans

    def _remember_aborted(self, step_id, error):
        self._aborted[step_id] = error
        while len(self._aborted) > _ABORTED_MEMORY:
            self._aborted.popitem(last=False)

    def abort(self, step_id, error):
        """Abort a step (even one not seen yet: it starts aborted)."""
        with self._lock:
            self._remember_aborted(step_id, error)
            step = self._steps.pop(step_id, None)
        if step is not None:
            step.abort(error)

    def active_steps(self):
        """Ids of the steps held now (tests check nothing leaks)."""
        with self._lock:
            return sorted(self._steps)

    # ---------------------------------------------------------------- tensors by reference
    def put_ref(self, value, prefix="ref"):
        """Hold ``value`` for one pull; returns its key."""
        key = f"{prefix}/{next(self._ref_ids)}"
        now = time.monotonic()
        with self._lock:
            self._refs[key] = (value, now)
            stale = [k for k, (_, t) in self._refs.items() if now - t > REF_TTL_SECONDS]
            for k in stale:
                del self._refs[k]
        return key

    def store_ref(self, key, value):
        """Hold ``value`` under a caller-chosen key (an upload); uploads nobody took are dropped after a while."""
        now = time.monotonic()
        with self._lock:
            self._refs[key] = (value, now)
            for k in [k for k, (_, t) in self._refs.items() if now - t > REF_TTL_SECONDS]:
                del self._refs[k]
            self._ref_arrived.notify_all()

    def take_ref(self, key, timeout=0.0):
        """The value held under ``key``, removed; waits up to ``timeout`` s for it (an upload still on its
        way); None if there is none."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while key not in self._refs:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._ref_arrived.wait(remaining)
            return self._refs.pop(key)[0]
