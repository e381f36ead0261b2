"""The master side of a task, the runtime around the step planner: a step's plan (pruned, placed, optimized and
partitioned once per signature by ``step_planner``) is registered on its workers once, then run as one RunGraph
per partition, all in parallel (``step_run``), feeds going straight to the partitions that consume them; what the
planner retires is unregistered. Peers are reached through ``peers``; tasks that stop answering are noticed by
``liveness``. Closing a session cancels its steps in progress (their blocked ops fail with CancelledError) and
drops its state on every task it ran on."""

import threading

from engine import graph_util
from engine.daemon_pool import DaemonPool
from engine.errors import CancelledError, NotFoundError, OpError
from tasklayer.distributed import feed_routing, liveness
from tasklayer.distributed.step_planner import StepPlanner, handles_by_task
from tasklayer.distributed.step_run import StepRun
from tasklayer.distributed.worker import DEFAULT_STEP_TIMEOUT


class Master:
    """Serves sessions on one task; ops without a device run on ``default_device`` (this task's CPU)."""

    def __init__(self, cluster, job, index, worker, peers, optimize=True):
        self.worker = worker
        self.peers = peers
        self.task_key = (job, int(index))
        self.default_device = f"/job:{job}/replica:0/task:{index}/device:CPU:0"
        self.planner = StepPlanner(cluster, self.task_key, optimize)
        self._lock = threading.Lock()  # the planner's
        self._registering = {}  # plan -> the lock of the one thread that registers it
        self._steps = {}  # session handle -> ids of its steps in progress (cancelled when it closes)
        # Daemon threads: a step waiting on a queue must not keep a finished program from exiting.
        self.pool = DaemonPool(32, thread_name_prefix="master")
        # A remote task that stops answering mid-step fails the step in seconds, not at its deadline.
        self.liveness = liveness.LivenessMonitor(self._probe, *liveness.settings())

    @property
    def cluster(self):
        """The cluster the plans are made for."""
        return self.planner.cluster

    @cluster.setter
    def cluster(self, cluster):
        with self._lock:
            self.planner.cluster = cluster

    def close(self):
        """Stop watching steps (the server is stopping)."""
        self.liveness.stop()

    # ---------------------------------------------------------------- sessions
    def create_session(self, graph_def, version, transfer_dtype=None):
        """A new session holding ``graph_def``; its handle. ``transfer_dtype`` ("float16"/"bfloat16") sends the
        float32 tensors its steps push between tasks at that precision."""
        with self._lock:
            return self.planner.create_session(graph_def, version, transfer_dtype)

    def extend_session(self, handle, graph_def, version):
        """Replace the session's graph by a newer version; the older plans are retired (their partitions are
        unregistered once no running step uses them)."""
        with self._lock:
            idle = self.planner.extend_session(handle, graph_def, version)
        self._cleanup(idle)

    def close_session(self, handle):
        """Forget a session: cancel its steps in progress, unregister its partitions and drop its state on the
        tasks it ran on."""
        with self._lock:
            tasks = self.planner.tasks_of(handle)
            idle = self.planner.close_session(handle)
            steps = self._steps.pop(handle, set())
        error = CancelledError(None, None, f"session {handle} was closed while its step ran")
        for step_id in sorted(steps):
            self._abort_on(tasks, step_id, error)
        self._cleanup(idle)
        for task_key in tasks:
            if task_key == self.task_key:
                self.worker.close_session(handle)
            else:
                try:
                    self.peers.rpc(task_key).close_session(handle)
                except OpError:
                    pass  # a task no longer in the cluster holds nothing any more

    def _abort_on(self, tasks, step_id, error):
        """Abort step ``step_id`` here and on ``tasks`` (without waiting)."""
        self.worker.abort_step(step_id, error)
        for task_key in tasks:
            if task_key != self.task_key:
                self.peers.abort_step(task_key, step_id, error)

    # ---------------------------------------------------------------- plans
    def _acquire(self, handle, version, fetches, feed_names, targets, step_id=0):
        """The step's plan, taken until ``_release`` (a concurrent extension cannot unregister it meanwhile);
        ``step_id``, when given, is the session's until then (closing the session cancels it)."""
        with self._lock:
            session = self.planner.session(handle)
            plan, idle = self.planner.acquire(handle, version, fetches, feed_names, targets)
            if step_id:
                self._steps.setdefault(handle, set()).add(step_id)
        self._cleanup(idle)
        return session, plan

    def _release(self, plan, handle=None, step_id=0):
        with self._lock:
            idle = self.planner.release(plan)
            steps = self._steps.get(handle)
            if steps is not None:
                steps.discard(step_id)
                if not steps:
                    del self._steps[handle]
        self._cleanup(idle)

    def _cleanup(self, plans):
        """Unregister the partitions of ``plans`` on their tasks (without waiting)."""
        for task_key, handles in handles_by_task(plans).items():
            if task_key == self.task_key:
                self.worker.cleanup_graph(handles)
            else:
                try:
                    self.peers.rpc(task_key).cleanup_graph(handles)
                except OpError:
                    pass  # a task no longer in the cluster holds nothing any more

    def _register(self, plan, timeout):
        """Register the plan's partitions on their workers, in parallel, once."""
        if plan.registered:
            return
        with self._lock:
            lock = self._registering.setdefault(plan, threading.Lock())
        try:
            with lock:
                if plan.registered:
                    return
                futures = []
                for run in plan.runs:
                    part = run.part
                    if run.local:
                        self.worker.register_graph(run.handle, part.graph_def, part.device)
                    else:
                        futures.append(self.pool.submit(self._register_remote, run, min(timeout, 60.0)))
                for f in futures:
                    f.result()
                plan.registered = True
        finally:
            with self._lock:
                self._registering.pop(plan, None)

    def _register_remote(self, run, timeout):
        self.peers.transport(run.task_key).register_graph(run.handle, run.part.graph_def, run.part.device, timeout)

    # ---------------------------------------------------------------- steps
    def run_step(self, handle, version, feeds, fetches, targets, timeout=None, step_id=0, routes_id=0):
        """Run one step; the fetched arrays in fetch order. Errors name the node or the task that failed.

        A feed whose value is ``feed_routing.ROUTED`` was pushed by the client to its consumers under
        ``step_id``, following the routes ``routes_id`` names (StaleRoutesError if they are not the plan's)."""
        timeout = timeout or DEFAULT_STEP_TIMEOUT
        feeds = {graph_util.tensor_name(k): v for k, v in feeds.items()}
        routed = any(v is feed_routing.ROUTED for v in feeds.values())
        step_id = step_id or feed_routing.new_step_id()
        session, plan = self._acquire(handle, version, list(fetches), feeds, list(targets), step_id)
        try:
            if routed and (plan.routes is None or plan.routes[0] != routes_id):
                raise feed_routing.StaleRoutesError(f"routes {routes_id} are not this step's")
            return self._run_plan(plan, feeds, timeout, session.transfer_dtype, step_id)
        except feed_routing.StaleRoutesError:
            self.abandon_step(step_id)
            raise
        finally:
            self._release(plan, handle, step_id)

    def feed_routes(self, handle, version, fetches, feed_names, targets):
        """``(routes_id, [FeedRoute])``: where a client may push the feeds of this signature itself."""
        _, plan = self._acquire(handle, version, list(fetches), list(map(graph_util.tensor_name, feed_names)),
                                list(targets))
        try:
            if plan.routes is None:
                # A task unreachable now gets no routes: its feeds go through the master.
                channels = {run.task_key: self.peers.channel_address(run.task_key)
                            for run in plan.runs if not run.local}
                plan.routes = (feed_routing.new_step_id(),
                               feed_routing.plan_routes(plan.runs, plan.derived, channels))
            return plan.routes
        finally:
            self._release(plan)

    def abandon_step(self, step_id, error=None):
        """Cancel step ``step_id`` on every task of the cluster with ``error``: a step that never ran (drops
        what a client pushed under it), or one whose client went away mid-step."""
        error = error or CancelledError(None, None, f"step {step_id} was abandoned by its client")
        self.worker.abort_step(step_id, error)
        for job, index, _ in self.cluster.tasks():
            if (job, index) != self.task_key:
                self.peers.abort_step((job, index), step_id, error)

    def _run_plan(self, plan, feeds, timeout, wire, step_id=0):
        for name, (source, kernel, begin, size) in plan.derived.items():
            if feeds[source] is feed_routing.ROUTED:  # the client cut and pushed this slice itself
                feeds[name] = feed_routing.ROUTED
                continue
            try:
                feeds[name] = kernel(feeds[source], begin, size)
            except OpError as e:
                raise type(e)(None, None, e.message, node_name=graph_util.node_name(name), op_type="Slice") from None
        self._register(plan, timeout)
        step_id = step_id or feed_routing.new_step_id()
        try:
            outputs = StepRun(self, plan.runs, step_id, feeds, timeout, wire).run()
        except NotFoundError as e:
            if "is not registered" in e.message:
                plan.registered = False  # a restarted worker: register again next time
            raise
        return [outputs[run][pos] for run, pos in plan.fetch_routes]

    def _probe(self, task_key, timeout):
        """Raise unless ``task_key`` answers a status call within ``timeout`` s (see ``liveness``)."""
        self.peers.rpc(task_key).get_status(timeout=timeout)
