"""The in-process session backend: GraphDef -> ``engine.passes.optimize`` -> ``engine.executor.Executor``."""

import collections
import threading

from engine import passes
from engine.errors import CancelledError
from engine.executor import Executor
from engine.resource_mgr import ResourceMgr
from tasklayer.session import SessionBackend, register_session_target

LOCAL_DEVICE = "/job:localhost/replica:0/task:0/device:CPU:0"


class LocalBackend(SessionBackend):
    """Runs a session's graphs in this process, one optimized Executor per run signature (cached).

    The executors share the session's state: its resources (variables, queues) and its kernels' per-node state,
    so a random op draws one sequence over the whole session whatever the runs fetch with it, as in TF.
    ``last_stats`` holds the last run's executor stats (``nodes_executed``), which tests count. A blocking op
    (a queue's dequeue, an accumulator's take) gives up with DeadlineExceededError after ``run``'s
    ``options.timeout_in_ms``, else the config's ``operation_timeout_in_ms`` (0 or unset: no deadline), and with
    CancelledError when the session is closed meanwhile (from another thread).
    """

    def __init__(self, config=None, max_cached=64):
        self._config = config
        self._timeout = _option(config, "operation_timeout_in_ms") / 1000 or None
        self._executors = collections.OrderedDict()
        self._max_cached = max_cached
        self._lock = threading.Lock()
        # Per-session state of stateful ops (variables and their slots, queues), kept across runs.
        self.resources = ResourceMgr()
        # Per-node kernel state (random generators), kept across runs and shared by every executor: node names
        # are stable as the graph grows, and an executor evicted from the cache must not restart a sequence.
        self.node_state = {}
        self._running = set()  # the cancel events of the runs in progress
        self._closed = False
        self.last_stats = None

    def executor_for(self, graph, fetch_names, feed_names, target_names):
        """The cached Executor for this graph version and run signature (built on first use)."""
        key = (id(graph), graph.version, tuple(fetch_names), frozenset(feed_names), tuple(target_names))
        with self._lock:
            ex = self._executors.get(key)
            if ex is not None:
                self._executors.move_to_end(key)
                return ex
        graph_def = passes.optimize(graph.cached_graph_def(), list(fetch_names), list(target_names),
                                    list(feed_names))
        ex = Executor(graph_def, device=LOCAL_DEVICE, resources=self.resources, node_state=self.node_state)
        with self._lock:
            self._executors[key] = ex
            while len(self._executors) > self._max_cached:
                self._executors.popitem(last=False)
        return ex

    def run(self, graph, fetch_names, feeds, target_names, options=None):
        """Run the fetches and targets of ``graph``; the fetched values as ndarrays."""
        ex = self.executor_for(graph, fetch_names, feeds.keys(), target_names)
        fetches, targets = list(fetch_names), list(target_names)
        timeout = _option(options, "timeout_in_ms") / 1000 or self._timeout
        # A run that may wait (a blocking op, or a deadline) can be cancelled: when the session closes, or when it
        # fails, its other blocked ops (still waiting on the pool) stop too, taking nothing more from a queue. A
        # serial run, which cannot wait, skips the per-op check.
        cancel = None
        if timeout is not None or ex.plan_for(fetches, feeds.keys(), targets).parallel:
            cancel = threading.Event()
        with self._lock:
            if self._closed:
                raise CancelledError(None, None, "Session has been closed.")
            if cancel is not None:
                self._running.add(cancel)
        try:
            out = ex.run(feeds=feeds, fetches=fetches, targets=targets, cancel=cancel, timeout=timeout)
        except BaseException:
            if cancel is not None:
                cancel.set()
            raise
        finally:
            if cancel is not None:
                with self._lock:
                    self._running.discard(cancel)
        self.last_stats = ex.last_stats
        return out

    def close(self):
        """Cancel the runs in progress (their blocked ops fail with CancelledError) and drop the executors."""
        with self._lock:
            self._closed = True
            running, self._running = self._running, set()
            self._executors.clear()
        for cancel in running:
            cancel.set()


def _option(obj, name):
    """Field ``name`` of a dict or an options/config object; 0 when absent."""
    if obj is None:
        return 0
    value = obj.get(name, 0) if isinstance(obj, dict) else getattr(obj, name, 0)
    return value or 0


register_session_target("", lambda target, config: LocalBackend(config))  # tf.Session(): runs in this process
