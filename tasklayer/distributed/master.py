"""The master side of a task: sessions hold a GraphDef (one per version); a step is pruned, placed,
optimized and partitioned once per signature, registered on its workers once (cached), then run as one
RunGraph per partition, all in parallel, feeds going straight to the partitions that consume them."""

import concurrent.futures
import dataclasses
import itertools
import queue
import random
import threading
import time

import grpc

from engine import device_spec, graph_util, passes, tensor_codec
from engine.errors import (AbortedError, CancelledError, DeadlineExceededError, FailedPreconditionError,
                           InternalError, NotFoundError, OpError, UnavailableError)
from engine.passes.partition import partition
from engine.passes.placement import place
from protos import tasklayer_pb2 as pb
from tasklayer.distributed import errors as derrors
from tasklayer.distributed import feed_routing, liveness
from tasklayer.distributed.channel import CallError, ChannelError, ChannelTimeout, StaleConnectionError
from tasklayer.distributed.transport import PUSH_BYTES, as_contiguous
from tasklayer.distributed.worker import DEFAULT_STEP_TIMEOUT, task_name

# Plans kept per session (one per distinct fetches/feeds/targets signature).
_PLANS_PER_SESSION = 64
# After the first failed partition, how long to wait for a more telling error from the others.
_ROOT_CAUSE_GRACE = 0.5


@dataclasses.dataclass
class _PartRun:
    """A partition bound to the worker that runs it."""

    part: object
    handle: str
    task: str
    address: str
    client: object = None  # RemoteWorker; None = this process's worker


@dataclasses.dataclass
class _Plan:
    """A step's partitions and where each fetch comes from."""

    runs: list
    fetch_routes: list  # per fetch: (run index, position in that partition's fetches)
    derived: dict = dataclasses.field(default_factory=dict)  # tensor -> (fed tensor, Slice kernel, begin, size)
    registered: bool = False
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    users: int = 0  # steps running it now (under the session's lock)
    retired: bool = False  # dropped from the cache: its partitions go once no step uses them
    routes: tuple = None  # (routes_id, [FeedRoute]) once a client asked (see feed_routing)


class _Session:
    """A client's graph (latest version) and its cached step plans."""

    def __init__(self, handle, graph_def, version, transfer_dtype=None):
        self.handle = handle
        self.transfer_dtype = transfer_dtype  # lossy transfer between tasks: "float16", "bfloat16" or None
        self.graph_def = graph_def
        self.version = version
        self.plans = {}
        self.plan_ids = itertools.count(1)
        self.lock = threading.Lock()


class Master:
    """Serves sessions on one task; ops without a device run on ``default_device`` (this task's CPU)."""

    def __init__(self, cluster, job, index, worker, optimize=True):
        self.cluster = cluster
        self.worker = worker
        self.task_key = (job, int(index))
        self.default_device = f"/job:{job}/replica:0/task:{index}/device:CPU:0"
        self.optimize = optimize
        self._sessions = {}
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(32, thread_name_prefix="master")
        # A RunGraph on the tensor channel holds a thread for its whole step: its own pool, as large as the gRPC
        # server's, so such calls never queue behind (or starve) local partitions and registrations.
        self._call_pool = concurrent.futures.ThreadPoolExecutor(256, thread_name_prefix="master-call")
        self._session_ids = itertools.count(1)
        # A remote task that stops answering mid-step fails the step in seconds, not at its deadline.
        self._liveness = liveness.LivenessMonitor(self._probe, *liveness.settings())

    def close(self):
        """Stop watching steps (the server is stopping)."""
        self._liveness.stop()

    # ---------------------------------------------------------------- sessions
    def create_session(self, graph_def, version, transfer_dtype=None):
        """A new session holding ``graph_def``; its handle. ``transfer_dtype`` ("float16"/"bfloat16") sends the
        float32 tensors its steps push between tasks at that precision."""
        handle = f"s{random.getrandbits(40):010x}{next(self._session_ids)}"
        with self._lock:
            self._sessions[handle] = _Session(handle, graph_def, version, transfer_dtype)
        return handle

    def extend_session(self, handle, graph_def, version):
        """Replace the session's graph by a newer version; the older plans are retired (their partitions are
        unregistered once no running step uses them)."""
        session = self._session(handle)
        with session.lock:
            if version <= session.version:
                return  # a late extension: the session already holds this graph or a larger one
            idle = _retire(session.plans.values())
            session.graph_def, session.version, session.plans = graph_def, version, {}
        self._cleanup(idle)

    def close_session(self, handle):
        """Forget a session and unregister its partitions."""
        with self._lock:
            session = self._sessions.pop(handle, None)
        if session is not None:
            self._cleanup(list(session.plans.values()))

    def _session(self, handle):
        session = self._sessions.get(handle)
        if session is None:
            raise FailedPreconditionError(None, None, f"session {handle!r} is unknown to the master on "
                                                      f"{task_name(*self.task_key)} (closed, or the server restarted)")
        return session

    def _cleanup(self, plans):
        by_client = {}
        for plan in plans:
            for run in plan.runs:
                by_client.setdefault(run.client, []).append(run.handle)
        for client, handles in by_client.items():
            if client is None:
                self.worker.cleanup_graph(handles)
            else:
                client.cleanup_graph(handles)

    # ---------------------------------------------------------------- planning
    def _plan(self, session, version, fetches, feeds, targets):
        if version > session.version:
            raise FailedPreconditionError(None, None, f"graph version {version} was never sent to the master "
                                                      f"(it holds version {session.version})")
        # An older version is a prefix of the graph held (graphs only grow): plan it on the newest.
        key = (session.version, tuple(fetches), tuple(sorted(feeds)), tuple(targets))
        idle = []
        with session.lock:  # the plan is taken (users + 1) here: a concurrent extension cannot unregister it
            plan = session.plans.get(key)
            if plan is None:
                plan = self._build_plan(session, fetches, feeds, targets)
                if len(session.plans) >= _PLANS_PER_SESSION:
                    idle = _retire([session.plans.pop(next(iter(session.plans)))])
                session.plans[key] = plan
            plan.users += 1
        self._cleanup(idle)
        return plan

    def _release(self, session, plan):
        """A step is done with ``plan``; a retired plan's partitions are unregistered with its last step."""
        with session.lock:
            plan.users -= 1
            idle = plan.retired and plan.users == 0
        if idle:
            self._cleanup([plan])

    def _build_plan(self, session, fetches, feeds, targets):
        """Prune, place, optimize and partition the session's graph for one signature."""
        tasks = {job: self.cluster.task_indices(job) for job in self.cluster.jobs}
        graph = passes.prune(session.graph_def, fetches, targets, feeds)
        graph = place(graph, tasks, self.default_device)
        derived = _feed_slices(graph, feeds, fetches, targets, self.task_key)
        if derived:  # those slices are fed instead: only the slice crosses, not the whole feed
            feeds = set(feeds) | set(derived)
            graph = passes.prune(graph, fetches, targets, feeds)
        if self.optimize:
            graph = place(passes.optimize(graph, fetches, targets, feeds), tasks, self.default_device)
        parts = partition(graph, fetches, targets, feeds)
        plan_id = next(session.plan_ids)
        runs, index = [], {}
        for device in sorted(parts):
            part = parts[device]
            job, task = part.task
            local = (job, task) == self.task_key
            address = self.cluster.task_address(job, task)
            client = None if local else self.worker.peer((job, task))
            handle = f"{session.handle}/{plan_id}/{device}"
            index[device] = len(runs)
            runs.append(_PartRun(part, handle, task_name(job, task), address, client))
        routes = []
        nodes = graph_util.node_map(graph)
        for f in fetches:
            t = graph_util.tensor_name(f)
            device = nodes[graph_util.node_name(t)].device
            run = index[device]
            routes.append((run, runs[run].part.fetches.index(t)))
        return _Plan(runs, routes, derived)

    def _register(self, plan, timeout):
        """Register the plan's partitions on their workers, in parallel, once."""
        if plan.registered:
            return
        with plan.lock:
            if plan.registered:
                return
            futures = []
            for run in plan.runs:
                if run.client is None:
                    self.worker.register_graph(run.handle, run.part.graph_def, run.part.device)
                else:
                    futures.append(self._pool.submit(run.client.register_graph, run.handle, run.part.graph_def,
                                                     run.part.device, min(timeout, 60.0)))
            for f in futures:
                f.result()
            plan.registered = True

    # ---------------------------------------------------------------- steps
    def run_step(self, handle, version, feeds, fetches, targets, timeout=None, step_id=0, routes_id=0):
        """Run one step; the fetched arrays in fetch order. Errors name the node or the task that failed.

        A feed whose value is ``feed_routing.ROUTED`` was pushed by the client to its consumers under
        ``step_id``, following the routes ``routes_id`` names (StaleRoutesError if they are not the plan's)."""
        timeout = timeout or DEFAULT_STEP_TIMEOUT
        session = self._session(handle)
        feeds = {graph_util.tensor_name(k): v for k, v in feeds.items()}
        plan = self._plan(session, version, list(fetches), feeds, list(targets))
        try:
            if any(v is feed_routing.ROUTED for v in feeds.values()) and (
                    plan.routes is None or plan.routes[0] != routes_id):
                raise feed_routing.StaleRoutesError(f"routes {routes_id} are not this step's")
            return self._run_plan(plan, feeds, timeout, session.transfer_dtype, step_id)
        except feed_routing.StaleRoutesError:
            self.abandon_step(step_id)
            raise
        finally:
            self._release(session, plan)

    def feed_routes(self, handle, version, fetches, feed_names, targets):
        """``(routes_id, [FeedRoute])``: where a client may push the feeds of this signature itself."""
        session = self._session(handle)
        plan = self._plan(session, version, list(fetches), dict.fromkeys(map(graph_util.tensor_name, feed_names)),
                          list(targets))
        try:
            if plan.routes is None:
                def channel_of(run):
                    try:
                        client = self.worker.channel(run.part.task)
                    except OpError:
                        return None  # unreachable now: its feeds go through the master
                    return None if client is None else client.address
                plan.routes = (feed_routing.new_step_id(), feed_routing.plan_routes(plan.runs, plan.derived,
                                                                                    channel_of))
            return plan.routes
        finally:
            self._release(session, plan)

    def abandon_step(self, step_id, error=None):
        """Cancel step ``step_id`` on every task of the cluster with ``error``: a step that never ran (drops
        what a client pushed under it), or one whose client went away mid-step."""
        error = error or CancelledError(None, None, f"step {step_id} was abandoned by its client")
        self.worker.abort_step(step_id, error)
        for job, index, _ in self.cluster.tasks():
            if (job, index) != self.task_key:
                try:
                    self.worker.peer((job, index)).abort_step(step_id, error)
                except OpError:
                    pass  # a task no longer in the cluster holds nothing of it

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
            outputs = self._run_partitions(plan, step_id, feeds, timeout, wire)
        except NotFoundError as e:
            if "is not registered" in e.message:
                plan.registered = False  # a restarted worker: register again next time
            raise
        return [outputs[run][pos] for run, pos in plan.fetch_routes]

    def _run_partitions(self, plan, step_id, feeds, timeout, wire=None):
        runs = plan.runs
        if len(runs) == 1 and runs[0].client is None:  # all local: no threads, no RPC
            part = runs[0].part
            return [self.worker.run_graph(runs[0].handle, step_id, self._local_feeds(runs[0], step_id, feeds, timeout),
                                          part.fetches, part.targets, timeout, wire)]
        deadline = time.monotonic() + timeout
        done = queue.SimpleQueue()
        remote = {run.part.task for run in runs if run.client is not None}
        if not remote:
            return self._run_watched(runs, step_id, feeds, timeout, wire, deadline, done)
        watch = self._liveness.watch(remote, lambda task, cause: self._lost(runs, step_id, task, cause, done))
        try:
            return self._run_watched(runs, step_id, feeds, timeout, wire, deadline, done)
        finally:
            self._liveness.unwatch(watch)

    def _run_watched(self, runs, step_id, feeds, timeout, wire, deadline, done):
        calls = {}
        local = [i for i, run in enumerate(runs) if run.client is None]
        # One local partition runs inline on this (the RPC handler's) thread once the remote ones are sent:
        # no thread hop. A remote failure then aborts the step here at once, so the inline run cannot hang.
        inline = local[0] if len(local) == 1 else None
        for i, run in enumerate(runs):
            part = run.part
            if i == inline:
                continue
            if run.client is None:
                fut = self._pool.submit(lambda run=run, part=part: self.worker.run_graph(
                    run.handle, step_id, self._local_feeds(run, step_id, feeds, timeout), part.fetches, part.targets,
                    timeout, wire))
            else:
                try:
                    feed = [self._feed_out(run, step_id, n, feeds[n], deadline) for n in part.feeds]
                    channel = self.worker.channel(run.part.task)
                except OpError as e:
                    self._abort(runs, step_id, e)
                    raise
                req = pb.RunGraphRequest(graph_handle=run.handle, step_id=step_id, fetch=part.fetches,
                                         target=part.targets, timeout_ms=int(timeout * 1000), feed=feed,
                                         transfer_dtype=wire or "")
                if channel is not None:
                    fut = self._call_pool.submit(self._run_graph_on_channel, run, channel, req, timeout)
                else:
                    fut = run.client.run_graph_call.future(req, timeout=timeout + 1.0)
                calls[i] = fut
                if inline is not None:
                    fut.add_done_callback(lambda f, run=run: self._abort_if_failed(run, f, step_id))
            fut.add_done_callback(lambda f, i=i: done.put((i, f)))
        if inline is not None:
            part = runs[inline].part
            fut = concurrent.futures.Future()
            try:
                fut.set_result(self.worker.run_graph(runs[inline].handle, step_id,
                                                     self._local_feeds(runs[inline], step_id, feeds, timeout),
                                                     part.fetches, part.targets, timeout, wire))
            except Exception as e:  # noqa: BLE001 - handled with the other partitions' errors below
                fut.set_exception(e)
            done.put((inline, fut))
        outputs = [None] * len(runs)
        pending = set(range(len(runs)))
        errors = []
        while pending:
            remaining = deadline - time.monotonic()
            if errors:
                remaining = min(remaining, errors[0][1] + _ROOT_CAUSE_GRACE - time.monotonic())
            try:
                i, fut = done.get(timeout=max(remaining, 0.0))
            except queue.Empty:
                if errors:
                    break
                slow = ", ".join(f"{runs[i].task} ({runs[i].address})" for i in sorted(pending))
                errors.append((DeadlineExceededError(None, None, f"step did not finish within {timeout:g} s; "
                                                                 f"still running on {slow}"), 0.0))
                break
            if i < 0:  # a remote task stopped answering (see _lost): the root cause, whatever failed since
                errors.insert(0, (fut.exception(), time.monotonic()))
                break
            pending.discard(i)
            try:
                outputs[i] = self._result(runs[i], fut, timeout)
            except OpError as e:
                errors.append((e, time.monotonic()))
                self._abort(runs, step_id, e)
                if not isinstance(e, (AbortedError, CancelledError)):
                    break
        if errors:
            for fut in calls.values():
                fut.cancel()
            self._abort(runs, step_id, errors[0][0])
            raise _root_cause([e for e, _ in errors])
        return outputs

    @staticmethod
    def _run_graph_on_channel(run, channel, request, timeout):
        """RunGraph as a call on the worker's tensor channel; errors name the task."""
        try:
            return pb.RunGraphResponse.FromString(channel.call("RunGraph", request.SerializeToString(),
                                                               timeout + 1.0))
        except StaleConnectionError:  # nothing was sent: the channel is gone, gRPC may still reach the task
            try:
                return run.client.run_graph_call(request, timeout=timeout + 1.0)
            except grpc.RpcError as e:
                raise run.client.error(e) from None
        except CallError as e:
            raise InternalError(None, None, f"RunGraph on {run.task} ({run.address}) failed: {e}") from None
        except ChannelTimeout as e:
            raise DeadlineExceededError(None, None, f"{run.task} ({run.address}) did not answer before the "
                                                    f"deadline: {e}") from None
        except ChannelError as e:
            raise UnavailableError(None, None, f"{run.task} ({run.address}) is unavailable: {e}") from None

    def _abort_if_failed(self, run, fut, step_id):
        """Abort the step on this process when a remote partition failed (unblocks an inline local one)."""
        if fut.cancelled():
            return
        exc = fut.exception()
        if isinstance(exc, OpError):
            err = exc
        else:
            err = run.client.error(exc) if exc is not None else derrors.from_proto(fut.result().error)
        if err is not None:
            self.worker.abort_step(step_id, err)

    def _result(self, run, fut, timeout):
        if run.client is None:
            return fut.result()
        try:
            resp = fut.result()
        except grpc.RpcError as e:
            raise run.client.error(e) from None
        err = derrors.from_proto(resp.error)
        if err is not None:
            raise err
        return [run.client.recv_tensor(0, nt.ref_key, timeout) if nt.ref_key else tensor_codec.from_proto(nt.tensor)
                for nt in resp.tensor]

    def _local_feeds(self, run, step_id, feeds, timeout):
        """A local partition's feeds; those the client pushed here itself are taken from the step's table."""
        out = {}
        for name in run.part.feeds:
            value = feeds[name]
            if value is feed_routing.ROUTED:
                value = self.worker.take_pushed(step_id, feed_routing.feed_key(run.handle, name), timeout)
            out[name] = value
        return out

    def _feed_out(self, run, step_id, name, value, deadline):
        """A feed of a remote partition: inline when small, else pushed to its task before the RunGraph (by the
        client itself when it is routed)."""
        key = feed_routing.feed_key(run.handle, name)  # two partitions on one task may both be fed the same tensor
        if value is feed_routing.ROUTED:
            return pb.NamedTensor(name=name, ref_key=key, pushed=True)
        arr = as_contiguous(value)
        if arr.nbytes <= PUSH_BYTES:
            return pb.NamedTensor(name=name, tensor=tensor_codec.to_proto(arr))
        self.worker.push(run.part.task, step_id, key, arr, crossing=False,  # feeds go at full precision
                         timeout=deadline - time.monotonic())
        return pb.NamedTensor(name=name, ref_key=key, pushed=True)

    def _probe(self, task_key, timeout):
        """Raise unless ``task_key`` answers a status call within ``timeout`` s (see ``liveness``)."""
        self.worker.peer(task_key).get_status(timeout=timeout)

    def _lost(self, runs, step_id, task_key, cause, done):
        """A remote task of a running step stopped answering: abort the step and wake whatever waits on it."""
        run = next(r for r in runs if r.part.task == task_key)
        error = UnavailableError(None, None, f"{run.task} ({run.address}) stopped answering: no reply to a status "
                                             f"probe within {self._liveness.probe_timeout:g} s; the step was "
                                             f"cancelled ({type(cause).__name__})")
        fut = concurrent.futures.Future()
        fut.set_exception(error)
        done.put((-1, fut))  # first: the failures that aborting and interrupting cause must not come before it
        self._abort(runs, step_id, error)
        self.worker.interrupt_channel(task_key)  # a push or call blocked on the lost task fails now

    def _abort(self, runs, step_id, error):
        """Cancel the step everywhere: pending receives fail, executors stop."""
        self.worker.abort_step(step_id, error)
        for run in runs:
            if run.client is not None:
                run.client.abort_step(step_id, error)


def _feed_slices(graph, feeds, fetches, targets, own_task):
    """Slices of fed tensors with constant bounds, placed on another task: the master cuts them itself, so
    only the slice crosses (e.g. the seed's map/reduce mean sends each task its half, not all of ``x``).

    Returns ``{slice tensor: (fed tensor, Slice kernel, begin, size)}``.
    """
    from engine.kernels.numpy_shapes import slice_
    nodes = graph_util.node_map(graph)
    keep = {graph_util.node_name(f) for f in fetches} | {graph_util.node_name(t) for t in targets}
    out = {}
    for node in graph.node:
        if node.op != "Slice" or node.name in keep or len(node.input) != 3:
            continue
        if device_spec.DeviceSpec.parse(node.device).task_key == own_task:
            continue
        source = graph_util.tensor_name(node.input[0]) if not node.input[0].startswith("^") else None
        bounds = [nodes.get(graph_util.node_name(i)) for i in node.input[1:]]
        if source not in feeds or any(b is None or b.op != "Const" or graph_util.tensor_name(i) in feeds
                                      for b, i in zip(bounds, node.input[1:])):
            continue
        begin, size = (tensor_codec.from_proto(b.attr["value"].tensor) for b in bounds)
        out[f"{node.name}:0"] = (source, slice_(node, None), begin, size)
    return out


def _retire(plans):
    """Mark ``plans`` retired (under their session's lock); those no step uses, to unregister now."""
    idle = []
    for plan in plans:
        plan.retired = True
        if plan.users == 0:
            idle.append(plan)
    return idle


def _root_cause(errors):
    """The most telling error: one that is not a consequence (abort/cancel) of another."""
    for e in errors:
        if not isinstance(e, (AbortedError, CancelledError)):
            return e
    return errors[0]

