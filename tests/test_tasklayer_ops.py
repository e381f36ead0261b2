"""Every task-layer op run through a Session and compared with numpy, on random inputs and edge shapes."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tasklayer as tf
from tasklayer_helpers import evaluate, rand

SHAPE_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (5,)), ((0, 3), (3,)), ((1,), (0,))]

BINARY = [
    (tf.add, np.add), (tf.subtract, np.subtract), (tf.multiply, np.multiply), (tf.maximum, np.maximum),
    (tf.minimum, np.minimum), (tf.squared_difference, lambda a, b: (a - b) ** 2),
]


@pytest.mark.parametrize("shapes", SHAPE_PAIRS)
@pytest.mark.parametrize("fn,ref", BINARY)
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_binary_broadcasting(fn, ref, shapes, dtype):
    a, b = rand(shapes[0], dtype), rand(shapes[1], dtype, rng=np.random.default_rng(1))
    np.testing.assert_allclose(evaluate(fn, a, b), ref(a, b), rtol=1e-6)


@pytest.mark.parametrize("fn,ref,positive", [
    (tf.realdiv, np.divide, True), (tf.floordiv, np.floor_divide, True), (tf.floormod, np.mod, True),
    (tf.pow, np.power, True), (tf.div, np.divide, True)])
def test_division_and_power_floats(fn, ref, positive):
    a, b = rand((3, 4), low=0.5, high=3), rand((4,), low=0.5, high=3, rng=np.random.default_rng(2))
    np.testing.assert_allclose(evaluate(fn, a, b), ref(a, b), rtol=1e-5)


def test_integer_division_rules():
    a = np.array([-7, 7, -8, 9], np.int32)
    b = np.array([2, -2, 3, 4], np.int32)
    np.testing.assert_array_equal(evaluate(tf.floordiv, a, b), a // b)
    np.testing.assert_array_equal(evaluate(tf.floormod, a, b), a % b)
    np.testing.assert_array_equal(evaluate(tf.div, a, b), a // b)
    out = evaluate(lambda x, y: x / y, a, b)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, a / b)


UNARY = [
    (tf.negative, np.negative, None), (tf.square, np.square, None), (tf.abs, np.abs, None),
    (tf.sign, np.sign, None), (tf.exp, np.exp, None), (tf.sqrt, np.sqrt, "pos"), (tf.log, np.log, "pos"),
    (tf.rsqrt, lambda x: 1 / np.sqrt(x), "pos"), (tf.reciprocal, np.reciprocal, "pos"),
    (tf.nn.relu, lambda x: np.maximum(x, 0), None), (tf.sigmoid, lambda x: 1 / (1 + np.exp(-x)), None),
    (tf.tanh, np.tanh, None), (tf.identity, lambda x: x, None), (tf.stop_gradient, lambda x: x, None),
]


@pytest.mark.parametrize("shape", [(3, 4), (), (0,), (2, 0, 3)])
@pytest.mark.parametrize("fn,ref,domain", UNARY)
def test_unary(fn, ref, domain, shape):
    x = rand(shape, low=0.1 if domain else -3)
    np.testing.assert_allclose(evaluate(fn, x), ref(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn,ref", [
    (tf.equal, np.equal), (tf.not_equal, np.not_equal), (tf.less, np.less), (tf.less_equal, np.less_equal),
    (tf.greater, np.greater), (tf.greater_equal, np.greater_equal)])
def test_comparisons(fn, ref):
    a, b = rand((3, 4), np.int32), rand((4,), np.int32, rng=np.random.default_rng(5))
    out = evaluate(fn, a, b)
    assert out.dtype == np.bool_
    np.testing.assert_array_equal(out, ref(a, b))


def test_logical_ops():
    a, b = rand((2, 3), np.bool_), rand((3,), np.bool_, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(evaluate(tf.logical_and, a, b), a & b)
    np.testing.assert_array_equal(evaluate(tf.logical_or, a, b), a | b)
    np.testing.assert_array_equal(evaluate(tf.logical_not, a), ~a)
    np.testing.assert_array_equal(evaluate(lambda x, y: (x & y) | ~x, a, b), (a & b) | ~a)


def test_operators_with_python_and_numpy_on_either_side():
    x = rand((2, 3))
    arr = rand((3,), rng=np.random.default_rng(9))
    cases = [
        (lambda t: t + 2, x + 2), (lambda t: 2 + t, 2 + x), (lambda t: t - 1.5, x - 1.5), (lambda t: 1.5 - t, 1.5 - x),
        (lambda t: t * arr, x * arr), (lambda t: arr * t, arr * x), (lambda t: arr - t, arr - x),
        (lambda t: t / 4, x / 4), (lambda t: 4 / t, 4 / x), (lambda t: t // 2, x // 2), (lambda t: t % 2, x % 2),
        (lambda t: abs(t) ** 2, np.abs(x) ** 2), (lambda t: 2 ** t, 2 ** x), (lambda t: -t, -x), (lambda t: abs(t), np.abs(x)),
        (lambda t: np.float32(3) * t, 3 * x),
    ]
    for build, expected in cases:
        out = evaluate(build, x)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, expected, rtol=1e-5)
    for build, expected in [(lambda t: t < 0, x < 0), (lambda t: t <= arr, x <= arr), (lambda t: t > 1, x > 1),
                            (lambda t: 0.5 >= t, 0.5 >= x)]:
        np.testing.assert_array_equal(evaluate(build, x), expected)


def test_matmul_with_transposes():
    a, b = rand((2, 3)), rand((3, 4), rng=np.random.default_rng(4))
    np.testing.assert_allclose(evaluate(tf.matmul, a, b), a @ b, rtol=1e-5)
    np.testing.assert_allclose(evaluate(lambda x, y: tf.matmul(x, y, transpose_a=True), a.T.copy(), b), a @ b, rtol=1e-5)
    np.testing.assert_allclose(evaluate(lambda x, y: tf.matmul(x, y, transpose_b=True), a, b.T.copy()), a @ b, rtol=1e-5)
    np.testing.assert_allclose(evaluate(lambda x, y: x @ y, a, b, unknown=True), a @ b, rtol=1e-5)
    np.testing.assert_allclose(evaluate(tf.matmul, np.zeros((0, 3), np.float32), b), np.zeros((0, 4)))


def test_add_n():
    xs = [rand((2, 3), rng=np.random.default_rng(i)) for i in range(3)]
    np.testing.assert_allclose(evaluate(lambda *t: tf.add_n(list(t)), *xs), sum(xs), rtol=1e-6)
    np.testing.assert_allclose(evaluate(lambda t: tf.add_n([t]), xs[0]), xs[0])


REDUCTIONS = [(tf.reduce_sum, np.sum), (tf.reduce_mean, np.mean), (tf.reduce_max, np.max),
              (tf.reduce_min, np.min), (tf.reduce_prod, np.prod)]


@pytest.mark.parametrize("fn,ref", REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 0, 1, -1, [0, 2], ()])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(fn, ref, axis, keepdims):
    x = rand((2, 3, 4), low=0.5, high=1.5)
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    expected = ref(x, axis=np_axis, keepdims=keepdims)
    np.testing.assert_allclose(evaluate(lambda t: fn(t, axis=axis, keepdims=keepdims), x), expected, rtol=1e-5)
    np.testing.assert_allclose(evaluate(lambda t: fn(t, axis=axis, keepdims=keepdims), x, unknown=True),
                               expected, rtol=1e-5)


def test_reduction_aliases_and_bool_reductions():
    x = rand((2, 3))
    np.testing.assert_allclose(evaluate(lambda t: tf.reduce_sum(t, reduction_indices=[1], keep_dims=True), x),
                               x.sum(axis=1, keepdims=True), rtol=1e-5)
    b = rand((3, 4), np.bool_)
    np.testing.assert_array_equal(evaluate(lambda t: tf.reduce_all(t, axis=1), b), b.all(axis=1))
    np.testing.assert_array_equal(evaluate(lambda t: tf.reduce_any(t, axis=0), b), b.any(axis=0))
    assert evaluate(tf.reduce_sum, np.zeros((0, 3), np.float32)) == 0
    with pytest.raises(ValueError, match="both"):
        tf.reduce_sum(tf.constant([1.0]), axis=0, reduction_indices=0)


def test_argmax_argmin():
    x = rand((3, 5))
    np.testing.assert_array_equal(evaluate(lambda t: tf.argmax(t, axis=1), x), x.argmax(axis=1))
    np.testing.assert_array_equal(evaluate(lambda t: tf.argmin(t, 0), x), x.argmin(axis=0))
    out = evaluate(lambda t: tf.argmax(t, axis=1, output_type=tf.int32), x)
    assert out.dtype == np.int32


def test_shape_size_rank_and_creation():
    x = rand((2, 3))
    np.testing.assert_array_equal(evaluate(tf.shape, x, unknown=True), [2, 3])
    assert evaluate(tf.size, x, unknown=True) == 6
    assert evaluate(tf.rank, x) == 2
    np.testing.assert_array_equal(evaluate(lambda t: tf.zeros(tf.shape(t), tf.int32), x, unknown=True),
                                  np.zeros((2, 3), np.int32))
    np.testing.assert_array_equal(evaluate(lambda t: tf.ones([2, 2]) + tf.zeros_like(t[:2, :2]), x), np.ones((2, 2)))
    np.testing.assert_array_equal(evaluate(lambda t: tf.fill([3], 7.5), x), np.full(3, 7.5, np.float32))
    np.testing.assert_array_equal(evaluate(tf.ones_like, x), np.ones_like(x))
    np.testing.assert_array_equal(evaluate(lambda t: tf.zeros_like(t, dtype=tf.int64), x), np.zeros((2, 3), np.int64))
    np.testing.assert_array_equal(evaluate(lambda t: tf.zeros([0, 2]), x), np.zeros((0, 2)))


def test_range():
    np.testing.assert_array_equal(evaluate(lambda: tf.range(5)), np.arange(5))
    np.testing.assert_allclose(evaluate(lambda: tf.range(1, 2, 0.25)), np.arange(1, 2, 0.25))
    np.testing.assert_array_equal(evaluate(lambda: tf.range(10, 0, -3)), np.arange(10, 0, -3))
    n = np.array(4, np.int32)
    np.testing.assert_array_equal(evaluate(lambda t: tf.range(t), n), np.arange(4))


@pytest.mark.parametrize("key", [
    np.s_[1], np.s_[-1], np.s_[1:3], np.s_[::-1], np.s_[:, 2], np.s_[..., 1], np.s_[None, :, 1:],
    np.s_[1, ..., None], np.s_[-2:, ::2, -1], np.s_[5:], np.s_[:-1, -3:-1], np.s_[..., ::-2, :],
])
def test_getitem_matches_numpy(key):
    x = rand((4, 5, 3))
    np.testing.assert_array_equal(evaluate(lambda t: t[key], x), x[key])
    np.testing.assert_array_equal(evaluate(lambda t: t[key], x, unknown=True), x[key])


def test_getitem_with_tensor_index_and_errors():
    x = rand((4, 3))
    i = np.array(2, np.int32)
    np.testing.assert_array_equal(evaluate(lambda t, j: t[j], x, i), x[2])
    with tf.Graph().as_default():
        t = tf.zeros([4, 3])
        with pytest.raises(ValueError, match="out of bounds"):
            _ = t[4]
        with pytest.raises(TypeError, match="valid indices"):
            _ = t[1.5]


def test_slice_and_strided_slice():
    x = rand((5, 4))
    np.testing.assert_array_equal(evaluate(lambda t: tf.slice(t, [1, 0], [2, -1]), x), x[1:3, :])
    np.testing.assert_array_equal(evaluate(lambda t: tf.slice(t, [1, 0], [2, -1]), x, unknown=True), x[1:3, :])
    np.testing.assert_array_equal(
        evaluate(lambda t: tf.strided_slice(t, [0, 3], [5, 0], [2, -1], shrink_axis_mask=0), x), x[0:5:2, 3:0:-1])


def test_reshape_transpose_expand_squeeze_tile_broadcast():
    x = rand((2, 3, 4))
    np.testing.assert_array_equal(evaluate(lambda t: tf.reshape(t, [-1, 4]), x), x.reshape(-1, 4))
    np.testing.assert_array_equal(evaluate(lambda t: tf.reshape(t, [4, -1]), x, unknown=True), x.reshape(4, -1))
    np.testing.assert_array_equal(evaluate(lambda t: tf.reshape(t, [tf.shape(t)[0], -1]), x, unknown=True),
                                  x.reshape(2, -1))
    np.testing.assert_array_equal(evaluate(tf.transpose, x), x.T)
    np.testing.assert_array_equal(evaluate(tf.transpose, x, unknown=True), x.T)
    np.testing.assert_array_equal(evaluate(lambda t: tf.transpose(t, [1, 0, 2]), x), x.transpose(1, 0, 2))
    np.testing.assert_array_equal(evaluate(lambda t: tf.expand_dims(t, 1), x), x[:, None])
    np.testing.assert_array_equal(evaluate(lambda t: tf.expand_dims(t, -1), x), x[..., None])
    y = rand((1, 3, 1))
    np.testing.assert_array_equal(evaluate(tf.squeeze, y), y.squeeze())
    np.testing.assert_array_equal(evaluate(lambda t: tf.squeeze(t, [2]), y), y.squeeze(2))
    np.testing.assert_array_equal(evaluate(lambda t: tf.squeeze(t), y, unknown=True), y.squeeze())
    np.testing.assert_array_equal(evaluate(lambda t: tf.tile(t, [2, 1, 3]), x), np.tile(x, (2, 1, 3)))
    np.testing.assert_array_equal(evaluate(lambda t: tf.broadcast_to(t, [2, 2, 3, 1]), y),
                                  np.broadcast_to(y, (2, 2, 3, 1)))


def test_concat_split_stack_unstack():
    a, b = rand((2, 3)), rand((4, 3), rng=np.random.default_rng(1))
    np.testing.assert_array_equal(evaluate(lambda s, t: tf.concat([s, t], 0), a, b), np.concatenate([a, b]))
    np.testing.assert_array_equal(evaluate(lambda s, t: tf.concat([s, t], axis=-2), a, b, unknown=True),
                                  np.concatenate([a, b]))
    x = rand((6, 4))
    for got, want in zip(evaluate(lambda t: tf.split(t, 3), x), np.split(x, 3)):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(evaluate(lambda t: tf.split(t, [1, -1, 2], axis=1), x), np.split(x, [1, 2], axis=1)):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(evaluate(lambda s: tf.stack([s, s * 2], axis=1), a), np.stack([a, a * 2], 1))
    for got, want in zip(evaluate(lambda t: tf.unstack(t, axis=1), a), [a[:, i] for i in range(3)]):
        np.testing.assert_array_equal(got, want)


def test_gather_cast_where_one_hot():
    p = rand((5, 3))
    idx = np.array([[4, 0], [1, 1]], np.int32)
    np.testing.assert_array_equal(evaluate(tf.gather, p, idx), p[idx])
    np.testing.assert_array_equal(evaluate(lambda s, i: tf.gather(s, i, axis=1), p, np.array([2, 0], np.int64)),
                                  p[:, [2, 0]])
    np.testing.assert_array_equal(evaluate(lambda s: tf.cast(s, tf.int32), p), p.astype(np.int32))
    cond = p > 0
    np.testing.assert_array_equal(evaluate(lambda c, s: tf.where(c, s, -s), cond, p), np.where(cond, p, -p))
    np.testing.assert_array_equal(evaluate(lambda c, s: tf.where(c, s, 0.0), cond, p), np.where(cond, p, 0))
    np.testing.assert_array_equal(evaluate(tf.where, cond), np.argwhere(cond))
    labels = np.array([0, 2, 5, 1], np.int32)
    np.testing.assert_array_equal(evaluate(lambda l: tf.one_hot(l, 4), labels), np.eye(4, dtype=np.float32)[[0, 2, 1]]
                                  .tolist()[:2] + [[0, 0, 0, 0], [0, 1, 0, 0]])
    np.testing.assert_array_equal(evaluate(lambda l: tf.one_hot(l, 3, on_value=5, off_value=-1, axis=0), labels[:2]),
                                  np.array([[5, -1], [-1, -1], [-1, 5]]))


def test_softmax_family():
    x = rand((4, 5), low=-20, high=20)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    sm = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(evaluate(tf.nn.softmax, x), sm, rtol=1e-5)
    np.testing.assert_allclose(evaluate(tf.nn.log_softmax, x), np.log(sm), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(evaluate(lambda t: tf.nn.softmax(t, axis=0), x), (np.exp(x) / np.exp(x).sum(0)),
                               rtol=1e-4)
    labels = np.eye(5, dtype=np.float32)[[0, 3, 4, 1]]
    want = -(labels * np.log(sm)).sum(axis=1)
    for fn in (tf.nn.softmax_cross_entropy_with_logits, tf.nn.softmax_cross_entropy_with_logits_v2):
        np.testing.assert_allclose(evaluate(lambda l, t: fn(labels=l, logits=t), labels, x), want, rtol=1e-4)
    x3 = x.reshape(2, 2, 5)
    np.testing.assert_allclose(evaluate(lambda l, t: tf.nn.softmax_cross_entropy_with_logits_v2(labels=l, logits=t),
                                        labels.reshape(2, 2, 5), x3), want.reshape(2, 2), rtol=1e-4)
    with pytest.raises(ValueError, match="named arguments"):
        tf.nn.softmax_cross_entropy_with_logits(tf.constant(labels), tf.constant(x))


def test_random_ops_statistics_and_seeds():
    def draw(seed_graph, seed_op, runs=2):
        with tf.Graph().as_default():
            if seed_graph is not None:
                tf.set_random_seed(seed_graph)
            n = tf.random_normal([2000], mean=3.0, stddev=2.0, seed=seed_op)
            u = tf.random_uniform([2000], minval=-1.0, maxval=1.0, seed=seed_op)
            with tf.Session() as sess:
                return [sess.run([n, u]) for _ in range(runs)]
    (n1, u1), (n2, u2) = draw(5, 1)
    assert abs(n1.mean() - 3) < 0.2 and abs(n1.std() - 2) < 0.2
    assert u1.min() >= -1 and u1.max() < 1 and abs(u1.mean()) < 0.1
    assert not np.array_equal(n1, n2)  # a new draw every run
    (m1, v1), (m2, _) = draw(5, 1)  # a fresh session repeats the sequence
    np.testing.assert_array_equal(n1, m1)
    np.testing.assert_array_equal(n2, m2)
    np.testing.assert_array_equal(u1, v1)
    (o1, _), _ = draw(5, 2)
    assert not np.array_equal(n1, o1)
    with tf.Graph().as_default():
        ints = tf.random_uniform([500], 3, 7, dtype=tf.int64, seed=1)
        assert ints.dtype == tf.int64 and ints.shape.as_list() == [500]
        with tf.Session() as sess:
            v = sess.run(ints)
    assert v.min() == 3 and v.max() == 6


def test_no_op_and_group_run_their_dependencies():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [])
        g = tf.group(tf.identity(x), [tf.no_op()])
        with tf.Session() as sess:
            assert sess.run(g, {x: 1.0}) is None
            with pytest.raises(tf.errors.InvalidArgumentError, match="placeholder tensor 'Placeholder'"):
                sess.run(g)


# ---------------------------------------------------------------- property tests
@settings(max_examples=15, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3), st.booleans())
def test_property_broadcasting_matches_numpy(shapes, unknown):
    a = rand(shapes.input_shapes[0], rng=np.random.default_rng(1))
    b = rand(shapes.input_shapes[1], rng=np.random.default_rng(2))
    out = evaluate(lambda x, y: x * y - y, a, b, unknown=unknown)
    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out, a * b - b, rtol=1e-5)


@settings(max_examples=15, deadline=None)
@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3), st.data(), st.booleans())
def test_property_reductions_match_numpy(shape, data, keepdims):
    axes = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), unique_by=lambda a: a % len(shape),
                              max_size=len(shape)))
    x = rand(shape, rng=np.random.default_rng(3))
    got = evaluate(lambda t: [tf.reduce_sum(t, axis=axes, keepdims=keepdims),
                              tf.reduce_any(t > 0, axis=axes, keepdims=keepdims)], x)
    np.testing.assert_allclose(got[0], x.sum(axis=tuple(axes), keepdims=keepdims), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got[1], (x > 0).any(axis=tuple(axes), keepdims=keepdims))
