"""The resmgr over real gRPC on 127.0.0.1, with a tiny fake ContainerManager standing in for nodeagents."""

import os
import pathlib
import queue
import signal
import subprocess
import sys
import threading
import time

import grpc
import pytest

from protos import common_pb2, nodeagent_pb2, nodeagent_pb2_grpc, resmgr_pb2, resmgr_pb2_grpc
from resmgr.daemon import ResourceManager
from yarnflow import auth, rpc
from tests.polling import wait_until as wait_for

pytestmark = pytest.mark.integration
ROOT = pathlib.Path(__file__).resolve().parent.parent


class FakeContainerManager(nodeagent_pb2_grpc.ContainerManagerServicer):
    """Records StartContainers/StopContainers; starts everything unless told to fail."""

    def __init__(self):
        self.started, self.stopped, self.metadata = [], [], []
        self.fail_with = None

    def StartContainers(self, request, context):
        self.metadata.append(dict(context.invocation_metadata()))
        if self.fail_with:
            return nodeagent_pb2.StartContainersResponse(
                failed={c.container_id: self.fail_with for c in request.containers})
        self.started.extend(request.containers)
        return nodeagent_pb2.StartContainersResponse(started=[c.container_id for c in request.containers])

    def StopContainers(self, request, context):
        self.stopped.append((request.app_id or None, list(request.container_ids)))
        return nodeagent_pb2.StopContainersResponse(stopped=list(request.container_ids))


class Node:
    """A fake node agent: a ContainerManager server plus a ResourceTracker client."""

    def __init__(self, tracker, vcores=4, memory_mb=4096, gpus=0):
        self.cm = FakeContainerManager()
        self.server = rpc.make_server(max_workers=4)
        nodeagent_pb2_grpc.add_ContainerManagerServicer_to_server(self.cm, self.server)
        self.node_id = f"127.0.0.1:{rpc.bind(self.server, '127.0.0.1', 0)}"
        self.server.start()
        self.tracker = tracker
        self.capability = common_pb2.Resource(vcores=vcores, memory_mb=memory_mb, gpus=gpus)

    def register(self):
        return self.tracker.RegisterNode(resmgr_pb2.RegisterNodeRequest(
            node_id=self.node_id, hostname="127.0.0.1", capability=self.capability,
            port_range_start=21000, port_range_end=21100))

    def beat(self, *statuses):
        return self.tracker.NodeHeartbeat(resmgr_pb2.NodeHeartbeatRequest(node_id=self.node_id,
                                                                          containers=statuses))


class Cluster:
    """A real in-process resmgr on loopback, member stubs, and fake nodes."""

    def __init__(self, data_dir, expiry_s=30.0):
        self.data_dir = data_dir
        self.rm = ResourceManager(data_dir, "127.0.0.1", 0, expiry_s=expiry_s)
        self.address = self.rm.start()
        self.secret = self.rm.secret
        ch = rpc.channel(self.address, auth.member_metadata(self.secret))
        self.tracker = resmgr_pb2_grpc.ResourceTrackerStub(ch)
        self.client = resmgr_pb2_grpc.ApplicationClientStub(ch)
        self.nodes = []

    def add_node(self, **kw):
        node = Node(self.tracker, **kw)
        node.register()
        self.nodes.append(node)
        return node

    def am(self, app_id):
        ch = rpc.channel(self.address, auth.app_metadata(app_id, auth.app_token(self.secret, app_id)))
        return resmgr_pb2_grpc.ApplicationMasterProtocolStub(ch)

    def stage(self, files=None):
        files = files or {"app.py": b"print('hello')\n"}
        chunks = [common_pb2.FileChunk(path=p, data=d, last=True) for p, d in files.items()]
        return self.client.StageFiles(iter(chunks)).staging_id

    def submit(self, workers=2, memory_mb=512, entry="app.py", staging_id=None):
        spec = resmgr_pb2.ApplicationSpec(name="t", entry=entry, roles=[resmgr_pb2.RoleSpec(
            name="worker", count=workers, resource=common_pb2.Resource(vcores=1, memory_mb=memory_mb))])
        staging_id = staging_id if staging_id is not None else self.stage()
        return self.client.SubmitApplication(resmgr_pb2.SubmitApplicationRequest(
            staging_id=staging_id, spec=spec)).app_id

    def report(self, app_id):
        return self.client.GetApplicationReport(resmgr_pb2.GetApplicationReportRequest(app_id=app_id))

    def close(self):
        self.rm.stop(grace=0)
        for n in self.nodes:
            n.server.stop(0)


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path / "rm")
    yield c
    c.close()


def gang(*ask_ids, memory_mb=512):
    return resmgr_pb2.GangAsk(gang_id="tasks", asks=[
        resmgr_pb2.ContainerAsk(ask_id=a, role=a.split(":")[0], task_index=int(a.split(":")[1]),
                                resource=common_pb2.Resource(vcores=1, memory_mb=memory_mb)) for a in ask_ids])


def code_of(call):
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def test_only_members_and_the_apps_own_token_get_in(cluster):
    stranger = resmgr_pb2_grpc.ApplicationClientStub(rpc.channel(cluster.address))
    code, details = code_of(lambda: stranger.ListNodes(resmgr_pb2.ListNodesRequest()))
    assert code == grpc.StatusCode.UNAUTHENTICATED and "no cluster secret" in details
    cluster.add_node()
    app_a, app_b = cluster.submit(), cluster.submit()
    code, details = code_of(lambda: cluster.am(app_a).RegisterApplicationMaster(
        resmgr_pb2.RegisterApplicationMasterRequest(app_id=app_b)))
    assert code == grpc.StatusCode.PERMISSION_DENIED and app_b in details


def test_app_runs_its_course_over_grpc(cluster):
    node = cluster.add_node()
    app_id = cluster.submit()
    # the appmaster is launched at once, not at the next heartbeat
    (launch,) = wait_for(lambda: node.cm.started, what="StartContainers of the appmaster")
    assert launch.container_id == f"{app_id}_01_000001" and list(launch.command) == ["{python}", "-m", "appmaster"]
    assert launch.localize and launch.env["YARNFLOW_AM_ATTEMPT"] == "1"
    assert launch.env["YARNFLOW_APP_TOKEN"] == auth.app_token(cluster.secret, app_id)
    assert launch.container_token == auth.container_token(cluster.secret, launch.container_id, app_id,
                                                          node.node_id, launch.port)
    assert node.cm.metadata[0][auth.SECRET_KEY] == cluster.secret
    am = cluster.am(app_id)
    reg = am.RegisterApplicationMaster(resmgr_pb2.RegisterApplicationMasterRequest(app_id=app_id, host="h"))
    assert reg.attempt == 1 and reg.spec.roles[0].count == 2 and reg.max_capability.vcores == 4
    reply = am.Allocate(resmgr_pb2.AllocateRequest(app_id=app_id, gangs=[gang("worker:0", "worker:1")],
                                                   wait_ms=5000))
    assert sorted(a.ask_id for a in reply.allocations) == ["worker:0", "worker:1"]
    assert len({a.port for a in reply.allocations} | {launch.port}) == 3
    w0 = reply.allocations[0]
    assert w0.container_token == auth.container_token(cluster.secret, w0.container_id, app_id, node.node_id, w0.port)

    # a long-polling Allocate wakes as soon as the node reports a finished container
    answer = {}

    def poll():
        t0 = time.monotonic()
        answer["reply"] = am.Allocate(resmgr_pb2.AllocateRequest(app_id=app_id, wait_ms=20000))
        answer["took"] = time.monotonic() - t0
    poller = threading.Thread(target=poll)
    poller.start()
    wait_for(lambda: cluster.rm.parked_polls == 1, 10, "the Allocate to park", 0.01)
    node.beat(common_pb2.ContainerStatus(container_id=w0.container_id, app_id=app_id,
                                         state=common_pb2.CONTAINER_COMPLETE, exit_code=3, diagnostics="bad"))
    poller.join(10)
    assert answer["took"] < 5.0
    (done,) = answer["reply"].completed
    assert (done.container_id, done.exit_code, done.diagnostics) == (w0.container_id, 3, "bad")

    am.FinishApplicationMaster(resmgr_pb2.FinishApplicationMasterRequest(
        app_id=app_id, final_status=common_pb2.SUCCEEDED))
    report = cluster.report(app_id)
    assert report.state == common_pb2.APP_FINISHED and report.final_status == common_pb2.SUCCEEDED
    roles = sorted((c.role, c.task_index) for c in report.containers)
    assert roles == [("appmaster", 0), ("worker", 0), ("worker", 1)]
    w1 = reply.allocations[1].container_id
    # only the live worker is stopped: no app_id, which would stop the finishing appmaster too
    wait_for(lambda: (None, [w1]) in node.cm.stopped, what="StopContainers of the live worker")


def test_bad_requests_get_one_clear_line(cluster):
    node = cluster.add_node(vcores=2, memory_mb=23962)
    sid = cluster.stage()
    submit = cluster.client.SubmitApplication
    code, details = code_of(lambda: cluster.submit(memory_mb=10240000, staging_id=sid))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details == (f"worker asks 10240000 MB memory but the largest node ({node.node_id}) has "
                       "23.4 GiB, 2 vcores, 0 GPUs")
    code, details = code_of(lambda: submit(resmgr_pb2.SubmitApplicationRequest(
        staging_id=sid, spec=resmgr_pb2.ApplicationSpec(entry="app.py"))))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "no roles" in details
    code, details = code_of(lambda: cluster.submit(workers=-1, staging_id=sid))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "negative count -1" in details
    code, details = code_of(lambda: cluster.submit(entry="missing.py", staging_id=sid))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "'missing.py' is not among the staged files" in details
    code, details = code_of(lambda: cluster.report("app_0_9999"))
    assert code == grpc.StatusCode.NOT_FOUND and "app_0_9999" in details
    code, details = code_of(lambda: cluster.client.StageFiles(iter([common_pb2.FileChunk(path="../x", last=True)])))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "escapes" in details
    # the staged upload was not used up by the refused submissions, and the daemon still serves
    assert cluster.submit(staging_id=sid).startswith("app_")
    code, details = code_of(lambda: cluster.submit(staging_id=sid))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "not among the staged files" in details
    member_am = resmgr_pb2_grpc.ApplicationMasterProtocolStub(
        rpc.channel(cluster.address, auth.member_metadata(cluster.secret)))
    code, details = code_of(lambda: member_am.Allocate(resmgr_pb2.AllocateRequest(app_id="app_0_0042")))
    assert code == grpc.StatusCode.NOT_FOUND and "app_0_0042" in details
    stranger = resmgr_pb2.NodeHeartbeatRequest(node_id="10.9.9.9:1")
    assert cluster.tracker.NodeHeartbeat(stranger).reregister


def test_gang_too_large_at_allocate_is_reported_failed(cluster):
    cluster.add_node()
    app_id = cluster.submit()
    am = cluster.am(app_id)
    am.RegisterApplicationMaster(resmgr_pb2.RegisterApplicationMasterRequest(app_id=app_id))
    reply = am.Allocate(resmgr_pb2.AllocateRequest(app_id=app_id, gangs=[gang("worker:0", memory_mb=10 ** 7)],
                                                   wait_ms=5000))
    assert list(reply.failed_gangs) == ["tasks"] and "has 4.0 GiB" in reply.diagnostics


def test_kill_stops_the_app_and_shuts_its_appmaster_down(cluster):
    node = cluster.add_node()
    app_id = cluster.submit()
    am = cluster.am(app_id)
    am.RegisterApplicationMaster(resmgr_pb2.RegisterApplicationMasterRequest(app_id=app_id))
    am.Allocate(resmgr_pb2.AllocateRequest(app_id=app_id, gangs=[gang("worker:0")], wait_ms=0))
    killed = cluster.client.KillApplication(resmgr_pb2.KillApplicationRequest(app_id=app_id)).killed
    assert killed
    assert am.Allocate(resmgr_pb2.AllocateRequest(app_id=app_id, wait_ms=10000)).shutdown
    assert cluster.report(app_id).state == common_pb2.APP_KILLED
    (stop,) = wait_for(lambda: node.cm.stopped, what="StopContainers")
    assert stop == (app_id, [f"{app_id}_01_000001", f"{app_id}_01_000002"])


def test_silent_node_is_lost_and_the_am_moves(tmp_path):
    cluster = Cluster(tmp_path / "rm", expiry_s=1.5)
    try:
        silent = cluster.add_node()
        app_id = cluster.submit()
        wait_for(lambda: silent.cm.started, what="AM launch")
        alive = cluster.add_node()
        stop = threading.Event()
        beater = threading.Thread(target=lambda: [alive.beat() for _ in iter(lambda: stop.wait(0.1), True)])
        beater.start()
        try:
            (relaunch,) = wait_for(lambda: alive.cm.started, timeout=6.0, what="AM relaunch on the live node")
        finally:
            stop.set()
            beater.join()
        assert relaunch.container_id == f"{app_id}_02_000001"
        nodes = {n.node_id: n.state for n in cluster.client.ListNodes(resmgr_pb2.ListNodesRequest()).nodes}
        assert nodes[silent.node_id] == common_pb2.NODE_LOST
        first = [c for c in cluster.report(app_id).containers if c.container_id.endswith("_01_000001")][0]
        assert first.status.exit_code == -100 and first.status.diagnostics == f"node {silent.node_id} lost"
        assert silent.beat().reregister
    finally:
        cluster.close()


def test_failed_am_launch_is_retried_and_files_stream_back(cluster):
    node = cluster.add_node()
    node.cm.fail_with = "port taken"
    app_id = cluster.submit()
    report = wait_for(lambda: (lambda r: r if r.state == common_pb2.APP_FAILED else None)(cluster.report(app_id)),
                      what="the app to fail after 2 attempts")
    assert "port taken" in report.diagnostics and report.am_attempt == 2
    chunks = list(cluster.tracker.FetchAppFiles(resmgr_pb2.FetchAppFilesRequest(app_id=app_id)))
    assert [(c.path, c.data, c.last) for c in chunks] == [("app.py", b"print('hello')\n", True)]


def test_submissions_survive_a_restart(tmp_path):
    first = Cluster(tmp_path / "rm")
    app_id = first.submit()  # no node yet: the app waits, recorded
    first.close()
    second = Cluster(tmp_path / "rm")
    try:
        apps = second.client.ListApplications(resmgr_pb2.ListApplicationsRequest()).apps
        assert [(a.app_id, a.state) for a in apps] == [(app_id, common_pb2.APP_SUBMITTED)]
        node = second.add_node()
        (launch,) = wait_for(lambda: node.cm.started, what="the reloaded app's AM")
        assert launch.app_id == app_id and launch.env["YARNFLOW_AM_ATTEMPT"] == "2"
        assert second.submit() != app_id
    finally:
        second.close()


def test_command_line_daemon_prints_its_address_and_stops_on_sigterm(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "bin.resmgr", "--port", "0", "--data-dir", str(tmp_path)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("resmgr listening on 127.0.0.1:")
        address = line.rsplit(" ", 1)[1]
        assert (tmp_path / "resmgr.addr").read_text().strip() == address
        assert (tmp_path / "cluster.secret").exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- heartbeats on a stream
class Beats:
    """A HeartbeatStream call driven one heartbeat at a time."""

    def __init__(self, tracker):
        self.requests = queue.SimpleQueue()
        self.call = tracker.HeartbeatStream(iter(self.requests.get, None))

    def beat(self, node_id, *statuses):
        self.requests.put(resmgr_pb2.NodeHeartbeatRequest(node_id=node_id, containers=statuses))
        return next(self.call)

    def close(self):
        self.requests.put(None)
        self.call.cancel()


def running(cid, app_id):
    return common_pb2.ContainerStatus(container_id=cid, app_id=app_id, state=common_pb2.CONTAINER_RUNNING)


def last_heartbeat(cluster, node_id):
    nodes = cluster.client.ListNodes(resmgr_pb2.ListNodesRequest()).nodes
    return {n.node_id: n for n in nodes}[node_id]


def test_stream_and_unary_heartbeats_are_one_and_the_same(cluster):
    node = cluster.add_node()
    app_id = cluster.submit()
    (launch,) = wait_for(lambda: node.cm.started, what="the appmaster's launch")
    am_id = launch.container_id
    stream = Beats(cluster.tracker)
    try:
        first = stream.beat(node.node_id, running(am_id, app_id))
        assert not first.reregister and not first.containers_to_kill and first.heartbeat_interval_ms == 1000
        seen = last_heartbeat(cluster, node.node_id).last_heartbeat
        # a container resmgr never placed is to be killed, whichever way the node reports it
        stray = running("stray_1", app_id)
        assert list(stream.beat(node.node_id, running(am_id, app_id), stray).containers_to_kill) == ["stray_1"]
        assert list(node.beat(running(am_id, app_id), stray).containers_to_kill) == ["stray_1"]
        assert last_heartbeat(cluster, node.node_id).last_heartbeat > seen
        # the AM's exit told on the stream reaches the app as the unary heartbeat would
        done = common_pb2.ContainerStatus(container_id=am_id, app_id=app_id, state=common_pb2.CONTAINER_COMPLETE,
                                          exit_code=7, diagnostics="am died")
        assert not stream.beat(node.node_id, done).reregister
        report = wait_for(lambda: (lambda r: r if r.am_attempt == 2 else None)(cluster.report(app_id)),
                          what="a second AM attempt after the first one's exit")
        first_am = [c for c in report.containers if c.container_id == am_id][0]
        assert (first_am.status.exit_code, first_am.status.diagnostics) == (7, "am died")
        # an unknown node is told to register, on the same open stream
        assert stream.beat("10.9.9.9:1").reregister
        assert not stream.beat(node.node_id).reregister
    finally:
        stream.close()


def test_stream_without_the_secret_is_refused_and_the_daemon_serves_on(cluster):
    node = cluster.add_node()
    for metadata, message in (((), "no cluster secret"),
                              (auth.member_metadata("not-the-secret"), "wrong cluster secret"),
                              # an app's token opens its own app's doors, not the node agents' one
                              (auth.app_metadata("app_0_0001", auth.app_token(cluster.secret, "app_0_0001")),
                               "wrong cluster secret or app token")):
        stranger = resmgr_pb2_grpc.ResourceTrackerStub(rpc.channel(cluster.address, metadata))
        code, details = code_of(lambda: Beats(stranger).beat(node.node_id))
        assert code == grpc.StatusCode.UNAUTHENTICATED and message in details
    stream = Beats(cluster.tracker)
    try:
        assert not stream.beat(node.node_id).reregister
    finally:
        stream.close()


def test_a_node_whose_stream_falls_silent_is_lost(tmp_path):
    cluster = Cluster(tmp_path / "rm", expiry_s=1.0)
    stream = Beats(cluster.tracker)
    try:
        node = cluster.add_node()
        for _ in range(3):
            assert not stream.beat(node.node_id).reregister
        # the stream stays open but carries nothing: an open stream alone does not keep a node alive
        wait_for(lambda: last_heartbeat(cluster, node.node_id).state == common_pb2.NODE_LOST, timeout=5.0,
                 what="the silent node to be LOST")
        assert stream.beat(node.node_id).reregister
    finally:
        stream.close()
        cluster.close()


def test_node_agent_heartbeats_on_the_stream_and_obeys_its_answers(tmp_path, monkeypatch):
    from nodeagent.daemon import NodeAgent, Settings
    from nodeagent.probe import Capability
    from resmgr.service import ResourceTrackerServicer
    unary = []

    async def counted(self, request, context):
        unary.append(request.node_id)
    monkeypatch.setattr(ResourceTrackerServicer, "NodeHeartbeat", counted)
    cluster = Cluster(tmp_path / "rm", expiry_s=30.0)
    agent = NodeAgent(Settings(resmgr=cluster.address, work_dir=tmp_path / "node", secret=cluster.secret,
                               capability=Capability(vcores=2, memory_mb=2048, gpus=0), heartbeat_s=0.1))
    node_id = agent.start_server()
    runner = threading.Thread(target=agent.run, daemon=True)
    runner.start()
    try:
        first = wait_for(lambda: agent.registered and last_heartbeat(cluster, node_id).last_heartbeat,
                         what="the agent to register and heartbeat")
        wait_for(lambda: last_heartbeat(cluster, node_id).last_heartbeat > first, what="more heartbeats")
        # resmgr forgets the node (as after a long silence): the next answer makes it register again
        cluster.rm.apply(lambda core, now: (None, core.tick(now + 3600)))
        wait_for(lambda: last_heartbeat(cluster, node_id).state == common_pb2.NODE_RUNNING,
                 what="the agent to re-register")
        # a container resmgr never placed is killed on resmgr's word, and its end comes back on the stream
        member = nodeagent_pb2_grpc.ContainerManagerStub(rpc.channel(node_id, auth.member_metadata(cluster.secret)))
        member.StartContainers(nodeagent_pb2.StartContainersRequest(containers=[nodeagent_pb2.ContainerLaunch(
            container_id="stray_1", app_id="app_0_0001", command=["{python}", "-c", "import time; time.sleep(60)"],
            resource=common_pb2.Resource(vcores=1, memory_mb=128))]), timeout=20)

        def stray_status():
            return cluster.rm.read(lambda core: core.nodes.nodes[node_id].statuses.get("stray_1"))
        ended = wait_for(lambda: (lambda s: s if s is not None and s.complete else None)(stray_status()),
                         timeout=15.0, what="the stray container's end in a heartbeat")
        assert "stopped by resmgr" in ended.diagnostics
        assert unary == []
    finally:
        agent.stop()
        runner.join(10)
        agent.shutdown()
        cluster.close()
