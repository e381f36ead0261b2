"""The master's step planner on its own, with no server, socket or thread: sessions and graph versions, the plan
cache and its reference-counted retirement, prune/place/partition across tasks, the feed slices the master cuts,
and the routes a client may push feeds along."""

import doctest
import importlib

import numpy as np
import pytest

import tasklayer as tf
from engine import errors
from tasklayer.distributed import feed_routing, step_planner
from tasklayer.distributed.cluster_spec import ClusterSpec
from tasklayer.distributed.step_planner import StepPlanner, handles_by_task

CLUSTER = ClusterSpec({"local": ["localhost:1", "localhost:2"]})
T1 = "/job:local/task:1"


def _graph(build):
    with tf.Graph().as_default() as g:
        build()
    return g.as_graph_def()


def _two_task_graph():
    """x fed; y = x * 2 on task 1; z = y + 1 on task 0 (where the master is)."""
    def build():
        x = tf.placeholder(tf.float32, [4], name="x")
        with tf.device(T1):
            y = tf.multiply(x, 2.0, name="y")
        tf.add(y, 1.0, name="z")
        tf.reduce_sum(x, name="s")
    return _graph(build)


@pytest.fixture
def planner():
    return StepPlanner(CLUSTER, ("local", 0))


def test_a_plan_is_built_once_per_signature_and_taken_per_step(planner):
    handle = planner.create_session(_two_task_graph(), 1)
    plan, idle = planner.acquire(handle, 1, ["z:0"], ["x:0"], [])
    again, _ = planner.acquire(handle, 1, ["z:0"], ["x:0"], [])
    other, _ = planner.acquire(handle, 1, ["s:0"], ["x:0"], [])
    assert again is plan and other is not plan and idle == []
    assert (plan.users, other.users) == (2, 1)
    assert all(run.handle.startswith(f"{handle}/") for run in plan.runs + other.runs)
    assert {run.handle for run in plan.runs}.isdisjoint(run.handle for run in other.runs)


def test_partitions_go_to_their_tasks_and_fetches_know_their_partition(planner):
    handle = planner.create_session(_two_task_graph(), 1)
    plan, _ = planner.acquire(handle, 1, ["z:0", "y:0"], ["x:0"], [])
    by_task = {run.task_key: run for run in plan.runs}
    assert set(by_task) == {("local", 0), ("local", 1)}
    assert by_task[("local", 0)].local and not by_task[("local", 1)].local
    assert (by_task[("local", 1)].task, by_task[("local", 1)].address) == (T1, "localhost:2")
    assert by_task[("local", 1)].part.feeds == ["x:0"]  # fed straight to the task that consumes it
    fetched = [plan.runs[run].part.fetches[pos] for run, pos in plan.fetch_routes]
    assert fetched == ["z:0", "y:0"]
    assert [plan.runs[run].task_key for run, _ in plan.fetch_routes] == [("local", 0), ("local", 1)]
    assert handles_by_task([plan]) == {key: [run.handle] for key, run in by_task.items()}


def test_unknown_sessions_versions_feeds_and_fetches_are_errors(planner):
    with pytest.raises(errors.FailedPreconditionError, match="session 'nope' is unknown to the master on "
                                                           "/job:local/task:0"):
        planner.acquire("nope", 1, ["z:0"], [], [])
    handle = planner.create_session(_two_task_graph(), 1)
    with pytest.raises(errors.FailedPreconditionError, match="graph version 3 was never sent"):
        planner.acquire(handle, 3, ["z:0"], ["x:0"], [])
    with pytest.raises(errors.NotFoundError, match="unable to find feed output nope:0"):
        planner.acquire(handle, 1, ["z:0"], ["x:0", "nope:0"], [])
    with pytest.raises(errors.NotFoundError, match="'zz' not found"):
        planner.acquire(handle, 1, ["zz:0"], ["x:0"], [])


def test_a_newer_graph_retires_plans_when_their_last_step_ends(planner):
    handle = planner.create_session(_two_task_graph(), 1)
    busy, _ = planner.acquire(handle, 1, ["z:0"], ["x:0"], [])
    idle, _ = planner.acquire(handle, 1, ["s:0"], ["x:0"], [])
    assert planner.release(idle) == []  # cached: nothing to clean up
    assert planner.extend_session(handle, _two_task_graph(), 2) == [idle]  # unused: cleaned up at once
    assert busy.retired and busy.users == 1
    assert planner.extend_session(handle, _two_task_graph(), 2) == []  # a late extension changes nothing
    assert planner.release(busy) == [busy]  # its last step hands it over
    fresh, _ = planner.acquire(handle, 1, ["z:0"], ["x:0"], [])  # an older version plans on the newest graph
    assert fresh is not busy and not fresh.retired


def test_a_full_cache_drops_its_oldest_plan(planner, monkeypatch):
    monkeypatch.setattr(step_planner, "PLANS_PER_SESSION", 2)
    handle = planner.create_session(_two_task_graph(), 1)
    first, _ = planner.acquire(handle, 1, ["z:0"], ["x:0"], [])
    planner.release(first)
    second, _ = planner.acquire(handle, 1, ["s:0"], ["x:0"], [])
    third, idle = planner.acquire(handle, 1, ["y:0"], ["x:0"], [])
    assert idle == [first] and first.retired and not second.retired
    assert planner.acquire(handle, 1, ["z:0"], ["x:0"], [])[0] is not first  # built again


def test_closing_a_session_hands_over_all_its_plans(planner):
    handle = planner.create_session(_two_task_graph(), 1)
    plans = [planner.acquire(handle, 1, [f], ["x:0"], [])[0] for f in ("z:0", "s:0")]
    assert planner.close_session(handle) == plans
    assert planner.close_session(handle) == [] and planner.handles() == []


def test_the_master_cuts_a_constant_slice_of_a_feed_for_another_task(planner):
    def build():
        x = tf.placeholder(tf.float32, [None], name="x")
        with tf.device(T1):
            tf.reduce_sum(tf.slice(x, [2], [3], name="cut"), name="far")
        tf.reduce_sum(tf.slice(x, [0], [2], name="near_cut"), name="near")
    handle = planner.create_session(_graph(build), 1)
    plan, _ = planner.acquire(handle, 1, ["far:0", "near:0"], ["x:0"], [])
    assert list(plan.derived) == ["cut:0"]  # the slice on this task is not cut ahead
    source, kernel, begin, size = plan.derived["cut:0"]
    assert source == "x:0"
    np.testing.assert_array_equal(kernel(np.arange(10, dtype=np.float32), begin, size), [2, 3, 4])
    remote = next(run for run in plan.runs if not run.local)
    assert remote.part.feeds == ["cut:0"]  # only the slice crosses, not all of x


def test_feed_routes_send_each_consumer_its_part(planner):
    def build():
        x = tf.placeholder(tf.float32, [None], name="x")
        with tf.device(T1):
            tf.reduce_sum(tf.slice(x, [0], [5]), name="far")
        tf.reduce_sum(x, name="near")
    handle = planner.create_session(_graph(build), 1)
    plan, _ = planner.acquire(handle, 1, ["far:0", "near:0"], ["x:0"], [])
    routes = feed_routing.plan_routes(plan.runs, plan.derived, {("local", 1): "localhost:9"})
    by_channel = {r.channel: r for r in routes}
    assert set(by_channel) == {"", "localhost:9"}  # "": the master's own channel
    assert by_channel[""].feed == by_channel["localhost:9"].feed == "x:0"
    assert (list(by_channel["localhost:9"].begin), list(by_channel["localhost:9"].size)) == ([0], [5])
    assert by_channel["localhost:9"].key.startswith("feed/") and by_channel["localhost:9"].key.endswith("Slice:0")
    # A consumer without a reachable channel: the feed goes through the master, for every consumer.
    assert feed_routing.plan_routes(plan.runs, plan.derived, {("local", 1): None}) == []


@pytest.mark.parametrize("module", ["tasklayer.distributed.step_planner", "tasklayer.distributed.plan_builder",
                                    "tasklayer.distributed.feed_routing", "tasklayer.distributed.errors",
                                    "tasklayer.distributed.channel_codec", "tasklayer.distributed.channel_server",
                                    "tasklayer.distributed.tensor_stream", "tasklayer.distributed.liveness"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
