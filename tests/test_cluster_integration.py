"""The cluster layer end to end, on real resmgr / nodeagent / appmaster processes (tests/cluster.py).

Tests that leave the cluster as they found it share one module-wide cluster; those that kill or restart
daemons get their own.
"""

import json
import re
import socket
import time

import grpc
import psutil
import pytest

from protos import common_pb2, resmgr_pb2, resmgr_pb2_grpc
from tests.cluster import LocalTestCluster, app_processes, wait_until, write_app
from yarnflow import auth, rpc
from yarnflow import client as yc
from yarnflow.errors import YarnflowError

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

APP_TIMEOUT_S = 45.0
SMALL = yc.RoleAsk(memory="256m", vcores=1)

# Every task prints its role and the spec it sees; workers may fail on purpose (by role:index@attempt).
TASK_APP = r'''
import json, os, sys, time
role, index = os.environ["YARNFLOW_JOB_NAME"], int(os.environ["YARNFLOW_TASK_INDEX"])
attempt = int(os.environ["YARNFLOW_ATTEMPT"])
print(f"role={role} index={index} attempt={attempt}")
print("spec=" + json.dumps(json.loads(os.environ["YARNFLOW_CLUSTER"]), sort_keys=True), flush=True)
mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
if mode == "ticks" and role == "worker":
    for i in range(8):
        print(f"tick {i}", flush=True)
        time.sleep(0.5)  # slow enough that a loaded machine still attaches mid-way
if role == "ps" or mode == "forever":
    while True:
        time.sleep(1)
if role == "worker" and index == 0 and (mode == "always-fail" or (mode == "fail-once" and attempt == 1)):
    print(f"boom: worker 0 broke on attempt {attempt}", file=sys.stderr, flush=True)
    sys.exit(3)
if mode == "ok":
    time.sleep(1.5)   # the ps tasks (stopped once every worker is done) have printed by then
'''


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One 2-node cluster for the tests that do not disturb it."""
    with LocalTestCluster(tmp_path_factory.mktemp("shared")) as cluster:
        cluster.add_node(vcores=4, memory="4g")
        cluster.add_node(vcores=4, memory="4g")
        cluster.wait_for_nodes(2)
        yield cluster


@pytest.fixture(scope="module")
def task_app(tmp_path_factory):
    """The test app (TASK_APP) written to a file."""
    return write_app(tmp_path_factory.mktemp("apps"), "task_app.py", TASK_APP)


def submit(cluster, app, mode="ok", ps=1, workers=4, **spec_args):
    """Submit ``app`` in ``mode``; returns the app id."""
    spec = yc.build_spec(app.name, ps=ps, workers=workers, args=[mode], worker=SMALL, ps_ask=SMALL,
                         **spec_args)
    with cluster.client() as client:
        return client.submit(app, spec)


def wait_done(cluster, app_id, timeout=APP_TIMEOUT_S):
    """The final report of ``app_id``, with the daemons' logs in the message when it does not end."""
    with cluster.client() as client:
        try:
            return client.wait(app_id, timeout=timeout)
        except YarnflowError as exc:
            raise AssertionError(f"{exc}\n{cluster.log_tails()}") from None


def task_logs(cluster, app_id, report, stream="stdout"):
    """{(role, index, attempt): log text} of every task container of the app."""
    logs = {}
    with cluster.client() as client:
        for c in report.containers:
            if c.role != "appmaster":
                text = b"".join(client.read_log(app_id, c, stream)).decode()
                logs[(c.role, c.task_index, c.attempt)] = text
    return logs


def test_ps_and_workers_print_their_role_and_see_one_spec(shared, task_app):
    app_id = submit(shared, task_app)
    report = wait_done(shared, app_id)
    assert yc.succeeded(report), report.diagnostics
    logs = task_logs(shared, app_id, report)
    expected = {("ps", 0)} | {("worker", i) for i in range(4)}
    assert {(role, index) for role, index, _ in logs} == expected
    specs = set()
    for (role, index, attempt), text in logs.items():
        assert f"role={role} index={index} attempt={attempt}" in text
        specs.add(re.search(r"^spec=(.*)$", text, re.M).group(1))
    assert len(specs) == 1, specs                       # every task saw the same spec
    spec = json.loads(specs.pop())
    endpoints = spec["ps"] + spec["worker"]
    assert (len(spec["ps"]), len(spec["worker"])) == (1, 4)
    assert len(set(endpoints)) == 5, endpoints          # five distinct host:port
    # ... and they are the endpoints resmgr reserved for those containers
    reserved = {f"{c.host}:{c.port}" for c in report.containers if c.role != "appmaster"}
    assert reserved == set(endpoints)


def test_a_directory_app_gets_its_whole_tree_and_its_args(shared, tmp_path):
    write_app(tmp_path / "proj", "pkg/helper.py", "GREETING = 'from a helper module'\n")
    write_app(tmp_path / "proj", "data/table.txt", "a table row\n")
    write_app(tmp_path / "proj", "pkg/main.py", (
        "import pathlib, sys\n"
        "sys.path.insert(0, 'pkg')\n"
        "import helper\n"
        "print(helper.GREETING, pathlib.Path('data/table.txt').read_text().strip(), sys.argv[1:])\n"))
    root, entry = yc.resolve_entry(tmp_path / "proj", "pkg/main.py")
    spec = yc.build_spec(entry, workers=1, args=["--flag", "two words"], worker=SMALL)
    with shared.client() as client:
        app_id = client.submit(root, spec)
    report = wait_done(shared, app_id)
    assert yc.succeeded(report), report.diagnostics
    with shared.client() as client:
        text = client.log_text(app_id, "worker:0")
    assert "from a helper module a table row ['--flag', 'two words']" in text, text


def test_following_a_log_streams_it_until_the_task_ends(shared, task_app):
    app_id = submit(shared, task_app, mode="ticks", ps=0, workers=1)
    arrivals = []
    with shared.client() as client:
        container = client.wait_for_container(app_id, "worker:0")
        for data in client.read_log(app_id, container, follow=True):
            arrivals.append((time.monotonic(), data.decode()))
    text = "".join(d for _, d in arrivals)
    assert [f"tick {i}" for i in range(8)] == re.findall(r"tick \d", text)
    first_tick = next(t for t, d in arrivals if "tick 0" in d)
    assert arrivals[-1][0] - first_tick > 0.5, "the log came in one piece at the end, not as written"


def test_worker_failing_once_is_retried_and_the_app_succeeds(shared, task_app):
    app_id = submit(shared, task_app, mode="fail-once", ps=0, workers=2, max_task_attempts=2)
    report = wait_done(shared, app_id)
    assert yc.succeeded(report), report.diagnostics
    attempts = sorted(c.attempt for c in report.containers if (c.role, c.task_index) == ("worker", 0))
    assert attempts == [1, 2]
    failed = next(c for c in report.containers if (c.role, c.task_index, c.attempt) == ("worker", 0, 1))
    assert failed.status.exit_code == 3
    stderr = task_logs(shared, app_id, report, "stderr")
    assert "boom: worker 0 broke on attempt 1" in stderr[("worker", 0, 1)]


def test_worker_always_failing_fails_the_app_with_its_stderr_tail(shared, task_app):
    app_id = submit(shared, task_app, mode="always-fail", ps=1, workers=1, max_task_attempts=2)
    report = wait_done(shared, app_id)
    assert report.final_status == common_pb2.FAILED, yc.format_report_line(report)
    assert "worker:0" in report.diagnostics or "worker 0" in report.diagnostics, report.diagnostics
    assert re.search(r"\b3\b", report.diagnostics), report.diagnostics   # the exit code
    assert "boom: worker 0 broke on attempt 2" in report.diagnostics
    # the app's leftover ps task is stopped once the app has ended
    wait_until(lambda: not app_processes(app_id), 15, f"every process of {app_id} to end")


def test_kill_stops_every_process_of_the_app(shared, task_app):
    app_id = submit(shared, task_app, mode="forever", ps=1, workers=2)
    # the appmaster and all three tasks run as processes of this app
    wait_until(lambda: len(app_processes(app_id)) >= 4, APP_TIMEOUT_S, f"4 processes of {app_id}")
    with shared.client() as client:
        assert client.kill(app_id) is True
        report = client.wait(app_id, timeout=15)
        assert report.state == common_pb2.APP_KILLED
        wait_until(lambda: not app_processes(app_id), 15, f"every process of {app_id} to end")
        assert client.kill(app_id) is False              # already over


def test_oversize_ask_is_refused_naming_the_largest_node(shared, task_app):
    spec = yc.build_spec(task_app.name, workers=1, worker=yc.RoleAsk(memory="10000g"))
    with shared.client() as client, pytest.raises(YarnflowError) as refused:
        client.submit(task_app, spec)
    # the refusal says what was asked and what the largest node has (4g each here)
    message = str(refused.value)
    assert "worker" in message and "largest node" in message and "4.0 GiB" in message, message
    # ... and the resmgr is fine afterwards
    assert len(shared.node_reports()) == 2


def test_an_upload_cut_short_by_an_unreadable_file_is_a_clear_error(shared, task_app, monkeypatch):
    def chunks_then_fail(root):
        yield common_pb2.FileChunk(path="task_app.py", data=b"print(1)", last=True)
        raise PermissionError(13, "Permission denied", "private.txt")
    monkeypatch.setattr(yc, "iter_file_chunks", chunks_then_fail)
    spec = yc.build_spec(task_app.name, workers=1, worker=SMALL)
    with shared.client() as client:
        with pytest.raises(YarnflowError, match="cannot read the app's files.*private.txt"):
            client.submit(task_app, spec)
        assert len(client.nodes()) == 2          # resmgr shrugged off the aborted upload


def test_unknown_app_is_a_clear_error(shared):
    with shared.client() as client, pytest.raises(YarnflowError, match="app_1_9999"):
        client.report("app_1_9999")


def test_requests_without_the_secret_or_with_a_wrong_one_are_refused(shared):
    with shared.client(secret="") as client, pytest.raises(YarnflowError, match="no cluster secret"):
        client.apps()
    with shared.client(secret="not-the-secret") as client, pytest.raises(YarnflowError, match="wrong"):
        client.nodes()


def test_an_app_token_opens_its_own_app_only(shared, task_app):
    app_id = submit(shared, task_app, ps=0, workers=1)
    wait_done(shared, app_id)
    token = auth.app_token(shared.secret, "app_1_0001")
    with rpc.channel(shared.address, auth.app_metadata("app_1_0001", token)) as ch:
        stub = resmgr_pb2_grpc.ApplicationClientStub(ch)
        with pytest.raises(grpc.RpcError) as denied:
            stub.GetApplicationReport(resmgr_pb2.GetApplicationReportRequest(app_id=app_id), timeout=5)
    assert denied.value.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)


def test_daemons_survived_every_client_mistake(shared):
    # runs after the tests above fed the shared cluster bad asks, ids, secrets and tokens
    dead = [d.name for d in [shared.resmgr, *shared.nodes.values()] if not d.alive()]
    assert not dead, f"{dead} died\n{shared.log_tails()}"
    shared.wait_for_nodes(2)


# ---------------------------------------------------------------- tests that break their own cluster

def test_a_task_whose_port_is_taken_is_retried_on_another_port(cluster, task_app):
    node = cluster.add_node(vcores=4, memory="4g")
    cluster.wait_for_nodes(1)
    first, _ = cluster.port_ranges["node1"]
    # resmgr hands out the lowest free port: the appmaster gets `first`, worker:0 then `first + 1`
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # TIME_WAIT of earlier tests
        squatter.bind(("127.0.0.1", first + 1))
        squatter.listen()
        app_id = submit(cluster, task_app, ps=0, workers=1, max_task_attempts=2)
        report = wait_done(cluster, app_id)
    workers = [c for c in report.containers if c.role == "worker"]
    blocked = [c for c in workers if c.port == first + 1]
    if not blocked:
        pytest.skip("resmgr did not hand out the taken port, so this run proves nothing")
    assert "cannot be bound" in blocked[0].status.diagnostics, blocked[0].status.diagnostics
    assert yc.succeeded(report), f"{report.diagnostics}\n{cluster.log_tails()}"
    assert report.am_attempt == 1, "the appmaster itself died on the failed start"
    assert node.alive()


def test_a_gang_too_big_for_the_cluster_says_so_and_starts_once_a_node_joins(cluster, task_app):
    cluster.add_node(vcores=2, memory="4g")
    cluster.wait_for_nodes(1)
    app_id = submit(cluster, task_app, ps=1, workers=4)  # 5 tasks of 1 vcore beside the appmaster's

    def does_not_fit():
        with cluster.client() as client:
            diagnostics = client.report(app_id).diagnostics
        return diagnostics if "does not fit" in diagnostics else ""
    reason = wait_until(does_not_fit, 20, "the report to say the gang does not fit", 0.1)
    assert "5 containers (1 ps, 4 worker" in reason and "5 vcores" in reason and "2 vcores" in reason, reason
    assert "waits for nodes to join" in reason, reason
    cluster.add_node(vcores=8, memory="4g")
    report = wait_done(cluster, app_id)
    assert yc.succeeded(report), f"{report.diagnostics}\n{cluster.log_tails()}"
    assert "does not fit" not in report.diagnostics


def test_killed_nodeagent_makes_its_node_lost_within_the_expiry(cluster):
    cluster.add_node(vcores=2, memory="1g")
    doomed = cluster.add_node(vcores=2, memory="1g")
    cluster.wait_for_nodes(2)
    killed_at = time.monotonic()
    cluster.kill_node(doomed)
    node_state = lambda: cluster.node_reports()[doomed.address].state   # noqa: E731
    wait_until(lambda: node_state() == common_pb2.NODE_LOST, cluster.node_expiry + 3,
               f"{doomed.address} to be LOST")
    # not before it could have expired (its last heartbeat may predate the kill by an interval)
    assert time.monotonic() - killed_at >= cluster.node_expiry - cluster.heartbeat_interval - 1.0
    running = [n for n in cluster.node_reports().values() if n.state == common_pb2.NODE_RUNNING]
    assert len(running) == 1


def test_a_submission_survives_a_resmgr_restart(cluster, task_app):
    cluster.add_node(vcores=4, memory="4g")
    cluster.wait_for_nodes(1)
    app_id = submit(cluster, task_app, mode="forever", ps=0, workers=1, name="survivor")
    cluster.restart_resmgr()
    with cluster.client() as client:
        report = client.report(app_id)
        assert (report.app_id, report.name, report.spec.entry) == (app_id, "survivor", task_app.name)
        assert app_id in {a.app_id for a in client.apps()}
        client.kill(app_id)
    cluster.wait_for_nodes(1)   # the node agent finds the restarted resmgr again


def test_shutdown_leaves_no_process_behind_even_orphaned_containers(tmp_path, task_app):
    cluster = LocalTestCluster(tmp_path / "c").start()
    try:
        node = cluster.add_node(vcores=4, memory="4g")
        cluster.wait_for_nodes(1)
        app_id = submit(cluster, task_app, mode="forever", ps=0, workers=1)
        wait_until(lambda: len(app_processes(app_id)) >= 2, APP_TIMEOUT_S, f"processes of {app_id}")
        pids = [p.pid for p in app_processes(app_id)] + [cluster.resmgr.pid, node.pid]
        cluster.kill_node(node)          # its containers live on as orphans: shutdown must find them
        assert len(app_processes(app_id)) >= 2
    finally:
        cluster.shutdown()
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
