"""Errors on the wire are gRPC status codes, as TensorFlow's: a caller's mistake sent straight to a server's
MasterService or WorkerService stubs is answered with the matching code (never UNKNOWN or INTERNAL), the error's
node and op ride in the trailing metadata, and a client turns the status back into the same ``tf.errors`` class."""

import grpc
import numpy as np
import pytest

import tasklayer as tf
from engine import tensor_codec
from engine.graph_util import make_node
from protos import tasklayer_pb2 as pb
from protos import tasklayer_pb2_grpc as pb_grpc
from tasklayer.distributed import errors as derrors
from tests.distributed_helpers import free_ports

CPU0 = "/job:local/replica:0/task:0/device:CPU:0"


@pytest.fixture(scope="module")
def server():
    server = tf.train.Server.create_local_server()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stubs(server):
    channel = grpc.insecure_channel(server.target[len("grpc://"):])
    yield pb_grpc.MasterServiceStub(channel), pb_grpc.WorkerServiceStub(channel), channel
    channel.close()


def _graph_def(extra=()):
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [3], name="x")
        tf.reduce_sum(x * 2.0, name="y")
    graph_def = g.as_graph_def()
    graph_def.node.extend(extra)
    return graph_def


def _x(value=None, name="x:0"):
    return pb.NamedTensor(name=name, tensor=tensor_codec.to_proto(np.ones(3, np.float32) if value is None else value))


def _session(master, graph_def=None):
    return master.CreateSession(pb.CreateSessionRequest(graph_def=graph_def or _graph_def(),
                                                        graph_version=1)).session_handle


def _status(call):
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def _malformed_feed():
    bad = tensor_codec.to_proto(np.ones(3, np.float32))
    bad.content = b"abc"  # 3 bytes for 3 float32s
    return pb.NamedTensor(name="x:0", tensor=bad)


UNKNOWN_OP = make_node("weird", "NoSuchOp", ["x"])
MASTER_CASES = {
    "unknown session": (lambda m, h: m.RunStep(pb.RunStepRequest(session_handle="nope", graph_version=1,
                                                                 fetch=["y:0"])),
                        grpc.StatusCode.FAILED_PRECONDITION, "unknown to the master"),
    "extend unknown session": (lambda m, h: m.ExtendSession(pb.ExtendSessionRequest(session_handle="nope",
                                                                                    graph_version=2)),
                               grpc.StatusCode.FAILED_PRECONDITION, "unknown to the master"),
    "version never sent": (lambda m, h: m.RunStep(pb.RunStepRequest(session_handle=h, graph_version=9,
                                                                    fetch=["y:0"], feed=[_x()])),
                           grpc.StatusCode.FAILED_PRECONDITION, "graph version 9 was never sent"),
    "unknown fetch": (lambda m, h: m.RunStep(pb.RunStepRequest(session_handle=h, graph_version=1, fetch=["zz:0"],
                                                               feed=[_x()])),
                      grpc.StatusCode.NOT_FOUND, "'zz' not found"),
    "unknown feed": (lambda m, h: m.RunStep(pb.RunStepRequest(session_handle=h, graph_version=1, fetch=["y:0"],
                                                              feed=[_x(), _x(name="qq:0")])),
                     grpc.StatusCode.NOT_FOUND, "unable to find feed output qq:0"),
    "missing feed": (lambda m, h: m.RunStep(pb.RunStepRequest(session_handle=h, graph_version=1, fetch=["y:0"])),
                     grpc.StatusCode.INVALID_ARGUMENT, "must feed a value for placeholder tensor 'x'"),
    "malformed feed": (lambda m, h: m.RunStep(pb.RunStepRequest(session_handle=h, graph_version=1, fetch=["y:0"],
                                                                feed=[_malformed_feed()])),
                       grpc.StatusCode.INVALID_ARGUMENT, "malformed TensorProto"),
    "unknown op": (lambda m, h: m.CreateSession(pb.CreateSessionRequest(graph_def=_graph_def([UNKNOWN_OP]),
                                                                        graph_version=1)),
                   grpc.StatusCode.NOT_FOUND, "Op type not registered 'NoSuchOp' in node 'weird'"),
    "bad transfer dtype": (lambda m, h: m.CreateSession(pb.CreateSessionRequest(graph_def=_graph_def(),
                                                                                transfer_dtype="int8")),
                           grpc.StatusCode.INVALID_ARGUMENT, "unsupported transfer dtype"),
    "empty upload": (lambda m, h: m.PutTensor(iter([])), grpc.StatusCode.INVALID_ARGUMENT, "tensor stream"),
}


@pytest.mark.parametrize("case", sorted(MASTER_CASES))
def test_master_service_answers_a_callers_mistake_with_its_status_code(stubs, case):
    master, _, _ = stubs
    call, code, message = MASTER_CASES[case]
    handle = _session(master)
    error = _status(lambda: call(master, handle))
    assert error.code() == code, error.details()
    assert message in error.details()


WORKER_CASES = {
    "unknown graph handle": (lambda w: w.RunGraph(pb.RunGraphRequest(graph_handle="nope", step_id=5)),
                             grpc.StatusCode.NOT_FOUND, "graph handle 'nope' is not registered"),
    "unknown op": (lambda w: w.RegisterGraph(pb.RegisterGraphRequest(graph_handle="h1", device=CPU0,
                                                                     graph_def=_graph_def([UNKNOWN_OP]))),
                   grpc.StatusCode.NOT_FOUND, "NoSuchOp"),
    "partition for another task": (lambda w: w.RegisterGraph(pb.RegisterGraphRequest(
        graph_handle="h2", graph_def=_graph_def(), device="/job:local/replica:0/task:3/device:CPU:0")),
        grpc.StatusCode.INVALID_ARGUMENT, "was sent to /job:local/task:0"),
    "unknown tensor": (lambda w: list(w.RecvTensor(pb.RecvTensorRequest(step_id=0, key="nope"))),
                       grpc.StatusCode.NOT_FOUND, "no tensor held under 'nope'"),
    "malformed push": (lambda w: w.PushTensor(iter([pb.TensorChunk()])), grpc.StatusCode.INVALID_ARGUMENT,
                       "tensor stream"),
}


@pytest.mark.parametrize("case", sorted(WORKER_CASES))
def test_worker_service_answers_a_callers_mistake_with_its_status_code(stubs, case):
    _, worker, _ = stubs
    call, code, message = WORKER_CASES[case]
    error = _status(lambda: call(worker))
    assert error.code() == code, error.details()
    assert message in error.details()


@pytest.mark.parametrize("method", ["/yarnflow.MasterService/CreateSession", "/yarnflow.MasterService/RunStep",
                                    "/yarnflow.WorkerService/RunGraph", "/yarnflow.WorkerService/RecvTensor"])
def test_a_request_that_cannot_be_parsed_is_invalid_argument_not_internal(stubs, method):
    _, _, channel = stubs
    if method.endswith("RecvTensor"):
        call = channel.unary_stream(method, request_serializer=None, response_deserializer=None)
        error = _status(lambda: list(call(b"\xff\xff\xff")))
    else:
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        error = _status(lambda: call(b"\xff\xff\xff"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed" in error.details()


def test_a_status_turns_back_into_its_error_class_with_node_and_op(stubs, server):
    master, _, _ = stubs
    handle = _session(master)
    error = _status(lambda: master.RunStep(pb.RunStepRequest(session_handle=handle, graph_version=1,
                                                             fetch=["y:0"])))
    op_error = derrors.from_rpc(error, "the master", server.target)
    assert type(op_error) is tf.errors.InvalidArgumentError
    assert (op_error.node_name, op_error.op_type) == ("x", "Placeholder")
    assert "must feed a value" in op_error.message


def test_a_transport_level_status_names_the_task():
    ports = free_ports(1)
    rpc = grpc.insecure_channel(f"localhost:{ports[0]}")  # nobody serves there
    try:
        error = _status(lambda: pb_grpc.WorkerServiceStub(rpc).GetStatus(pb.GetStatusRequest(), timeout=5))
    finally:
        rpc.close()
    op_error = derrors.from_rpc(error, "/job:ps/task:0", f"localhost:{ports[0]}")
    assert type(op_error) is tf.errors.UnavailableError
    assert op_error.message.startswith(f"/job:ps/task:0 (localhost:{ports[0]}) is unavailable")


@pytest.mark.parametrize("transport", ["channel", "grpc"])
def test_a_remote_partitions_error_reaches_the_client_as_its_class_over_either_transport(transport, monkeypatch):
    """A step error raised on another task crosses RunGraph (status or channel reply) and RunStep intact."""
    if transport == "grpc":
        monkeypatch.setenv("YARNFLOW_TENSOR_TRANSPORT", "grpc")
    ports = free_ports(2)
    spec = tf.train.ClusterSpec({"local": [f"localhost:{p}" for p in ports]})
    servers = [tf.train.Server(spec, "local", i) for i in range(2)]
    try:
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [None])
            with tf.device("/job:local/task:1"):
                part = tf.reshape(x * 2.0, [2, 2], name="reshape_here")  # runs on task 1, not on the master
            total = tf.reduce_sum(part)
            with tf.Session(f"grpc://127.0.0.2:{ports[0]}") as sess:  # over the wire, not in-process
                assert sess.run(total, {x: np.ones(4, np.float32)}) == 8.0
                with pytest.raises(tf.errors.InvalidArgumentError, match="3 values") as info:
                    sess.run(total, {x: np.ones(3, np.float32)})
        assert (info.value.node_name, info.value.op_type) == ("reshape_here", "Reshape")
    finally:
        for s in servers:
            s.stop()
