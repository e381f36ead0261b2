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

    ``last_stats`` holds the last run's executor stats (``nodes_executed``), which tests count.
    """

    def __init__(self, config=None, max_cached=64):
        self._config = config
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
        out = ex.run(feeds=feeds, fetches=list(fetch_names), targets=list(target_names))
        self.last_stats = ex.last_stats
        return out

    def close(self):
        """Drop the cached executors."""
        with self._lock:
            self._executors.clear()
