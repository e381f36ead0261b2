"""The client library behind `submit` and `yarnflow`: stage, submit, report, wait, list, kill, read logs.

>>> spec = build_spec("app.py", workers=4, ps=1)          # doctest: +SKIP
>>> with Client() as client:                               # doctest: +SKIP
...     app_id = client.submit("app.py", spec)
...     report = client.wait(app_id, on_change=print)
"""

import dataclasses
import os
import pathlib
import time

import grpc

from protos import common_pb2, nodeagent_pb2, nodeagent_pb2_grpc, resmgr_pb2, resmgr_pb2_grpc
from yarnflow import auth, config, resources, rpc
from yarnflow.errors import YarnflowError

CHUNK_BYTES = 1024 * 1024
CONNECT_TIMEOUT_S = 4.0  # the whole command must give up within 5 s
RPC_TIMEOUT_S = 30.0
SKIPPED_DIRS = {"__pycache__", ".git", ".hg", ".svn", ".pytest_cache", ".mypy_cache"}
TERMINAL_STATES = (common_pb2.APP_FINISHED, common_pb2.APP_FAILED, common_pb2.APP_KILLED)
DEFAULT_MEMORY = "1g"
DEFAULT_VCORES = 1


# ---------------------------------------------------------------- names a person reads

def app_state_name(state):
    """``APP_RUNNING`` -> ``RUNNING``."""
    return common_pb2.AppState.Name(state).removeprefix("APP_")


def final_status_name(status):
    """``SUCCEEDED``, ``FAILED``, ``KILLED`` or ``UNDEFINED``."""
    name = common_pb2.FinalStatus.Name(status)
    return "UNDEFINED" if name == "FINAL_STATUS_UNSPECIFIED" else name


def node_state_name(state):
    """``NODE_LOST`` -> ``LOST``."""
    return common_pb2.NodeState.Name(state).removeprefix("NODE_")


def container_state_name(state):
    """``CONTAINER_RUNNING`` -> ``RUNNING``."""
    return common_pb2.ContainerState.Name(state).removeprefix("CONTAINER_")


def is_terminal(report):
    """True when the app of ``report`` will change no more."""
    return report.state in TERMINAL_STATES


def succeeded(report):
    """True when the app ended SUCCEEDED."""
    return report.state == common_pb2.APP_FINISHED and report.final_status == common_pb2.SUCCEEDED


def task_name(container):
    """``worker:2`` for a task container, ``appmaster`` for the AM's own."""
    if container.role == "appmaster":
        return "appmaster"
    return f"{container.role}:{container.task_index}"


# ---------------------------------------------------------------- validation and the spec

@dataclasses.dataclass(frozen=True)
class RoleAsk:
    """What one role asks for: how many tasks and each one's resources (as the user typed them)."""

    count: int = 0
    memory: str | int = DEFAULT_MEMORY
    vcores: int = DEFAULT_VCORES
    gpus: int = 0


def _role_spec(name, ask):
    if ask.count < 0:
        count_flag = "--ps" if name == "ps" else f"--{name}s"
        raise YarnflowError(f"{count_flag} must be >= 0, got {ask.count}")
    if ask.vcores < 0:
        raise YarnflowError(f"--{name}-vcores must be >= 0, got {ask.vcores}")
    if ask.gpus < 0:
        raise YarnflowError(f"--{name}-gpus must be >= 0, got {ask.gpus}")
    try:
        memory_mb = resources.parse_memory_mb(ask.memory)
    except YarnflowError as exc:
        raise YarnflowError(f"--{name}-memory: {exc}") from None
    resource = common_pb2.Resource(vcores=ask.vcores, memory_mb=memory_mb, gpus=ask.gpus)
    return resmgr_pb2.RoleSpec(name=name, count=ask.count, resource=resource)


def resolve_entry(path, entry=None):
    """Check the app's files exist: return (root to stage, entry relative to it) or raise a clear error."""
    path = pathlib.Path(path)
    if not path.exists():
        raise YarnflowError(f"no such script or directory: {path}")
    if path.is_file():
        if entry and entry != path.name:
            raise YarnflowError(f"--entry is for a directory; {path} is a file")
        return path, path.name
    if not path.is_dir():
        raise YarnflowError(f"{path} is neither a file nor a directory")
    if not entry:
        raise YarnflowError(f"{path} is a directory: name the script to run in it with --entry")
    entry_path = (path / entry).resolve()
    if not entry_path.is_relative_to(path.resolve()):
        raise YarnflowError(f"--entry {entry} is outside {path}")
    if not entry_path.is_file():
        raise YarnflowError(f"--entry {entry} does not exist in {path}")
    return path, entry_path.relative_to(path.resolve()).as_posix()


def build_spec(entry, *, workers=1, ps=0, worker=None, ps_ask=None, args=(), name=None, queue="default",
               max_task_attempts=2, env=None):
    """An ``ApplicationSpec`` from what the user typed; raises a clear error on a bad count or size."""
    worker = dataclasses.replace(worker or RoleAsk(), count=workers)
    ps_ask = dataclasses.replace(ps_ask or RoleAsk(), count=ps)
    if max_task_attempts < 1:
        raise YarnflowError(f"--max-task-attempts must be >= 1, got {max_task_attempts}")
    roles = [_role_spec("ps", ps_ask), _role_spec("worker", worker)]
    if sum(r.count for r in roles) == 0:
        raise YarnflowError("the app has no tasks: ask for --workers 1 or more")
    return resmgr_pb2.ApplicationSpec(
        name=name or pathlib.PurePath(entry).stem, queue=queue or "default", entry=str(entry),
        args=[str(a) for a in args], roles=[r for r in roles if r.count > 0],
        max_task_attempts=max_task_attempts, env=dict(env or {}))


def iter_file_chunks(root):
    """The ``FileChunk`` stream that uploads ``root`` (a file, or a directory's tree)."""
    root = pathlib.Path(root)
    if root.is_file():
        files = [(root, root.name)]
    else:
        files = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
            for filename in sorted(filenames):
                full = pathlib.Path(dirpath, filename)
                if full.is_file() and not filename.endswith(".pyc"):
                    files.append((full, full.relative_to(root).as_posix()))
    for full, rel in files:
        executable = os.access(full, os.X_OK)
        with open(full, "rb") as f:
            data = f.read(CHUNK_BYTES)
            first = True
            while True:
                following = f.read(CHUNK_BYTES)
                yield common_pb2.FileChunk(path=rel, data=data, executable=executable and first,
                                           last=not following)
                if not following:
                    break
                data, first = following, False


# ---------------------------------------------------------------- the client

class Client:
    """A connection to resmgr as a cluster member (and to node agents, for logs)."""

    def __init__(self, resmgr=None, secret_file=None, connect_timeout=CONNECT_TIMEOUT_S, secret=None):
        self.address = config.resolve_resmgr(resmgr)
        if secret is None:
            secret = auth.read_secret(secret_file, fallback_file=config.local_secret_file())
        self._metadata = auth.member_metadata(secret)
        self._channel = rpc.channel(self.address, self._metadata)
        try:
            rpc.wait_ready(self._channel, self.address, "resmgr", timeout=connect_timeout)
        except YarnflowError:
            self._channel.close()
            raise
        self._apps = resmgr_pb2_grpc.ApplicationClientStub(self._channel)

    def close(self):
        """Close the connection."""
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, request, timeout=RPC_TIMEOUT_S):
        try:
            return method(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise YarnflowError(rpc.describe_rpc_error(exc, "resmgr", self.address)) from None

    # -- submit
    def stage(self, root):
        """Upload a file or directory to resmgr's staging store; returns the staging id."""
        unreadable = []

        def chunks():
            # gRPC reads this in its own thread: keep a read error to report it instead of its RpcError
            try:
                yield from iter_file_chunks(root)
            except OSError as exc:
                unreadable.append(exc)
                raise

        try:
            reply = self._apps.StageFiles(chunks(), timeout=RPC_TIMEOUT_S * 4)
        except grpc.RpcError as exc:
            if unreadable:
                raise YarnflowError(f"cannot read the app's files: {unreadable[0]}") from None
            raise YarnflowError(rpc.describe_rpc_error(exc, "resmgr", self.address)) from None
        return reply.staging_id

    def submit(self, path, spec):
        """Stage the files at ``path`` and submit ``spec``; returns the app id once resmgr recorded it."""
        staging_id = self.stage(path)
        request = resmgr_pb2.SubmitApplicationRequest(staging_id=staging_id, spec=spec)
        return self._call(self._apps.SubmitApplication, request).app_id

    # -- inspect
    def report(self, app_id):
        """The ``ApplicationReport`` of ``app_id`` (unknown ids get resmgr's clear error)."""
        return self._call(self._apps.GetApplicationReport,
                          resmgr_pb2.GetApplicationReportRequest(app_id=app_id))

    def apps(self, states=()):
        """Reports of every app (or of those in ``states``), as resmgr lists them."""
        return list(self._call(self._apps.ListApplications,
                               resmgr_pb2.ListApplicationsRequest(states=states)).apps)

    def nodes(self):
        """``NodeReport`` of every node resmgr knows."""
        return list(self._call(self._apps.ListNodes, resmgr_pb2.ListNodesRequest()).nodes)

    def kill(self, app_id, reason="killed by the user"):
        """Kill ``app_id``; False when it had already finished."""
        return self._call(self._apps.KillApplication,
                          resmgr_pb2.KillApplicationRequest(app_id=app_id, reason=reason)).killed

    def wait(self, app_id, on_change=None, timeout=None, poll_s=0.2):
        """Poll until ``app_id`` ends; ``on_change(report)`` hears each new state or task count.

        Returns the final report; raises a clear error when ``timeout`` (seconds) passes first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last = None
        while True:
            report = self.report(app_id)
            seen = (report.state, report.am_attempt, report.tasks_running, report.tasks_total,
                    report.diagnostics if not is_terminal(report) else "")
            if seen != last and on_change is not None:
                on_change(report)
            last = seen
            if is_terminal(report):
                return report
            if deadline is not None and time.monotonic() > deadline:
                raise YarnflowError(f"{app_id} is still {app_state_name(report.state)} "
                                    f"after {timeout:g} s")
            time.sleep(poll_s)

    # -- logs
    def find_container(self, app_id, task=None, report=None):
        """The ``ContainerReport`` of ``task`` (``worker:2``, ``ps:0``, ``appmaster``, or a container id);
        the latest attempt wins. Raises a clear error naming the tasks there are."""
        report = report or self.report(app_id)
        wanted = task or "appmaster"
        matches = [c for c in report.containers if wanted in (task_name(c), c.container_id)]
        if not matches:
            known = ", ".join(sorted({task_name(c) for c in report.containers})) or "none yet"
            raise YarnflowError(f"{app_id} has no task {wanted!r} (tasks: {known})")
        return max(matches, key=lambda c: (c.attempt, c.container_id))

    def wait_for_container(self, app_id, task=None, poll_s=0.2):
        """Like ``find_container``, but while the app runs wait for the task to get its container."""
        while True:
            report = self.report(app_id)
            try:
                return self.find_container(app_id, task, report)
            except YarnflowError:
                if is_terminal(report):
                    raise
            time.sleep(poll_s)

    def read_log(self, app_id, container, stream="stdout", follow=False, offset=0, poll_s=0.2):
        """Yield the bytes of a container's log from its node agent; with ``follow``, until it ends (waiting
        for the log of a container that was allocated but has not started yet)."""
        if stream not in ("stdout", "stderr"):
            raise YarnflowError(f"unknown log stream {stream!r}: expected stdout or stderr")
        request = nodeagent_pb2.ReadLogRequest(container_id=container.container_id, app_id=app_id,
                                               stream=stream, offset=offset, follow=follow)
        while True:
            try:
                yield from self._stream_log(request, container)
                return
            except _NoLogYet as exc:  # nothing was yielded: safe to ask again
                if not follow or self._container_ended(app_id, container.container_id):
                    raise YarnflowError(str(exc)) from None
            time.sleep(poll_s)

    def _stream_log(self, request, container):
        """One ReadLog call's bytes; _NoLogYet when the node has no such log (yet)."""
        with rpc.channel(container.node_id, self._metadata) as ch:
            stub = nodeagent_pb2_grpc.ContainerManagerStub(ch)
            try:
                for chunk in stub.ReadLog(request, timeout=None if request.follow else RPC_TIMEOUT_S):
                    if chunk.data:
                        yield chunk.data
                    if chunk.eof:
                        return
            except grpc.RpcError as exc:
                what = f"node agent of {task_name(container)}"
                message = rpc.describe_rpc_error(exc, what, container.node_id)
                if exc.code() == grpc.StatusCode.NOT_FOUND:
                    raise _NoLogYet(message) from None
                raise YarnflowError(message) from None

    def _container_ended(self, app_id, container_id):
        """Whether the app ended, or resmgr knows the container completed (so its log will never appear)."""
        report = self.report(app_id)
        if is_terminal(report):
            return True
        return any(c.container_id == container_id and c.status.state == common_pb2.CONTAINER_COMPLETE
                   for c in report.containers)

    def log_text(self, app_id, task=None, stream="stdout"):
        """The whole current log of one task as text (``task`` as in ``find_container``)."""
        container = self.find_container(app_id, task)
        return b"".join(self.read_log(app_id, container, stream)).decode(errors="replace")


class _NoLogYet(YarnflowError):
    """The node agent has no such log: the container has not started yet, or never will."""


def format_report_line(report):
    """One line for a state change: ``app_..: RUNNING (5/5 tasks running)``."""
    line = f"{report.app_id}: {app_state_name(report.state)}"
    if report.state == common_pb2.APP_FINISHED:
        line += f" {final_status_name(report.final_status)}"
    if report.tasks_total and not is_terminal(report):
        line += f" ({report.tasks_running}/{report.tasks_total} tasks running)"
    if report.am_attempt > 1 and not is_terminal(report):
        line += f" [appmaster attempt {report.am_attempt}]"
    if report.diagnostics and not is_terminal(report):
        line += f": {report.diagnostics}"
    return line
