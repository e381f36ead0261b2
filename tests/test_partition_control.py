"""Partitioning of control edges: a node's control inputs from one partition cross as ONE _Send/_Recv pair."""

import threading

import numpy as np
import pytest

from engine import dtypes
from engine.errors import DeadlineExceededError
from engine.executor import Executor
from engine.graph_util import get_attr, make_const, make_node
from engine.kernels.numpy_send_recv import key_of
from engine.passes.partition import partition
from engine.rendezvous import LocalRendezvous, make_key
from engine.resource_mgr import ResourceMgr
from protos import graph_pb2

PS0 = "/job:ps/replica:0/task:0/device:CPU:0"
PS1 = "/job:ps/replica:0/task:1/device:CPU:0"
W0 = "/job:worker/replica:0/task:0/device:CPU:0"
CLIENT = "/job:client/replica:0/task:0/device:CPU:0"  # the test itself, gating and observing the step
F32 = dtypes.float32


def _graph(*nodes):
    return graph_pb2.GraphDef(node=list(nodes))


def _ops(part, op):
    return [n for n in part.graph_def.node if n.op == op]


def _node(part, name):
    return next(n for n in part.graph_def.node if n.name == name)


def _applies(device, names):
    return [make_node(n, "NoOp", device=device) for n in names]


def test_four_control_inputs_from_one_ps_cross_once():
    names = [f"GradientDescent/update_w{i}/ApplyGradientDescent" for i in range(4)]
    g = _graph(*_applies(PS0, names), make_node("GradientDescent/update", "NoOp", ["^" + n for n in names], device=W0))
    parts = partition(g, targets=["GradientDescent/update"])
    ps, worker = parts[PS0], parts[W0]
    (recv,), (send,) = _ops(worker, "_Recv"), _ops(ps, "_Send")
    assert key_of(recv) == key_of(send)
    assert worker.recv_keys == [(key_of(recv), PS0)]
    assert ps.targets == [send.name] and worker.targets == ["GradientDescent/update"]
    # The ps gathers the four sources in one NoOp; the worker node waits on the one _Recv.
    gather, = [n for n in _ops(ps, "NoOp") if n.name.startswith("_ctrl/")]
    assert sorted(gather.input) == sorted("^" + n for n in names)
    assert get_attr(send, "tensor_name") == "^" + gather.name
    assert list(_node(worker, "GradientDescent/update").input) == ["^" + recv.name]


def test_single_control_input_keeps_the_plain_pair():
    g = _graph(make_node("a", "NoOp", device=PS0), make_node("b", "NoOp", ["^a"], device=W0))
    parts = partition(g, targets=["b"])
    assert [n.op for n in parts[PS0].graph_def.node] == ["NoOp", "Const", "_Send"]  # no gathering NoOp
    assert get_attr(_ops(parts[PS0], "_Send")[0], "tensor_name") == "^a"


def test_control_inputs_from_two_partitions_cross_twice():
    g = _graph(*_applies(PS0, ["a0", "b0"]), *_applies(PS1, ["a1", "b1"]),
               make_node("x", "Placeholder", device=W0, dtype=F32),
               make_node("y", "Neg", ["^a0", "x", "^a1", "^b0", "^b1"], device=W0, T=F32))
    parts = partition(g, fetches=["y:0"])
    recvs = _ops(parts[W0], "_Recv")
    assert len(recvs) == 2 and len(_ops(parts[PS0], "_Send")) == 1 and len(_ops(parts[PS1], "_Send")) == 1
    assert sorted(dev for _, dev in parts[W0].recv_keys) == [PS0, PS1]
    # Data first, then control, as the executor requires.
    assert list(_node(parts[W0], "y").input) == ["x"] + ["^" + r.name for r in recvs]


def test_different_destination_sets_are_not_merged():
    g = _graph(*_applies(PS0, ["a", "b", "c"]), make_node("d1", "NoOp", ["^a", "^b"], device=W0),
               make_node("d2", "NoOp", ["^a", "^c"], device=W0))
    parts = partition(g, targets=["d1", "d2"])
    assert len(_ops(parts[W0], "_Recv")) == 2 and len(_ops(parts[PS0], "_Send")) == 2
    gathers = {n.name: sorted(n.input) for n in _ops(parts[PS0], "NoOp") if n.name.startswith("_ctrl/")}
    assert sorted(gathers.values()) == [["^a", "^b"], ["^a", "^c"]]  # each node only waits on its own sources
    assert _node(parts[W0], "d1").input != _node(parts[W0], "d2").input


def test_same_destination_set_shares_one_pair():
    g = _graph(*_applies(PS0, ["a", "b"]), make_node("d1", "NoOp", ["^a", "^b"], device=W0),
               make_node("d2", "NoOp", ["^b", "^a", "^a"], device=W0))
    parts = partition(g, targets=["d1", "d2"])
    recv, = _ops(parts[W0], "_Recv")
    assert len(_ops(parts[PS0], "_Send")) == 1 and len(parts[W0].recv_keys) == 1
    assert list(_node(parts[W0], "d1").input) == list(_node(parts[W0], "d2").input) == ["^" + recv.name]


def test_gather_names_are_unique_and_deterministic():
    # "_d" and "d" slug alike; each still gets its own gathering NoOp, and a repeat gives the same graphs.
    g = _graph(*_applies(PS0, ["a", "b", "c"]), make_node("_d", "NoOp", ["^a", "^b"], device=W0),
               make_node("d", "NoOp", ["^b", "^c"], device=W0))
    first, second = partition(g, targets=["_d", "d"]), partition(g, targets=["_d", "d"])
    for dev in first:
        assert first[dev].graph_def.SerializeToString() == second[dev].graph_def.SerializeToString()
        names = [n.name for n in first[dev].graph_def.node]
        assert len(names) == len(set(names))
    assert len([n for n in _ops(first[PS0], "NoOp") if n.name.startswith("_ctrl/")]) == 2


# ---------------------------------------------------------------- execution
def _training_step_graph():
    """ps: v += gate_k for four gates the client sends; worker: ``done`` waits on the four adds, then signals."""
    nodes = [make_node("v", "VariableV2", device=PS0, dtype=F32, shape=[]),
             make_const("zero", np.float32(0), device=PS0),
             make_node("init", "Assign", ["v", "zero"], device=PS0, T=F32)]
    for k in range(4):
        nodes.append(make_node(f"gate{k}", "_Recv", device=PS0, tensor_type=F32, tensor_name=f"gate{k}",
                               send_device=CLIENT, send_device_incarnation=0, recv_device=PS0,
                               client_terminated=False))
        nodes.append(make_node(f"add{k}", "AssignAdd", ["v", f"gate{k}"], device=PS0, T=F32))
    nodes.append(make_node("done", "NoOp", [f"^add{k}" for k in range(4)], device=W0))
    dummy = make_const("after_done", np.float32(0), device=W0)
    dummy.input.append("^done")
    nodes += [dummy, make_node("signal", "_Send", ["after_done"], device=W0, T=F32, tensor_name="signal",
                               send_device=W0, send_device_incarnation=0, recv_device=CLIENT,
                               client_terminated=False)]
    return _graph(*nodes)


def _run_in_thread(executor, targets, rdv, errors):
    def body():
        try:
            executor.run(targets=targets, rendezvous=rdv, timeout=10)
        except Exception as e:  # reported by the test, not lost in the thread
            errors.append(e)
    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("held_back", range(4))
def test_worker_op_waits_for_every_ps_update(held_back):
    parts = partition(_training_step_graph(), targets=["signal"])
    assert len(_ops(parts[W0], "_Recv")) == 1  # the four control inputs cross as one message
    ps = Executor(parts[PS0].graph_def, device=PS0, resources=ResourceMgr())
    worker = Executor(parts[W0].graph_def, device=W0)
    ps.run(targets=["init"])
    rdv, errors = LocalRendezvous(), []
    threads = [_run_in_thread(ps, parts[PS0].targets, rdv, errors),
               _run_in_thread(worker, parts[W0].targets, rdv, errors)]
    signal_key = make_key(W0, 0, CLIENT, "signal")
    for k in range(4):
        if k != held_back:
            rdv.send(make_key(CLIENT, 0, PS0, f"gate{k}"), np.float32(10 ** k))
    # With one update still gated, the worker's ``done`` must not have run.
    with pytest.raises(DeadlineExceededError):
        rdv.recv(signal_key, timeout=0.3)
    rdv.send(make_key(CLIENT, 0, PS0, f"gate{held_back}"), np.float32(10 ** held_back))
    rdv.recv(signal_key, timeout=10)
    for t in threads:
        t.join(timeout=10)
    assert not errors and not any(t.is_alive() for t in threads)
    value, = ps.run(fetches=["v:0"])
    assert value == 1111
