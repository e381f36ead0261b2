"""A client's whole GraphDef is checked strictly when it reaches a master (CreateSession, ExtendSession), as TF's
master checks it: a malformed graph is refused at once with INVALID_ARGUMENT (an unknown op: NOT_FOUND) naming the
node, before any step is planned from it, and a refused extension leaves the session's graph as it was."""

import grpc
import numpy as np
import pytest

import tasklayer as tf
from engine import dtypes, tensor_codec
from engine.graph_util import make_const, make_node
from protos import graph_pb2
from protos import tasklayer_pb2 as pb
from protos import tasklayer_pb2_grpc as pb_grpc
from tasklayer.distributed import errors as derrors
from tasklayer.distributed.cluster_spec import ClusterSpec
from tasklayer.distributed.step_planner import StepPlanner

F32 = dtypes.float32
X = make_node("x", "Placeholder", dtype=F32)
BAD_GRAPHS = {  # name -> (nodes, status, node named, words of the message)
    "unknown input": ([X, make_node("y", "Neg", ["nope"], T=F32)], grpc.StatusCode.INVALID_ARGUMENT, "y",
                      "Unknown input node 'nope'"),
    "unknown control input": ([X, make_node("y", "Neg", ["x", "^nope"], T=F32)], grpc.StatusCode.INVALID_ARGUMENT,
                              "y", "Unknown input node '^nope'"),
    "duplicate name": ([X, make_node("x", "Neg", ["x"], T=F32)], grpc.StatusCode.INVALID_ARGUMENT, "x",
                       "is not unique"),
    "input dtype": ([make_const("a", np.int32(1)), make_const("b", np.float32(2)),
                     make_node("y", "Mul", ["a", "b"], T=F32)], grpc.StatusCode.INVALID_ARGUMENT, "y",
                    "Input 0 of node y was passed int32 from a:0 incompatible with expected float"),
    "output out of range": ([X, make_node("y", "Neg", ["x:3"], T=F32)], grpc.StatusCode.INVALID_ARGUMENT, "y",
                            "invalid output 3"),
    "internal name": ([make_node("_x", "Placeholder", dtype=F32), make_node("y", "Neg", ["_x"], T=F32)],
                      grpc.StatusCode.INVALID_ARGUMENT, "_x", "invalid characters"),
    "data input after control": ([X, make_node("y", "Neg", ["^x", "x"], T=F32)], grpc.StatusCode.INVALID_ARGUMENT,
                                 "y", "Non-control input 'x' after control input"),
    "missing attr": ([X, make_node("y", "Neg", ["x"])], grpc.StatusCode.INVALID_ARGUMENT, "y", "NodeDef y (Neg)"),
    "unknown op": ([X, make_node("y", "NoSuchOp", ["x"])], grpc.StatusCode.NOT_FOUND, "y",
                   "Op type not registered 'NoSuchOp' in node 'y'"),
}


def _good_graph():
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [3], name="x")
        tf.reduce_sum(x * 2.0, name="y")
    return g.as_graph_def()


def _feed():
    return pb.NamedTensor(name="x:0", tensor=tensor_codec.to_proto(np.ones(3, np.float32)))


def _node_of(error):
    """The node a failed call's StepError names (trailing metadata)."""
    return derrors.from_rpc(error, "the master", "").node_name


@pytest.fixture(scope="module")
def master():
    server = tf.train.Server.create_local_server()
    channel = grpc.insecure_channel(server.target[len("grpc://"):])
    yield pb_grpc.MasterServiceStub(channel)
    channel.close()
    server.stop()


@pytest.mark.parametrize("case", sorted(BAD_GRAPHS))
def test_create_session_refuses_a_malformed_graph_naming_the_node(master, case):
    nodes, code, node, words = BAD_GRAPHS[case]
    with pytest.raises(grpc.RpcError) as info:
        master.CreateSession(pb.CreateSessionRequest(graph_def=graph_pb2.GraphDef(node=nodes), graph_version=1))
    assert info.value.code() == code, info.value.details()
    assert words in info.value.details()
    assert _node_of(info.value) == node


@pytest.mark.parametrize("case", sorted(BAD_GRAPHS))
def test_a_refused_extension_leaves_the_session_its_graph(master, case):
    nodes, code, node, words = BAD_GRAPHS[case]
    handle = master.CreateSession(pb.CreateSessionRequest(graph_def=_good_graph(), graph_version=1)).session_handle
    bad = graph_pb2.GraphDef(node=list(nodes))  # the whole bad graph as version 2
    with pytest.raises(grpc.RpcError) as info:
        master.ExtendSession(pb.ExtendSessionRequest(session_handle=handle, graph_def=bad, graph_version=2))
    assert info.value.code() == code and words in info.value.details()
    step = master.RunStep(pb.RunStepRequest(session_handle=handle, graph_version=1, fetch=["y:0"], feed=[_feed()]))
    assert tensor_codec.from_proto(step.tensor[0].tensor) == 6.0
    master.CloseSession(pb.CloseSessionRequest(session_handle=handle))


def test_the_planner_checks_before_it_holds_anything():
    planner = StepPlanner(ClusterSpec({"local": ["localhost:1"]}), ("local", 0))
    nodes, _, _, _ = BAD_GRAPHS["unknown input"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="Unknown input node 'nope'"):
        planner.create_session(graph_pb2.GraphDef(node=nodes), 1)
    assert planner.handles() == []


class _HandBuiltGraph(tf.Graph):
    """A graph whose GraphDef gets extra, hand-written nodes: what a client that bypasses the builder (and
    ``import_graph_def``'s checks) sends."""

    def __init__(self, extra):
        super().__init__()
        self._extra = extra

    def as_graph_def(self):
        graph_def = super().as_graph_def()
        graph_def.node.extend(self._extra)
        return graph_def


@pytest.mark.parametrize("over_the_wire", [False, True], ids=["in-process", "grpc"])
def test_a_session_whose_graph_is_malformed_fails_with_the_node_named(over_the_wire):
    server = tf.train.Server.create_local_server()
    target = server.target.replace("localhost", "127.0.0.2") if over_the_wire else server.target
    bad = make_node("bad", "Mul", ["i", "f"], T=F32)
    graph = _HandBuiltGraph([make_const("i", np.int32(1)), make_const("f", np.float32(2)), bad])
    try:
        with graph.as_default():
            y = tf.constant(3.0) * 2.0
            with tf.Session(target) as sess:
                with pytest.raises(tf.errors.InvalidArgumentError) as info:
                    sess.run(y)
    finally:
        server.stop()
    assert info.value.node_name == "bad"
    assert "Input 0 of node bad was passed int32" in info.value.message
