"""Session: fetch structures, feeds, run-time errors, closing, the graph passes by node counts, TF1 programs."""

import collections
import threading

import numpy as np
import pytest

import tasklayer as tf
from engine.executor import Executor
from tasklayer import session as session_lib
from tasklayer.distributed.remote_session import RemoteBackend


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


def test_seed_zcalc_program_runs_unchanged():
    x = tf.constant(5)
    y1 = x - 8
    y2 = x + 1
    z = y1 * y2
    with tf.Session() as sess:
        result = sess.run(z)
    assert result == -18 and isinstance(result, np.int32)


def test_seed_placeholder_mean_program_runs_unchanged():
    x = tf.placeholder(tf.float32, 100)
    with tf.device("/job:local/task:1"):
        first_batch = tf.slice(x, [0], [50])
        mean1 = tf.reduce_mean(first_batch)
    with tf.device("/job:local/task:0"):
        second_batch = tf.slice(x, [50], [-1])
        mean2 = tf.reduce_mean(second_batch)
        mean = (mean1 + mean2) / 2
    data = np.random.random(100)
    with tf.Session() as sess:
        result = sess.run(mean, feed_dict={x: data})
    assert mean1.device == "/job:local/task:1" and mean.device == "/job:local/task:0"
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, data.mean(), rtol=1e-5)


Pair = collections.namedtuple("Pair", "left right")


def test_fetch_structures_come_back_in_shape():
    a = tf.constant(1.0, name="a")
    b = tf.add(a, 1.0, name="b")
    op = tf.no_op(name="noop")
    with tf.Session() as sess:
        assert sess.run(b) == 2.0
        assert sess.run(op) is None
        assert sess.run("b:0") == 2.0 and sess.run("noop") is None
        assert sess.run([a, b]) == [1.0, 2.0]
        assert sess.run((a, [b, (op,)])) == (1.0, [2.0, (None,)])
        assert sess.run(Pair(a, {"k": b})) == Pair(1.0, {"k": 2.0})
        ordered = sess.run(collections.OrderedDict([("z", b), ("y", a)]))
        assert isinstance(ordered, collections.OrderedDict) and list(ordered.items()) == [("z", 2.0), ("y", 1.0)]
        dd = sess.run(collections.defaultdict(list, {"x": [a, a]}))
        assert isinstance(dd, collections.defaultdict) and dd["x"] == [1.0, 1.0]
        assert sess.run([]) == [] and sess.run({}) == {}
        assert sess.run([b, "b:0", b]) == [2.0, 2.0, 2.0]


def test_fetch_errors():
    a = tf.constant(1.0)
    with tf.Graph().as_default():
        other = tf.constant(2.0)
    with tf.Session() as sess:
        with pytest.raises(ValueError, match="is not an element of this graph"):
            sess.run(other)
        with pytest.raises(ValueError, match="cannot be interpreted as a Tensor.*does not exist"):
            sess.run("nothere:0")
        with pytest.raises(TypeError, match="Fetch argument None has invalid type"):
            sess.run([a, None])
        with pytest.raises(TypeError, match="invalid type"):
            sess.run(3)


def test_any_tensor_may_be_fed():
    x = tf.placeholder(tf.float32, [3], name="x")
    h = x * 2
    y = h + 1
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: [1, 2, 3]}), [3, 5, 7])
        np.testing.assert_allclose(sess.run(y, {h: [0, 0, 1]}), [1, 1, 2])  # x need not be fed now
        np.testing.assert_allclose(sess.run(y, {"mul:0": np.ones(3)}), [2, 2, 2])
        assert sess.backend.last_stats.nodes_executed <= 2  # only the add (and maybe its constant)
        got_h, got_y = sess.run([h, y], {h: [1, 1, 1]})
        np.testing.assert_allclose(got_h, [1, 1, 1])
        c = tf.constant(10.0)
        assert sess.run(c * 2, {c: 1.5}) == 3.0


def test_feed_validation_errors():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    i = tf.placeholder(tf.int32, [2], name="i")
    y = tf.reduce_sum(x)
    with tf.Session() as sess:
        assert sess.run(y, {x: np.ones((2, 3), np.float64)}) == 6.0  # float64 -> float32 is safe
        assert sess.run(i, {i: np.array([1, 2], np.int64)}).dtype == np.int32
        with pytest.raises(ValueError, match=r"Cannot feed value of shape \[2,4\] for Tensor 'x:0', which has "
                                             r"shape \[\?,3\]"):
            sess.run(y, {x: np.ones((2, 4))})
        with pytest.raises(TypeError, match="Cannot feed value of dtype float64 for Tensor 'i:0', which has dtype "
                                            "int32"):
            sess.run(i, {i: [1.5, 2.5]})
        with pytest.raises(TypeError, match="Cannot feed value of dtype int64 for Tensor 'i:0'"):
            sess.run(i, {i: [2**40, 1]})
        with pytest.raises(TypeError, match="Cannot interpret feed_dict key as Tensor.*refers to an Operation"):
            sess.run(y, {"x": np.ones((1, 3))})
        with pytest.raises(TypeError, match="cannot be a tf.Tensor"):
            sess.run(y, {x: tf.zeros([1, 3])})


def test_missing_placeholder_feed_names_it():
    x = tf.placeholder(tf.float32, [100], name="x")
    unrelated = tf.placeholder(tf.int32, name="unrelated")
    m = tf.reduce_mean(x)
    ok = tf.constant(3) + 1
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(m)
        assert str(info.value) == "You must feed a value for placeholder tensor 'x' with dtype float and shape [100]"
        assert info.value.node_name == "x"
        with pytest.raises(tf.errors.InvalidArgumentError, match="tensor 'unrelated' with dtype int32$"):
            sess.run(unrelated + 1)
        assert sess.run(ok) == 4  # placeholders not needed need no feed


def test_kernel_errors_at_run_time_name_the_node():
    x = tf.placeholder(tf.float32, [None], name="x")
    r = tf.reshape(x, [3, 3], name="square_me")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.OpError) as info:
            sess.run(r, {x: np.ones(5)})
    assert "square_me" in str(info.value) and info.value.node_name == "square_me"


def test_closed_session_and_bad_target():
    c = tf.constant(1)
    sess = tf.Session()
    assert sess.run(c) == 1
    sess.close()
    sess.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(c)
    with tf.Session() as s2:
        pass
    with pytest.raises(RuntimeError, match="closed Session"):
        s2.run(c)
    with pytest.raises(ValueError, match="unsupported session target 'local:7'"):
        tf.Session("local:7")


def test_session_with_explicit_graph_and_default_session():
    g = tf.Graph()
    with g.as_default():
        v = tf.constant(7)
    sess = tf.Session(graph=g)
    assert sess.graph is g and sess.run(v) == 7
    with sess.as_default():
        assert v.eval() == 7 and tf.get_default_session() is sess
    assert tf.get_default_session() is None
    sess.close()
    inter = tf.InteractiveSession()
    assert (tf.constant(2) * 4).eval() == 8
    inter.close()
    assert tf.get_default_session() is None


def _unoptimized_count(graph, fetch, feeds):
    ex = Executor(graph.as_graph_def())
    ex.run(feeds=feeds, fetches=[fetch])
    return ex.last_stats.nodes_executed


def test_pruning_runs_only_what_the_fetch_needs(fresh_graph):
    x = tf.placeholder(tf.float32, [4])
    wanted = tf.reduce_sum(x * x)
    for _ in range(20):  # an unrelated branch that must not run
        _ = tf.exp(tf.random_normal([1000, 100]))
    with tf.Session() as sess:
        sess.run(wanted, {x: np.ones(4)})
        executed = sess.backend.last_stats.nodes_executed
    assert executed <= 4  # (x fed) mul, axes, sum and at most one more
    assert len(fresh_graph.get_operations()) > 60


def test_cse_merges_identical_subexpressions(fresh_graph):
    x = tf.placeholder(tf.float32, [4], name="x")
    branches = [tf.square(x) * 3.0 for _ in range(5)]
    out = tf.add_n(branches)
    feeds = {"x:0": np.arange(4, dtype=np.float32)}
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(out, {x: feeds["x:0"]}), 15 * feeds["x:0"] ** 2)
        executed = sess.backend.last_stats.nodes_executed
    baseline = _unoptimized_count(fresh_graph, out.name, feeds)
    assert baseline >= 15 and executed <= 4, (baseline, executed)


def test_constant_folding_leaves_random_ops_alone(fresh_graph):
    x = tf.placeholder(tf.float32, [], name="x")
    c = (tf.constant(2.0) * tf.constant(3.0) + tf.square(tf.constant(4.0))) / tf.constant(2.0)
    out = x + c
    noise = tf.random_uniform([3]) * tf.constant(1.0)
    with tf.Session() as sess:
        assert sess.run(out, {x: 1.0}) == 12.0
        executed = sess.backend.last_stats.nodes_executed
        first, second = sess.run(noise), sess.run(noise)
    assert _unoptimized_count(fresh_graph, out.name, {"x:0": np.float32(1)}) >= 8
    assert executed <= 2, executed
    assert not np.array_equal(first, second)  # the random op was not folded into a constant


def test_executors_are_cached_per_version_and_signature(fresh_graph):
    x = tf.placeholder(tf.float32, [], name="x")
    y = x + 1
    with tf.Session() as sess:
        backend = sess.backend
        sess.run(y, {x: 1.0})
        first = backend.executor_for(fresh_graph, ["add:0"], ["x:0"], [])
        sess.run(y, {x: 2.0})
        assert backend.executor_for(fresh_graph, ["add:0"], ["x:0"], []) is first
        z = y * 2  # the graph grows: a new version, a new executor
        assert sess.run(z, {x: 1.0}) == 4.0
        assert backend.executor_for(fresh_graph, ["add:0"], ["x:0"], []) is not first


def test_concurrent_runs_of_one_session():
    x = tf.placeholder(tf.float32, [None])
    y = tf.reduce_sum(x * 2)
    errors = []
    with tf.Session() as sess:
        def worker(k):
            try:
                for i in range(20):
                    data = np.full(k + 1, float(i), np.float32)
                    assert sess.run(y, {x: data}) == 2 * i * (k + 1)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors


class _EchoBackend(session_lib.SessionBackend):
    """Answers every fetch with the length of its target."""

    def __init__(self, target):
        self.target = target

    def run(self, graph, fetch_names, feeds, target_names, options=None):
        return [np.float32(len(self.target))] * len(fetch_names)


def test_a_target_is_served_by_the_backend_registered_for_its_prefix(monkeypatch):
    monkeypatch.setattr(session_lib, "_TARGETS", dict(session_lib._TARGETS))
    session_lib.register_session_target("echo://", lambda target, config: _EchoBackend(target))
    with tf.Graph().as_default():
        c = tf.constant(1.0)
        with tf.Session("echo://abc") as sess:
            assert isinstance(sess.backend, _EchoBackend) and sess.run(c) == 10.0
        with tf.Session(b"echo://ab") as sess:
            assert sess.run(c) == 9.0
    # The distributed runtime registers grpc:// itself (tasklayer imports it); tasklayer.session knows no backend.
    assert session_lib._TARGETS["grpc://"] is RemoteBackend
    with pytest.raises(ValueError, match="unsupported session target 'tcp://h:1'"):
        tf.Session("tcp://h:1")
