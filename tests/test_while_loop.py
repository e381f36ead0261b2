"""tf.while_loop beyond its values (tests/op_cases/control_flow.py): TF1's graph structure and errors, frames in
the engine (one iteration at a time, loops inside conds and conds inside loops, deadlines), side effects per
iteration, and gradients against numerical differentiation for several iteration counts."""

import doctest
import importlib

import numpy as np
import pytest

import tasklayer as tf
from engine import dtypes
from engine.errors import InvalidArgumentError
from engine.executor import Executor
from engine.graph_util import make_const, make_node
from protos import graph_pb2
from tests.gradient_check import check_gradients

I, F = dtypes.int32, dtypes.float32


@pytest.mark.parametrize("name", ["tasklayer.ops.while_loop", "tasklayer.layers.utils", "engine.flow_run",
                                  "engine.kernels.numpy_control_flow"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


# ---------------------------------------------------------------- frames in the engine
def _loop_graph(limit_input="n"):
    """i = 0; a = 1; while i < n: i += 1; a += a  (TF1's nodes, written by hand)."""
    enter = dict(frame_name="w", parallel_iterations=10)
    one = make_const("w/one", np.int32(1))
    one.input.append("^w/Identity")  # a constant of the body hangs on its pivot
    return graph_pb2.GraphDef(node=[
        make_const("i0", np.int32(0)), make_const("a0", np.float32(1.0)), make_node("n", "Placeholder", dtype=I),
        make_node("w/Enter", "Enter", ["i0"], T=I, is_constant=False, **enter),
        make_node("w/Enter_1", "Enter", ["a0"], T=F, is_constant=False, **enter),
        make_node("w/Enter_n", "Enter", [limit_input], T=I, is_constant=True, **enter),
        make_node("w/Merge", "Merge", ["w/Enter", "w/Next"], T=I, N=2),
        make_node("w/Merge_1", "Merge", ["w/Enter_1", "w/Next_1"], T=F, N=2),
        make_node("w/Less", "Less", ["w/Merge", "w/Enter_n"], T=I),
        make_node("w/LoopCond", "LoopCond", ["w/Less"]),
        make_node("w/Switch", "Switch", ["w/Merge", "w/LoopCond"], T=I),
        make_node("w/Switch_1", "Switch", ["w/Merge_1", "w/LoopCond"], T=F),
        make_node("w/Identity", "Identity", ["w/Switch:1"], T=I),
        make_node("w/Identity_1", "Identity", ["w/Switch_1:1"], T=F), one,
        make_node("w/add", "AddV2", ["w/Identity", "w/one"], T=I),
        make_node("w/double", "AddV2", ["w/Identity_1", "w/Identity_1"], T=F),
        make_node("w/Next", "NextIteration", ["w/add"], T=I),
        make_node("w/Next_1", "NextIteration", ["w/double"], T=F),
        make_node("w/Exit", "Exit", ["w/Switch"], T=I), make_node("w/Exit_1", "Exit", ["w/Switch_1"], T=F)])


@pytest.mark.parametrize("n", [0, 1, 5])
def test_the_executor_runs_a_loop_frame_once_per_iteration(n):
    ex = Executor(_loop_graph())
    assert ex.run({"n:0": np.int32(n)}, ["w/Exit:0", "w/Exit_1:0"]) == [n, 2.0 ** n]


def test_inputs_from_two_frames_are_refused_naming_the_node():
    g = _loop_graph()
    for node in g.node:
        if node.name == "w/add":
            node.input[1] = "i0"  # a value from outside the loop, not entered into it
    with pytest.raises(InvalidArgumentError, match="The node 'w/add' has inputs from different frames"):
        Executor(g).run({"n:0": np.int32(2)}, ["w/Exit:0"])


def test_a_loop_split_across_tasks_is_refused():
    g = _loop_graph()
    g.node.append(make_node("w/send", "_Send", ["w/double"], T=F, tensor_name="w/double:0",
                            send_device="/job:a/replica:0/task:0/device:CPU:0", send_device_incarnation=0,
                            recv_device="/job:b/replica:0/task:0/device:CPU:0", client_terminated=False))
    with pytest.raises(InvalidArgumentError, match="inside while loop 'w': a loop runs inside one task"):
        Executor(g).run({"n:0": np.int32(2)}, targets=["w/send"])


def test_a_loop_that_does_not_end_stops_at_the_run_deadline():
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.while_loop(lambda i: i >= 0, lambda i: i + 1, [0])
        with pytest.raises(tf.errors.DeadlineExceededError, match="still running"):
            sess.run(x, options=tf.RunOptions(timeout_in_ms=200))


# ---------------------------------------------------------------- the graph tf.while_loop builds
def test_while_loop_builds_tf1s_nodes_in_one_frame():
    with tf.Graph().as_default() as g:
        w = tf.constant(2, name="w")
        r = tf.while_loop(lambda i: i < 10, lambda i: i * w + 1, [tf.constant(1, name="i")])
    ops = {op.name: op for op in g.get_operations()}
    assert r.name == "while/Exit:0"
    enter = ops["while/Enter"]
    assert enter.get_attr("frame_name") == "while/while_context" and not enter.get_attr("is_constant")
    assert [t.name for t in ops["while/Merge"].inputs] == ["while/Enter:0", "while/NextIteration:0"]
    assert ops["while/LoopCond"].inputs[0].op.name == "while/Less"
    assert [t.name for t in ops["while/Switch"].inputs] == ["while/Merge:0", "while/LoopCond:0"]
    assert ops["while/Identity"].inputs[0].name == "while/Switch:1"
    captured = ops["while/mul"].inputs[1].op  # the outside w comes in through a constant Enter
    assert captured.type == "Enter" and captured.get_attr("is_constant") and captured.inputs[0].name == "w:0"
    assert [c.name for c in ops["while/add/y"].control_inputs] == ["while/Identity"]  # body constants: the pivot
    assert [c.name for c in ops["while/Less/y"].control_inputs] == ["while/Merge"]  # cond constants too


def test_loop_variables_keep_their_structure_and_one_is_unpacked():
    with tf.Graph().as_default(), tf.Session() as sess:
        single = tf.while_loop(lambda x: x < 3, lambda x: x + 1, [0])
        same = tf.while_loop(lambda x: x < 3, lambda x: x + 1, [0], return_same_structure=True)
        pair = tf.while_loop(lambda a, b: a < 3, lambda a, b: (a + 1, b * 2), (0, 1))
        assert isinstance(single, tf.Tensor) and isinstance(same, list) and isinstance(pair, tuple)
        assert sess.run([single, same, list(pair)]) == [3, [3], [3, 8]]


@pytest.mark.parametrize("build, error, message", [
    (lambda: tf.while_loop(1, lambda i: i, [0]), TypeError, "'cond' must be callable."),
    (lambda: tf.while_loop(lambda i: i < 1, lambda i: i, [0], parallel_iterations=0), TypeError,
     "'parallel_iterations' must be a positive integer."),
    (lambda: tf.while_loop(lambda i: i < 1, lambda i: i, []), ValueError, "'loop_vars' must be provided."),
    (lambda: tf.while_loop(lambda i: i < 3, lambda i: (i + 1, i), [0]), ValueError,
     "don't have the same nested structure"),
    (lambda: tf.while_loop(lambda x: tf.reduce_sum(x) < 3, lambda x: tf.concat([x, x], 0), [tf.ones([1])]),
     ValueError, r"Input tensor 'ones:0' enters the loop with shape \(1,\), but has shape \(2,\) after one iteration"),
    (lambda: tf.while_loop(lambda x: x[0] < 3, lambda x: x, [tf.ones([2])], shape_invariants=[tf.TensorShape([3])]),
     ValueError, r"It enters the loop with shape \(2,\), but the specified shape invariant is \(3,\)."),
    (lambda: tf.while_loop(lambda i: i, lambda i: i + 1, [0]), TypeError,
     "Input 'input' of 'LoopCond' Op has type int32 that does not match expected type of bool."),
    (lambda: tf.while_loop(lambda i: tf.constant([True]), lambda i: i + 1, [0]), ValueError,
     "Shape must be rank 0 but is rank 1"),
    (lambda: tf.while_loop(lambda i: i < 3, lambda i: i + 1, [0], maximum_iterations=[2]), ValueError,
     r"'maximum_iterations' must be a scalar. Received shape: \(1,\)"),
    (lambda: tf.while_loop(lambda i: i < 3, lambda i: tf.cast(i, tf.float32), [0]), TypeError,
     "passed float32 from .* incompatible with expected int32"),
])
def test_while_loop_refuses_what_tf1_refuses(build, error, message):
    with tf.Graph().as_default(), pytest.raises(error, match=message):
        build()


def test_a_loop_result_is_the_only_way_out_of_a_loop():
    with tf.Graph().as_default():
        inside = []
        tf.while_loop(lambda i: i < 3, lambda i: inside.append(i * 2) or i + 1, [0])
        with pytest.raises(ValueError, match="inside while loop 'while/while_context'"):
            tf.cond(tf.placeholder(tf.bool, []), lambda: inside[0], lambda: 0)


# ---------------------------------------------------------------- side effects per iteration, loops and conds
def test_a_body_with_an_update_runs_it_once_per_iteration():
    with tf.Graph().as_default(), tf.Session() as sess:
        count = tf.Variable(0)
        n = tf.placeholder(tf.int32, [])

        def body(i):
            with tf.control_dependencies([tf.assign_add(count, 1)]):
                return i + 1
        r = tf.while_loop(lambda i: i < n, body, [0])
        sess.run(count.initializer)
        assert [sess.run(r, {n: k}) for k in (3, 0, 4)] == [3, 0, 4]
        assert sess.run(count) == 7


def test_a_loop_in_an_untaken_branch_does_not_run():
    with tf.Graph().as_default(), tf.Session() as sess:
        count = tf.Variable(0)
        p = tf.placeholder(tf.bool, [])

        def loop():
            return tf.while_loop(lambda i: i < 5, lambda i: tf.assign_add(count, 1) * 0 + i + 1, [0])
        r = tf.cond(p, loop, lambda: tf.constant(-1))
        sess.run(count.initializer)
        assert sess.run(r, {p: False}) == -1 and sess.run(count) == 0
        assert sess.run(r, {p: True}) == 5 and sess.run(count) == 5


# ---------------------------------------------------------------- gradients
def _run_n(n):
    holder = {}

    def feed(build):
        def wrapped(*xs):
            holder["n"] = tf.placeholder(tf.int32, [])
            return build(holder["n"], *xs), {holder["n"]: n}
        return wrapped
    return feed


@pytest.mark.parametrize("n", [0, 1, 2, 4])
def test_loop_gradients_match_numerical_differentiation(n):
    def build(limit, x, w):
        _, h = tf.while_loop(lambda i, h: i < limit, lambda i, h: (i + 1, tf.tanh(tf.matmul(h, w)) + x), [0, x])
        return h
    rng = np.random.default_rng(n)
    check_gradients(_run_n(n)(build), rng.standard_normal((1, 3)) * 0.5, rng.standard_normal((3, 3)) * 0.5)


@pytest.mark.parametrize("n", [1, 3, 4])
def test_loop_gradients_through_a_cond_in_the_body(n):
    def build(limit, x, w):
        def body(i, h):
            return i + 1, tf.cond(tf.equal(i % 2, 0), lambda: tf.sigmoid(h * w), lambda: h * h + w)
        return tf.while_loop(lambda i, h: i < limit, body, [0, x])[1]
    check_gradients(_run_n(n)(build), np.array([0.3, -0.4]), np.array([0.9, -1.2]))


@pytest.mark.parametrize("n", [0, 2, 3])
def test_gradients_of_nested_loops(n):
    def build(limit, x, w):
        def outer(i, h):
            _, inner = tf.while_loop(lambda j, g: j < i, lambda j, g: (j + 1, tf.tanh(g) * w), [0, h])
            return i + 1, inner + h
        return tf.while_loop(lambda i, h: i < limit, outer, [0, x])[1]
    check_gradients(_run_n(n)(build), np.array([0.2, -0.5]), np.array([1.1, 0.7]))


def test_a_loop_built_without_back_prop_passes_no_gradient():
    with tf.Graph().as_default():
        x = tf.constant(2.0)
        y = tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * x), [0, x], back_prop=False)[1]
        assert tf.gradients(y * 1.0, x) == [None]


def test_two_gradients_of_one_loop_and_training_through_it():
    with tf.Graph().as_default(), tf.Session() as sess:
        w = tf.Variable([0.5, 0.5])
        target = tf.constant([2.0, 0.25])
        _, h = tf.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, h * w), [0, tf.ones([2])])
        first = tf.gradients(tf.reduce_sum(h), w)[0]
        loss = tf.reduce_sum(tf.square(h - target))
        train = tf.train.GradientDescentOptimizer(0.02).minimize(loss)
        sess.run(w.initializer)
        np.testing.assert_allclose(sess.run(first), 3 * np.float32([0.5, 0.5]) ** 2)
        for _ in range(300):
            sess.run(train)
        np.testing.assert_allclose(sess.run(w) ** 3, [2.0, 0.25], rtol=1e-3)


def test_an_rnn_cell_making_its_weights_in_the_body_trains_them():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2, 3])

        def body(i, h):
            w = tf.get_variable("w", [3, 3], initializer=tf.ones_initializer())
            return i + 1, tf.tanh(tf.matmul(h, w))
        _, h = tf.while_loop(lambda i, h: i < 3, body, [tf.constant(0), x])
        [w] = tf.trainable_variables()
        [grad] = tf.gradients(tf.reduce_sum(h), [w])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(grad, {x: np.ones((2, 3), np.float32) * 0.1}).shape == (3, 3)
