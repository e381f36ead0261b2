"""The container lifecycle state machine, driven without processes."""

import threading

import pytest

from nodeagent.containers import (COMPLETE, EXIT_INVALID, LOCALIZING, NEW, RUNNING, TRANSITIONS,
                                  ContainerTable, InvalidTransition)
from protos import common_pb2

STATES = (NEW, LOCALIZING, RUNNING, COMPLETE)


def _table(changes=None):
    clock = iter(range(100, 10000))
    return ContainerTable(on_change=(changes.append if changes is not None else None),
                          clock=lambda: float(next(clock)))


def test_natural_path_records_facts_and_history():
    changes = []
    t = _table(changes)
    t.add("c1", "app_1")
    t.transition("c1", LOCALIZING)
    t.transition("c1", RUNNING, pid=4242)
    t.transition("c1", COMPLETE, exit_code=3, diagnostics="exited with code 3")
    c = t.get("c1")
    assert (c.state, c.pid, c.exit_code, c.diagnostics) == (COMPLETE, 4242, 3, "exited with code 3")
    assert c.started_at == 101.0 and c.finished_at == 102.0
    assert [(frm, to) for _, frm, to, _ in t.history] == [
        (None, NEW), (NEW, LOCALIZING), (LOCALIZING, RUNNING), (RUNNING, COMPLETE)]
    assert [x.state for x in changes] == [COMPLETE] * 3   # same object, seen after each move
    proto = c.to_proto()
    assert proto.state == common_pb2.CONTAINER_COMPLETE and proto.exit_code == 3 and proto.pid == 4242


@pytest.mark.parametrize("start", STATES)
@pytest.mark.parametrize("finish", STATES)
def test_every_pair_outside_the_table_raises(start, finish):
    t = _table()
    t.add("c", "a")
    path = {NEW: [], LOCALIZING: [LOCALIZING], RUNNING: [RUNNING], COMPLETE: [COMPLETE]}[start]
    for step in path:
        t.transition("c", step, pid=1)
    if (start, finish) in TRANSITIONS:
        t.transition("c", finish, pid=1)
        assert t.get("c").state == finish
    else:
        with pytest.raises(InvalidTransition, match=f"{start} -> {finish}"):
            t.transition("c", finish, pid=1)
        assert t.get("c").state == start


def test_complete_is_idempotent_and_unknown_ids_fail():
    t = _table()
    t.add("c", "a")
    assert t.complete("c", EXIT_INVALID, "failed to start: x")
    assert not t.complete("c", 0, "later news")           # the first ending stands
    assert t.get("c").diagnostics == "failed to start: x"
    with pytest.raises(KeyError):
        t.transition("nope", RUNNING, pid=1)
    with pytest.raises(ValueError, match="already exists"):
        t.add("c", "a")


def test_heartbeat_statuses_carry_completed_until_reported():
    t = _table()
    for cid in ("live", "done"):
        t.add(cid, "a")
        t.transition(cid, RUNNING, pid=1)
    t.transition("done", COMPLETE, exit_code=0)
    assert {s.container_id for s in t.statuses(for_heartbeat=True)} == {"live", "done"}
    t.mark_reported(["done", "live"])                    # a live one cannot be "reported"
    assert {s.container_id for s in t.statuses(for_heartbeat=True)} == {"live"}
    assert {s.container_id for s in t.statuses()} == {"live", "done"}
    t.forget_app("a")
    assert [c.container_id for c in t.all()] == ["live"]


def test_wait_done_wakes_on_completion():
    t = _table()
    t.add("c", "a")
    t.transition("c", RUNNING, pid=1)
    assert not t.wait_done("c", 0.05)
    threading.Timer(0.05, lambda: t.transition("c", COMPLETE, exit_code=-15)).start()
    assert t.wait_done("c", 5.0)
    assert t.get("c").exit_code == -15
