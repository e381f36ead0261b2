"""Graph building: names, scopes, devices, control deps, collections, versions, Tensor API, build-time errors."""

import threading

import numpy as np
import pytest

import tasklayer as tf


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


def test_unique_names_like_tensorflow(fresh_graph):
    a = tf.constant(1.0)
    b = a + 1
    c = a + 2
    d = tf.add(a, b)
    e = tf.add(a, c, name="add")  # names are unique regardless of case
    assert [a.op.name, b.op.name, c.op.name, d.op.name, e.op.name] == ["Const", "add", "add_1", "Add_2", "add_3"]
    assert b.name == "add:0" and c.name == "add_1:0" and b.value_index == 0
    assert [op.name for op in b.op.inputs[1].op.graph.get_operations()][:3] == ["Const", "add/y", "add"]
    assert tf.constant(0, name="x").op.name == "x" and tf.constant(0, name="x").op.name == "x_1"
    assert fresh_graph.unique_name("x", mark_as_used=False) == "x_2"


def test_name_scopes_nest_reenter_and_validate():
    with tf.name_scope("layer") as scope:
        assert scope == "layer/"
        with tf.name_scope("inner"):
            w = tf.constant(1.0, name="w")
        v = tf.identity(w)
    with tf.name_scope("layer"):
        u = tf.constant(1.0)
    with tf.name_scope("layer/"):
        again = tf.constant(1.0, name="again")
    with tf.name_scope(None, default_name="dflt"):
        with tf.name_scope(""):
            root = tf.constant(1.0, name="root")
    assert [w.op.name, v.op.name, u.op.name, again.op.name, root.op.name] == [
        "layer/inner/w", "layer/Identity", "layer_1/Const", "layer/again", "root"]
    with pytest.raises(ValueError, match="not a valid scope name"):
        with tf.name_scope("bad name!"):
            pass


def test_device_scopes_merge_inner_fields_win():
    with tf.device("/job:ps/task:0"):
        a = tf.constant(1)
        with tf.device("/task:1/cpu:0"):
            b = tf.constant(2)
            with tf.device(None):
                c = tf.constant(3)
        with tf.device("/job:worker"):
            d = tf.constant(4)
    assert a.device == "/job:ps/task:0"
    assert b.device == "/job:ps/task:1/device:CPU:0"
    assert c.device == ""
    assert d.device == "/job:worker/task:0"
    with pytest.raises(ValueError, match="malformed device"):
        with tf.device("/job:ps/bogus:1"):
            pass


def test_device_function_sees_the_op_and_inner_choice():
    seen = []

    def setter(op):
        seen.append((op.type, op.device))
        return "/job:ps/task:0" if op.type == "Const" else "/job:worker/task:0"
    with tf.device(setter):
        c = tf.constant(1.0)
        with tf.device("/device:GPU:1"):
            s = tf.square(c)
    assert c.device == "/job:ps/task:0"
    assert ("Square", "/device:GPU:1") in seen
    assert s.device == "/job:worker/task:0"  # the function decides; a merging setter would keep the GPU


def test_control_dependencies():
    a = tf.no_op(name="a")
    b = tf.constant(1.0, name="b")
    with tf.control_dependencies([a, b]):
        c = tf.constant(2.0, name="c")
        d = c * 2  # its input was created in the block: no duplicate control inputs
        with tf.control_dependencies(None):
            e = tf.constant(3.0, name="e")
        f = tf.identity(b)  # data input b is not repeated as a control input
    assert [op.name for op in c.op.control_inputs] == ["a", "b"]
    assert d.op.control_inputs == ()
    assert e.op.control_inputs == ()
    assert [op.name for op in f.op.control_inputs] == ["a"]
    with pytest.raises(TypeError, match="Control input must be"):
        with tf.control_dependencies([1]):
            pass


def test_collections_version_graph_def_cache_and_finalize(fresh_graph):
    tf.add_to_collection("losses", 1)
    fresh_graph.add_to_collections(["losses", "other"], 2)
    assert tf.get_collection("losses") == [1, 2] and tf.get_collection("other") == [2]
    tf.get_collection_ref("refs").append(3)
    assert fresh_graph.get_collection("refs") == [3]
    x = tf.constant(1.0, name="scope1/x")
    y = tf.constant(1.0, name="scope2/y")
    fresh_graph.add_to_collections("vars", x)
    fresh_graph.add_to_collections("vars", y)
    assert tf.get_collection("vars", scope="scope2") == [y]
    v0 = fresh_graph.version
    gd1 = fresh_graph.cached_graph_def()
    assert fresh_graph.cached_graph_def() is gd1 and fresh_graph.as_graph_def() is not gd1
    tf.constant(2.0)
    assert fresh_graph.version == v0 + 1
    assert len(fresh_graph.cached_graph_def().node) == len(gd1.node) + 1
    fresh_graph.finalize()
    with pytest.raises(RuntimeError, match="finalized"):
        tf.constant(3.0)


def test_threads_build_one_graph_with_unique_names(fresh_graph):
    def build(k):
        with fresh_graph.as_default():
            with tf.name_scope(f"t{k % 2}"):
                for _ in range(100):
                    tf.constant(1.0, name="c")
    threads = [threading.Thread(target=build, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    names = [op.name for op in fresh_graph.get_operations()]
    assert len(names) == 600 == len(set(names))
    assert fresh_graph.version == 600


def test_tensor_api():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    assert x.name == "x:0" and x.dtype == tf.float32 and x.graph is tf.get_default_graph()
    assert x.shape.as_list() == [None, 3] and x.get_shape().ndims == 2 and x.shape[1].value == 3
    assert x.shape[0].value is None and str(x.shape) == "(?, 3)" and repr(x) == "<tf.Tensor 'x:0' shape=(?, 3) dtype=float32>"
    assert int(x.shape[1]) == 3 and x.op.outputs == (x,) and x.consumers() == []
    y = x * 2
    assert x.consumers() == [y.op]
    assert (x == y) is False and x != y and {x: 1}[x] == 1  # identity equality, hashable
    with pytest.raises(TypeError, match="as a Python `bool`"):
        bool(x)
    with pytest.raises(TypeError, match="only iterable"):
        iter(x)
    x.set_shape([4, 3])
    assert x.shape.as_list() == [4, 3]
    with pytest.raises(ValueError, match="incompatible"):
        x.set_shape([5, 3])
    assert tf.placeholder(tf.int32).shape.ndims is None


def test_operation_api():
    a = tf.constant([1.0, 2.0], name="a")
    s = tf.reduce_sum(a, axis=0, keepdims=True, name="s")
    op = s.op
    assert op.type == "Sum" and op.name == "s" and op.inputs[0] is a and op.get_attr("keep_dims") is True
    assert op.get_attr("T") == tf.float32
    nd = op.node_def
    assert nd.op == "Sum" and list(nd.input) == ["a", "s/reduction_indices"] and nd.attr["keep_dims"].b
    with pytest.raises(ValueError, match="has no attr named 'nope'"):
        op.get_attr("nope")
    assert repr(op) == "<tf.Operation 's' type=Sum>"
    g = tf.get_default_graph()
    assert g.get_operation_by_name("s") is op and g.get_tensor_by_name("s:0") is s
    with pytest.raises(KeyError, match="does not exist"):
        g.get_tensor_by_name("nothere:0")
    with pytest.raises(KeyError, match="only has 1 outputs"):
        g.get_tensor_by_name("s:3")
    with pytest.raises(ValueError, match="refers to an Operation, not a Tensor"):
        g.get_tensor_by_name("s")


def test_dtype_promotion_rules():
    f32 = tf.constant(1.0)
    assert (f32 + 2.5).dtype == tf.float32 and (3 * f32).dtype == tf.float32
    assert (f32 + np.array([1.0, 2.0])).dtype == tf.float32  # numpy values take the tensor's dtype
    assert tf.constant(1).dtype == tf.int32 and tf.constant(2**40).dtype == tf.int64
    assert tf.constant(np.float64(1)).dtype == tf.float64 and tf.constant([1.5]).dtype == tf.float32
    assert tf.constant([True]).dtype == tf.bool and tf.constant([]).dtype == tf.float32
    assert (tf.constant(3) / 2).dtype == tf.float64
    with pytest.raises(TypeError, match="float64 that does not match type float32"):
        _ = f32 + tf.constant(1.0, tf.float64)
    with pytest.raises(TypeError, match="Expected int32, got 2.5"):
        _ = tf.constant(1) + 2.5
    with pytest.raises(TypeError, match="not in list of allowed values"):
        tf.sqrt(tf.constant(4))
    with pytest.raises(TypeError, match="Failed to convert"):
        tf.constant(object())  # text is a tf.string constant, as in TF; an arbitrary object is not
    with pytest.raises(ValueError, match="requested dtype float64"):
        tf.convert_to_tensor(f32, dtype=tf.float64)


def test_convert_lists_holding_tensors_stacks_them():
    t = tf.convert_to_tensor([tf.constant(1), 2, tf.constant(3)])
    assert t.op.type == "Pack" and t.shape.as_list() == [3]
    with tf.Session() as sess:
        assert sess.run(t).tolist() == [1, 2, 3]


def test_tensors_from_two_graphs_cannot_mix():
    a = tf.constant(1.0)
    with tf.Graph().as_default():
        b = tf.constant(2.0)
    with pytest.raises(ValueError, match="must be from the same graph"):
        tf.add(a, b)
    with pytest.raises(ValueError, match="same graph"):
        _ = a * b


def test_ops_go_to_the_graph_of_their_inputs():
    g2 = tf.Graph()
    with g2.as_default():
        b = tf.constant(2.0)
    c = b + 1  # built in the default graph's context, lands in b's graph
    assert c.graph is g2


def test_shape_errors_name_op_and_shapes():
    with pytest.raises(ValueError, match=r"MatMul 'matmul_1': inner dimensions must agree: \[2,3\] x \[4,5\]"):
        tf.matmul(tf.zeros([2, 3]), tf.zeros([4, 5]), name="matmul_1")
    with pytest.raises(ValueError, match=r"Add 'add': dimensions must be equal or 1 to broadcast: \[2,3\] vs \[4\]"):
        _ = tf.zeros([2, 3]) + tf.zeros([4])
    with pytest.raises(ValueError, match=r"Reshape 'Reshape': Cannot reshape a tensor with 6 elements"):
        tf.reshape(tf.zeros([2, 3]), [4])
    with pytest.raises(ValueError, match=r"ConcatV2 'concat': Dimension 1 in both shapes must be equal"):
        tf.concat([tf.zeros([2, 3]), tf.zeros([2, 4])], 0)
    with pytest.raises(ValueError, match="not divisible"):
        tf.split(tf.zeros([5]), 2)
    with pytest.raises(ValueError, match="rank 2"):
        tf.matmul(tf.zeros([2, 3, 4]), tf.zeros([4, 5]))
    with pytest.raises(ValueError, match="out of range"):
        tf.reduce_sum(tf.zeros([2, 3]), axis=2)
    with pytest.raises(ValueError, match="Can not squeeze dim"):
        tf.squeeze(tf.zeros([2, 3]), [0])
    with pytest.raises(ValueError, match="out of bounds"):
        tf.slice(tf.zeros([4]), [2], [3])
    # unknown dims stay unknown without complaint
    x = tf.placeholder(tf.float32, [None, 3])
    assert tf.matmul(x, tf.zeros([3, 7])).shape.as_list() == [None, 7]
    assert (x + tf.zeros([5, 1])).shape.as_list() == [5, 3]


def test_static_shapes_of_common_ops():
    x = tf.placeholder(tf.float32, [None, 4, 6])
    assert tf.reduce_mean(x, axis=1).shape.as_list() == [None, 6]
    assert tf.reduce_mean(x, axis=[1], keep_dims=True).shape.as_list() == [None, 1, 6]
    assert tf.reduce_sum(x).shape.as_list() == []
    assert tf.reshape(x, [-1, 6]).shape.as_list() == [None, 6]
    assert tf.reshape(tf.zeros([4, 6]), [-1, 3]).shape.as_list() == [8, 3]
    assert tf.transpose(x).shape.as_list() == [6, 4, None]
    assert x[:, 1:3, ::2].shape.as_list() == [None, 2, 3]
    assert x[..., tf.newaxis, 0].shape.as_list() == [None, 4, 1]
    with pytest.raises(TypeError, match="'indices' must be an int32 or int64 tensor, got bool"):
        tf.gather(tf.zeros([10, 3]), x[0, :, 0] > 0)
    assert tf.gather(tf.zeros([10, 3]), tf.zeros([2, 5], tf.int32)).shape.as_list() == [2, 5, 3]
    assert tf.one_hot(tf.zeros([7], tf.int32), 4).shape.as_list() == [7, 4]
    assert tf.concat([x, x], axis=-1).shape.as_list() == [None, 4, 12]
    assert tf.stack([x, x], axis=1).shape.as_list() == [None, 2, 4, 6]
    assert [t.shape.as_list() for t in tf.unstack(x, axis=1)] == [[None, 6]] * 4
    assert [t.shape.as_list() for t in tf.split(x, [1, 5], axis=2)] == [[None, 4, 1], [None, 4, 5]]
    assert tf.where(x > 0).shape.as_list() == [None, 3]
    assert tf.shape(x).shape.as_list() == [3] and tf.range(2, 11, 3).shape.as_list() == [3]
    assert tf.zeros(tf.shape(x)[1:]).shape.as_list() == [4, 6]
    assert tf.argmax(x, axis=2).shape.as_list() == [None, 4]
    assert tf.random_normal([3, 2]).shape.as_list() == [3, 2]


def test_eval_needs_a_session():
    c = tf.constant(3)
    with pytest.raises(ValueError, match="No default session"):
        c.eval()
    with tf.Session() as sess:
        assert c.eval() == 3 and (c * 2).eval(session=sess) == 6
    with tf.Graph().as_default():
        with tf.Session():
            with pytest.raises(ValueError, match="graph is different"):
                c.eval()


def test_public_tf1_names():
    from engine import errors as engine_errors
    for name in ["float16", "float32", "float64", "int32", "int64", "uint8", "bool", "Graph", "Operation", "Tensor",
                 "TensorShape", "Session", "InteractiveSession", "placeholder", "constant", "get_default_graph",
                 "reset_default_graph", "name_scope", "device", "control_dependencies", "convert_to_tensor",
                 "import_graph_def", "newaxis", "nn", "errors", "train", "set_random_seed", "sigmoid", "tanh"]:
        assert hasattr(tf, name), name
    assert tf.errors.InvalidArgumentError is engine_errors.InvalidArgumentError
    assert tf.bool.name == "bool" and tf.newaxis is None and tf.float32.as_numpy_dtype is np.float32
