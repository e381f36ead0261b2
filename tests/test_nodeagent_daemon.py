"""The real nodeagent process against a tiny in-test ResourceTracker, driven over real gRPC."""

import json
import os
import pathlib
import queue
import signal
import subprocess
import sys
import threading
import time

import grpc
import psutil
import pytest

from protos import common_pb2, nodeagent_pb2, nodeagent_pb2_grpc, resmgr_pb2, resmgr_pb2_grpc
from yarnflow import auth, rpc
from tests.polling import wait_until as wait_for

pytestmark = pytest.mark.integration

REPO = pathlib.Path(__file__).resolve().parent.parent
SECRET = "test-secret-0123456789"
APP, OTHER_APP = "app_1763900000000_0001", "app_1763900000000_0002"

APP_FILES = {
    "report_env.py": (b"import json, os, sys\n"
                      b"print(json.dumps({'env': dict(os.environ), 'cwd': os.getcwd(),\n"
                      b"                  'files': sorted(os.listdir('.'))}))\n"
                      b"print('bad news from', os.environ['YARNFLOW_CONTAINER_ID'], file=sys.stderr)\n"
                      b"sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)\n", False),
    "tools/run.sh": (b"#!/bin/sh\necho run\n", True),
}


class FakeTracker(resmgr_pb2_grpc.ResourceTrackerServicer):
    """Records registrations and heartbeats, serves app files from a dict, can ask for kills/re-registers."""

    def __init__(self, files):
        self.files = files
        self.registrations, self.heartbeats, self.fetches = [], [], []
        self.kill_next, self.reregister_next, self.finished_apps = [], False, set()
        self.lock = threading.Lock()

    def RegisterNode(self, request, context):
        auth.authenticate(context, SECRET, allow_app=False)
        with self.lock:
            self.registrations.append(request)
        return resmgr_pb2.RegisterNodeResponse(heartbeat_interval_ms=60000)

    def NodeHeartbeat(self, request, context):
        auth.authenticate(context, SECRET, allow_app=False)
        with self.lock:
            self.heartbeats.append((time.monotonic(), request))
            kill, self.kill_next = self.kill_next, []
            rereg, self.reregister_next = self.reregister_next, False
            finished = sorted(self.finished_apps)
        return resmgr_pb2.NodeHeartbeatResponse(reregister=rereg, containers_to_kill=kill, apps_finished=finished)

    def FetchAppFiles(self, request, context):
        auth.authenticate(context, SECRET, allow_app=False)
        self.fetches.append(request.app_id)
        for path, (data, executable) in self.files.items():
            yield common_pb2.FileChunk(path=path, data=data, executable=executable, last=True)

    def completed(self, container_id):
        """The first COMPLETE status of ``container_id`` seen in a heartbeat: (received at, status)."""
        with self.lock:
            for at, hb in self.heartbeats:
                for s in hb.containers:
                    if s.container_id == container_id and s.state == common_pb2.CONTAINER_COMPLETE:
                        return at, s
        return None


def start_tracker(files, port=0):
    tracker = FakeTracker(files)
    server = rpc.make_server(max_workers=8)
    bound = rpc.bind(server, "127.0.0.1", port)
    resmgr_pb2_grpc.add_ResourceTrackerServicer_to_server(tracker, server)
    server.start()
    return tracker, server, f"127.0.0.1:{bound}"


class Agent:
    """A nodeagent subprocess whose stdout lines are collected in a queue."""

    def __init__(self, tmp, resmgr, *extra):
        secret_file = tmp / "cluster.secret"
        secret_file.write_text(SECRET + "\n")
        self.work = tmp / "node"
        env = {k: v for k, v in os.environ.items() if not k.startswith("YARNFLOW_")}
        env.update(PYTHONPATH=str(REPO), YARNFLOW_HOME=str(tmp / "home"))
        self.stderr_path = tmp / "agent.stderr"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bin.nodeagent", "--resmgr", resmgr, "--work-dir", str(self.work),
             "--secret-file", str(secret_file), *extra],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=open(self.stderr_path, "wb"), text=True)
        self.lines = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.proc.stdout], daemon=True).start()

    def registered_line(self, timeout=15.0):
        try:
            return self.lines.get(timeout=timeout).strip()
        except queue.Empty:
            raise AssertionError(f"nodeagent never registered; its log:\n{self.stderr_path.read_text()}")

    def log(self):
        return self.stderr_path.read_text()

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A fake resmgr and one nodeagent with a long heartbeat interval (so an early heartbeat is an event's)."""
    tmp = tmp_path_factory.mktemp("na")
    tracker, server, address = start_tracker(APP_FILES)
    agent = Agent(tmp, address, "--vcores", "4", "--memory", "2g", "--port-range", "25000-25099",
                  "--heartbeat-interval", "30")
    line = agent.registered_line()
    node_id = line.split()[1]
    channel = grpc.insecure_channel(node_id)
    yield dict(tracker=tracker, agent=agent, node_id=node_id, line=line, address=address, channel=channel)
    channel.close()
    agent.close()
    server.stop(0)


def stub(cluster, metadata=()):
    """A ContainerManager stub on the node agent with this call metadata."""
    return nodeagent_pb2_grpc.ContainerManagerStub(rpc.channel(cluster["node_id"], metadata))


def member(cluster):
    return stub(cluster, auth.member_metadata(SECRET))


def app_caller(cluster, app_id=APP):
    return stub(cluster, auth.app_metadata(app_id, auth.app_token(SECRET, app_id)))


def launch(cluster, cid, command, app_id=APP, port=0, memory_mb=256, token=None, gpus=(), env=None,
           localize=False):
    """A ContainerLaunch with the token resmgr would issue (unless ``token`` is given)."""
    if token is None:
        token = auth.container_token(SECRET, cid, app_id, cluster["node_id"], port)
    return nodeagent_pb2.ContainerLaunch(
        container_id=cid, app_id=app_id, container_token=token, command=command, env=env or {},
        resource=common_pb2.Resource(vcores=1, memory_mb=memory_mb), port=port, gpu_indices=list(gpus),
        localize=localize)


def read_all(manager, cid, stream="stdout", offset=0, follow=False, app_id=""):
    chunks = manager.ReadLog(nodeagent_pb2.ReadLogRequest(container_id=cid, app_id=app_id, stream=stream,
                                                          offset=offset, follow=follow), timeout=20)
    pieces = list(chunks)
    return b"".join(p.data for p in pieces), pieces


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------- tests

def test_registers_with_its_address_capability_and_port_range(cluster):
    tracker, node_id = cluster["tracker"], cluster["node_id"]
    assert cluster["line"] == f"nodeagent {node_id} registered with {cluster['address']}"
    reg = tracker.registrations[0]
    assert reg.node_id == node_id and node_id.startswith("127.0.0.1:") and reg.hostname == "127.0.0.1"
    assert (reg.capability.vcores, reg.capability.memory_mb) == (4, 2048)
    assert (reg.port_range_start, reg.port_range_end) == (25000, 25100)
    hb = wait_for(lambda: tracker.heartbeats, what="a first heartbeat")[0][1]
    assert hb.node_id == node_id and hb.usage.memory_total_mb > 0 and hb.usage.vcores_total >= 1


def test_task_runs_with_the_env_contract_and_its_exit_reaches_a_heartbeat_at_once(cluster):
    tracker, node_id = cluster["tracker"], cluster["node_id"]
    cid, port = f"{APP}_01_000002", free_port()
    am = app_caller(cluster)
    asked_at = time.monotonic()
    resp = am.StartContainers(nodeagent_pb2.StartContainersRequest(containers=[launch(
        cluster, cid, ["{python}", "report_env.py", "7"], port=port, gpus=(1,), localize=True,
        env={"YARNFLOW_JOB_NAME": "worker", "YARNFLOW_TASK_INDEX": "3"})]), timeout=20)
    assert list(resp.started) == [cid] and not resp.failed
    exited_at, status = wait_for(lambda: tracker.completed(cid), timeout=10, what="the exit in a heartbeat")
    assert status.exit_code == 7 and f"bad news from {cid}" in status.diagnostics
    assert status.app_id == APP and status.pid > 0 and status.finished_at >= status.started_at > 0
    # The heartbeat interval is 30 s: only the exit itself can have triggered this heartbeat so soon.
    assert exited_at - asked_at < 5

    out, pieces = read_all(am, cid)
    assert pieces[-1].eof
    seen = json.loads(out)
    env, work = seen["env"], cluster["agent"].work / "apps" / APP / cid
    assert seen["cwd"] == str(work) and {"report_env.py", "tools"} <= set(seen["files"])
    assert os.access(work / "tools" / "run.sh", os.X_OK) and not os.access(work / "report_env.py", os.X_OK)
    assert env["YARNFLOW_APP_ID"] == APP and env["YARNFLOW_CONTAINER_ID"] == cid
    assert env["YARNFLOW_WORK_DIR"] == str(work) and env["YARNFLOW_PORT"] == str(port)
    assert env["YARNFLOW_JOB_NAME"] == "worker" and env["YARNFLOW_TASK_INDEX"] == "3"
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and env["OMP_NUM_THREADS"] == "1"
    assert str(REPO) in env["PYTHONPATH"].split(os.pathsep) and env["PYTHONUNBUFFERED"] == "1"
    assert not any(k.startswith("YARNFLOW_SECRET") for k in env)
    err, _ = read_all(am, cid, "stderr", offset=-10)
    assert err == f"{cid}\n".encode()[-10:]
    logs_dir = cluster["agent"].work / "logs" / APP / cid
    assert (logs_dir / "stdout").read_bytes() == out

    # The second container of the same app is localized from the node's cache: still one fetch.
    cid2 = f"{APP}_01_000003"
    assert am.StartContainers(nodeagent_pb2.StartContainersRequest(containers=[launch(
        cluster, cid2, ["{python}", "report_env.py"], localize=True)]), timeout=20).started == [cid2]
    wait_for(lambda: tracker.completed(cid2), what="the second exit")
    assert tracker.fetches.count(APP) == 1


GROUP_SCRIPT = """
import subprocess, sys, time
grandchild = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('gc', flush=True); time.sleep(600)"
child = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {grandchild!r}]); time.sleep(600)"
subprocess.Popen([sys.executable, "-c", child])
time.sleep(600)
"""


def _group_of(pid):
    root = psutil.Process(pid)
    return [root] + root.children(recursive=True)


def _all_gone(procs):
    return all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in procs)


def test_stop_by_the_app_kills_the_whole_process_group(cluster):
    cid = f"{APP}_01_000004"
    am = app_caller(cluster)
    assert am.StartContainers(nodeagent_pb2.StartContainersRequest(
        containers=[launch(cluster, cid, ["{python}", "-c", GROUP_SCRIPT])]), timeout=20).started == [cid]
    log = cluster["agent"].work / "logs" / APP / cid / "stdout"
    wait_for(lambda: log.exists() and "gc" in log.read_text(), what="the grandchild")
    status = am.GetContainerStatuses(nodeagent_pb2.GetContainerStatusesRequest(container_ids=[cid])).statuses[0]
    assert status.state == common_pb2.CONTAINER_RUNNING
    procs = _group_of(status.pid)
    assert len(procs) == 3
    resp = am.StopContainers(nodeagent_pb2.StopContainersRequest(container_ids=[cid]), timeout=20)
    assert list(resp.stopped) == [cid]
    wait_for(lambda: _all_gone(procs), timeout=8, what="every process of the group to end")
    _, done = wait_for(lambda: cluster["tracker"].completed(cid), what="the stop in a heartbeat")
    assert done.exit_code == -signal.SIGTERM and done.diagnostics.startswith("stopped by request")


def test_memory_limit_kills_a_container_that_grows_past_its_ask(cluster):
    cid = f"{APP}_01_000005"
    script = "import time\nblob = b'x' * (200 << 20)\ntime.sleep(60)"
    assert member(cluster).StartContainers(nodeagent_pb2.StartContainersRequest(
        containers=[launch(cluster, cid, ["{python}", "-c", script], memory_mb=64)]), timeout=20).started == [cid]
    _, status = wait_for(lambda: cluster["tracker"].completed(cid), timeout=15, what="the memory kill")
    assert status.exit_code < 0 and "more than its limit of 64 MB" in status.diagnostics


def test_follow_streams_the_log_until_the_container_ends(cluster):
    cid = f"{APP}_01_000006"
    script = "import time\nfor i in range(5):\n    print('tick', i)\n    time.sleep(0.1)"
    am = app_caller(cluster)
    am.StartContainers(nodeagent_pb2.StartContainersRequest(
        containers=[launch(cluster, cid, ["{python}", "-c", script])]), timeout=20)
    out, pieces = read_all(am, cid, follow=True)
    assert out.decode().split() == [w for i in range(5) for w in ("tick", str(i))]
    assert pieces[-1].eof


def test_a_finished_app_loses_its_work_dirs_but_keeps_its_logs(cluster):
    app3 = "app_1763900000000_0003"
    cid = f"{app3}_01_000001"
    cluster["tracker"].finished_apps.add(app3)
    m = member(cluster)
    assert m.StartContainers(nodeagent_pb2.StartContainersRequest(containers=[launch(
        cluster, cid, ["{python}", "report_env.py"], app_id=app3, localize=True)]), timeout=20).started == [cid]
    app_dir = cluster["agent"].work / "apps" / app3
    assert (app_dir / "files" / "report_env.py").is_file()
    wait_for(lambda: cluster["tracker"].completed(cid), what="the exit")
    wait_for(lambda: not app_dir.exists(), what="the app's work dirs to be cleaned")
    out, pieces = read_all(m, cid, app_id=app3)
    assert json.loads(out)["env"]["YARNFLOW_CONTAINER_ID"] == cid and pieces[-1].eof


def _code(call):
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def test_auth_refusals(cluster):
    req = nodeagent_pb2.StartContainersRequest(
        containers=[launch(cluster, f"{APP}_01_000007", ["{python}", "-c", "pass"])])
    code, details = _code(lambda: stub(cluster).StartContainers(req, timeout=10))
    assert code == grpc.StatusCode.UNAUTHENTICATED and "no cluster secret" in details
    code, _ = _code(lambda: stub(cluster, auth.member_metadata("wrong")).StartContainers(req, timeout=10))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    # Another app's token does not open this app.
    code, _ = _code(lambda: app_caller(cluster, OTHER_APP).StartContainers(req, timeout=10))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    # A container token made for another port (or node, or id) is refused.
    forged = nodeagent_pb2.StartContainersRequest(containers=[launch(
        cluster, f"{APP}_01_000008", ["{python}", "-c", "pass"], port=25001,
        token=auth.container_token(SECRET, f"{APP}_01_000008", APP, cluster["node_id"], 25002))])
    code, details = _code(lambda: app_caller(cluster).StartContainers(forged, timeout=10))
    assert code == grpc.StatusCode.PERMISSION_DENIED and "invalid container token" in details
    # Nothing was started by the refused calls.
    statuses = member(cluster).GetContainerStatuses(nodeagent_pb2.GetContainerStatusesRequest()).statuses
    assert not {s.container_id for s in statuses} & {f"{APP}_01_000007", f"{APP}_01_000008"}
    # Another app can neither stop, nor see, nor read the logs of this app's containers.
    mine = f"{APP}_01_000002"
    other = app_caller(cluster, OTHER_APP)
    for call in (lambda: other.StopContainers(nodeagent_pb2.StopContainersRequest(container_ids=[mine])),
                 lambda: other.StopContainers(nodeagent_pb2.StopContainersRequest(app_id=APP)),
                 lambda: other.GetContainerStatuses(nodeagent_pb2.GetContainerStatusesRequest(container_ids=[mine])),
                 lambda: read_all(other, mine)):
        assert _code(call)[0] == grpc.StatusCode.PERMISSION_DENIED
    assert not other.GetContainerStatuses(nodeagent_pb2.GetContainerStatusesRequest()).statuses


def test_bad_requests_get_clear_errors_and_the_daemon_lives_on(cluster):
    m = member(cluster)
    bad = [launch(cluster, "../escape", ["{python}"]), launch(cluster, f"{APP}_01_000009", []),
           launch(cluster, f"{APP}_01_000010", ["no-such-program-xyz"]),
           launch(cluster, f"{APP}_01_000002", ["{python}", "-c", "pass"])]   # id already used
    resp = m.StartContainers(nodeagent_pb2.StartContainersRequest(containers=bad), timeout=20)
    assert not resp.started
    assert "invalid container id" in resp.failed["../escape"]
    assert resp.failed[f"{APP}_01_000009"] == "empty command"
    assert "cannot run 'no-such-program-xyz'" in resp.failed[f"{APP}_01_000010"]
    assert "already exists" in resp.failed[f"{APP}_01_000002"]
    _, status = wait_for(lambda: cluster["tracker"].completed(f"{APP}_01_000010"), what="the failed launch")
    assert status.exit_code == -1000 and "failed to start" in status.diagnostics
    assert _code(lambda: m.StartContainers(nodeagent_pb2.StartContainersRequest()))[0] == \
        grpc.StatusCode.INVALID_ARGUMENT
    assert _code(lambda: read_all(m, f"{APP}_01_000002", stream="nope"))[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert _code(lambda: read_all(m, "nope_01_000001", app_id=APP))[0] == grpc.StatusCode.NOT_FOUND
    assert _code(lambda: read_all(m, "nope_01_000001"))[0] == grpc.StatusCode.NOT_FOUND
    assert _code(lambda: read_all(m, "x", app_id="../..")) [0] == grpc.StatusCode.INVALID_ARGUMENT
    assert _code(lambda: m.StopContainers(nodeagent_pb2.StopContainersRequest()))[0] == \
        grpc.StatusCode.INVALID_ARGUMENT
    assert cluster["agent"].proc.poll() is None
    assert m.GetContainerStatuses(nodeagent_pb2.GetContainerStatusesRequest(app_id=APP)).statuses


def test_missing_secret_and_bad_flags_exit_2_with_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("YARNFLOW_")}
    env.update(PYTHONPATH=str(REPO), YARNFLOW_HOME=str(tmp_path / "home"))
    base = [sys.executable, "-m", "bin.nodeagent", "--resmgr", "127.0.0.1:1", "--work-dir", str(tmp_path / "w")]
    (tmp_path / "s").write_text(SECRET)
    for extra, message in (([], "no cluster secret"),
                           (["--secret-file", str(tmp_path / "s"), "--memory", "lots"], "malformed memory size"),
                           (["--secret-file", str(tmp_path / "s"), "--port-range", "9-1"], "port range")):
        done = subprocess.run(base + extra, cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_survives_resmgr_down_reregisters_obeys_kills_and_stops_containers_on_sigterm(tmp_path):
    port = free_port()
    address = f"127.0.0.1:{port}"
    agent = Agent(tmp_path, address, "--heartbeat-interval", "0.2")
    server = None
    try:
        wait_for(lambda: "unreachable" in agent.log(), what="a log line about the unreachable resmgr")
        assert agent.proc.poll() is None
        tracker, server, _ = start_tracker({}, port=port)
        node_id = agent.registered_line().split()[1]
        wait_for(lambda: len(tracker.heartbeats) >= 2, what="heartbeats")
        tracker.reregister_next = True
        wait_for(lambda: len(tracker.registrations) >= 2, what="a re-registration")
        assert tracker.registrations[1].node_id == node_id

        m = nodeagent_pb2_grpc.ContainerManagerStub(rpc.channel(node_id, auth.member_metadata(SECRET)))
        sleepers = [f"{APP}_01_00010{i}" for i in range(2)]
        m.StartContainers(nodeagent_pb2.StartContainersRequest(containers=[
            nodeagent_pb2.ContainerLaunch(container_id=c, app_id=APP, command=["{python}", "-c", GROUP_SCRIPT])
            for c in sleepers]), timeout=20)
        statuses = m.GetContainerStatuses(nodeagent_pb2.GetContainerStatusesRequest()).statuses
        pids = {s.container_id: s.pid for s in statuses}
        tracker.kill_next = [sleepers[0]]
        _, killed = wait_for(lambda: tracker.completed(sleepers[0]), what="the kill resmgr asked for")
        assert killed.diagnostics.startswith("stopped by resmgr")
        procs = wait_for(lambda: len(_group_of(pids[sleepers[1]])) == 3 and _group_of(pids[sleepers[1]]),
                         what="the second container's tree")
        agent.proc.send_signal(signal.SIGTERM)
        assert agent.proc.wait(15) == 0
        assert _all_gone(procs)
    finally:
        agent.close()
        if server is not None:
            server.stop(0)
