"""One step of a plan, run: every partition at once (remote ones by their peer's transport, one local one inline
on the caller's thread), within the step's deadline, watched for remote tasks that stop answering, and failed
with the most telling error of its partitions (not the aborts and cancellations that error caused elsewhere)."""

import concurrent.futures
import queue
import time

from engine import tensor_codec
from engine.errors import AbortedError, CancelledError, DeadlineExceededError, OpError, UnavailableError
from protos import tasklayer_pb2 as pb
from tasklayer.distributed import feed_routing
from tasklayer.distributed.tensor_stream import PUSH_BYTES, as_contiguous

# After the first failed partition, how long to wait for a more telling error from the others.
ROOT_CAUSE_GRACE = 0.5
_LOST = -1  # in place of a partition's index: a remote task stopped answering (see StepRun._lost)


class StepRun:
    """Runs the partitions ``runs`` (``plan_builder.PartRun``) of step ``step_id`` once, with ``feeds``
    (``feed_routing.ROUTED`` for those the client pushed itself) and ``wire`` (lossy transfer, or None)."""

    def __init__(self, runtime, runs, step_id, feeds, timeout, wire=None):
        self.worker = runtime.worker
        self.peers = runtime.peers
        self._liveness = runtime.liveness
        self._pool = runtime.pool
        self.runs = runs
        self.step_id = step_id
        self.feeds = feeds
        self.timeout = timeout
        self.wire = wire
        self.deadline = time.monotonic() + timeout
        self._done = queue.SimpleQueue()  # (partition index or _LOST, future)

    def run(self):
        """The fetched arrays of every partition, in ``runs`` order; raises the step's root cause."""
        runs = self.runs
        if len(runs) == 1 and runs[0].local:  # all local: no threads, no RPC
            return [self._run_local(runs[0])]
        remote = {run.task_key for run in runs if not run.local}
        if not remote:
            return self._run_all()
        watch = self._liveness.watch(remote, self._lost)
        try:
            return self._run_all()
        finally:
            self._liveness.unwatch(watch)

    def _run_local(self, run):
        part = run.part
        return self.worker.run_graph(run.handle, self.step_id, self._local_feeds(run), part.fetches, part.targets,
                                     self.timeout, self.wire)

    def _run_all(self):
        runs, calls = self.runs, {}
        local = [i for i, run in enumerate(runs) if run.local]
        # One local partition runs inline on this (the RPC handler's) thread once the remote ones are sent:
        # no thread hop. A remote failure then aborts the step here at once, so the inline run cannot hang.
        inline = local[0] if len(local) == 1 else None
        for i, run in enumerate(runs):
            if i == inline:
                continue
            if run.local:
                fut = self._pool.submit(self._run_local, run)
            else:
                fut = calls[i] = self._start_remote(run)
                if inline is not None:
                    fut.add_done_callback(self._abort_here_if_failed)
            fut.add_done_callback(lambda f, i=i: self._done.put((i, f)))
        if inline is not None:
            fut = concurrent.futures.Future()
            try:
                fut.set_result(self._run_local(runs[inline]))
            except Exception as e:  # noqa: BLE001 - handled with the other partitions' errors below
                fut.set_exception(e)
            self._done.put((inline, fut))
        return self._collect(calls)

    def _start_remote(self, run):
        """Send a remote partition's large feeds, then its RunGraph; the future of its response."""
        part = run.part
        try:
            feed = [self._feed_out(run, name, self.feeds[name]) for name in part.feeds]
            transport = self.peers.transport(run.task_key)
        except OpError as e:
            self._abort(e)
            raise
        request = pb.RunGraphRequest(graph_handle=run.handle, step_id=self.step_id, fetch=part.fetches,
                                     target=part.targets, timeout_ms=int(self.timeout * 1000), feed=feed,
                                     transfer_dtype=self.wire or "")
        return transport.run_graph(request, self.timeout)

    def _collect(self, calls):
        """Wait for every partition (until the deadline); their outputs, or the root cause of their failure."""
        runs = self.runs
        outputs = [None] * len(runs)
        pending = set(range(len(runs)))
        errors = []
        while pending:
            remaining = self.deadline - time.monotonic()
            if errors:
                remaining = min(remaining, errors[0][1] + ROOT_CAUSE_GRACE - time.monotonic())
            try:
                i, fut = self._done.get(timeout=max(remaining, 0.0))
            except queue.Empty:
                if errors:
                    break
                slow = ", ".join(f"{runs[i].task} ({runs[i].address})" for i in sorted(pending))
                errors.append((DeadlineExceededError(None, None, f"step did not finish within {self.timeout:g} s; "
                                                                 f"still running on {slow}"), 0.0))
                break
            if i == _LOST:  # the root cause, whatever failed since
                errors.insert(0, (fut.exception(), time.monotonic()))
                break
            pending.discard(i)
            try:
                outputs[i] = self._outputs(runs[i], fut)
            except OpError as e:
                errors.append((e, time.monotonic()))
                self._abort(e)
                if not isinstance(e, (AbortedError, CancelledError)):
                    break
        if errors:
            for fut in calls.values():
                fut.cancel()
            self._abort(errors[0][0])
            raise root_cause([e for e, _ in errors])
        return outputs

    def _outputs(self, run, fut):
        """A finished partition's fetched arrays (large remote ones pulled from its task)."""
        if run.local:
            return fut.result()
        response = fut.result()
        transport = self.peers.transport(run.task_key)
        return [transport.recv_tensor(0, nt.ref_key, self.timeout) if nt.ref_key
                else tensor_codec.from_proto(nt.tensor) for nt in response.tensor]

    def _abort_here_if_failed(self, fut):
        """Abort the step in this process when a remote partition failed (unblocks the inline local one)."""
        if not fut.cancelled() and fut.exception() is not None:
            self.worker.abort_step(self.step_id, fut.exception())

    def _local_feeds(self, run):
        """A local partition's feeds; those the client pushed here itself are taken from the step's table."""
        out = {}
        for name in run.part.feeds:
            value = self.feeds[name]
            if value is feed_routing.ROUTED:
                value = self.worker.take_pushed(self.step_id, feed_routing.feed_key(run.handle, name), self.timeout)
            out[name] = value
        return out

    def _feed_out(self, run, name, value):
        """A feed of a remote partition: inline when small, else pushed to its task before the RunGraph (by the
        client itself when it is routed)."""
        key = feed_routing.feed_key(run.handle, name)  # two partitions on one task may both be fed the same tensor
        if value is feed_routing.ROUTED:
            return pb.NamedTensor(name=name, ref_key=key, pushed=True)
        arr = as_contiguous(value)
        if arr.nbytes <= PUSH_BYTES:
            return pb.NamedTensor(name=name, tensor=tensor_codec.to_proto(arr))
        self.worker.push(run.task_key, self.step_id, key, arr, crossing=False,  # feeds go at full precision
                         timeout=self.deadline - time.monotonic())
        return pb.NamedTensor(name=name, ref_key=key, pushed=True)

    def _lost(self, task_key, cause):
        """A remote task of this step stopped answering (the liveness monitor says): abort the step, wake what
        waits on it."""
        run = next(r for r in self.runs if r.task_key == task_key)
        error = UnavailableError(None, None, f"{run.task} ({run.address}) stopped answering: no reply to a status "
                                             f"probe within {self._liveness.probe_timeout:g} s; the step was "
                                             f"cancelled ({type(cause).__name__})")
        fut = concurrent.futures.Future()
        fut.set_exception(error)
        self._done.put((_LOST, fut))  # first: the failures that aborting and interrupting cause must not come before
        self._abort(error)
        self.peers.interrupt(task_key)  # a push or call blocked on the lost task fails now

    def _abort(self, error):
        """Cancel the step everywhere: pending receives fail, executors stop."""
        self.worker.abort_step(self.step_id, error)
        for run in self.runs:
            if not run.local:
                self.peers.abort_step(run.task_key, self.step_id, error)


def root_cause(errors):
    """The most telling error: one that is not a consequence (abort/cancel) of another."""
    for e in errors:
        if not isinstance(e, (AbortedError, CancelledError)):
            return e
    return errors[0]
