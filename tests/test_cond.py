"""tf.cond and tf.case beyond their values (tests/op_cases/control_flow.py): TF1's graph structure, errors, dead
tensors in the engine, side effects of the taken branch only, gradients against numerical differentiation,
training through a cond, and smart_cond in the layers."""

import doctest
import importlib

import numpy as np
import pytest

import tasklayer as tf
from engine import dtypes, passes
from engine.dead import DEAD
from engine.errors import InvalidArgumentError
from engine.executor import Executor
from engine.graph_util import make_const, make_node
from protos import graph_pb2
from tests.gradient_check import check_gradients

B, F = dtypes.bool_, dtypes.float32


@pytest.mark.parametrize("name", ["tasklayer.ops.cond", "tasklayer.ops.control_flow_context", "tasklayer.ops.nest",
                                  "tasklayer.ops.stack_ops", "engine.dead", "engine.frames",
                                  "tasklayer.layers.core", "tasklayer.layers.normalization"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# ---------------------------------------------------------------- dead tensors in the engine
def _switch_graph(*extra):
    return graph_pb2.GraphDef(node=[make_node("p", "Placeholder", dtype=B), make_const("x", np.float32(3.0)),
                                    make_node("sw", "Switch", ["x", "p"], T=F), *extra])


def test_a_switch_forwards_its_data_to_one_output_and_fetching_the_other_fails():
    ex = Executor(_switch_graph(make_node("t", "Square", ["sw:1"], T=F), make_node("f", "Neg", ["sw:0"], T=F)))
    assert ex.run({"p:0": np.bool_(True)}, ["t:0"])[0] == 9.0
    assert ex.run({"p:0": np.bool_(False)}, ["f:0"])[0] == -3.0
    with pytest.raises(InvalidArgumentError, match=r"Retval\[1\] does not have value"):
        ex.run({"p:0": np.bool_(True)}, ["t:0", "f:0"])


def test_a_merge_forwards_its_live_input_and_is_dead_only_when_all_are():
    ex = Executor(_switch_graph(make_node("f", "Neg", ["sw:0"], T=F), make_node("t", "Square", ["sw:1"], T=F),
                                make_node("m", "Merge", ["f", "t"], T=F, N=2),
                                make_node("m_dead", "Merge", ["sw:1", "t"], T=F, N=2)))
    value, index = ex.run({"p:0": np.bool_(False)}, ["m:0", "m:1"])
    assert (value, index) == (-3.0, 0) and index.dtype == np.int32
    assert ex.run({"p:0": np.bool_(True)}, ["m:0", "m:1"]) == [9.0, 1]
    with pytest.raises(InvalidArgumentError, match="does not have value"):
        ex.run({"p:0": np.bool_(False)}, ["m_dead:0"])


def test_a_dead_control_input_kills_an_op_but_not_a_merge_or_a_control_trigger():
    pivot = make_node("pivot", "Identity", ["sw:1"], T=F)
    const = make_const("c", np.float32(7.0))
    const.input.append("^pivot")
    merge = make_node("m", "Merge", ["x", "x"], T=F, N=2)
    merge.input.append("^pivot")
    trigger = make_node("trigger", "ControlTrigger", ["^pivot"])
    after = make_const("after", np.float32(1.0))
    after.input.append("^trigger")
    ex = Executor(_switch_graph(pivot, const, merge, trigger, after))
    with pytest.raises(InvalidArgumentError, match="does not have value"):
        ex.run({"p:0": np.bool_(False)}, ["c:0"])
    assert ex.run({"p:0": np.bool_(False)}, ["m:0", "after:0"]) == [3.0, 1.0]
    assert ex.run({"p:0": np.bool_(True)}, ["c:0"]) == [7.0]


def test_a_switch_needs_a_scalar_predicate():
    g = graph_pb2.GraphDef(node=[make_const("p", np.array([True, False])), make_const("x", np.float32(1.0)),
                                 make_node("sw", "Switch", ["x", "p"], T=F)])
    with pytest.raises(InvalidArgumentError, match=r"must be a scalar, but it has shape \[2\]"):
        Executor(g).run(fetches=["sw:0"])


def test_plans_without_control_flow_keep_the_fast_serial_loop():
    g = graph_pb2.GraphDef(node=[make_const("a", np.float32(2.0)), make_node("b", "Neg", ["a"], T=F)])
    ex = Executor(g)
    assert ex.plan_for(["b:0"]).flow is None
    ex.run(fetches=["b:0"])
    assert ex.last_stats.mode == "serial"
    assert Executor(_switch_graph()).plan_for(["sw:0"], feeds=["p:0"]).flow is not None


def test_graph_passes_keep_branches_apart():
    """CSE must not merge twin constants of the two branches (their pivots differ), and folding never folds a
    Switch or a Merge."""
    consts = []
    for name, pivot in (("c_t", "pt"), ("c_f", "pf")):
        c = make_const(name, np.float32(1.0))
        c.input.append("^" + pivot)
        consts.append(c)
    g = _switch_graph(make_node("pt", "Identity", ["sw:1"], T=F), make_node("pf", "Identity", ["sw:0"], T=F),
                      *consts, make_node("m", "Merge", ["c_f", "c_t"], T=F, N=2))
    g.node[0].CopyFrom(make_const("p", np.bool_(True)))
    out = passes.optimize(g, ["m:0"])
    names = {n.name: n.op for n in out.node}
    assert {"c_t", "c_f", "sw", "m"} <= set(names) and names["sw"] == "Switch"
    assert Executor(out).run(fetches=["m:0", "m:1"]) == [1.0, 1]


# ---------------------------------------------------------------- the graph tf.cond builds
def test_cond_builds_tf1s_switch_and_merge_structure():
    with tf.Graph().as_default() as g:
        p = tf.placeholder(tf.bool, [], name="p")
        x = tf.constant(3.0, name="x")
        r = tf.cond(p, lambda: tf.constant(1.0), lambda: x * 2)
    ops = {op.name: op for op in g.get_operations()}
    assert [t.name for t in ops["cond/Switch"].inputs] == ["p:0", "p:0"]
    assert ops["cond/switch_t"].inputs[0].name == "cond/Switch:1"
    assert ops["cond/switch_f"].inputs[0].name == "cond/Switch:0"
    assert [c.name for c in ops["cond/Const"].control_inputs] == ["cond/switch_t"]  # no inputs: the pivot
    captured = ops["cond/mul"].inputs[0].op
    assert captured.type == "Switch" and [t.name for t in captured.inputs] == ["x:0", "cond/pred_id:0"]
    assert r.op.type == "Merge" and r.name == "cond/Merge:0"
    assert [t.op.name for t in r.op.inputs] == ["cond/mul", "cond/Const"]  # false first, as in TF


def test_merge_shape_keeps_what_both_branches_agree_on():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.bool, [])
        assert tf.cond(p, lambda: tf.zeros([2, 3]), lambda: tf.zeros([2, 4])).shape.as_list() == [2, None]
        assert tf.cond(p, lambda: tf.zeros([2, 3]), lambda: tf.zeros([2])).shape.ndims is None


@pytest.mark.parametrize("build, error, message", [
    (lambda p: tf.cond(True, lambda: 1, lambda: 2), TypeError, "'pred' must not be a Python bool."),
    (lambda p: tf.cond(p, lambda: 1), TypeError, "'false_fn' argument required"),
    (lambda p: tf.cond(p, 1, lambda: 2), TypeError, "'true_fn' must be callable."),
    (lambda p: tf.cond(p, lambda: 1, lambda: 2, fn1=lambda: 3), TypeError, "may not be set simultaneously"),
    (lambda p: tf.cond(p, lambda: None, lambda: 2), ValueError, "'true_fn' must have a return value."),
    (lambda p: tf.cond(p, lambda: 1.0, lambda: 2), ValueError,
     "Outputs of 'true_fn' and 'false_fn' must have the same type"),
    (lambda p: tf.cond(p, lambda: (1, 2), lambda: 3), ValueError, "don't have the same nested structure"),
    (lambda p: tf.cond(p, lambda: [1, 2], lambda: (1, 2)), TypeError, "don't have the same nested structure"),
    (lambda p: tf.cond(tf.constant(1.0), lambda: 1, lambda: 2), TypeError,
     "Input 'pred' of 'Switch' Op has type float32 that does not match expected type of bool."),
    (lambda p: tf.cond(tf.constant([True, False]), lambda: 1, lambda: 2), ValueError,
     "Shape must be rank 0 but is rank 1"),
])
def test_cond_refuses_what_tf1_refuses(build, error, message):
    with tf.Graph().as_default():
        p = tf.placeholder(tf.bool, [])
        with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
            build(p)


def test_fn1_and_fn2_are_the_old_names_and_singletons_unpack_unless_strict():
    with tf.Graph().as_default(), tf.Session() as sess:
        p = tf.placeholder(tf.bool, [])
        r = tf.cond(p, fn1=lambda: [tf.constant(1)], fn2=lambda: [tf.constant(2)])
        strict = tf.cond(p, lambda: [tf.constant(1)], lambda: [tf.constant(2)], strict=True)
        assert isinstance(r, tf.Tensor) and isinstance(strict, list)
        assert sess.run(r, {p: False}) == 2 and sess.run(strict, {p: True}) == [1]


def test_only_the_taken_branch_runs_its_side_effects():
    with tf.Graph().as_default(), tf.Session() as sess:
        p = tf.placeholder(tf.bool, [])
        taken_t, taken_f = tf.Variable(0), tf.Variable(0)
        r = tf.cond(p, lambda: tf.assign_add(taken_t, 1), lambda: tf.assign_add(taken_f, 10))
        sess.run(tf.global_variables_initializer())
        preds = [True, False, False, True, True, False, True]
        for value in preds:
            sess.run(r, {p: value})
        assert sess.run([taken_t, taken_f]) == [preds.count(True), 10 * preds.count(False)]


def test_a_branch_assigns_to_a_variable_from_outside_through_a_ref_switch():
    with tf.Graph().as_default() as g, tf.Session() as sess:
        v = tf.Variable(0.0)
        p = tf.placeholder(tf.bool, [])
        r = tf.cond(p, lambda: v.assign(1.0), lambda: v.assign(2.0))
        sess.run(v.initializer)
        assert sess.run(r, {p: True}) == 1.0 and sess.run(v) == 1.0
        assert sess.run(r, {p: False}) == 2.0 and sess.run(v) == 2.0
    assert {op.type for op in g.get_operations()} >= {"RefSwitch"}


def test_a_python_bool_cannot_pick_a_branch_but_smart_cond_can():
    with tf.Graph().as_default() as g:
        one = tf.layers.utils.smart_cond(True, lambda: tf.constant(1), lambda: tf.constant(2))
        known = tf.layers.utils.smart_cond(tf.constant(False), lambda: tf.constant(1), lambda: tf.constant(2))
        assert "Switch" not in {op.type for op in g.get_operations()}
        p = tf.placeholder(tf.bool, [])
        chosen = tf.layers.utils.smart_cond(p, lambda: tf.constant(1), lambda: tf.constant(2))
        assert chosen.op.type == "Merge"
        with tf.Session() as sess:
            assert sess.run([one, known, chosen], {p: True}) == [1, 2, 1]


def test_dropout_and_batch_norm_with_a_training_tensor_build_a_cond():
    with tf.Graph().as_default() as g, tf.Session() as sess:
        training = tf.placeholder(tf.bool, [])
        x = tf.constant(np.arange(8, dtype=np.float32).reshape(4, 2))
        y = tf.layers.batch_normalization(tf.layers.dropout(x, rate=0.5, training=training), training=training)
        types = [op.type for op in g.get_operations()]
        assert "Select" not in types and types.count("Merge") >= 3
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(y, {training: False}), x.eval() / np.sqrt(1 + 1e-3), rtol=1e-5)


# ---------------------------------------------------------------- tf.case
def test_case_without_a_default_checks_its_last_predicate_at_run_time():
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.placeholder(tf.int32, [])
        r = tf.case([(x < 0, lambda: tf.constant(-1)), (x > 5, lambda: tf.constant(1))])
        assert sess.run(r, {x: -2}) == -1 and sess.run(r, {x: 7}) == 1
        with pytest.raises(tf.errors.InvalidArgumentError, match="None of conditions evaluated as True"):
            sess.run(r, {x: 3})


@pytest.mark.parametrize("pairs, message", [
    ("not pairs", "'pred_fn_pairs' must be a list, tuple, or dict"),
    ([(True, lambda: 1)], "pred must be a Tensor, got: True"),
    ([("x",)], "must be a 2-tuple"),
])
def test_case_refuses_malformed_pairs(pairs, message):
    with tf.Graph().as_default(), pytest.raises(TypeError, match=message):
        tf.case(pairs)


def test_case_takes_a_dict_of_pairs_in_name_order():
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.placeholder(tf.int32, [])
        r = tf.case({tf.less(x, 0, name="a"): lambda: tf.constant(-1),
                     tf.less(x, 9, name="b"): lambda: tf.constant(1)}, default=lambda: tf.constant(0),
                    exclusive=True)
        assert sess.run(r, {x: 3}) == 1 and sess.run(r, {x: 30}) == 0


# ---------------------------------------------------------------- gradients and training
@pytest.mark.parametrize("taken", [True, False])
def test_cond_gradients_match_numerical_differentiation_in_each_branch(taken):
    def build(x, w):
        p = tf.placeholder(tf.bool, [])
        out = tf.cond(p, lambda: tf.tanh(tf.matmul(x, w)) * 2.0, lambda: tf.matmul(x * x, w) + x[:, :1])
        return out, {p: taken}
    rng = np.random.default_rng(1)
    check_gradients(build, rng.standard_normal((2, 3)), rng.standard_normal((3, 2)))


def test_cond_gradients_through_nested_conds():
    def build(x):
        p, q = tf.placeholder(tf.bool, []), tf.placeholder(tf.bool, [])
        out = tf.cond(p, lambda: tf.cond(q, lambda: tf.exp(x), lambda: x * x * x), lambda: tf.sigmoid(x))
        return out, {p: True, q: False}
    check_gradients(build, np.array([0.3, -0.7, 1.1]))


def test_a_model_whose_loss_goes_through_a_cond_trains():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((64, 3)).astype(np.float32)
    ys = xs @ np.float32([1.0, -2.0, 0.5]) + 0.3
    with tf.Graph().as_default(), tf.Session() as sess:
        x, y = tf.placeholder(tf.float32, [None, 3]), tf.placeholder(tf.float32, [None])
        robust = tf.placeholder(tf.bool, [])
        w, b = tf.Variable(tf.zeros([3])), tf.Variable(0.0)
        err = tf.reduce_sum(x * w, axis=1) + b - y
        loss = tf.cond(robust, lambda: tf.reduce_mean(tf.abs(err)), lambda: tf.reduce_mean(tf.square(err)))
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        sess.run(tf.global_variables_initializer())
        for step in range(150):
            sess.run(train, {x: xs, y: ys, robust: step % 3 == 0})
        np.testing.assert_allclose(sess.run(w), [1.0, -2.0, 0.5], atol=0.05)
        assert sess.run(loss, {x: xs, y: ys, robust: False}) < 5e-3


def test_dead_tensors_cross_the_rendezvous():
    from engine.rendezvous import LocalRendezvous
    r = LocalRendezvous()
    r.send("k", DEAD)
    assert r.recv("k", timeout=1) is DEAD


def test_a_variable_made_in_a_branch_is_made_outside_it_as_tf1_does():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.bool, [])
        out = tf.cond(p, lambda: tf.Variable(3.0, name="in_branch") * 2, lambda: tf.constant(1.0))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())  # needs no value of p
            assert float(sess.run(out, {p: True})) == 6.0
            assert float(sess.run(out, {p: False})) == 1.0
