"""Variables: creation, reads and updates across runs, scopes and get_variable, initializers, the global step,
atomic concurrent updates, placement beside the variable, and the engine kernels behind them."""

import doctest
import importlib
import pathlib
import subprocess
import sys
import threading

import numpy as np
import pytest

import tasklayer as tf
from engine import graph_util, tensor_codec
from engine.errors import FailedPreconditionError
from engine.executor import Executor
from engine.resource_mgr import ResourceMgr
from protos import graph_pb2


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


def test_variable_ops_collections_and_names():
    w = tf.Variable([[1.0, 2.0]], name="w")
    b = tf.Variable(0, name="b", trainable=False)
    assert (w.name, w.op.name, w.op.type, w.dtype, w.shape.as_list()) == ("w:0", "w", "VariableV2", tf.float32,
                                                                          [1, 2])
    assert w.initializer.name == "w/Assign" and w.value().name == "w/read:0"
    assert tf.global_variables() == [w, b] and tf.trainable_variables() == [w]
    assert b.dtype == tf.int32
    mine = tf.Variable(1.0, name="mine", collections=["custom"])
    assert tf.get_collection("custom") == [mine] and mine not in tf.global_variables()


def test_reads_and_updates_persist_across_runs():
    w = tf.Variable([1.0, 2.0], name="w")
    add, sub, put = w.assign_add([10.0, 10.0]), w.assign_sub([1.0, 1.0]), w.assign([5.0, 6.0])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(add).tolist() == [11.0, 12.0]
        assert sess.run(sub).tolist() == [10.0, 11.0]
        assert sess.run(w).tolist() == [10.0, 11.0]
        assert sess.run(put).tolist() == [5.0, 6.0]
        assert w.eval(sess).tolist() == [5.0, 6.0]
        w.load([7.0, 8.0], sess)
        assert sess.run(w.read_value()).tolist() == [7.0, 8.0]


def test_variable_behaves_like_a_tensor():
    w = tf.Variable([[1.0, 2.0], [3.0, 4.0]], name="w")
    m = tf.constant([[1.0], [1.0]])
    exprs = [w + 1, 2 * w, w - w, -w, w @ m, tf.matmul(w, m), w[1], w ** 2, w / 2, np.ones((2, 2)) * w, w > 2]
    with tf.Session() as sess:
        sess.run(w.initializer)
        got = sess.run(exprs)
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    want = [x + 1, 2 * x, x - x, -x, x @ np.ones((2, 1)), x @ np.ones((2, 1)), x[1], x ** 2, x / 2, x, x > 2]
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e)


def test_uninitialized_read_names_the_variable():
    w = tf.Variable([1.0], name="weights")
    y = w * 2
    with tf.Session() as sess:
        for fetch in (w, y):
            with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value weights"):
                sess.run(fetch)
        assert not sess.run(tf.is_variable_initialized(w))
        assert sess.run(tf.report_uninitialized_variables()).tolist() == [b"weights"]
        sess.run(w.initializer)
        assert sess.run(tf.is_variable_initialized(w))
        assert sess.run(tf.report_uninitialized_variables()).tolist() == []
    with tf.Session() as other:  # each session has its own variable values
        with pytest.raises(tf.errors.FailedPreconditionError):
            other.run(w)


def test_assign_shapes():
    w = tf.Variable([1.0, 2.0], name="w")
    with pytest.raises(ValueError, match="shapes"):
        w.assign([1.0, 2.0, 3.0])
    grow = tf.assign(w, [1.0, 2.0, 3.0], validate_shape=False)
    with tf.Session() as sess:
        sess.run(w.initializer)
        assert sess.run(grow).tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="initial_value must have a shape"):
        tf.Variable(tf.placeholder(tf.float32, [None]))


def test_fetched_values_are_snapshots():
    w = tf.Variable([1.0, 2.0], name="w")
    inc = w.assign_add([1.0, 1.0])
    with tf.Session() as sess:
        sess.run(w.initializer)
        before = sess.run(w)
        sess.run(inc)
        assert before.tolist() == [1.0, 2.0]
        feed = np.array([5.0, 5.0], np.float32)
        sess.run(w.initializer, {w.initial_value: feed})
        feed[0] = 99.0  # changing the fed array afterwards must not change the variable
        assert sess.run(w).tolist() == [5.0, 5.0]


def test_get_variable_and_scopes():
    with tf.variable_scope("outer"):
        with tf.variable_scope("inner"):
            w = tf.get_variable("w", [2, 3])
            assert tf.constant(1.0).op.name.startswith("outer/inner/")
    assert w.name == "outer/inner/w:0"
    with tf.variable_scope("outer/inner", reuse=True):
        assert tf.get_variable("w") is w
        with pytest.raises(ValueError, match="does not exist"):
            tf.get_variable("missing", [1])
    with tf.variable_scope("outer"), tf.variable_scope("inner"):
        with pytest.raises(ValueError, match="already exists"):
            tf.get_variable("w", [2, 3])
    with tf.variable_scope("outer/inner", reuse=tf.AUTO_REUSE):
        assert tf.get_variable("w", [2, 3]) is w
        fresh = tf.get_variable("fresh", [1], initializer=tf.ones_initializer())
        with pytest.raises(ValueError, match="shape"):
            tf.get_variable("w", [3, 3])
    with tf.variable_scope("outer") as scope:
        scope.reuse_variables()
        with tf.variable_scope("inner"):
            assert tf.get_variable("w") is w
    with pytest.raises(ValueError, match="fully defined"):
        tf.get_variable("no_shape")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        limit = np.sqrt(6 / (2 + 3))
        values = sess.run(w)
        assert values.shape == (2, 3) and np.all(np.abs(values) <= limit)
        assert sess.run(fresh).tolist() == [1.0]


def test_get_variable_beside_a_plain_variable_of_that_name():
    # TF1: get_variable's store knows nothing of tf.Variable, so it makes its own variable and the op name is
    # uniquified (w_1); later get_variable calls find that one under the name asked for.
    plain = tf.Variable(1.0, name="w")
    made = tf.get_variable("w", [2], initializer=tf.ones_initializer())
    assert (plain.name, made.name) == ("w:0", "w_1:0")
    with tf.variable_scope(tf.get_variable_scope(), reuse=True):
        assert tf.get_variable("w") is made
    with pytest.raises(ValueError, match="Variable w already exists"):
        tf.get_variable("w", [2])
    with tf.variable_scope("s"):
        scoped_plain = tf.Variable(1.0, name="v")
        scoped = tf.get_variable("v", [1])
    assert (scoped_plain.name, scoped.name) == ("s/v:0", "s/v_1:0")
    later = tf.Variable(2.0, name="w")  # neither of the two ops named above is taken over
    assert later.name == "w_2:0"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run([plain, made, later])[1].tolist() == [1.0, 1.0]


def test_default_names_and_scope_initializer():
    with tf.variable_scope(None, default_name="layer"):
        a = tf.get_variable("v", [1])
    with tf.variable_scope(None, default_name="layer"):
        b = tf.get_variable("v", [1])
    with tf.variable_scope("init", initializer=tf.constant_initializer(3.0)):
        c = tf.get_variable("c", [2])
    d = tf.get_variable("d", initializer=tf.constant([1, 2]))
    assert (a.op.name, b.op.name, d.dtype) == ("layer/v", "layer_1/v", tf.int32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(c).tolist() == [3.0, 3.0] and sess.run(d).tolist() == [1, 2]


def test_initializers():
    inits = {"zeros": tf.zeros_initializer()([2, 2]), "ones": tf.initializers.ones()([3], tf.float64),
             "const": tf.constant_initializer([1, 2, 3, 4])([2, 2]),
             "normal": tf.random_normal_initializer(1.0, 0.5, seed=3)([2000]),
             "glorot": tf.glorot_uniform_initializer(seed=1)([30, 10]),
             "scalar": tf.zeros_initializer(tf.int64)([])}
    with tf.Session() as sess:
        got = sess.run(inits)
    assert got["zeros"].tolist() == [[0, 0], [0, 0]] and got["ones"].dtype == np.float64
    assert got["const"].tolist() == [[1, 2], [3, 4]] and got["scalar"].shape == ()
    assert abs(got["normal"].mean() - 1.0) < 0.05 and abs(got["normal"].std() - 0.5) < 0.05
    limit = np.sqrt(6 / 40)
    assert np.all(np.abs(got["glorot"]) <= limit) and got["glorot"].std() > limit / 3


def test_global_step():
    step = tf.train.get_or_create_global_step()
    assert step is tf.train.get_or_create_global_step() is tf.train.get_global_step()
    assert (step.op.name, step.dtype, step.shape.as_list(), step.trainable) == ("global_step", tf.int64, [], False)
    with pytest.raises(ValueError, match="already exists"):
        tf.train.create_global_step()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(step) == 0


def test_concurrent_updates_are_atomic():
    counter = tf.Variable(np.zeros(1000), name="counter")
    inc = counter.assign_add(np.ones(1000)).op
    with tf.Session() as sess:
        sess.run(counter.initializer)

        def work():
            for _ in range(50):
                sess.run(inc)
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sess.run(counter).tolist() == [400.0] * 1000


def test_ops_live_beside_the_variable():
    with tf.device(tf.train.replica_device_setter(ps_tasks=2)):
        w = tf.Variable([1.0], name="w")
        v = tf.Variable([1.0], name="v")
        up = w.assign_add([1.0])
        loss = tf.reduce_sum(w * v)
        tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
    assert w.device == "/job:ps/task:0" and v.device == "/job:ps/task:1"
    assert up.device == w.initializer.device == w.value().device == w.device
    slot = [x for x in tf.global_variables() if x.op.name == "v/Momentum"][0]
    assert slot.device == v.device and loss.device.startswith("/job:worker")


# ---------------------------------------------------------------------- the engine kernels directly
def _var_graph(*extra):
    nodes = [graph_util.make_node("w", "VariableV2", dtype=tf.float32, shape=tensor_codec.shape_to_proto([2]),
        container="", shared_name=""),
        graph_util.make_const("init", np.array([1.0, 2.0], np.float32)),
        graph_util.make_node("assign", "Assign", ["w", "init"], T=tf.float32, validate_shape=True),
        graph_util.make_const("lr", np.float32(0.5)), graph_util.make_const("g", np.array([1.0, 1.0], np.float32)),
        graph_util.make_node("sgd", "ApplyGradientDescent", ["w", "lr", "g"], T=tf.float32)]
    return graph_pb2.GraphDef(node=nodes + list(extra))


def test_engine_state_is_shared_through_the_resource_mgr():
    resources = ResourceMgr()
    a, b = Executor(_var_graph(), resources=resources), Executor(_var_graph(), resources=resources)
    a.run(targets=["assign"])

    def steps(ex):
        for _ in range(100):
            ex.run(targets=["sgd"])
    threads = [threading.Thread(target=steps, args=(ex,)) for ex in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert a.run(fetches=["w:0"])[0].tolist() == [1.0 - 200.0, 2.0 - 200.0]
    with pytest.raises(FailedPreconditionError, match="ResourceMgr"):
        Executor(_var_graph()).run(fetches=["w:0"])


def test_ref_op_away_from_its_variable_is_refused():
    g = graph_pb2.GraphDef(node=[graph_util.make_node("w", "Placeholder", dtype=tf.float32),
                                 graph_util.make_const("v", np.float32(1)),
                                 graph_util.make_node("a", "Assign", ["w", "v"], T=tf.float32)])
    with pytest.raises(FailedPreconditionError, match="placed with its variable"):
        Executor(g, resources=ResourceMgr()).run(feeds={"w:0": np.float32(0)}, targets=["a"])


@pytest.mark.parametrize("name", ["tasklayer.variables", "tasklayer.ref_variable", "tasklayer.variable_scope",
                                  "tasklayer.initializers",
                                  "tasklayer.gradients", "tasklayer.layers", "tasklayer.training.gradient_descent",
                                  "tasklayer.training.momentum", "tasklayer.training.adam",
                                  "tasklayer.training.saver"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def _python(code):
    root = pathlib.Path(__file__).resolve().parent.parent
    return subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)


def test_a_broken_tf_train_fails_the_package_import_with_its_cause():
    # Before: `import tasklayer` succeeded with a stand-in, and the cause showed only at tf.train.<name>.
    done = _python("import sys; sys.modules['tasklayer.train.server'] = None\nimport tasklayer")
    assert done.returncode != 0
    assert "ModuleNotFoundError" in done.stderr and "tasklayer.train.server" in done.stderr


@pytest.mark.parametrize("first", ["tasklayer.training.optimizer", "tasklayer.train.server", "tasklayer.variables",
                                   "tasklayer.gradients"])
def test_tf_train_works_whatever_is_imported_first(first):
    done = _python(f"import {first}\nimport tasklayer as tf\nimport types\n"
                   "assert type(tf.train) is types.ModuleType\n"
                   "w = tf.Variable(1.0)\nprint(type(tf.train.GradientDescentOptimizer(0.1).minimize(w * w)).__name__)")
    assert done.returncode == 0 and done.stdout.strip() == "Operation", done.stderr


def test_default_scope_names_count_as_tf1_counts_them():
    # What TF 2.21's compat.v1 (v1 behaviour) names the same scopes.
    names = []
    with tf.Graph().as_default():
        x = tf.zeros([1, 4])
        for reuse in (False, True):
            with tf.variable_scope("ConvNet", reuse=reuse):  # re-entered: its layers are named afresh
                names += [tf.layers.dense(x, 2).name, tf.layers.dense(x, 2).name]
        with tf.variable_scope("Net"):
            pass
        for _ in range(2):  # a default name skips names already opened
            with tf.variable_scope(None, default_name="Net") as scope:
                names.append(scope.name)
        with tf.variable_scope("outer") as outer:
            with tf.variable_scope(None, default_name="a") as scope:
                names.append(scope.name)
        with tf.variable_scope(outer):  # entered as an object: the counts come back as they were
            with tf.variable_scope(None, default_name="a") as scope:
                names.append(scope.name)
    assert names == ["ConvNet/dense/BiasAdd:0", "ConvNet/dense_1/BiasAdd:0", "ConvNet_1/dense/BiasAdd:0",
                     "ConvNet_1/dense_1/BiasAdd:0", "Net_1", "Net_2", "outer/a", "outer/a"]
