"""App lifecycle, node tracker and their joining (resmgr.core): pure, fake clock, no sockets."""

import types

import pytest

from resmgr import apps as A
from resmgr.core import ClusterState, LaunchAM, PersistApp, StopContainers
from resmgr.model import CONTAINER_COMPLETE, CONTAINER_RUNNING, ContainerStatus, Res
from resmgr.nodes import NODE_LOST, NodeTracker


def spec(name="app", am=None):
    return types.SimpleNamespace(name=name, queue="default", am_resource=am)


def running(cid, app_id):
    return ContainerStatus(cid, app_id, CONTAINER_RUNNING, pid=1)


def done(cid, app_id, code=0, diag=""):
    return ContainerStatus(cid, app_id, CONTAINER_COMPLETE, code, diag)


@pytest.fixture
def cluster():
    return ClusterState(expiry_s=3.0, max_am_attempts=2, validate=True)


def add_node(cluster, nid="n1", vcores=4, now=0.0):
    return cluster.register_node(nid, "127.0.0.1", Res(vcores, 8192, 0), 20000, 20100, [], now)


# ---------------------------------------------------------------- app state machine
def test_lifecycle_table_allows_the_natural_path_and_refuses_the_rest():
    m = A.AppManager()
    app = m.submit("app_1_0001", spec(), b"", "n", "q", now=1.0)
    assert app.state == A.SUBMITTED
    with pytest.raises(A.AppError, match="no transition from SUBMITTED to RUNNING"):
        m.am_registered("app_1_0001", "h", now=2.0)
    assert m.start_attempt("app_1_0001") == "app_1_0001_01_000001"
    assert m.next_container_id("app_1_0001") == "app_1_0001_01_000002"
    m.am_placed("app_1_0001", types.SimpleNamespace(container_id="app_1_0001_01_000001", node_id="n1",
                                                    hostname="h", port=1), now=2.0)
    m.am_registered("app_1_0001", "h", now=3.0)
    m.finish("app_1_0001", A.FINAL_SUCCEEDED, "", now=4.0)
    assert (app.state, app.final_status, app.started_at, app.finished_at) == (A.FINISHED, A.FINAL_SUCCEEDED, 3.0, 4.0)
    with pytest.raises(A.AppError, match="no transition from FINISHED to FAILED"):
        m.fail("app_1_0001", "late", now=5.0)
    assert m.kill("app_1_0001", "x", now=5.0) is False


# ---------------------------------------------------------------- node tracker
def test_node_expires_after_silence_and_its_containers_complete_with_minus_100():
    t = NodeTracker(expiry_s=3.0)
    t.register("n1", "h", Res(1, 1), 0, 0, [], now=0.0)
    t.expect("n1", "c1", "app_1")
    assert t.expire(now=2.9) == []
    assert t.heartbeat("n1", None, [running("c1", "app_1")], now=2.9).known
    assert t.expire(now=5.0) == []
    (lost,) = t.expire(now=6.0)
    assert lost.node_id == "n1" and t.nodes["n1"].state == NODE_LOST
    (status,) = lost.containers
    assert (status.container_id, status.exit_code, status.diagnostics) == ("c1", -100, "node n1 lost")
    assert t.heartbeat("n1", None, [], now=7.0).known is False  # told to re-register


def test_heartbeat_passes_on_only_changes_and_kills_strangers():
    t = NodeTracker()
    t.register("n1", "h", Res(1, 1), 0, 0, [running("old", "app_0")], now=0.0)
    t.expect("n1", "c1", "app_1")
    r1 = t.heartbeat("n1", None, [running("c1", "app_1")], now=1.0)
    assert [s.container_id for s in r1.changed] == ["c1"] and r1.to_kill == ("old",)
    r2 = t.heartbeat("n1", None, [running("c1", "app_1"), running("stray", "app_9")], now=2.0)
    assert [s.container_id for s in r2.changed] == ["stray"] and r2.to_kill == ("stray",)
    r3 = t.heartbeat("n1", None, [done("c1", "app_1")], now=3.0)
    assert [s.container_id for s in r3.changed] == ["c1"]
    assert t.heartbeat("n1", None, [done("c1", "app_1")], now=4.0).changed == ()


# ---------------------------------------------------------------- joined: core
def test_submit_places_the_am_at_once_and_gang_allocations_reach_the_app(cluster):
    add_node(cluster)
    actions = cluster.submit("app_1_0001", spec(), b"spec", now=1.0)
    launch = [a for a in actions if isinstance(a, LaunchAM)]
    assert PersistApp("app_1_0001") in actions and len(launch) == 1
    assert launch[0].placement.container_id == "app_1_0001_01_000001" and launch[0].attempt == 1
    assert launch[0].placement.resource == Res(1, 256, 0)
    cluster.register_am("app_1_0001", "127.0.0.1", now=2.0)
    v = cluster.news_version
    asks = [(f"worker:{i}", "worker", i, Res(1, 1024)) for i in range(2)]
    cluster.allocate("app_1_0001", [("g1", asks)], [], now=3.0)
    assert cluster.news_version > v
    allocs, completed, failed = cluster.apps.take_news("app_1_0001")
    assert [p.container_id for p in allocs] == ["app_1_0001_01_000002", "app_1_0001_01_000003"]
    assert len({p.port for p in allocs}) == 2
    # a retried Allocate carrying the same gang does not ask twice
    cluster.allocate("app_1_0001", [("g1", asks)], [], now=3.5)
    assert cluster.apps.take_news("app_1_0001") == ([], [], [])
    # a finished worker reaches the app once, however often the node repeats it
    for now in (4.0, 5.0):
        cluster.heartbeat("n1", None, [done("app_1_0001_01_000002", "app_1_0001", 1, "boom")], now)
    _, completed, _ = cluster.apps.take_news("app_1_0001")
    assert [(s.container_id, s.exit_code) for s in completed] == [("app_1_0001_01_000002", 1)]


def test_am_death_starts_a_new_attempt_then_fails_the_app(cluster):
    add_node(cluster)
    cluster.submit("app_1_0001", spec(), b"", now=0.0)
    cluster.register_am("app_1_0001", "h", now=0.5)
    cluster.allocate("app_1_0001", [("g", [("worker:0", "worker", 0, Res(1, 10))])], [], now=1.0)
    _, _, actions = cluster.heartbeat("n1", None, [done("app_1_0001_01_000001", "app_1_0001", 137, "oom")], 2.0)
    # the first attempt's worker is stopped and a second AM is launched
    assert StopContainers("n1", "app_1_0001", ("app_1_0001_01_000002",), whole_app=True) in actions
    (launch,) = [a for a in actions if isinstance(a, LaunchAM)]
    assert launch.attempt == 2 and launch.placement.container_id == "app_1_0001_02_000001"
    app = cluster.apps.get("app_1_0001")
    assert app.state == A.ACCEPTED and "exit code 137: oom" in app.diagnostics
    _, _, actions = cluster.heartbeat("n1", None, [done("app_1_0001_02_000001", "app_1_0001", 1)], 3.0)
    assert not [a for a in actions if isinstance(a, LaunchAM)]
    assert app.state == A.FAILED and "failed 2 time(s)" in app.diagnostics
    assert cluster.scheduler.node_used("n1") == Res()


def test_lost_node_reports_containers_and_moves_the_am(cluster):
    add_node(cluster, "n1", now=0.0)
    cluster.submit("app_1_0001", spec(), b"", now=0.0)
    add_node(cluster, "n2", now=0.0)
    am_node = cluster.apps.get("app_1_0001").containers["app_1_0001_01_000001"].node_id
    other = "n2" if am_node == "n1" else "n1"
    cluster.heartbeat(other, None, [], now=3.0)
    actions = cluster.tick(now=4.0)
    (launch,) = [a for a in actions if isinstance(a, LaunchAM)]
    assert launch.placement.node_id == other and launch.attempt == 2
    am1 = cluster.apps.get("app_1_0001").containers["app_1_0001_01_000001"]
    assert (am1.status.exit_code, am1.status.diagnostics) == (-100, f"node {am_node} lost")


def test_kill_stops_everything_and_tells_the_am_to_shut_down(cluster):
    add_node(cluster)
    cluster.submit("app_1_0001", spec(), b"", now=0.0)
    killed, actions = cluster.kill("app_1_0001", "user said so", now=1.0)
    assert killed and StopContainers("n1", "app_1_0001", ("app_1_0001_01_000001",), whole_app=True) in actions
    app = cluster.apps.get("app_1_0001")
    assert app.shutdown and app.has_news() and app.diagnostics == "user said so"
    assert cluster.kill("app_1_0001", "again", now=2.0) == (False, [])
    assert cluster.scheduler.node_used("n1") == Res()


def test_finish_stops_tasks_now_and_the_am_after_its_grace(cluster):
    add_node(cluster)
    cluster.submit("app_1_0001", spec(), b"", now=0.0)
    cluster.register_am("app_1_0001", "h", now=0.0)
    cluster.allocate("app_1_0001", [("g", [("ps:0", "ps", 0, Res(1, 10))])], [], now=0.0)
    actions = cluster.finish_am("app_1_0001", A.FINAL_SUCCEEDED, "", now=1.0)
    assert StopContainers("n1", "app_1_0001", ("app_1_0001_01_000002",)) in actions
    cluster.heartbeat("n1", None, [], now=2.0)
    assert cluster.tick(now=2.0) == []
    cluster.heartbeat("n1", None, [], now=11.5)
    assert cluster.tick(now=11.5) == [StopContainers("n1", "app_1_0001", ("app_1_0001_01_000001",))]


def test_am_too_large_for_every_node_fails_the_app(cluster):
    add_node(cluster, vcores=1)
    cluster.submit("app_1_0001", spec(am=Res(8, 100, 0)), b"", now=0.0)
    app = cluster.apps.get("app_1_0001")
    assert app.state == A.FAILED and "appmaster asks 8 vcores" in app.diagnostics
