"""The in-process session backend: GraphDef -> ``engine.passes.optimize`` -> ``engine.executor.Executor``."""

import collections
import threading

from engine import passes
from engine.executor import Executor
from engine.resource_mgr import ResourceMgr
from tasklayer.session import SessionBackend

LOCAL_DEVICE = "/job:localhost/replica:0/task:0/device:CPU:0"


class LocalBackend(SessionBackend):
    """Runs a session's graphs in this process, one optimized Executor per run signature (cached).

    ``last_stats`` holds the last run's executor stats (``nodes_executed``), which tests count. A blocking op
    (a queue's dequeue, an accumulator's take) gives up with DeadlineExceededError after ``run``'s
    ``options.timeout_in_ms``, else the config's ``operation_timeout_in_ms`` (0 or unset: no deadline).
    """

    def __init__(self, config=None, max_cached=64):
        self._config = config
        self._timeout = _option(config, "operation_timeout_in_ms") / 1000 or None
        self._executors = collections.OrderedDict()
        self._max_cached = max_cached
        self._lock = threading.Lock()
        # Per-session state of stateful ops (variables and their slots), kept across runs.
        self.resources = ResourceMgr()
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
        ex = Executor(graph_def, device=LOCAL_DEVICE, resources=self.resources)
        with self._lock:
            self._executors[key] = ex
            while len(self._executors) > self._max_cached:
                self._executors.popitem(last=False)
        return ex

    def run(self, graph, fetch_names, feeds, target_names, options=None):
        """Run the fetches and targets of ``graph``; the fetched values as ndarrays."""
        ex = self.executor_for(graph, fetch_names, feeds.keys(), target_names)
        timeout = _option(options, "timeout_in_ms") / 1000 or self._timeout
        # With a deadline, a failed step also stops its other blocked ops (still waiting on the pool).
        cancel = threading.Event() if timeout is not None else None
        try:
            out = ex.run(feeds=feeds, fetches=list(fetch_names), targets=list(target_names), cancel=cancel,
                         timeout=timeout)
        except BaseException:
            if cancel is not None:
                cancel.set()
            raise
        self.last_stats = ex.last_stats
        return out

    def close(self):
        """Drop the cached executors."""
        with self._lock:
            self._executors.clear()


def _option(obj, name):
    """Field ``name`` of a dict or an options/config object; 0 when absent."""
    if obj is None:
        return 0
    value = obj.get(name, 0) if isinstance(obj, dict) else getattr(obj, name, 0)
    return value or 0
