"""The `submit` and `yarnflow` commands: bad input gets one clear line and a non-zero exit, at once;
and (with real daemons) the whole CLI surface on a `yarnflow local up` cluster."""

import json
import os
import pathlib
import random
import socket
import subprocess
import sys
import time

import psutil
import pytest

from bin import submit as submit_cli
from bin import yarnflow as yarnflow_cli
from protos import resmgr_pb2
from yarnflow import client as yc
from yarnflow.errors import YarnflowError

REPO = pathlib.Path(__file__).resolve().parent.parent
HELLO = REPO / "examples" / "hello_app.py"


def run_main(main, argv, capsys):
    """Run a CLI's ``main`` in-process; return (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def run_cli(module, *args, env=None, timeout=60):
    """Run ``python -m module args`` as a user would; return the CompletedProcess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_clear_line(err, *fragments):
    """stderr is one line, no traceback, naming every fragment."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def free_port():
    """A loopback port nobody listens on (just released by us)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- validation, no daemons needed

@pytest.mark.parametrize("argv,fragments", [
    (["missing.py"], ["no such script or directory", "missing.py"]),
    ([str(HELLO), "--worker-memory", "2x"], ["--worker-memory", "malformed memory size", "2x"]),
    ([str(HELLO), "--ps-memory", "lots"], ["--ps-memory", "malformed memory size"]),
    ([str(HELLO), "--workers", "-1"], ["--workers must be >= 0"]),
    ([str(HELLO), "--ps", "-2"], ["--ps must be >= 0"]),
    ([str(HELLO), "--worker-vcores", "-1"], ["--worker-vcores must be >= 0"]),
    ([str(HELLO), "--ps-gpus", "-1"], ["--ps-gpus must be >= 0"]),
    ([str(HELLO), "--workers", "0"], ["no tasks"]),
    ([str(HELLO), "--max-task-attempts", "0"], ["--max-task-attempts must be >= 1"]),
    ([str(HELLO), "--workers", "two"], ["'two' is not a valid integer"]),
    ([str(HELLO), "--bogus"], ["No such option", "--bogus"]),
    ([str(REPO / "examples")], ["is a directory", "--entry"]),
    ([str(REPO / "examples"), "--entry", "nope.py"], ["--entry nope.py does not exist"]),
    ([str(REPO / "examples"), "--entry", "../README.md"], ["outside"]),
    ([str(HELLO), "--resmgr", "nohost"], ["malformed address 'nohost'"]),
])
def test_submit_rejects_bad_input_with_one_line(argv, fragments, capsys, yarnflow_home):
    code, out, err = run_main(submit_cli.main, argv, capsys)
    assert code != 0
    assert out == ""
    assert_one_clear_line(err, *fragments)


def test_submit_without_any_address_says_how_to_give_one(capsys, yarnflow_home):
    code, _, err = run_main(submit_cli.main, [str(HELLO)], capsys)
    assert code == 1
    assert_one_clear_line(err, "no resmgr address", "--resmgr", "YARNFLOW_RESMGR", "yarnflow local up")


def test_resmgr_not_running_is_a_clear_error_within_5s(yarnflow_home):
    started = time.monotonic()
    done = run_cli("bin.submit", HELLO, "--resmgr", f"127.0.0.1:{free_port()}", "--workers", "1",
                   env={"YARNFLOW_HOME": str(yarnflow_home)})
    elapsed = time.monotonic() - started
    assert done.returncode != 0
    assert_one_clear_line(done.stderr, "cannot reach the resmgr", "is it running")
    # the interpreter's own start counts too; the wait itself is bounded at 4 s
    assert elapsed < 5.0 + 1.0, elapsed


def test_yarnflow_commands_reject_bad_input(capsys, yarnflow_home):
    code, _, err = run_main(yarnflow_cli.main, ["status", "app_1_0001", "--resmgr", "host:notaport"], capsys)
    assert code == 1
    assert_one_clear_line(err, "malformed address")
    code, _, err = run_main(yarnflow_cli.main, ["nodes"], capsys)
    assert code == 1
    assert_one_clear_line(err, "no resmgr address")
    code, _, err = run_main(yarnflow_cli.main, ["local", "up", "--nodes", "0"], capsys)
    assert code == 1
    assert_one_clear_line(err, "--nodes must be >= 1")
    code, _, err = run_main(yarnflow_cli.main, ["local", "up", "--port-base", "65000"], capsys)
    assert code == 1
    assert_one_clear_line(err, "--port-base must leave room")
    code, _, err = run_main(yarnflow_cli.main, ["local", "up", "--memory", "8q"], capsys)
    assert code == 1
    assert_one_clear_line(err, "malformed memory size")
    code, out, _ = run_main(yarnflow_cli.main, ["local", "down"], capsys)
    assert code == 0 and "no local cluster is running" in out


def test_args_after_marker_go_to_the_script():
    own, script = submit_cli.split_script_args(["app.py", "--workers", "2", "--args", "--lr", "0.1", "--args"])
    assert own == ["app.py", "--workers", "2"]
    assert script == ["--lr", "0.1", "--args"]
    assert submit_cli.split_script_args(["app.py"]) == (["app.py"], [])


def test_build_spec_carries_what_the_user_typed():
    spec = yc.build_spec("train.py", workers=4, ps=1, args=["--lr", "0.1"], name="t", queue="q",
                         max_task_attempts=3, worker=yc.RoleAsk(memory="2g", vcores=2, gpus=1),
                         ps_ask=yc.RoleAsk(memory="512m"))
    roles = {r.name: r for r in spec.roles}
    assert (roles["worker"].count, roles["worker"].resource.memory_mb, roles["worker"].resource.vcores,
            roles["worker"].resource.gpus) == (4, 2048, 2, 1)
    assert (roles["ps"].count, roles["ps"].resource.memory_mb, roles["ps"].resource.gpus) == (1, 512, 0)
    assert (spec.entry, list(spec.args), spec.name, spec.queue, spec.max_task_attempts) == \
        ("train.py", ["--lr", "0.1"], "t", "q", 3)
    assert [r.name for r in yc.build_spec("a/b.py", workers=2).roles] == ["worker"]
    assert yc.build_spec("a/b.py").name == "b"


def test_resolve_entry_for_a_file_and_a_directory(tmp_path):
    script = tmp_path / "app.py"
    script.write_text("print(1)\n")
    assert yc.resolve_entry(script) == (script, "app.py")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "main.py").write_text("")
    assert yc.resolve_entry(tmp_path, "pkg/main.py") == (tmp_path, "pkg/main.py")
    with pytest.raises(YarnflowError, match="--entry is for a directory"):
        yc.resolve_entry(script, "other.py")


def test_staged_chunks_rebuild_the_tree(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    big = os.urandom(yc.CHUNK_BYTES * 2 + 17)
    (tmp_path / "sub" / "data.bin").write_bytes(big)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(tmp_path / "run.sh", 0o755)
    rebuilt, executable = {}, set()
    chunks = list(yc.iter_file_chunks(tmp_path))
    for chunk in chunks:
        rebuilt.setdefault(chunk.path, bytearray()).extend(chunk.data)
        if chunk.executable:
            executable.add(chunk.path)
    assert set(rebuilt) == {"sub/data.bin", "empty.txt", "run.sh"}
    assert bytes(rebuilt["sub/data.bin"]) == big and rebuilt["empty.txt"] == b""
    assert executable == {"run.sh"}
    assert sum(c.last for c in chunks) == 3
    assert [c.last for c in chunks if c.path == "sub/data.bin"] == [False, False, True]


class _LogsNotThereYet(yc.Client):
    """A client whose node agent has no log for the first ``missing`` calls; resmgr says ``states`` in turn."""

    def __init__(self, missing, states):  # no resmgr: only the log-following logic runs
        self.missing, self.states, self.calls = missing, list(states), 0

    def _stream_log(self, request, container):
        self.calls += 1
        if self.calls <= self.missing:
            raise yc._NoLogYet(f"no stdout log of container {container.container_id} on n1")
        yield b"hello"

    def report(self, app_id):
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return resmgr_pb2.ApplicationReport(app_id=app_id, state=state)


def test_following_a_log_waits_for_a_container_that_has_not_started_yet():
    container = resmgr_pb2.ContainerReport(container_id="c1", node_id="n1", role="worker")
    running = yc.common_pb2.APP_RUNNING
    client = _LogsNotThereYet(missing=2, states=[running])
    assert list(client.read_log("app_1_0001", container, follow=True, poll_s=0.01)) == [b"hello"]
    assert client.calls == 3
    with pytest.raises(YarnflowError, match="no stdout log of container c1"):  # without follow: at once
        list(_LogsNotThereYet(missing=1, states=[running]).read_log("app_1_0001", container))
    ended = _LogsNotThereYet(missing=10, states=[running, yc.common_pb2.APP_FINISHED])
    with pytest.raises(YarnflowError, match="no stdout log of container c1"):  # the app ended: it never will
        list(ended.read_log("app_1_0001", container, follow=True, poll_s=0.01))
    assert ended.calls == 2


def test_report_line_reads_like_a_state_change():
    report = resmgr_pb2.ApplicationReport(app_id="app_1_0001", state=yc.common_pb2.APP_RUNNING,
                                          tasks_running=3, tasks_total=5)
    assert yc.format_report_line(report) == "app_1_0001: RUNNING (3/5 tasks running)"
    report.diagnostics = "gang tasks (...) waits for other apps' containers to free room"
    assert yc.format_report_line(report) == ("app_1_0001: RUNNING (3/5 tasks running): gang tasks (...) waits for "
                                             "other apps' containers to free room")
    report.state, report.final_status = yc.common_pb2.APP_FINISHED, yc.common_pb2.SUCCEEDED
    assert yc.format_report_line(report) == "app_1_0001: FINISHED SUCCEEDED"
    assert yc.succeeded(report) and yc.is_terminal(report)


# ---------------------------------------------------------------- the whole surface, real daemons

@pytest.mark.integration
@pytest.mark.timeout(120)
def test_local_cluster_and_every_command_end_to_end(tmp_path):
    home = tmp_path / "home"
    env = {"YARNFLOW_HOME": str(home), "YARNFLOW_RESMGR": "", "YARNFLOW_SECRET": "",
           "YARNFLOW_SECRET_FILE": ""}
    # task ports away from the default range, which a `yarnflow local up` elsewhere on this host may use
    port_base = random.randrange(24000, 30000, 2000)
    up = run_cli("bin.yarnflow", "local", "up", "--nodes", "2", "--vcores", "4", "--memory", "4g",
                 "--port-base", port_base, env=env)
    info_path = home / "local" / "cluster.json"
    try:
        assert up.returncode == 0, up.stderr
        info = json.loads(info_path.read_text())
        pids = [p["pid"] for p in info["processes"].values()]
        assert len(pids) == 3 and all(psutil.pid_exists(pid) for pid in pids)

        again = run_cli("bin.yarnflow", "local", "up", env=env)
        assert again.returncode == 0 and "already up" in again.stdout

        nodes = run_cli("bin.yarnflow", "nodes", env=env)
        assert nodes.returncode == 0, nodes.stderr
        assert nodes.stdout.count("RUNNING") == 2, nodes.stdout

        done = run_cli("bin.submit", HELLO, "--ps", "1", "--workers", "2", "--worker-memory", "512m",
                       "--ps-memory", "512m", "--name", "hello-cli", "--wait",
                       # workers outlive the ps's start, so the ps has printed before it is stopped
                       "--args", "--work-seconds", "2", env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        app_id = done.stdout.splitlines()[0]
        assert app_id.startswith("app_")
        assert f"{app_id}: FINISHED SUCCEEDED" in done.stdout

        apps = run_cli("bin.yarnflow", "apps", env=env)
        assert app_id in apps.stdout and "hello-cli" in apps.stdout

        status = run_cli("bin.yarnflow", "status", app_id, env=env)
        assert status.returncode == 0 and "SUCCEEDED" in status.stdout
        assert "worker:1" in status.stdout and "ps:0" in status.stdout

        logs = run_cli("bin.yarnflow", "logs", app_id, "--task", "worker:1", env=env)
        assert logs.returncode == 0, logs.stderr
        assert "hello from worker:1" in logs.stdout

        every = run_cli("bin.yarnflow", "logs", app_id, env=env)
        assert "hello from ps:0" in every.stdout and "hello from worker:0" in every.stdout

        bad_task = run_cli("bin.yarnflow", "logs", app_id, "--task", "worker:9", env=env)
        assert bad_task.returncode == 1
        assert_one_clear_line(bad_task.stderr, "no task 'worker:9'")

        unknown = run_cli("bin.yarnflow", "status", "app_1_9999", env=env)
        assert unknown.returncode == 1
        assert_one_clear_line(unknown.stderr, "app_1_9999")

        forever = run_cli("bin.submit", HELLO, "--workers", "1", "--worker-memory", "256m",
                          "--args", "--work-seconds", "300", env=env)
        assert forever.returncode == 0, forever.stderr
        forever_id = forever.stdout.strip()
        killed = run_cli("bin.yarnflow", "kill", forever_id, env=env)
        assert killed.returncode == 0 and f"{forever_id}: killed" in killed.stdout, killed.stderr
        assert "KILLED" in run_cli("bin.yarnflow", "status", forever_id, env=env).stdout

        too_big = run_cli("bin.submit", HELLO, "--worker-memory", "10000g", env=env)
        assert too_big.returncode == 1
        assert_one_clear_line(too_big.stderr, "largest node", "4.0 GiB")
    finally:
        down = run_cli("bin.yarnflow", "local", "down", env=env)
    assert down.returncode == 0 and "local cluster down" in down.stdout
    assert not info_path.exists()
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
