"""Container processes: env, exit codes, stderr tails, memory limit, stopping a whole process group."""

import json
import os
import queue
import signal
import socket
import sys
import time

import psutil
import pytest

from nodeagent import launcher as L
from protos import common_pb2, nodeagent_pb2
from tests.polling import wait_until as _wait_for


def _launch(cid, command, memory_mb=0, port=0, env=None, gpus=()):
    return nodeagent_pb2.ContainerLaunch(
        container_id=cid, app_id="app_1_0001", command=command, env=env or {}, port=port,
        resource=common_pb2.Resource(vcores=2, memory_mb=memory_mb), gpu_indices=list(gpus))


@pytest.fixture
def exits():
    return queue.Queue()


@pytest.fixture
def launcher(exits):
    la = L.Launcher(on_exit=lambda *a: exits.put(a), grace_s=1.0, memory_check_s=0.2)
    yield la
    la.stop_all(timeout=5.0)


def _start(launcher, tmp_path, launch):
    work, logs = tmp_path / "work" / launch.container_id, tmp_path / "logs" / launch.container_id
    work.mkdir(parents=True)
    started = []
    pid = launcher.start(launch, work, logs, on_started=started.append)
    assert started == [pid]
    return pid, work, logs


def test_env_contract_and_python_placeholder(tmp_path, launcher, exits, monkeypatch):
    monkeypatch.setenv("YARNFLOW_SECRET", "must-not-leak")
    monkeypatch.setenv("PYTHONPATH", "/some/where")
    script = "import json, os, sys; print(json.dumps({'env': dict(os.environ), 'cwd': os.getcwd(), 'exe': sys.executable}))"
    launch = _launch("c_env", ["{python}", "-c", script], env={"MINE": "1", "CUDA_VISIBLE_DEVICES": "9"},
                     gpus=(0, 2))
    _, work, logs = _start(launcher, tmp_path, launch)
    cid, code, diag = exits.get(timeout=10)
    assert (cid, code, diag) == ("c_env", 0, "exited with code 0")
    seen = json.loads((logs / "stdout").read_text())
    env = seen["env"]
    assert seen["cwd"] == str(work) and seen["exe"] == sys.executable
    assert env["MINE"] == "1" and env["CUDA_VISIBLE_DEVICES"] == "0,2"
    assert env["YARNFLOW_APP_ID"] == "app_1_0001" and env["YARNFLOW_CONTAINER_ID"] == "c_env"
    assert env["YARNFLOW_WORK_DIR"] == str(work) and "YARNFLOW_PORT" not in env
    assert env["OMP_NUM_THREADS"] == "2" and env["PYTHONUNBUFFERED"] == "1"
    assert env["PYTHONPATH"].split(os.pathsep) == ["/some/where", L.REPO_ROOT]
    assert "YARNFLOW_SECRET" not in env


def test_failure_reports_exit_code_and_stderr_tail(tmp_path, launcher, exits):
    script = "import sys\nfor i in range(50): print('line', i, file=sys.stderr)\nsys.exit(3)"
    _start(launcher, tmp_path, _launch("c_fail", ["{python}", "-c", script]))
    cid, code, diag = exits.get(timeout=10)
    assert code == 3 and diag.startswith("exited with code 3; stderr tail:")
    assert "line 49" in diag and "line 30" in diag and "line 29" not in diag   # last 20 lines


def test_unknown_program_and_taken_port_are_clear_errors(tmp_path, launcher):
    with pytest.raises(L.LaunchError, match="cannot run 'no-such-program-xyz'"):
        _start(launcher, tmp_path, _launch("c_noprog", ["no-such-program-xyz"]))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(L.LaunchError, match=f"port {port} reserved .* cannot be bound"):
            _start(launcher, tmp_path, _launch("c_port", ["{python}", "-c", "pass"], port=port))


CHILD_TREE = """
import os, subprocess, sys, time
grandchild = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('gc up', flush=True); time.sleep(600)"
child = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {grandchild!r}]); time.sleep(600)"
subprocess.Popen([sys.executable, "-c", child])
print("tree up", flush=True)
time.sleep(600)
"""


def test_stop_kills_the_whole_group_including_a_grandchild_ignoring_sigterm(tmp_path, launcher, exits):
    pid, _, logs = _start(launcher, tmp_path, _launch("c_tree", ["{python}", "-c", CHILD_TREE]))
    _wait_for(lambda: "gc up" in (logs / "stdout").read_text(), what="the grandchild to start")
    tree = [psutil.Process(pid)] + psutil.Process(pid).children(recursive=True)
    assert len(tree) == 3 and all(os.getpgid(p.pid) == pid for p in tree)
    assert launcher.stop("c_tree")
    cid, code, diag = exits.get(timeout=10)
    assert cid == "c_tree" and code == -signal.SIGTERM and diag.startswith("stopped by request")

    def gone():
        return all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in tree)
    _wait_for(gone, timeout=8.0, what="every process of the group to end")   # grandchild needs SIGKILL
    assert not L.group_alive(pid)


def test_memory_limit_kills_the_container(tmp_path, launcher, exits):
    script = "import time, sys\nprint('allocating', file=sys.stderr, flush=True)\nblob = b'x' * (200 << 20)\ntime.sleep(60)"
    _start(launcher, tmp_path, _launch("c_mem", ["{python}", "-c", script], memory_mb=64))
    cid, code, diag = exits.get(timeout=20)
    assert cid == "c_mem" and code < 0
    assert "more than its limit of 64 MB" in diag and "allocating" in diag


def test_stderr_tail_limits_bytes(tmp_path):
    path = tmp_path / "stderr"
    path.write_bytes(b"a" * 5000 + b"\nlast line\n")
    tail = L.stderr_tail(path)
    assert tail.endswith("last line") and len(tail) <= L.TAIL_BYTES
    assert L.stderr_tail(tmp_path / "missing") == ""
