"""GraphDef round trips (names, attrs, devices, control inputs) and import_graph_def's options and errors."""

import numpy as np
import pytest

import tasklayer as tf
from protos import graph_pb2


def _rich_graph():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 6], name="x")
        u = tf.placeholder(tf.int64, name="unknown_rank")
        with tf.device("/job:ps/task:0"), tf.name_scope("block"):
            w = tf.constant(np.arange(12, dtype=np.float32).reshape(6, 2), name="w")
            h = tf.nn.relu(tf.matmul(x, w, transpose_b=False))
        with tf.device("/job:worker/task:1/gpu:0"):
            parts = tf.split(h, 2, axis=1)
            s = tf.squeeze(tf.expand_dims(parts[1], 0), [0])
        init = tf.no_op(name="init")
        with tf.control_dependencies([init, u]):
            out = tf.reduce_mean(s + parts[0], axis=[0], keepdims=True, name="out")
        flag = tf.constant([True, False], name="flag")
        _ = tf.where(flag, tf.ones([2]), tf.zeros([2])), tf.one_hot([1, 2], 3), x[1:, ::2]
        _ = tf.group(out, flag, name="all")
    return g


def test_round_trip_is_exact():
    g = _rich_graph()
    gd = g.as_graph_def()
    wire = graph_pb2.GraphDef.FromString(gd.SerializeToString())
    g2 = tf.Graph()
    with g2.as_default():
        assert tf.import_graph_def(wire, name="") is None
    gd2 = g2.as_graph_def()
    assert [n.name for n in gd2.node] == [n.name for n in gd.node]
    assert list(gd2.node) == list(gd.node)
    nodes = {n.name: n for n in gd2.node}
    assert nodes["block/w"].device == "/job:ps/task:0"
    assert nodes["split"].device == "/job:worker/task:1/device:GPU:0"
    assert list(nodes["add"].input)[-2:] == ["^init", "^unknown_rank"]  # "out" is dominated by "add"
    assert "split:1" in list(nodes["ExpandDims"].input)
    assert nodes["unknown_rank"].attr["shape"].shape.unknown_rank
    assert list(nodes["x"].attr["shape"].shape.dim) == [-1, 6]
    assert list(nodes["Squeeze"].attr["squeeze_dims"].list.i) == [0]
    # the imported graph is typed and shaped like the original
    for op in g.get_operations():
        twin = g2.get_operation_by_name(op.name)
        assert [(t.dtype, t.shape) for t in twin.outputs] == [(t.dtype, t.shape) for t in op.outputs]
        assert twin.device == op.device


def test_imported_graph_runs_and_maps_inputs():
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float32, [None], name="a")
        b = tf.reduce_sum(a * 2, name="b")
        tf.no_op(name="marker")
    with tf.Graph().as_default() as g2:
        feed = tf.constant([1.0, 2.0, 3.0], name="feed")
        b1, marker = tf.import_graph_def(g.as_graph_def(), input_map={"a": feed},
                                         return_elements=["b:0", "marker"])
        b2, = tf.import_graph_def(g.as_graph_def(), return_elements=["b:0"])
        assert b1.name == "import/b:0" and marker.name == "import/marker" and b2.name == "import_1/b:0"
        with tf.Session() as sess:
            assert sess.run(b1) == 12.0
            assert sess.run(b2, {"import_1/a:0": [5.0]}) == 10.0
        assert g2.get_operation_by_name("import/a").type == "Placeholder"


def test_import_applies_device_scopes_with_node_devices_winning():
    g = tf.Graph()
    with g.as_default():
        with tf.device("/task:3"):
            tf.constant(1.0, name="pinned")
        tf.constant(2.0, name="free")
    with tf.Graph().as_default() as g2:
        with tf.device("/job:worker/task:0"):
            tf.import_graph_def(g.as_graph_def(), name="imp")
    assert g2.get_operation_by_name("imp/pinned").device == "/job:worker/task:3"
    assert g2.get_operation_by_name("imp/free").device == "/job:worker/task:0"


def _graph_def(*nodes):
    return graph_pb2.GraphDef(node=list(nodes))


def test_import_errors_are_clear():
    const = tf.Graph()
    with const.as_default():
        tf.constant(1, name="c")
        tf.identity(tf.constant(1, name="d"), name="e")
    gd = const.as_graph_def()
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="not found in graph_def: \\['zzz:0'\\]"):
            tf.import_graph_def(gd, input_map={"zzz:0": tf.constant(1)})
        with pytest.raises(ValueError, match="incompatible with expected int32"):
            tf.import_graph_def(gd, input_map={"d:0": tf.constant(1.0)})
        with pytest.raises(ValueError, match="Requested return_element 'nope' not found"):
            tf.import_graph_def(gd, return_elements=["nope"])
        with pytest.raises(ValueError, match="Op type not registered 'Frobnicate'"):
            tf.import_graph_def(_graph_def(graph_pb2.NodeDef(name="f", op="Frobnicate")))
        with pytest.raises(ValueError, match="Node 'n': Unknown input node '\\^ghost'"):
            tf.import_graph_def(_graph_def(graph_pb2.NodeDef(name="n", op="NoOp", input=["^ghost"])))
        with pytest.raises(ValueError, match="cycle"):
            tf.import_graph_def(_graph_def(graph_pb2.NodeDef(name="p", op="NoOp", input=["^q"]),
                                           graph_pb2.NodeDef(name="q", op="NoOp", input=["^p"])))
        with pytest.raises(TypeError, match="must be a GraphDef"):
            tf.import_graph_def(b"not a graph")
        with pytest.raises(ValueError, match="Duplicate node name"):
            tf.constant(0, name="c")
            tf.import_graph_def(gd, name="")
