"""Starting, watching and stopping container processes: one process group per container.

The launcher owns the process I/O only; it reports each exit through ``on_exit(container_id, exit_code,
diagnostics)`` and leaves the container's state to ``nodeagent.containers``.
"""

import logging
import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time

import psutil

log = logging.getLogger(__name__)

REPO_ROOT = str(pathlib.Path(__file__).resolve().parent.parent)
PYTHON_PLACEHOLDER = "{python}"
STOP_GRACE_S = 3.0
MEMORY_CHECK_S = 1.0
TAIL_BYTES = 2048
TAIL_LINES = 20
# Never handed to a container: the cluster secret would make an app's task a member.
_SECRET_ENV_VARS = ("YARNFLOW_SECRET", "YARNFLOW_SECRET_FILE")


class LaunchError(Exception):
    """A container could not be started (its message is the diagnostics)."""


def resolve_command(command, python=sys.executable):
    """The argv to run: a first element of exactly ``{python}`` becomes ``python``."""
    argv = list(command)
    if argv and argv[0] == PYTHON_PLACEHOLDER:
        argv[0] = python
    return argv


def container_env(launch, work_dir, base_env=None, repo_root=REPO_ROOT):
    """The environment of a container: ``base_env`` (the agent's, minus secrets), the launch's env over
    it, and the contract's variables over both."""
    env = {k: v for k, v in (os.environ if base_env is None else base_env).items()
           if k not in _SECRET_ENV_VARS}
    env.update(launch.env)
    env["YARNFLOW_APP_ID"] = launch.app_id
    env["YARNFLOW_CONTAINER_ID"] = launch.container_id
    env["YARNFLOW_WORK_DIR"] = str(work_dir)
    if launch.port > 0:
        env["YARNFLOW_PORT"] = str(launch.port)
    else:
        env.pop("YARNFLOW_PORT", None)
    env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in launch.gpu_indices)
    env["OMP_NUM_THREADS"] = str(max(launch.resource.vcores, 1))
    env["PYTHONUNBUFFERED"] = "1"
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if repo_root not in paths:
        paths.append(repo_root)
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def check_port_free(port):
    """Raise LaunchError unless ``port`` can be bound on every interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as servers bind (gRPC sets it too): connections of an earlier task lingering in TIME_WAIT on
        # the port do not stop a new listener, while a live listener or bound socket still does
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError as exc:
            raise LaunchError(f"port {port} reserved for the container cannot be bound on this node: "
                              f"{exc.strerror or exc}") from None


def tree_rss_mb(pid):
    """Resident memory (MB) of a process and all its descendants; 0 when it is gone."""
    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total // (1024 * 1024)


def stderr_tail(path, max_bytes=TAIL_BYTES, max_lines=TAIL_LINES):
    """The last lines (at most ``max_lines`` and ``max_bytes``) of a log file, '' when unreadable."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(size - max_bytes, 0))
            data = f.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()
    return "\n".join(lines[-max_lines:])


def group_alive(pgid):
    """True while a process of group ``pgid`` exists that is not a zombie."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    for p in psutil.process_iter(["status"]):
        try:
            if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def describe_exit(exit_code):
    """'exited with code 3' or 'killed by signal SIGKILL'."""
    if exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = str(-exit_code)
        return f"killed by signal {name}"
    return f"exited with code {exit_code}"


class _Process:
    """One launched container process group and what its monitor needs."""

    def __init__(self, container_id, popen, memory_limit_mb, stderr_path):
        self.container_id = container_id
        self.popen = popen
        self.pgid = popen.pid          # start_new_session makes the leader's pid the group id
        self.memory_limit_mb = memory_limit_mb
        self.stderr_path = stderr_path
        self.stop_reason = None        # set when we kill it: a stop or a memory overrun
        self.lock = threading.Lock()
        self.terminator = None
        self.monitor = None


class Launcher:
    """Starts containers as process groups, reaps them, enforces memory limits and stops them."""

    def __init__(self, on_exit, python=sys.executable, repo_root=REPO_ROOT,
                 grace_s=STOP_GRACE_S, memory_check_s=MEMORY_CHECK_S):
        self._on_exit = on_exit
        self._python = python
        self._repo_root = repo_root
        self._grace_s = grace_s
        self._memory_check_s = memory_check_s
        self._procs = {}
        self._lock = threading.Lock()

    def start(self, launch, work_dir, log_dir, on_started=None):
        """Start ``launch`` in ``work_dir`` with stdout/stderr in ``log_dir``; return the pid.

        ``on_started(pid)`` runs before the monitor can report the exit, so a RUNNING state is always
        recorded before COMPLETE. Raises LaunchError with a clear reason when it cannot start."""
        if launch.port > 0:
            check_port_free(launch.port)
        argv = resolve_command(launch.command, self._python)
        env = container_env(launch, work_dir, repo_root=self._repo_root)
        log_dir = pathlib.Path(log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        stderr_path = log_dir / "stderr"
        with open(log_dir / "stdout", "ab") as out, open(stderr_path, "ab") as err:
            try:
                popen = subprocess.Popen(argv, cwd=str(work_dir), env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err, start_new_session=True, close_fds=True)
            except OSError as exc:
                raise LaunchError(f"cannot run {argv[0]!r}: {exc.strerror or exc}") from None
        proc = _Process(launch.container_id, popen, launch.resource.memory_mb, stderr_path)
        with self._lock:
            self._procs[launch.container_id] = proc
        if on_started is not None:
            on_started(popen.pid)
        proc.monitor = threading.Thread(target=self._monitor, args=(proc,), daemon=True,
                                        name=f"monitor-{launch.container_id}")
        proc.monitor.start()
        return popen.pid

    def stop(self, container_id, reason="stopped by request"):
        """SIGTERM the container's process group now and SIGKILL it after the grace; False when not running."""
        with self._lock:
            proc = self._procs.get(container_id)
        if proc is None:
            return False
        self._terminate(proc, reason)
        return True

    def stop_all(self, timeout=None):
        """Stop every running container and wait until their process groups are gone."""
        with self._lock:
            procs = list(self._procs.values())
        for proc in procs:
            self._terminate(proc, "stopped: the node agent is shutting down")
        deadline = time.monotonic() + (self._grace_s + 3.0 if timeout is None else timeout)
        for proc in procs:
            for thread in (proc.terminator, proc.monitor):
                if thread is not None:
                    thread.join(max(deadline - time.monotonic(), 0))

    def running(self):
        """Ids of containers whose process has not been reaped yet."""
        with self._lock:
            return list(self._procs)

    def _terminate(self, proc, reason):
        """Start (once) the SIGTERM, grace, SIGKILL sequence on a process group."""
        with proc.lock:
            if proc.stop_reason is None:
                proc.stop_reason = reason
            if proc.terminator is not None:
                return
            proc.terminator = threading.Thread(target=self._kill_group, args=(proc,), daemon=True,
                                               name=f"stop-{proc.container_id}")
        proc.terminator.start()

    def _kill_group(self, proc):
        _signal_group(proc.pgid, signal.SIGTERM)
        if not self._wait_group_gone(proc, self._grace_s):
            log.info("container %s did not end within %.0f s of SIGTERM: SIGKILL", proc.container_id,
                     self._grace_s)
            _signal_group(proc.pgid, signal.SIGKILL)
            if not self._wait_group_gone(proc, 5.0):
                log.warning("process group %d of container %s survives SIGKILL", proc.pgid,
                            proc.container_id)

    def _wait_group_gone(self, proc, timeout):
        deadline = time.monotonic() + timeout
        while True:
            proc.popen.poll()   # reap the leader, or its zombie keeps the group alive
            if not group_alive(proc.pgid):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def _monitor(self, proc):
        """Wait for the leader to exit, checking the memory of its tree meanwhile; then report it."""
        while True:
            try:
                exit_code = proc.popen.wait(timeout=self._memory_check_s)
                break
            except subprocess.TimeoutExpired:
                pass
            limit = proc.memory_limit_mb
            if limit > 0 and proc.stop_reason is None:
                rss = tree_rss_mb(proc.pgid)
                if rss > limit:
                    log.info("container %s uses %d MB > its %d MB: killing it", proc.container_id, rss, limit)
                    self._terminate(proc, f"killed: its process tree used {rss} MB of memory, "
                                          f"more than its limit of {limit} MB")
        diagnostics = self._diagnostics(proc, exit_code)
        with self._lock:
            self._procs.pop(proc.container_id, None)
        try:
            self._on_exit(proc.container_id, exit_code, diagnostics)
        except Exception:
            log.exception("reporting the exit of container %s failed", proc.container_id)
        # Processes the leader left behind in its group belong to the ended container too.
        if proc.stop_reason is None and group_alive(proc.pgid):
            self._terminate(proc, "leftover processes of an ended container")

    def _diagnostics(self, proc, exit_code):
        what = describe_exit(exit_code)
        if proc.stop_reason is not None:
            text = f"{proc.stop_reason} ({what})"
            if proc.stop_reason.startswith("killed: its process tree"):
                tail = stderr_tail(proc.stderr_path)
                text += f"; stderr tail:\n{tail}" if tail else ""
            return text
        if exit_code == 0:
            return what
        tail = stderr_tail(proc.stderr_path)
        return f"{what}; stderr tail:\n{tail}" if tail else f"{what}; stderr was empty"
