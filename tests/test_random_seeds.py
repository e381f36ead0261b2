"""TF1's seed rules for random ops (graph-level and op-level seeds), and the random ops' errors and gradients."""

import numpy as np
import pytest

import tasklayer as tf
from tasklayer.ops.random_ops import DEFAULT_GRAPH_SEED, get_seed


def _values(build, graph_seed=None, runs=2):
    """``runs`` values of ``build()`` in a fresh graph and session."""
    with tf.Graph().as_default():
        if graph_seed is not None:
            tf.set_random_seed(graph_seed)
        t = build()
        with tf.Session() as sess:
            return [sess.run(t) for _ in range(runs)]


def test_get_seed_follows_tf1():
    with tf.Graph().as_default() as g:
        assert get_seed(None) == (0, 0) and get_seed(5) == (DEFAULT_GRAPH_SEED, 5)
        tf.set_random_seed(2**31 + 5)  # seeds are taken modulo 2**31 - 1
        tf.constant(1.0)
        assert get_seed(None) == (6, g._last_id) == (6, 1) and get_seed(2**31 - 1) == (6, 0)
        tf.set_random_seed(0)
        assert get_seed(0) == (0, 2**31 - 1)  # (0, 0) would mean "nondeterministic"


def test_a_graph_seed_repeats_the_program_in_a_new_graph_and_session():
    def build():
        return [tf.random_normal([4]), tf.random_uniform([4]), tf.truncated_normal([4])]
    first, second = _values(build, graph_seed=7), _values(build, graph_seed=7)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0][0], first[1][0]), "each run of one session draws new values"
    assert not np.array_equal(first[0][0], first[0][1]), "two unseeded ops under one graph seed differ"


def test_the_graph_seed_and_the_op_count_pick_the_sequence():
    plain = _values(lambda: tf.random_uniform([4]), graph_seed=7, runs=1)[0]
    shifted = _values(lambda: (tf.constant(0.0), tf.random_uniform([4]))[1], graph_seed=7, runs=1)[0]
    other_seed = _values(lambda: tf.random_uniform([4]), graph_seed=8, runs=1)[0]
    assert not np.array_equal(plain, shifted) and not np.array_equal(plain, other_seed)


def test_an_op_seed_alone_repeats_wherever_the_op_sits():
    plain = _values(lambda: tf.random_uniform([4], seed=3), runs=1)[0]
    shifted = _values(lambda: (tf.constant(0.0), tf.random_uniform([4], seed=3))[1], runs=1)[0]
    np.testing.assert_array_equal(plain, shifted)


def test_no_seed_at_all_differs_between_sessions():
    a, b = _values(lambda: tf.random_normal([8]), runs=1), _values(lambda: tf.random_normal([8]), runs=1)
    assert not np.array_equal(a[0], b[0])


def test_a_new_session_on_the_same_graph_repeats_the_sequence():
    with tf.Graph().as_default():
        tf.set_random_seed(1)
        ops = [tf.random_shuffle(np.arange(20)), tf.multinomial([[0.0, 0.0, 0.0]], 20),
               tf.random_uniform([5], 0, 100, dtype=tf.int32)]
        with tf.Session() as sess:
            first = [sess.run(ops) for _ in range(2)]
        with tf.Session() as sess:
            again = [sess.run(ops) for _ in range(2)]
    for a, b in zip(first, again):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_random_op_errors_name_the_problem():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Must specify maxval for integer dtype tf.int32"):
            tf.random_uniform([2], dtype=tf.int32)
        with pytest.raises(ValueError, match="Invalid dtype tf.int8"):
            tf.random_uniform([2], maxval=3, dtype=tf.int8)
        with pytest.raises(TypeError, match="'TruncatedNormal' has DataType int64"):
            tf.truncated_normal([2], dtype=tf.int64)
        with pytest.raises(ValueError, match="logits should be a matrix, got shape \\[3\\]"):
            tf.multinomial([1.0, 2.0, 3.0], 2)
        with pytest.raises(ValueError, match="num_samples should be nonnegative, got -1"):
            tf.multinomial([[1.0, 2.0]], -1)
        with pytest.raises(TypeError, match="'output_dtype' of 'Multinomial' has DataType float32"):
            tf.multinomial([[1.0, 2.0]], 2, output_dtype=tf.float32)
        with pytest.raises(ValueError, match="Shape must be rank 1 but is rank 2"):
            tf.random_normal(tf.constant([[2]]))
        lo = tf.placeholder(tf.int32, [])
        draw = tf.random_uniform([3], lo, 5, dtype=tf.int32)
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="Need minval < maxval: 5 >= 5"):
                sess.run(draw, {lo: 5})


def test_shapes_known_statically_and_at_run_time():
    with tf.Graph().as_default(), tf.Session() as sess:
        n = tf.placeholder(tf.int32, [])
        t = tf.truncated_normal(tf.stack([n, 3]))
        m = tf.multinomial(tf.zeros([n, 4]), 5)
        assert t.shape.as_list() == [None, 3] and m.shape.as_list() == [None, 5]
        a, b = sess.run([t, m], {n: 2})
        assert a.shape == (2, 3) and b.shape == (2, 5)
        assert tf.random_shuffle(tf.zeros([4, 2])).shape.as_list() == [4, 2]


def test_gradients_pass_through_mean_and_stddev_but_not_the_draw():
    with tf.Graph().as_default(), tf.Session() as sess:
        mean, x = tf.constant(2.0), tf.constant([1.0, 2.0, 3.0])
        sample = tf.random_normal([3], mean=mean, seed=1)
        g_mean, = tf.gradients(tf.reduce_sum(sample), [mean])
        assert sess.run(g_mean) == 3.0
        with pytest.raises(LookupError, match="'RandomShuffle'.* not differentiable"):
            tf.gradients(tf.reduce_sum(tf.random_shuffle(x, seed=1)), [x])
