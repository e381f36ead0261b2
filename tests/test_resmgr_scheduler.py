"""The gang scheduler as a pure state machine: no sockets, no clock."""

import pytest

from resmgr.model import Res
from resmgr.scheduler import (AppRemoved, ContainerFreed, ContainerRequest, GangAsked, GangPlaced,
                              GangRejected, NodeAdded, NodeRemoved, Scheduler, SchedulerError)


def node(nid, vcores=4, mem=8192, gpus=0, host=None, ports=(20000, 20010)):
    return NodeAdded(nid, host or nid, Res(vcores, mem, gpus), ports[0], ports[1])


def gang(app, gid, *sizes):
    reqs = tuple(ContainerRequest(f"{app}_{gid}_{i}", f"w:{i}", Res(*s), "w", i) for i, s in enumerate(sizes))
    return GangAsked(app, gid, reqs)


@pytest.fixture
def sched():
    return Scheduler(validate=True)


def placed(decisions):
    return [(d.app_id, d.gang_id) for d in decisions if isinstance(d, GangPlaced)]


def test_gang_is_all_or_nothing_and_waits_for_a_node(sched):
    sched.handle(node("n1", vcores=2))
    assert sched.handle(gang("a", "g", (1, 1024), (1, 1024), (1, 1024))) == []
    assert sched.pending_gangs() == [("a", "g")]
    assert sched.node_used("n1") == Res()  # nothing half-placed
    decisions = sched.handle(node("n2", vcores=2))
    assert placed(decisions) == [("a", "g")]
    nodes = [p.node_id for p in decisions[0].placements]
    assert sorted(nodes).count("n1") + sorted(nodes).count("n2") == 3 and set(nodes) == {"n1", "n2"}
    assert [p.ask_id for p in decisions[0].placements] == ["w:0", "w:1", "w:2"]


def test_gpu_indices_are_distinct_per_node_and_come_back(sched):
    sched.handle(node("n1", gpus=4))
    d = sched.handle(gang("a", "g", (1, 100, 2), (1, 100, 2)))
    given = [p.gpu_indices for p in d[0].placements]
    assert sorted(i for g in given for i in g) == [0, 1, 2, 3]
    assert sched.handle(gang("b", "g", (1, 100, 1))) == []
    d2 = sched.handle(ContainerFreed(d[0].placements[1].container_id))
    assert placed(d2) == [("b", "g")]
    assert d2[0].placements[0].gpu_indices == (given[1][0],)


def test_ports_unique_per_hostname_across_nodes(sched):
    # two nodes on one host with overlapping ranges must never hand out one port twice
    sched.handle(node("n1", host="h", ports=(30000, 30003)))
    sched.handle(node("n2", host="h", ports=(30000, 30003)))
    d = sched.handle(gang("a", "g", *[(0, 10)] * 3))
    ports = [p.port for p in d[0].placements]
    assert sorted(ports) == [30000, 30001, 30002]
    # the host's three ports are taken: a fourth container cannot be placed anywhere on it
    assert sched.handle(gang("b", "g", (0, 10))) == []
    d2 = sched.handle(ContainerFreed(d[0].placements[0].container_id))
    assert d2[0].placements[0].port == ports[0]


def test_oversize_ask_is_rejected_naming_the_largest_node(sched):
    sched.handle(node("small", vcores=2, mem=1024))
    sched.handle(node("big", vcores=2, mem=23962))
    d = sched.handle(gang("a", "g", (1, 10240000)))
    assert isinstance(d[0], GangRejected)
    assert d[0].reason == "w:0 asks 10240000 MB memory but the largest node (big) has 23.4 GiB, 2 vcores, 0 GPUs"
    assert sched.pending_gangs() == []


def test_no_node_means_wait_not_reject(sched):
    assert sched.handle(gang("a", "g", (64, 10 ** 7))) == []
    assert sched.pending_gangs() == [("a", "g")]


def test_waiting_reason_tells_a_gang_too_big_for_the_cluster_from_one_waiting_for_room(sched):
    assert sched.waiting_reason("a") == ""
    assert sched.handle(gang("a", "am", (1, 1024))) == []
    assert sched.waiting_reason("a") == "the gang of 1 container (1 w: 1.0 GiB, 1 vcores, 0 GPUs) waits for a node to join"
    sched.handle(node("n1", vcores=2, mem=4096))
    assert sched.pending_gangs() == []
    # every container fits the node alone, but the gang needs 5 vcores and the node has 2 (1 held by a's am)
    assert sched.handle(gang("a", "tasks", *[(1, 512)] * 5)) == []
    assert sched.waiting_reason("a") == (
        "the gang of 5 containers (5 w: 2.5 GiB, 5 vcores, 0 GPUs) does not fit the 1 node of the cluster even with "
        "no other app running (they have 4.0 GiB, 2 vcores, 0 GPUs in all; this app holds 1.0 GiB, 1 vcores, "
        "0 GPUs); it waits for nodes to join")
    assert sched.waiting_reason("b") == ""
    placed_b = sched.handle(gang("b", "g", (1, 512)))  # b takes the last vcore
    assert placed(placed_b) == [("b", "g")]
    assert sched.handle(gang("c", "g", (1, 512))) == []
    assert sched.waiting_reason("c") == ("the gang of 1 container (1 w: 512 MiB, 1 vcores, 0 GPUs) waits for other "
                                         "apps' containers to free room")
    assert placed(sched.handle(node("n2", vcores=8, mem=8192))) == [("a", "tasks"), ("c", "g")]
    assert sched.waiting_reason("a") == ""


def test_big_gang_at_head_is_not_starved_forever():
    sched = Scheduler(max_passes=2, validate=True)
    sched.handle(node("n1", vcores=4))
    first = sched.handle(gang("small0", "g", (2, 10)))
    assert sched.handle(gang("big", "g", (4, 10))) == []  # waits: 2 vcores are taken
    # younger small gangs may jump the big one max_passes times, then it holds the line
    assert placed(sched.handle(gang("small1", "g", (1, 10)))) == [("small1", "g")]
    assert placed(sched.handle(gang("small2", "g", (1, 10)))) == [("small2", "g")]
    assert sched.handle(gang("small3", "g", (1, 10))) == []
    sched.handle(ContainerFreed(first[0].placements[0].container_id))
    sched.handle(ContainerFreed("small1_g_0"))
    d = sched.handle(ContainerFreed("small2_g_0"))
    assert placed(d) == [("big", "g")]  # the big gang goes first, then small3 when room returns
    assert sched.pending_gangs() == [("small3", "g")]


def test_two_apps_never_deadlock_half_started(sched):
    sched.handle(node("n1", vcores=3))
    sched.handle(gang("a", "g", (1, 1), (1, 1)))
    assert sched.handle(gang("b", "g", (1, 1), (1, 1))) == []
    assert sched.node_used("n1") == Res(2, 2, 0)  # b holds nothing while it waits
    d = sched.handle(AppRemoved("a"))
    assert placed(d) == [("b", "g")]


def test_node_removed_frees_its_allocations(sched):
    sched.handle(node("n1"))
    d = sched.handle(gang("a", "g", (4, 8192)))
    cid = d[0].placements[0].container_id
    assert sched.allocation(cid) is not None
    sched.handle(NodeRemoved("n1"))
    assert sched.allocation(cid) is None
    assert sched.handle(ContainerFreed(cid)) == []  # late completion report: harmless
    assert placed(sched.handle(node("n1"))) == []


def test_unknown_transitions_raise(sched):
    with pytest.raises(SchedulerError, match="no transition for str"):
        sched.handle("bogus")
    sched.handle(node("n1"))
    with pytest.raises(SchedulerError, match="already known"):
        sched.handle(node("n1"))
    with pytest.raises(SchedulerError, match="not known"):
        sched.handle(NodeRemoved("ghost"))
    assert sched.handle(gang("a", "g", (3, 1), (3, 1))) == []
    with pytest.raises(SchedulerError, match="already waiting"):
        sched.handle(gang("a", "g", (3, 1), (3, 1)))


def test_transition_log_tells_the_story(sched):
    sched.handle(NodeAdded("n1", "n1", Res(1, 1), stimulus_id="reg-1"))
    sched.handle(GangAsked("a", "g", (ContainerRequest("c1", "w:0", Res(1, 1)),), stimulus_id="ask-1"))
    assert list(sched.log) == [("reg-1", "NodeAdded", ()), ("ask-1", "GangAsked", ("GangPlaced",))]
    assert sched.allocation("c1").port == 0  # a node with no port range reserves none


def test_random_event_storms_keep_the_books_straight():
    """Any order of nodes coming and going, gangs asked and containers freed keeps every invariant."""
    from hypothesis import given, settings, strategies as st

    event = st.one_of(
        st.tuples(st.just("node"), st.integers(0, 3), st.integers(1, 4), st.integers(0, 2)),
        st.tuples(st.just("lose"), st.integers(0, 3)),
        st.tuples(st.just("gang"), st.integers(0, 2), st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)),
                                                              min_size=1, max_size=3)),
        st.tuples(st.just("free"), st.integers(0, 30)),
        st.tuples(st.just("end"), st.integers(0, 2)))

    @settings(max_examples=60, deadline=None)
    @given(st.lists(event, max_size=25))
    def run(events):
        sched = Scheduler(validate=True, max_passes=1)
        live, seq = [], 0
        for ev in events:
            if ev[0] == "node" and not sched.has_node(f"n{ev[1]}"):
                sched.handle(NodeAdded(f"n{ev[1]}", f"h{ev[1] % 2}", Res(ev[2], 1000, ev[3]), 100, 104))
            elif ev[0] == "lose" and sched.has_node(f"n{ev[1]}"):
                sched.handle(NodeRemoved(f"n{ev[1]}"))
            elif ev[0] == "gang":
                seq += 1
                reqs = tuple(ContainerRequest(f"c{seq}_{i}", f"w:{i}", Res(v, 10, g)) for i, (v, g) in enumerate(ev[2]))
                for d in sched.handle(GangAsked(f"a{ev[1]}", f"g{seq}", reqs)):
                    if isinstance(d, GangPlaced):
                        assert len(d.placements) == len(reqs)  # all or nothing
                        live += [p.container_id for p in d.placements]
            elif ev[0] == "free" and live:
                sched.handle(ContainerFreed(live.pop(ev[1] % len(live))))
            elif ev[0] == "end":
                sched.handle(AppRemoved(f"a{ev[1]}"))
    run()
