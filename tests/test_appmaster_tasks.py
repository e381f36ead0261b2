"""The appmaster's task table, driven by events alone: no sockets, no clock."""

import pytest

from appmaster import tasks as T
from protos import common_pb2, resmgr_pb2


def make_spec(ps=1, workers=2, max_task_attempts=0, worker_attempts=0, other=None):
    """An ApplicationSpec with ``ps`` ps tasks and ``workers`` workers (and optionally another role)."""
    res = common_pb2.Resource(vcores=1, memory_mb=128)
    roles = []
    if ps:
        roles.append(resmgr_pb2.RoleSpec(name="ps", count=ps, resource=res))
    if workers:
        roles.append(resmgr_pb2.RoleSpec(name="worker", count=workers, resource=res,
                                         max_attempts=worker_attempts))
    if other:
        roles.append(resmgr_pb2.RoleSpec(name=other[0], count=other[1], resource=res))
    return resmgr_pb2.ApplicationSpec(name="t", entry="app.py", roles=roles,
                                      max_task_attempts=max_task_attempts)


class Driver:
    """Feeds a table events the way the master would, naming containers ``c1, c2, ...``."""

    def __init__(self, spec):
        self.table = T.TaskTable(spec, validate=True)
        self.seq = 0
        self.decisions = []

    def feed(self, event):
        out = self.table.handle(event)
        self.decisions.extend(out)
        return out

    def allocate(self, ask_id):
        self.seq += 1
        cid = f"c{self.seq}"
        return cid, self.feed(T.Allocated(ask_id, cid, "node:1", "host", 20000 + self.seq, f"alloc-{cid}"))

    def grant(self, gang):
        """Allocate every ask of ``gang``; return {ask_id: container_id} and the decisions of the last."""
        cids, out = {}, []
        for ask in gang.asks:
            cids[ask.ask_id], out = self.allocate(ask.ask_id)
        return cids, out

    def start_all(self, launches):
        for launch in launches:
            self.feed(T.Started(launch.container_id, f"started-{launch.container_id}"))

    def run_gang(self):
        """Start the table, allocate and launch the whole gang; return {ask_id: container_id}."""
        (gang,) = self.table.start()
        cids, launches = self.grant(gang)
        self.start_all(launches)
        return cids

    def exit(self, cid, code, diagnostics=""):
        return self.feed(T.Completed(cid, code, diagnostics, f"exit-{cid}"))


def of_type(decisions, kind):
    return [d for d in decisions if isinstance(d, kind)]


def test_start_asks_for_every_task_as_one_gang():
    table = T.TaskTable(make_spec(ps=1, workers=2))
    (gang,) = table.start()
    assert isinstance(gang, T.AskGang)
    assert [a.ask_id for a in gang.asks] == ["ps:0", "worker:0", "worker:1"]
    assert all(a.resource.memory_mb == 128 for a in gang.asks)
    with pytest.raises(RuntimeError):
        table.start()


def test_nothing_launches_until_the_whole_gang_is_allocated():
    d = Driver(make_spec(ps=1, workers=2))
    (gang,) = d.table.start()
    _, out = d.allocate("ps:0")
    assert out == []
    _, out = d.allocate("worker:1")
    assert out == []
    _, out = d.allocate("worker:0")
    assert [(l.role, l.index, l.attempt) for l in out] == [("ps", 0, 1), ("worker", 0, 1), ("worker", 1, 1)]
    assert d.table.count(T.LAUNCHED) == 3


def test_started_tasks_are_running_and_endpoints_follow_allocations():
    d = Driver(make_spec(ps=1, workers=2))
    cids = d.run_gang()
    assert d.table.count(T.RUNNING) == 3
    assert d.table.endpoints() == {("ps", 0): "host:20001", ("worker", 0): "host:20002",
                                   ("worker", 1): "host:20003"}
    assert d.table.task_of(cids["worker:1"]).key == "worker:1"


def test_app_succeeds_when_every_worker_exits_0_and_the_ps_is_stopped():
    d = Driver(make_spec(ps=1, workers=2))
    cids = d.run_gang()
    assert d.exit(cids["worker:0"], 0) == []
    assert not d.table.done
    out = d.exit(cids["worker:1"], 0)
    assert out == [T.StopContainers((cids["ps:0"],)), T.Finish("SUCCEEDED", "every worker exited 0")]
    assert d.table.app_state == T.APP_SUCCEEDED
    assert d.table.tasks["ps:0"].state == T.STOPPING
    # The ps then dies of the stop: that is no failure and asks for nothing.
    assert d.exit(cids["ps:0"], -15) == []
    assert d.table.tasks["ps:0"].state == T.STOPPED


def test_a_failed_worker_is_retried_in_a_fresh_container_and_the_app_succeeds():
    d = Driver(make_spec(ps=1, workers=2))
    cids = d.run_gang()
    out = d.exit(cids["worker:1"], 1, "boom")
    (gang,) = out
    assert isinstance(gang, T.AskGang) and [a.ask_id for a in gang.asks] == ["worker:1"]
    assert gang.gang_id != "gang-1"
    assert d.table.tasks["worker:1"].state == T.RETRYING
    new_cid, out = d.allocate("worker:1")
    assert out == [T.Launch("worker", 1, 2, new_cid)]     # a retry launches at once, alone
    assert d.table.endpoints()[("worker", 1)] == "host:20004"
    d.start_all(out)
    # News of the old container is stale now.
    assert d.exit(cids["worker:1"], 1) == []
    d.exit(cids["worker:0"], 0)
    out = d.exit(new_cid, 0)
    assert of_type(out, T.Finish) == [T.Finish("SUCCEEDED", "every worker exited 0")]
    task = d.table.tasks["worker:1"]
    assert [(a.number, a.exit_code) for a in task.attempts] == [(1, 1), (2, 0)]


def test_a_worker_that_always_fails_fails_the_app_with_its_name_exit_code_and_stderr():
    d = Driver(make_spec(ps=1, workers=3))
    cids = d.run_gang()
    d.exit(cids["worker:2"], 3, "exited with code 3\nstderr tail:\nfirst try")
    new_cid, launches = d.allocate("worker:2")
    d.start_all(launches)
    out = d.exit(new_cid, 3, "exited with code 3\nstderr tail:\nValueError: bad input")
    stop, finish = out
    assert set(stop.container_ids) == {cids["ps:0"], cids["worker:0"], cids["worker:1"]}
    assert finish.final_status == "FAILED"
    assert "worker:2" in finish.diagnostics
    assert "exit code 3" in finish.diagnostics
    assert "2 attempts" in finish.diagnostics
    assert "ValueError: bad input" in finish.diagnostics
    assert d.table.tasks["worker:2"].state == T.FAILED
    assert d.table.diagnostics == finish.diagnostics


def test_max_attempts_come_from_the_role_then_the_app_then_the_default():
    assert T.TaskTable(make_spec()).tasks["worker:0"].max_attempts == T.DEFAULT_MAX_ATTEMPTS == 2
    assert T.TaskTable(make_spec(max_task_attempts=4)).tasks["worker:0"].max_attempts == 4
    table = T.TaskTable(make_spec(max_task_attempts=4, worker_attempts=1))
    assert table.tasks["worker:0"].max_attempts == 1
    assert table.tasks["ps:0"].max_attempts == 4


def test_one_attempt_means_the_first_failure_is_final():
    d = Driver(make_spec(ps=0, workers=2, max_task_attempts=1))
    cids = d.run_gang()
    out = d.exit(cids["worker:0"], -100, "node node:1 lost")
    assert of_type(out, T.Finish)[0].final_status == "FAILED"
    assert "exit code -100" in out[-1].diagnostics and "node node:1 lost" in out[-1].diagnostics
    assert "1 attempt:" in out[-1].diagnostics


def test_a_failed_ps_is_restarted_too():
    d = Driver(make_spec(ps=1, workers=1))
    cids = d.run_gang()
    (gang,) = d.exit(cids["ps:0"], -9, "killed by signal 9")
    assert [a.ask_id for a in gang.asks] == ["ps:0"]
    new_cid, launches = d.allocate("ps:0")
    assert launches == [T.Launch("ps", 0, 2, new_cid)]
    d.start_all(launches)
    out = d.exit(cids["worker:0"], 0)
    assert out == [T.StopContainers((new_cid,)), T.Finish("SUCCEEDED", "every worker exited 0")]


def test_without_workers_the_app_succeeds_when_every_task_exits_0():
    d = Driver(make_spec(ps=0, workers=0, other=("chief", 2)))
    cids = d.run_gang()
    assert d.exit(cids["chief:0"], 0) == []
    assert d.exit(cids["chief:1"], 0) == [T.Finish("SUCCEEDED", "every task exited 0")]


def test_a_container_that_could_not_start_counts_as_a_failed_attempt():
    d = Driver(make_spec(ps=0, workers=1))
    (gang,) = d.table.start()
    cids, launches = d.grant(gang)
    (retry,) = d.feed(T.StartFailed(cids["worker:0"], "port 20001 is taken"))
    assert [a.ask_id for a in retry.asks] == ["worker:0"]
    cid2, launches = d.allocate("worker:0")
    out = d.feed(T.StartFailed(cid2, "port 20002 is taken"))
    (finish,) = out
    assert finish.final_status == "FAILED"
    assert "never started" in finish.diagnostics and "port 20002 is taken" in finish.diagnostics


def test_a_start_failure_reported_twice_spends_one_attempt():
    # the node agent's StartContainers answer and resmgr's completed status both tell of it
    d = Driver(make_spec(ps=0, workers=1))
    (gang,) = d.table.start()
    cids, _ = d.grant(gang)
    (retry,) = d.feed(T.StartFailed(cids["worker:0"], "port 20001 is taken"))
    assert d.exit(cids["worker:0"], -1000, "could not start: port 20001 is taken") == []
    cid2, launches = d.allocate("worker:0")
    assert [l.attempt for l in launches] == [2]


def test_a_container_lost_before_the_gang_launched_is_asked_again_without_spending_an_attempt():
    d = Driver(make_spec(ps=1, workers=1, max_task_attempts=1))
    (gang,) = d.table.start()
    ps_cid, _ = d.allocate("ps:0")
    (again,) = d.exit(ps_cid, -100, "node node:1 lost")
    assert [a.ask_id for a in again.asks] == ["ps:0"]
    _, out = d.allocate("worker:0")
    assert out == []                       # the gang is still not whole
    ps2, out = d.allocate("ps:0")
    assert [l.container_id for l in out] == [ps2, "c2"]
    assert [l.attempt for l in out] == [1, 1]


def test_unwanted_allocations_are_released():
    d = Driver(make_spec(ps=0, workers=1))
    d.run_gang()
    assert d.allocate("worker:0")[1] == [T.Release(("c2",))]    # a duplicate
    assert d.allocate("chief:7")[1] == [T.Release(("c3",))]     # an ask nobody made


def test_shutdown_stops_running_tasks_releases_allocated_ones_and_does_not_finish():
    d = Driver(make_spec(ps=1, workers=2))
    cids = d.run_gang()
    (gang,) = d.exit(cids["worker:0"], 1)
    out = d.feed(T.Shutdown("killed"))
    assert out == [T.StopContainers((cids["ps:0"], cids["worker:1"]))]
    assert d.table.app_state == T.APP_KILLED and d.table.done
    assert d.table.tasks["worker:0"].state == T.STOPPED
    # Late news changes nothing.
    assert d.allocate("worker:0")[1] == [T.Release(("c4",))]
    assert d.feed(T.Shutdown("again")) == []


def test_shutdown_while_the_gang_is_half_allocated_releases_the_allocated():
    d = Driver(make_spec(ps=1, workers=1))
    d.table.start()
    cid, _ = d.allocate("ps:0")
    assert d.feed(T.Shutdown()) == [T.Release((cid,))]


def test_a_gang_that_can_never_be_placed_fails_the_app():
    d = Driver(make_spec(ps=1, workers=1))
    d.table.start()
    (finish,) = d.feed(T.GangFailed("gang-1", "ask of 10000 GiB exceeds the largest node"))
    assert finish.final_status == "FAILED" and "10000 GiB" in finish.diagnostics


def test_the_transition_log_tells_the_story_with_stimulus_ids():
    d = Driver(make_spec(ps=0, workers=1))
    cids = d.run_gang()
    d.exit(cids["worker:0"], 0)
    assert d.table.story() == [
        ("worker:0", "PENDING", "ALLOCATED", "alloc-c1"),
        ("worker:0", "ALLOCATED", "LAUNCHED", "alloc-c1"),
        ("worker:0", "LAUNCHED", "RUNNING", "started-c1"),
        ("worker:0", "RUNNING", "SUCCEEDED", "exit-c1"),
    ]


def test_the_transition_log_is_bounded():
    d = Driver(make_spec(ps=0, workers=1, max_task_attempts=T.LOG_LENGTH))
    cid = d.run_gang()["worker:0"]
    for _ in range(T.LOG_LENGTH // 3):
        d.exit(cid, 1)
        cid, launches = d.allocate("worker:0")
        d.start_all(launches)
    assert len(d.table.story()) == T.LOG_LENGTH


def test_an_unknown_transition_raises():
    table = T.TaskTable(make_spec(ps=0, workers=1))
    with pytest.raises(T.InvalidTransition, match="worker:0: no transition PENDING -> RUNNING"):
        table._transition(table.tasks["worker:0"], T.RUNNING, "test")


def test_unknown_events_and_empty_apps_are_refused():
    with pytest.raises(TypeError):
        T.TaskTable(make_spec()).handle("not an event")
    with pytest.raises(ValueError, match="no tasks"):
        T.TaskTable(make_spec(ps=0, workers=0))


def test_stderr_tail_keeps_the_end():
    assert T.stderr_tail("abcdefgh", limit=3) == "...fgh"
    assert T.stderr_tail("  short \n") == "short"
