"""A whole cluster on this machine: resmgr and N node agents as background processes.

`yarnflow local up` starts them under ``config.local_cluster_dir()`` and writes ``cluster.json`` (resmgr
address, secret file, pids, log paths) so clients find them; `yarnflow local down` stops them and their
containers. The process helpers here are also the machinery of the test fixture and the benchmarks.
"""

import dataclasses
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import psutil

from yarnflow import auth, config
from yarnflow.errors import YarnflowError

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
RESMGR_LINE = re.compile(r"resmgr listening on (\S+:\d+)")
NODEAGENT_LINE = re.compile(r"nodeagent (\S+:\d+) registered with")
START_TIMEOUT_S = 20.0
STOP_GRACE_S = 5.0
LOCAL_PORT_BASE = 21000
LOCAL_PORTS_PER_NODE = 1000


@dataclasses.dataclass
class Daemon:
    """A daemon we started: its process, log file and the address it announced."""

    name: str
    proc: subprocess.Popen | None
    pid: int
    log: pathlib.Path
    address: str = ""

    def alive(self):
        """True while the process runs (a zombie counts as gone)."""
        if self.proc is not None:
            return self.proc.poll() is None
        return pid_alive(self.pid)


def pid_alive(pid):
    """True when ``pid`` names a live, non-zombie process."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def daemon_env(extra=None):
    """The environment daemons run with: ours, the repo on PYTHONPATH, unbuffered output."""
    env = dict(os.environ)
    paths = [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def spawn(name, args, log, env=None):
    """Start ``python -m args...`` in its own session with stdout+stderr appended to ``log``."""
    log = pathlib.Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", *args], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=REPO_ROOT, env=daemon_env(env),
                                start_new_session=True)
    return Daemon(name, proc, proc.pid, log)


def wait_for_line(daemon, pattern, timeout=START_TIMEOUT_S, offset=0):
    """Poll ``daemon``'s log (from byte ``offset``) for ``pattern``; return its first group.

    Raises a clear error with the log's tail when the daemon dies or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        text = _read_from(daemon.log, offset)
        match = pattern.search(text)
        if match:
            return match.group(1)
        if not daemon.alive():
            raise YarnflowError(f"{daemon.name} exited before it was ready; its log ({daemon.log}) "
                                f"ends with: {log_tail(daemon.log, offset)}")
        if time.monotonic() > deadline:
            raise YarnflowError(f"{daemon.name} was not ready within {timeout:g} s; its log "
                                f"({daemon.log}) ends with: {log_tail(daemon.log, offset)}")
        time.sleep(0.05)


def _read_from(path, offset):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def log_tail(path, offset=0, lines=5):
    """The last ``lines`` lines of a log, joined by `` | `` for a one-line message."""
    tail = [line for line in _read_from(path, offset).splitlines() if line.strip()][-lines:]
    return " | ".join(tail) or "(nothing)"


def start_resmgr(data_dir, log, port=0, host="127.0.0.1", node_expiry=None, extra_args=(), env=None):
    """Start resmgr on ``data_dir`` and wait until it listens; returns the Daemon with its address."""
    args = ["bin.resmgr", "--host", host, "--port", str(port), "--data-dir", str(data_dir)]
    if node_expiry is not None:
        args += ["--node-expiry", str(node_expiry)]
    offset = pathlib.Path(log).stat().st_size if pathlib.Path(log).exists() else 0
    daemon = spawn("resmgr", [*args, *extra_args], log, env)
    try:
        daemon.address = wait_for_line(daemon, RESMGR_LINE, offset=offset)
    except YarnflowError:
        stop([daemon])
        raise
    return daemon


def start_nodeagent(name, resmgr, work_dir, log, secret_file, vcores=None, memory=None, gpus=None,
                    port_range=None, heartbeat_interval=None, host="127.0.0.1", env=None):
    """Start a node agent and wait until it registered; returns the Daemon with its node id."""
    args = ["bin.nodeagent", "--resmgr", resmgr, "--work-dir", str(work_dir), "--host", host,
            "--port", "0", "--secret-file", str(secret_file)]
    for flag, value in (("--vcores", vcores), ("--memory", memory), ("--gpus", gpus),
                        ("--heartbeat-interval", heartbeat_interval)):
        if value is not None:
            args += [flag, str(value)]
    if port_range is not None:
        args += ["--port-range", f"{port_range[0]}-{port_range[1]}"]
    offset = pathlib.Path(log).stat().st_size if pathlib.Path(log).exists() else 0
    daemon = spawn(name, args, log, env)
    try:
        daemon.address = wait_for_line(daemon, NODEAGENT_LINE, offset=offset)
    except YarnflowError:
        stop([daemon])
        raise
    return daemon


def descendants(pids):
    """Every live descendant of ``pids`` (containers keep their parent even in their own session)."""
    found = []
    for pid in pids:
        try:
            found += psutil.Process(pid).children(recursive=True)
        except psutil.Error:
            pass
    return found


def container_processes(root):
    """Live container processes of the node agents under ``root``, even orphaned ones.

    A container runs in ``<work dir>/apps/<app>/<container>/``; only those directories count, so that
    a shell that merely sits in the cluster's directory is never touched."""
    apps_dirs = [str(p.resolve()) + os.sep for p in pathlib.Path(root).glob("*/apps")]
    found = []
    if not apps_dirs:
        return found
    for proc in psutil.process_iter():
        try:
            cwd = proc.cwd() + os.sep
        except psutil.Error:
            continue
        if any(cwd.startswith(d) for d in apps_dirs) and proc.pid != os.getpid():
            found.append(proc)
    return found


def terminate(procs, grace=STOP_GRACE_S):
    """SIGTERM ``procs`` (psutil.Process), SIGKILL whoever is left after ``grace`` seconds."""
    procs = [p for p in procs if p.is_running()]
    for proc in procs:
        try:
            proc.send_signal(signal.SIGTERM)
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace)


def stop(daemons, grace=STOP_GRACE_S):
    """Stop ``daemons`` (node agents first, they stop their containers) and reap them."""
    procs = []
    for daemon in daemons:
        try:
            procs.append(psutil.Process(daemon.pid))
        except psutil.Error:
            pass
    leftovers = descendants([d.pid for d in daemons])
    terminate(procs, grace)
    terminate([p for p in leftovers if p.is_running()], grace)
    for daemon in daemons:
        if daemon.proc is not None:
            try:
                daemon.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass


# ---------------------------------------------------------------- `yarnflow local up / down`

def _info_path(home):
    return pathlib.Path(home) / "cluster.json"


def _running_info(home):
    path = _info_path(home)
    if not path.exists():
        return None
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return info if pid_alive(info.get("processes", {}).get("resmgr", {}).get("pid", -1)) else None


def up(nodes=2, vcores=None, memory=None, home=None, node_expiry=None, heartbeat_interval=None,
       port_base=LOCAL_PORT_BASE):
    """Start a local cluster (unless one is up) and return (info, started_now)."""
    if nodes < 1:
        raise YarnflowError(f"--nodes must be >= 1, got {nodes}")
    if vcores is not None and vcores < 1:
        raise YarnflowError(f"--vcores must be >= 1, got {vcores}")
    if not 1024 <= port_base <= 65535 - nodes * LOCAL_PORTS_PER_NODE:
        raise YarnflowError(f"--port-base must leave room for {nodes} x {LOCAL_PORTS_PER_NODE} task ports "
                            f"between 1024 and 65535, got {port_base}")
    home = pathlib.Path(home or config.local_cluster_dir())
    running = _running_info(home)
    if running:
        return running, False
    _stop_stale(home)
    data_dir = home / "resmgr"
    # a stale address from an earlier run must not be mistaken for this one
    (data_dir / "resmgr.addr").unlink(missing_ok=True)
    started = []
    try:
        resmgr = start_resmgr(data_dir, home / "logs" / "resmgr.log", node_expiry=node_expiry)
        started.append(resmgr)
        secret_file = data_dir / auth.SECRET_FILE_NAME
        for i in range(1, nodes + 1):
            base = port_base + (i - 1) * LOCAL_PORTS_PER_NODE
            started.append(start_nodeagent(
                f"node{i}", resmgr.address, home / f"node{i}", home / "logs" / f"node{i}.log",
                secret_file, vcores=vcores, memory=memory, port_range=(base, base + LOCAL_PORTS_PER_NODE),
                heartbeat_interval=heartbeat_interval))
    except BaseException:
        stop(list(reversed(started)))
        raise
    info = {"resmgr": resmgr.address, "secret_file": str(secret_file), "dir": str(home),
            "processes": {d.name: {"pid": d.pid, "log": str(d.log), "address": d.address}
                          for d in started}}
    tmp = _info_path(home).with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2) + "\n")
    os.replace(tmp, _info_path(home))
    return info, True


def _stop_stale(home):
    """Stop whatever an earlier, half-dead local cluster left behind."""
    path = _info_path(home)
    if path.exists():
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            info = {}
        _stop_info(info, home)
        path.unlink(missing_ok=True)


def _stop_info(info, home):
    """Stop the processes of ``info`` and every container under ``home``; returns how many were alive."""
    daemons = [Daemon(name, None, p["pid"], pathlib.Path(p.get("log", "")))
               for name, p in info.get("processes", {}).items()
               if pid_alive(p.get("pid", -1)) and _is_ours(p["pid"])]
    # node agents first so that they stop their containers; resmgr last
    daemons.sort(key=lambda d: d.name == "resmgr")
    stop(daemons)
    terminate(container_processes(home))
    return len(daemons)


def _is_ours(pid):
    """Guard against a recycled pid: only stop a python running one of our daemons."""
    try:
        cmdline = " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return False
    return "bin.resmgr" in cmdline or "bin.nodeagent" in cmdline


def down(home=None):
    """Stop the local cluster and its containers; returns how many daemons were running."""
    home = pathlib.Path(home or config.local_cluster_dir())
    path = _info_path(home)
    if not path.exists():
        return 0
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        info = {}
    count = _stop_info(info, home)
    path.unlink(missing_ok=True)
    return count

