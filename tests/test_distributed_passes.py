"""Unit tests without sockets: ClusterSpec, replica_device_setter, placement, partitioning, tensor chunks."""

import doctest
import importlib
import json

import numpy as np
import pytest

from engine import dtypes
from engine.errors import InvalidArgumentError
from engine.executor import Executor
from engine.graph_util import make_const, make_node
from engine.passes.partition import partition
from engine.passes.placement import place
from engine.rendezvous import LocalRendezvous
from protos import graph_pb2
from tasklayer.distributed.tensor_stream import decode_stream, encode_stream
from tasklayer.train import ClusterSpec, replica_device_setter
from tasklayer.train.cluster_spec import task_from_env

T0 = "/job:local/replica:0/task:0/device:CPU:0"
T1 = "/job:local/replica:0/task:1/device:CPU:0"
T2 = "/job:local/replica:0/task:2/device:CPU:0"
F32 = dtypes.float32


# ---------------------------------------------------------------- ClusterSpec
def test_cluster_spec_dense_and_sparse():
    c = ClusterSpec({"worker": ["w0:1", "w1:2"], "ps": {0: "p0:3", 2: "p2:4"}})
    assert c.jobs == ["ps", "worker"]
    assert c.num_tasks("ps") == 2 and c.task_indices("ps") == [0, 2]
    assert c.job_tasks("ps") == ["p0:3", None, "p2:4"]
    assert c.task_address("worker", 1) == "w1:2"
    assert c.as_dict() == {"worker": ["w0:1", "w1:2"], "ps": {0: "p0:3", 2: "p2:4"}}
    assert ClusterSpec(c) == c and ClusterSpec(c.as_dict()) == c
    with pytest.raises(ValueError, match="no task 1 in job 'ps'"):
        c.task_address("ps", 1)
    with pytest.raises(ValueError, match="no such job 'chief'"):
        c.num_tasks("chief")


@pytest.mark.parametrize("bad", ["localhost", "localhost:", ":2222", "host:99999", "host:port", "a b:1"])
def test_cluster_spec_rejects_malformed_address(bad):
    with pytest.raises(ValueError, match=r"malformed address .*/job:w/task:0"):
        ClusterSpec({"w": [bad]})


@pytest.mark.parametrize("bad", ["a..b:1", "-host:1", "host-:1", "localhost:02222", "x:65536",
                                 "1.2.3:4", "256.1.1.1:2", "[::1:2", "[::g]:1", "::1:2", "a" * 64 + ":1"])
def test_cluster_spec_rejects_loose_address_naming_job_task_and_address(bad):
    with pytest.raises(ValueError) as info:
        ClusterSpec({"ps": ["ok:1"], "worker": {0: "ok:2", 3: bad}})
    assert "/job:worker/task:3" in str(info.value) and repr(bad) in str(info.value)


@pytest.mark.parametrize("good", ["localhost:0", "localhost:2222", "my-host.example.com:65535", "10.0.0.1:80",
                                  "[::1]:2222", "[fe80::1]:1", "w0:1", "0.0.0.0:1", "proj_worker_1:2222"])
def test_cluster_spec_accepts_hostnames_ipv4_bracketed_ipv6_and_port_zero(good):
    # port 0 stays: create_local_server asks the OS for a free port with localhost:0
    assert ClusterSpec({"w": [good]}).task_address("w", 0) == good


def test_cluster_spec_duplicate_task_index_is_an_error():
    with pytest.raises(ValueError, match=r"duplicate task index 0 of job 'w'"):
        ClusterSpec({"w": {0: "a:1", "0": "b:1"}})


@pytest.mark.parametrize("module", ["tasklayer.distributed.cluster_spec", "tasklayer.train.device_setter"])
def test_cluster_spec_and_device_setter_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0

def test_cluster_spec_from_env_prefers_yarnflow_then_tf_config():
    env = {"YARNFLOW_CLUSTER": json.dumps({"worker": ["a:1", "b:2"]}), "YARNFLOW_JOB_NAME": "worker",
           "YARNFLOW_TASK_INDEX": "1", "TF_CONFIG": json.dumps({"cluster": {"x": ["c:3"]},
                                                                 "task": {"type": "x", "index": 0}})}
    assert ClusterSpec.from_env(env).as_dict() == {"worker": ["a:1", "b:2"]}
    assert task_from_env(env) == ("worker", 1)
    tf_only = {"TF_CONFIG": env["TF_CONFIG"]}
    assert ClusterSpec.from_env(tf_only).as_dict() == {"x": ["c:3"]}
    assert task_from_env(tf_only) == ("x", 0)
    with pytest.raises(ValueError, match="YARNFLOW_CLUSTER nor TF_CONFIG"):
        ClusterSpec.from_env({})
    with pytest.raises(ValueError, match="not valid JSON"):
        ClusterSpec.from_env({"YARNFLOW_CLUSTER": "{oops"})


# ---------------------------------------------------------------- replica_device_setter
class _Op:
    def __init__(self, type_, device=""):
        self.type, self.device = type_, device


def test_replica_device_setter_round_robin_on_ps():
    setter = replica_device_setter(cluster={"ps": ["p:1", "p:2"], "worker": ["w:1"]})
    assert [setter(_Op("VariableV2")) for _ in range(3)] == ["/job:ps/task:0", "/job:ps/task:1", "/job:ps/task:0"]
    assert setter(_Op("MatMul")) == "/job:worker"
    assert setter(_Op("Add", "/job:worker/task:3")) == "/job:worker/task:3"
    assert replica_device_setter(ps_tasks=0) is None
    assert replica_device_setter(ps_tasks=1, worker_device="/job:worker/task:1")(_Op("Mul")) == "/job:worker/task:1"



def test_replica_device_setter_round_robins_over_sparse_ps_indices():
    setter = replica_device_setter(cluster={"ps": {0: "a:1", 2: "b:2", 5: "c:3"}, "worker": ["w:1"]})
    assert [setter(_Op("VariableV2")) for _ in range(4)] == ["/job:ps/task:0", "/job:ps/task:2", "/job:ps/task:5",
                                                             "/job:ps/task:0"]
    setter = replica_device_setter(cluster=ClusterSpec({"ps": {1: "a:1"}, "worker": ["w:1"]}))
    assert setter(_Op("VariableV2")) == setter(_Op("VarHandleOp")) == "/job:ps/task:1"
    setter = replica_device_setter(ps_tasks=3)  # no cluster: tasks 0..2, as before
    assert [setter(_Op("VariableV2")) for _ in range(4)][-2:] == ["/job:ps/task:2", "/job:ps/task:0"]

# ---------------------------------------------------------------- placement
def _graph(*nodes):
    return graph_pb2.GraphDef(node=list(nodes))


def test_place_defaults_and_completes_partial_specs():
    g = _graph(make_node("a", "NoOp"), make_node("b", "NoOp", device="/job:ps"),
               make_node("c", "NoOp", device="/task:1"), make_node("d", "NoOp", device="/job:local/gpu:0"))
    placed = {n.name: n.device for n in place(g, {"local": [0, 1], "ps": [3, 4]}, "/job:local/task:1").node}
    assert placed == {"a": T1, "b": "/job:ps/replica:0/task:3/device:CPU:0", "c": T1,
                      "d": "/job:local/replica:0/task:1/device:GPU:0"}


def test_place_unknown_job_or_task_names_node():
    with pytest.raises(InvalidArgumentError, match="node 'b' .*no job 'nope'.*jobs: local"):
        place(_graph(make_node("b", "NoOp", device="/job:nope/task:0")), {"local": [0]}, T0)
    with pytest.raises(InvalidArgumentError, match="node 'b' .*job 'local' has no task 7"):
        place(_graph(make_node("b", "NoOp", device="/job:local/task:7")), {"local": [0, 1]}, T0)


def test_place_honours_colocation():
    n = make_node("assign", "NoOp")
    n.attr["_class"].list.s.append(b"loc:@v")
    placed = place(_graph(make_node("v", "NoOp", device="/job:ps/task:0"), n), {"ps": [0], "local": [0]}, T0)
    assert placed.node[1].device == placed.node[0].device


# ---------------------------------------------------------------- partition
def _ph(name, device):
    return make_node(name, "Placeholder", device=device, dtype=F32)


def test_one_recv_per_tensor_per_partition():
    g = _graph(make_node("x", "Placeholder", device=T0, dtype=F32),
               make_node("sq", "Square", ["x"], device=T0, T=F32),
               make_node("u", "Neg", ["sq"], device=T1, T=F32), make_node("v", "Abs", ["sq"], device=T1, T=F32),
               make_node("w", "Add", ["u", "v"], device=T1, T=F32))
    parts = partition(g, fetches=["w:0"], feeds=["x:0"])
    assert sorted(parts) == [T0, T1]
    ops1 = [n.op for n in parts[T1].graph_def.node]
    assert ops1.count("_Recv") == 1 and [n.op for n in parts[T0].graph_def.node].count("_Send") == 1
    assert parts[T1].fetches == ["w:0"] and parts[T0].feeds == ["x:0"]
    assert parts[T0].targets == [n.name for n in parts[T0].graph_def.node if n.op == "_Send"]
    recv = next(n for n in parts[T1].graph_def.node if n.op == "_Recv")
    assert all(inp == recv.name for n in parts[T1].graph_def.node if n.op in ("Neg", "Abs") for inp in n.input)


def test_feeds_go_to_each_consuming_partition():
    g = _graph(_ph("x", T0), make_node("a", "Neg", ["x"], device=T1, T=F32),
               make_node("b", "Neg", ["x"], device=T2, T=F32), make_node("c", "Add", ["a", "b"], device=T0, T=F32))
    parts = partition(g, fetches=["c:0"], feeds=["x:0"])
    assert parts[T1].feeds == ["x:0"] and parts[T2].feeds == ["x:0"]
    assert not any(n.op == "_Send" for n in parts[T0].graph_def.node)


def test_control_edge_crosses_as_dummy_tensor():
    g = _graph(make_node("a", "NoOp", device=T0), make_node("b", "NoOp", ["^a"], device=T1))
    parts = partition(g, targets=["b"])
    assert [n.op for n in parts[T0].graph_def.node].count("_Send") == 1
    b = next(n for n in parts[T1].graph_def.node if n.name == "b")
    assert b.input[0].startswith("^_recv/")


def test_small_consts_are_copied_not_sent():
    g = _graph(make_const("k", 3.0, device=T0), make_node("y", "Neg", ["k"], device=T1, T=dtypes.float64))
    parts = partition(g, fetches=["y:0"])
    assert list(parts) == [T1]
    assert [n.op for n in parts[T1].graph_def.node] == ["Neg", "Const"]


def test_partitions_run_together_through_a_rendezvous():
    """A Const -> _Send / _Recv -> Identity pair on two executors meets in one rendezvous."""
    big = np.arange(2000, dtype=np.float32)  # larger than the const-copy limit: must cross
    g = _graph(make_const("c", big, device=T0), make_node("y", "Identity", ["c"], device=T1, T=F32),
               make_node("z", "Neg", ["y"], device=T1, T=F32))
    parts = partition(g, fetches=["z:0"])
    rdv = LocalRendezvous()
    Executor(parts[T0].graph_def, device=T0).run(targets=parts[T0].targets, rendezvous=rdv)
    out, = Executor(parts[T1].graph_def, device=T1).run(fetches=["z:0"], rendezvous=rdv, timeout=5)
    np.testing.assert_array_equal(out, -big)


# ---------------------------------------------------------------- chunks
@pytest.mark.parametrize("value", [np.zeros((0, 3), np.float32), np.float64(3.5), np.arange(7, dtype=np.int32),
                                   np.random.rand(300, 7) > 0.5, np.arange(24.).reshape(4, 6).T])
def test_tensor_chunks_round_trip(value):
    out, meta = decode_stream(encode_stream(value, chunk_bytes=64))
    assert out.dtype == np.asarray(value).dtype and out.shape == np.shape(value)
    np.testing.assert_array_equal(out, value)


def test_chunks_land_in_one_buffer_without_another_copy():
    value = np.random.rand(10_000)
    messages = list(encode_stream(value, chunk_bytes=4096))
    assert len(messages) > 10  # meta + many raw chunks
    out, _ = decode_stream(messages)
    assert not out.flags.owndata  # a view of the receive buffer
    np.testing.assert_array_equal(out, value)


def test_truncated_stream_is_an_error():
    messages = list(encode_stream(np.arange(1000.0), chunk_bytes=1024))
    with pytest.raises(ValueError, match="ended after"):
        decode_stream(messages[:-1])
