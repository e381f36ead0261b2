"""Executor: dataflow order, control deps, feeds, pruning, concurrency of blocking ops, cancel, errors."""

import threading
import time

import numpy as np
import pytest

from engine import dtypes
from engine.errors import CancelledError, DeadlineExceededError, InvalidArgumentError, NotFoundError, OpError
from engine.executor import Executor
from engine.graph_util import make_const, make_node
from engine.kernels.registry import register_kernel
from engine.op_defs import register_op
from engine.rendezvous import LocalRendezvous, Rendezvous, make_key
from protos import graph_pb2
from tests.polling import wait_until

F = dtypes.float32
CPU = "/job:localhost/replica:0/task:0/device:CPU:0"
LOG = []

# A test-only op that records when it runs: checks order and control dependencies.
register_op("TestRecord", "T")


@register_kernel("TestRecord", "CPU")
def _record(node, env):
    def record(*xs):
        LOG.append(node.name)
        return xs[0] if xs else np.float32(0)
    return record


def graph(*nodes):
    return graph_pb2.GraphDef(node=list(nodes))


def recv_node(name, tensor, send="/job:a/replica:0/task:0/device:CPU:0"):
    return make_node(name, "_Recv", tensor_type=F, tensor_name=tensor, send_device=send, recv_device=CPU,
                     send_device_incarnation=1, client_terminated=False)


def key(tensor, send="/job:a/replica:0/task:0/device:CPU:0"):
    return make_key(send, 1, CPU, tensor)


def test_diamond_and_pruning_counts():
    g = graph(make_const("a", np.float32(2)), make_node("b", "Square", ["a"], T=F), make_node("c", "Neg", ["a"], T=F),
              make_node("d", "Add", ["b", "c"], T=F), make_node("unused", "Exp", ["d"], T=F))
    ex = Executor(g)
    assert ex.run(fetches=["d:0", "b"]) == [2.0, 4.0]
    assert ex.last_stats.nodes_executed == 4  # 'unused' pruned
    assert ex.run(fetches=["b:0"])[0] == 4 and ex.last_stats.nodes_executed == 2


def test_feeds_cut_producers_and_any_tensor_can_be_fed():
    g = graph(make_node("x", "Placeholder", dtype=F), make_node("sq", "Square", ["x"], T=F),
              make_node("out", "Add", ["sq", "sq"], T=F))
    ex = Executor(g)
    assert ex.run({"x:0": np.float32(3)}, ["out:0"])[0] == 18
    assert ex.run({"sq:0": np.float32(5)}, ["out:0"])[0] == 10  # placeholder not needed, not fed: fine
    assert ex.last_stats.nodes_executed == 1
    assert ex.run({"out": np.float32(1)}, ["out"])[0] == 1 and ex.last_stats.nodes_executed == 0


def test_control_dependencies_order_and_targets():
    LOG.clear()
    g = graph(make_const("c", np.float32(1)),
              make_node("first", "TestRecord", ["c"], T=F),
              make_node("second", "TestRecord", ["c", "^first"], T=F),
              make_node("group", "NoOp", ["^second", "^first"]))
    ex = Executor(g)
    assert ex.run(targets=["group"]) == []
    assert LOG == ["first", "second"] and ex.last_stats.nodes_executed == 4


def test_unfed_placeholder_is_named():
    g = graph(make_node("images", "Placeholder", dtype=F, shape=graph_pb2.TensorShapeProto(dim=[-1, 784])),
              make_node("y", "Neg", ["images"], T=F))
    with pytest.raises(InvalidArgumentError, match="placeholder tensor 'images' with dtype float32 and shape "
                                                   "\\[\\?,784\\]") as e:
        Executor(g).run(fetches=["y:0"])
    assert e.value.node_name == "images"


def test_kernel_error_is_one_op_error_naming_node_and_inputs():
    g = graph(make_node("x", "Placeholder", dtype=F), make_const("shape", np.int32([5])),
              make_node("r", "Reshape", ["x", "shape"], T=F))
    with pytest.raises(InvalidArgumentError) as e:
        Executor(g).run({"x:0": np.zeros((2, 3), np.float32)}, ["r:0"])
    msg = str(e.value)
    assert e.value.node_name == "r" and e.value.op_type == "Reshape"
    assert "Reshape node 'r'" in msg and "x:0 float32[2,3]" in msg and "shape:0 int32[1]" in msg
    assert "\n" not in msg


def test_unknown_op_and_bad_names():
    with pytest.raises(NotFoundError, match="'Frobnicate' \\(node 'f'\\)"):
        Executor(graph(make_node("f", "Frobnicate")))
    ex = Executor(graph(make_const("a", np.float32(1))))
    with pytest.raises(NotFoundError, match="'nope'"):
        ex.run(fetches=["nope:0"])
    with pytest.raises(InvalidArgumentError, match="has 1 outputs"):
        ex.run(fetches=["a:3"])


def test_cycle_is_reported():
    g = graph(make_node("a", "Neg", ["b"], T=F), make_node("b", "Neg", ["a"], T=F))
    with pytest.raises(InvalidArgumentError, match="cycle"):
        Executor(g).run(fetches=["a:0"])


def test_send_recv_through_rendezvous():
    g = graph(recv_node("r", "edge_x"), make_node("y", "Square", ["r"], T=F),
              make_node("s", "_Send", ["y"], T=F, tensor_name="edge_y", send_device=CPU, recv_device="/job:b",
                        send_device_incarnation=1))
    r = LocalRendezvous()
    r.send(key("edge_x"), np.float32(3))
    assert Executor(g).run(fetches=["y:0"], targets=["s"], rendezvous=r)[0] == 9
    assert r.recv(make_key(CPU, 1, "/job:b", "edge_y"), timeout=1) == 9


def test_independent_blocking_recvs_wait_concurrently():
    g = graph(recv_node("r1", "e1"), recv_node("r2", "e2"), make_node("sum", "Add", ["r1", "r2"], T=F))
    r = LocalRendezvous()
    waiting = []
    original, original_async = r.recv, r.recv_async

    def counting_recv(k, timeout=None):
        waiting.append(k)
        return original(k, timeout)

    def counting_recv_async(k, callback):
        waiting.append(k)
        return original_async(k, callback)
    r.recv = counting_recv
    r.recv_async = counting_recv_async
    result = []
    t = threading.Thread(target=lambda: result.append(Executor(g).run(fetches=["sum:0"], rendezvous=r)))
    t.start()
    # Both recvs must be waiting at once before anything is sent: a serial executor would block on the first.
    wait_until(lambda: len(waiting) == 2, 5, "both receives to wait", 0.005)
    r.send(key("e2"), np.float32(2))
    r.send(key("e1"), np.float32(1))
    t.join(5)
    assert result and result[0][0] == 3


def test_recv_timeout_and_error_aborts_rendezvous():
    g = graph(recv_node("r", "never"), make_node("y", "Neg", ["r"], T=F))
    r = LocalRendezvous()
    with pytest.raises(DeadlineExceededError, match="never"):
        Executor(g).run(fetches=["y:0"], rendezvous=r, timeout=0.05)
    assert r.aborted is not None  # the other partitions of the step would see it


def test_cancel_stops_a_blocked_run_promptly():
    g = graph(recv_node("r", "never"), recv_node("r2", "never2"), make_node("y", "Add", ["r", "r2"], T=F))
    cancel = threading.Event()
    errors = []

    def run():
        try:
            Executor(g).run(fetches=["y:0"], rendezvous=LocalRendezvous(), cancel=cancel)
        except OpError as e:
            errors.append(e)
    t = threading.Thread(target=run)
    t.start()
    t0 = time.monotonic()
    cancel.set()
    t.join(5)
    assert not t.is_alive() and isinstance(errors[0], CancelledError) and time.monotonic() - t0 < 2


def test_recv_without_rendezvous_is_clear():
    with pytest.raises(OpError, match="needs a rendezvous"):
        Executor(graph(recv_node("r", "x"))).run(fetches=["r:0"], timeout=1)


def test_parallel_plan_gives_same_results_and_heavy_ops_overlap():
    a = np.random.default_rng(1).random((300, 300)).astype(np.float32)
    nodes = [make_node("x", "Placeholder", dtype=F)]
    for i in range(4):
        nodes.append(make_node(f"m{i}", "MatMul", ["x", "x"], T=F))
        nodes.append(make_node(f"s{i}", "Sum", ["m{i}".format(i=i), "axes"], T=F))
    nodes.append(make_const("axes", np.int32([0, 1])))
    nodes.append(make_node("total", "AddN", [f"s{i}" for i in range(4)], T=F, N=4))
    ex = Executor(graph(*nodes))
    assert ex.plan_for(["total:0"], ["x:0"]).parallel
    for _ in range(3):
        out = ex.run({"x:0": a}, ["total:0"])[0]
        assert ex.last_stats.mode == "dataflow" and ex.last_stats.nodes_executed == 10
    np.testing.assert_allclose(out, 4 * (a @ a).sum(), rtol=1e-4)


def test_chain_runs_serially_and_concurrent_runs_are_safe():
    nodes = [make_node("x", "Placeholder", dtype=F), make_const("one", np.float32(1))]
    prev = "x"
    for i in range(200):
        nodes.append(make_node(f"a{i}", "Add", [prev, "one"], T=F))
        prev = f"a{i}"
    ex = Executor(graph(*nodes))
    results = {}

    def run(k):
        results[k] = ex.run({"x:0": np.float32([k])}, [prev])[0]
    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert {k: float(v[0]) for k, v in results.items()} == {k: k + 200.0 for k in range(4)}
    assert ex.last_stats.mode == "serial" and ex.last_stats.nodes_executed == 201


def test_resources_reach_kernels_and_outlive_runs():
    from engine.resource_mgr import ResourceMgr
    register_op("TestCounter", dtypes.int64, stateful=True)

    @register_kernel("TestCounter", "CPU", needs_context=True)
    def _counter(node, env):
        assert env.resources is not None

        def count(ctx):
            box = ctx.resources.lookup_or_create("", node.name, lambda: [0])
            box[0] += 1
            return np.int64(box[0])
        return count
    rm = ResourceMgr()
    g = graph(make_node("c", "TestCounter"))
    assert Executor(g, resources=rm).run(fetches=["c:0"])[0] == 1
    assert Executor(g, resources=rm).run(fetches=["c:0"])[0] == 2  # state lives in the manager, not the run
    assert rm.names() == [("", "c")]


def test_recvs_wait_on_threads_when_the_rendezvous_has_no_callbacks():
    """A rendezvous with only the blocking ``recv`` (the base interface) still serves concurrent _Recvs."""
    g = graph(recv_node("r1", "e1"), recv_node("r2", "e2"), make_node("sum", "Add", ["r1", "r2"], T=F))
    inner = LocalRendezvous()

    class BlockingOnly(Rendezvous):
        def send(self, k, value):
            inner.send(k, value)

        def recv(self, k, timeout=None):
            return inner.recv(k, timeout)

        def abort(self, error):
            inner.abort(error)
    result = []
    t = threading.Thread(target=lambda: result.append(Executor(g).run(fetches=["sum:0"], rendezvous=BlockingOnly())))
    t.start()
    inner.send(key("e2"), np.float32(2))
    inner.send(key("e1"), np.float32(1))
    t.join(5)
    assert result and result[0][0] == 3


def test_compute_width_follows_the_container_and_an_override():
    from engine.executor import compute_width
    assert compute_width({"OMP_NUM_THREADS": "1"}) == 1  # a 1-vcore container
    assert compute_width({"OMP_NUM_THREADS": "4", "YARNFLOW_INTER_OP_THREADS": "2"}) == 2
    assert compute_width({"YARNFLOW_INTER_OP_THREADS": "0"}) == 1
    assert compute_width({"OMP_NUM_THREADS": "many"}) >= 1  # ignored (logged), not fatal at import
    assert compute_width({}) >= 1


def test_with_one_compute_thread_heavy_ops_run_on_the_calling_thread(monkeypatch):
    from engine import executor as executor_lib
    monkeypatch.setattr(executor_lib._Pools, "width", 1)
    threads = set()
    register_op("TestThreadOfHeavy", "T")

    @register_kernel("TestThreadOfHeavy", "CPU")
    def _thread_of(node, env):
        def run(x):
            threads.add(threading.current_thread().name)
            return x
        return run
    a = np.ones((300, 300), np.float32)  # heavy: 90,000 elements
    nodes = [make_node("x", "Placeholder", dtype=F)]
    nodes += [make_node(f"h{i}", "TestThreadOfHeavy", ["x"], T=F) for i in range(3)]
    nodes.append(make_node("total", "AddN", [f"h{i}" for i in range(3)], T=F, N=3))
    ex = Executor(graph(*nodes))
    assert ex.plan_for(["total:0"], ["x:0"]).parallel
    np.testing.assert_array_equal(ex.run({"x:0": a}, ["total:0"])[0], 3 * a)
    assert threads == {threading.current_thread().name}
