"""The appmaster runtime against small fake resmgr and node agent gRPC servers on 127.0.0.1."""

import io
import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time

import grpc
import pytest

from appmaster import master
from protos import common_pb2, nodeagent_pb2, nodeagent_pb2_grpc, resmgr_pb2, resmgr_pb2_grpc
from yarnflow import auth, rpc
from tests.polling import wait_until as wait_for

ROOT = pathlib.Path(__file__).resolve().parent.parent
SECRET = "test-secret"
APP_ID = "app_1763900000000_0001"
TOKEN = auth.app_token(SECRET, APP_ID)
KILLED_BY_STOP = -15


def make_spec(ps=1, workers=2, max_task_attempts=0):
    res = common_pb2.Resource(vcores=1, memory_mb=64)
    roles = [resmgr_pb2.RoleSpec(name="ps", count=ps, resource=res),
             resmgr_pb2.RoleSpec(name="worker", count=workers, resource=res)]
    return resmgr_pb2.ApplicationSpec(name="demo", entry="app.py", args=["--steps", "3"], roles=roles,
                                      max_task_attempts=max_task_attempts, env={"MY_FLAG": "on"})


class FakeResmgr(resmgr_pb2_grpc.ApplicationMasterProtocolServicer):
    """Hands out an allocation for every ask at once and passes on completions and kills."""

    def __init__(self, spec, node_id):
        self.spec = spec
        self.node_id = node_id
        self.refuse_gangs = False
        self.cond = threading.Condition()
        self.seq = 1                        # 000001 is the appmaster's own container
        self.news_allocations, self.news_completed = [], []
        self.shutdown = False
        self.gangs, self.released, self.progress, self.finished = [], [], [], []
        self.registered = []

    def RegisterApplicationMaster(self, request, context):
        caller = auth.authenticate(context, SECRET)
        auth.authorize(context, caller, request.app_id)
        self.registered.append(request.host)
        return resmgr_pb2.RegisterApplicationMasterResponse(spec=self.spec, attempt=1)

    def Allocate(self, request, context):
        caller = auth.authenticate(context, SECRET)
        auth.authorize(context, caller, request.app_id)
        failed = []
        with self.cond:
            self.progress.append((request.tasks_running, request.tasks_total))
            self.released.extend(request.release)
            for gang in request.gangs:
                self.gangs.append(gang)
                if self.refuse_gangs:
                    failed.append(gang.gang_id)
                    continue
                for ask in gang.asks:
                    self.seq += 1
                    cid = f"{request.app_id}_01_{self.seq:06d}"
                    port = 30000 + self.seq
                    self.news_allocations.append(resmgr_pb2.Allocation(
                        ask_id=ask.ask_id, container_id=cid, node_id=self.node_id, host="127.0.0.1",
                        port=port, resource=ask.resource,
                        container_token=auth.container_token(SECRET, cid, request.app_id, self.node_id, port)))
            self.cond.wait_for(lambda: failed or self.news_allocations or self.news_completed or self.shutdown,
                               timeout=request.wait_ms / 1000)
            resp = resmgr_pb2.AllocateResponse(allocations=self.news_allocations, completed=self.news_completed,
                                               shutdown=self.shutdown, failed_gangs=failed,
                                               diagnostics="ask exceeds the largest node" if failed else "")
            self.news_allocations, self.news_completed = [], []
            return resp

    def FinishApplicationMaster(self, request, context):
        caller = auth.authenticate(context, SECRET)
        auth.authorize(context, caller, request.app_id)
        self.finished.append((common_pb2.FinalStatus.Name(request.final_status), request.diagnostics))
        return resmgr_pb2.FinishApplicationMasterResponse()

    def complete(self, container_id, exit_code, diagnostics=""):
        """A container ended: tell the appmaster in its next Allocate answer."""
        with self.cond:
            self.news_completed.append(common_pb2.ContainerStatus(
                container_id=container_id, app_id=APP_ID, state=common_pb2.CONTAINER_COMPLETE,
                exit_code=exit_code, diagnostics=diagnostics))
            self.cond.notify_all()

    def kill(self):
        """The app was killed: the next Allocate answer says shutdown."""
        with self.cond:
            self.shutdown = True
            self.cond.notify_all()


class FakeNode(nodeagent_pb2_grpc.ContainerManagerServicer):
    """Records launches and stops; ``plan(role, index, attempt)`` says how a task ends (None: runs on)."""

    def __init__(self):
        self.resmgr = None
        self.node_id = None
        self.plan = lambda role, index, attempt: None
        self.launches, self.stopped, self.running = [], [], set()
        self.lock = threading.Lock()

    def StartContainers(self, request, context):
        caller = auth.authenticate(context, SECRET)
        resp = nodeagent_pb2.StartContainersResponse()
        for launch in request.containers:
            auth.authorize(context, caller, launch.app_id)
            want = auth.container_token(SECRET, launch.container_id, launch.app_id, self.node_id, launch.port)
            if not auth.check(want, launch.container_token):
                resp.failed[launch.container_id] = "bad container token"
                continue
            with self.lock:
                self.launches.append(launch)
                self.running.add(launch.container_id)
            resp.started.append(launch.container_id)
            env = launch.env
            outcome = self.plan(env["YARNFLOW_JOB_NAME"], int(env["YARNFLOW_TASK_INDEX"]),
                                int(env["YARNFLOW_ATTEMPT"]))
            if outcome is not None:
                code, stderr = outcome
                with self.lock:
                    self.running.discard(launch.container_id)
                self.resmgr.complete(launch.container_id, code,
                                     f"exited with code {code}; stderr tail:\n{stderr}" if code else "")
        return resp

    def StopContainers(self, request, context):
        caller = auth.authenticate(context, SECRET)
        # naming app_id asks the node agent to stop the WHOLE app, the appmaster included
        assert not request.app_id, "the appmaster must stop containers by id, not its whole app"
        for cid in request.container_ids:
            auth.authorize(context, caller, cid.rsplit("_", 2)[0])
        with self.lock:
            self.stopped.extend(request.container_ids)
            ended = [cid for cid in request.container_ids if cid in self.running]
            self.running.difference_update(ended)
        for cid in ended:
            self.resmgr.complete(cid, KILLED_BY_STOP, "stopped by the appmaster")
        return nodeagent_pb2.StopContainersResponse(stopped=ended)

    def launched(self, role, index=None):
        """Launches of ``role`` (and ``index``), oldest first."""
        with self.lock:
            return [l for l in self.launches if l.env["YARNFLOW_JOB_NAME"] == role
                    and (index is None or l.env["YARNFLOW_TASK_INDEX"] == str(index))]


class Harness:
    """A fake resmgr and node agent on loopback, and an appmaster running in a thread."""

    def __init__(self, spec):
        self.node = FakeNode()
        self.node_server = rpc.make_server(max_workers=4)
        nodeagent_pb2_grpc.add_ContainerManagerServicer_to_server(self.node, self.node_server)
        self.node.node_id = f"127.0.0.1:{rpc.bind(self.node_server, '127.0.0.1', 0)}"
        self.resmgr = FakeResmgr(spec, self.node.node_id)
        self.node.resmgr = self.resmgr
        self.rm_server = rpc.make_server(max_workers=4)
        resmgr_pb2_grpc.add_ApplicationMasterProtocolServicer_to_server(self.resmgr, self.rm_server)
        self.address = f"127.0.0.1:{rpc.bind(self.rm_server, '127.0.0.1', 0)}"
        self.node_server.start()
        self.rm_server.start()
        self.out = io.StringIO()
        self.rc = None
        self.thread = None

    def start_am(self, token=TOKEN, **options):
        am = master.AppMaster(self.address, APP_ID, token, host="am-host", wait_ms=300,
                              unreachable_s=2.0, out=self.out, validate=True, **options)
        self.thread = threading.Thread(target=lambda: setattr(self, "rc", am.run()), daemon=True)
        self.thread.start()
        return am

    def wait_am(self, timeout=15.0):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the appmaster did not end; its log:\n{self.out.getvalue()}"
        return self.rc

    def stop(self):
        self.rm_server.stop(0)
        self.node_server.stop(0)


@pytest.fixture
def harness_for():
    made = []

    def make(spec):
        made.append(Harness(spec))
        return made[-1]

    yield make
    for h in made:
        h.stop()


def test_ps_and_two_workers_succeed_and_the_ps_is_stopped(harness_for):
    h = harness_for(make_spec(ps=1, workers=2))
    h.node.plan = lambda role, index, attempt: (0, "") if role == "worker" else None
    h.start_am()
    assert h.wait_am() == 0
    assert h.resmgr.finished == [("SUCCEEDED", "every worker exited 0")]
    assert h.resmgr.registered == ["am-host"]
    (gang,) = h.resmgr.gangs
    assert [a.ask_id for a in gang.asks] == ["ps:0", "worker:0", "worker:1"]
    assert [(a.role, a.task_index, a.resource.memory_mb) for a in gang.asks] == [
        ("ps", 0, 64), ("worker", 0, 64), ("worker", 1, 64)]
    assert len(h.node.launches) == 3
    (ps,) = h.node.launched("ps")
    assert h.node.stopped == [ps.container_id]
    # Every task sees the same cluster spec, with three distinct endpoints in index order.
    clusters = {l.env["YARNFLOW_CLUSTER"] for l in h.node.launches}
    assert len(clusters) == 1
    cluster = json.loads(clusters.pop())
    assert list(cluster) == ["ps", "worker"] and len(cluster["worker"]) == 2
    assert len(set(cluster["ps"] + cluster["worker"])) == 3
    for launch in h.node.launches:
        env = launch.env
        job, index = env["YARNFLOW_JOB_NAME"], int(env["YARNFLOW_TASK_INDEX"])
        assert cluster[job][index] == f"127.0.0.1:{launch.port}"
        assert json.loads(env["TF_CONFIG"])["task"] == {"type": job, "index": index}
        assert (env["YARNFLOW_APP_ID"], env["YARNFLOW_ATTEMPT"], env["YARNFLOW_RESMGR"]) == (
            APP_ID, "1", h.address)
        assert env["YARNFLOW_APP_TOKEN"] == TOKEN and env["MY_FLAG"] == "on"
        assert list(launch.command) == ["{python}", "app.py", "--steps", "3"]
        assert launch.localize
    assert (0, 3) in h.resmgr.progress and (3, 3) in h.resmgr.progress
    log = h.out.getvalue()
    for word in ("registered", "asking for 3 containers", "allocated: worker:1", "launched: ps:0",
                 "exited: worker:0", "stopping ps:0", "finished SUCCEEDED"):
        assert word in log, f"{word!r} missing from the log:\n{log}"


def test_a_worker_that_fails_once_is_retried_and_the_app_succeeds(harness_for):
    h = harness_for(make_spec(ps=1, workers=2))
    h.node.plan = lambda role, index, attempt: (
        None if role == "ps" else (1, "flaky") if (index, attempt) == (1, 1) else (0, ""))
    h.start_am()
    assert h.wait_am() == 0
    assert h.resmgr.finished == [("SUCCEEDED", "every worker exited 0")]
    assert [[a.ask_id for a in g.asks] for g in h.resmgr.gangs] == [["ps:0", "worker:0", "worker:1"],
                                                                    ["worker:1"]]
    first, second = h.node.launched("worker", 1)
    assert second.container_id != first.container_id
    assert second.env["YARNFLOW_ATTEMPT"] == "2"
    cluster = json.loads(second.env["YARNFLOW_CLUSTER"])
    assert cluster["worker"][1] == f"127.0.0.1:{second.port}"      # its new endpoint, not the old one
    assert cluster["worker"][0] == json.loads(first.env["YARNFLOW_CLUSTER"])["worker"][0]
    assert "retrying: worker:1 in a fresh container (attempt 2 of 2)" in h.out.getvalue()


def test_a_worker_that_always_fails_ends_the_app_failed_with_its_stderr_tail(harness_for):
    h = harness_for(make_spec(ps=1, workers=2, max_task_attempts=3))
    h.node.plan = lambda role, index, attempt: (
        None if role == "ps" else (2, f"Traceback\nValueError: bad shard {attempt}") if index == 0 else None)
    h.start_am()
    assert h.wait_am() == 0
    ((status, diagnostics),) = h.resmgr.finished
    assert status == "FAILED"
    assert "worker:0" in diagnostics and "exit code 2" in diagnostics and "3 attempts" in diagnostics
    assert "ValueError: bad shard 3" in diagnostics
    assert len(h.node.launched("worker", 0)) == 3
    alive = {h.node.launched("ps")[0].container_id, h.node.launched("worker", 1)[0].container_id}
    assert set(h.node.stopped) == alive
    assert "finished FAILED: task worker:0" in h.out.getvalue()


def test_shutdown_stops_every_task_and_does_not_finish(harness_for):
    h = harness_for(make_spec(ps=1, workers=2))
    h.start_am()
    wait_for(lambda: len(h.node.launches) == 3, what="three launches")
    wait_for(lambda: (3, 3) in h.resmgr.progress, what="every task running")
    h.resmgr.kill()
    assert h.wait_am() == 0
    assert sorted(h.node.stopped) == sorted(l.container_id for l in h.node.launches)
    assert h.resmgr.finished == []
    assert "killed" in h.out.getvalue()


def test_a_gang_that_can_never_be_placed_fails_the_app(harness_for):
    h = harness_for(make_spec(ps=1, workers=1))
    h.resmgr.refuse_gangs = True
    h.start_am()
    assert h.wait_am() == 0
    ((status, diagnostics),) = h.resmgr.finished
    assert status == "FAILED" and "ask exceeds the largest node" in diagnostics
    assert h.node.launches == []


def test_a_wrong_token_is_refused_at_once_and_exits_non_zero(harness_for):
    h = harness_for(make_spec())
    h.start_am(token="not-the-token")
    assert h.wait_am(timeout=5) == 1
    assert "refused register" in h.out.getvalue()


def test_an_unreachable_resmgr_is_retried_then_the_appmaster_exits_non_zero():
    with socket.socket() as sock:       # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = io.StringIO()
    am = master.AppMaster(f"127.0.0.1:{port}", APP_ID, TOKEN, wait_ms=300, unreachable_s=1.0, out=out)
    began = time.monotonic()
    assert am.run() == 1
    assert 0.9 <= time.monotonic() - began < 8
    assert "unreachable for 1 s" in out.getvalue()


def test_from_env_reads_the_container_environment():
    env = {"YARNFLOW_RESMGR": "rm:1", "YARNFLOW_APP_ID": APP_ID, "YARNFLOW_APP_TOKEN": TOKEN,
           "YARNFLOW_AM_ATTEMPT": "2"}
    am = master.from_env(env)
    assert (am.resmgr_address, am.app_id, am.app_token, am.am_attempt) == ("rm:1", APP_ID, TOKEN, 2)
    am.resmgr.close()
    am.nodes.close()
    with pytest.raises(KeyError, match="YARNFLOW_APP_TOKEN"):
        master.from_env({"YARNFLOW_RESMGR": "rm:1", "YARNFLOW_APP_ID": APP_ID})


def test_python_m_appmaster_runs_an_app_from_its_environment(harness_for):
    h = harness_for(make_spec(ps=0, workers=1))
    h.node.plan = lambda role, index, attempt: (0, "")
    env = dict(os.environ, PYTHONPATH=str(ROOT), YARNFLOW_RESMGR=h.address, YARNFLOW_APP_ID=APP_ID,
               YARNFLOW_APP_TOKEN=TOKEN, YARNFLOW_AM_ATTEMPT="1")
    proc = subprocess.run([sys.executable, "-m", "appmaster", "--wait-ms", "300"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert h.resmgr.finished == [("SUCCEEDED", "every worker exited 0")]
    assert "finished SUCCEEDED" in proc.stdout


def test_python_m_appmaster_without_its_environment_says_what_is_missing():
    env = {k: v for k, v in os.environ.items() if not k.startswith("YARNFLOW_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-m", "appmaster"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "YARNFLOW_RESMGR is not set" in proc.stderr
