"""``tf.report_uninitialized_variables``: the NAMES of uninitialized variables as a 1-D string tensor, in a local
session and through a distributed one (the names come back in the RunStep reply; only bools cross tasks)."""

import numpy as np
import pytest

import tasklayer as tf
from engine import dtypes, passes, tensor_codec
from engine.passes.partition import partition
from engine.passes.placement import place
from protos import graph_pb2
from tests.distributed_helpers import TaskProcesses


def _two_variables():
    w = tf.Variable([1.0, 2.0], name="w")
    with tf.variable_scope("layer"):
        b = tf.Variable(0, name="b")
    return w, b


@pytest.mark.parametrize("value", [[b"w", "layer/b", ""], np.array([[b"a"], [b"bc"]], dtype=object),
                                   np.array(b"scalar", dtype=object), np.array([], dtype=object)])
def test_string_tensors_round_trip_through_tensor_proto(value):
    proto = tensor_codec.to_proto(np.array(value, dtype=object))
    assert proto.dtype == graph_pb2.DT_STRING and not proto.content
    back = tensor_codec.from_proto(proto)
    expected = np.array([v.encode() if isinstance(v, str) else v for v in np.ravel(np.array(value, dtype=object))],
                        dtype=object).reshape(np.shape(value))
    assert back.dtype == object and back.shape == expected.shape and back.tolist() == expected.tolist()


def test_a_string_tensor_holds_only_text():
    with pytest.raises(TypeError, match="bytes or str, got int"):
        tensor_codec.to_proto(np.array([b"a", 3], dtype=object))
    assert dtypes.as_dtype("string") is dtypes.string is dtypes.as_dtype(np.dtype("S3"))


def test_names_of_uninitialized_variables_in_a_local_session():
    with tf.Graph().as_default():
        w, b = _two_variables()
        report = tf.report_uninitialized_variables()
        assert report.dtype == tf.string and report.shape.as_list() == [None]
        only_b = tf.report_uninitialized_variables([b], name="only_b")
        with tf.Session() as sess:
            names = sess.run(report)
            assert names.dtype == object and names.tolist() == [b"w", b"layer/b"]
            sess.run(b.initializer)
            assert sess.run(report).tolist() == [b"w"] and sess.run(only_b).tolist() == []
            sess.run(tf.global_variables_initializer())
            assert sess.run(report).shape == (0,)
        empty = tf.report_uninitialized_variables([], name="none")
        with tf.Session() as sess:
            assert sess.run(empty).tolist() == []


def _ps_graph():
    cluster = tf.train.ClusterSpec({"ps": ["localhost:1"], "worker": ["localhost:2"]})
    with tf.device(tf.train.replica_device_setter(cluster=cluster)):
        w, b = _two_variables()
    return w, b, tf.report_uninitialized_variables()


def test_only_bools_cross_between_tasks():
    with tf.Graph().as_default() as g:
        _, _, report = _ps_graph()
        graph = passes.prune(g.as_graph_def(), [report.name])
        parts = partition(place(graph, {"ps": [0], "worker": [0]}, "/job:worker/task:0"), [report.name])
    by_task = {p.task: p for p in parts.values()}
    assert set(by_task) == {("ps", 0), ("worker", 0)}
    sends = [n for n in by_task["ps", 0].graph_def.node if n.op == "_Send"]
    assert sends and {n.attr["T"].type for n in sends} == {graph_pb2.DT_BOOL}
    strings = [n.name for p in parts.values() for n in p.graph_def.node
               if n.op == "Const" and n.attr["dtype"].type == graph_pb2.DT_STRING]
    assert strings and all(p.task == ("worker", 0) for p in parts.values()
                           if any(n.name in strings for n in p.graph_def.node))


@pytest.mark.timeout(60)
def test_names_come_back_from_a_distributed_session():
    with TaskProcesses({"ps": 1, "worker": 1}) as tasks:
        with tf.Graph().as_default():
            cluster = tf.train.ClusterSpec(tasks.spec)
            with tf.device(tf.train.replica_device_setter(cluster=cluster)):
                w, b = _two_variables()
            report = tf.report_uninitialized_variables()
            with tf.Session(tasks.target("worker", 0)) as sess:
                assert sess.run(report).tolist() == [b"w", b"layer/b"]
                sess.run(w.initializer)
                assert sess.run(report).tolist() == [b"layer/b"]
            with tf.Session(tasks.target("worker", 0)) as other:  # the values live on the ps, across sessions
                other.run(b.initializer)
                assert other.run(report).tolist() == []
