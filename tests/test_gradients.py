"""Every gradient rule against central differences (float64, small shapes), plus tf.gradients' own behaviour."""

import numpy as np
import pytest

import tasklayer as tf
from tasklayer import grad_rules
from tasklayer.gradients import gradients
from tasklayer.variables import Variable
from tests.gradient_check import check_gradients

RNG = np.random.default_rng(0)


def r(*shape, low=-1.0, high=1.0):
    return RNG.uniform(low, high, shape)


def pos(*shape):
    return RNG.uniform(0.5, 2.0, shape)


BINARY = {
    "Add": lambda x, y: tf.add(x, y), "AddV2": lambda x, y: x + y, "Sub": tf.subtract, "Mul": tf.multiply,
    "RealDiv": tf.realdiv, "Div": tf.div, "Maximum": tf.maximum, "Minimum": tf.minimum,
    "SquaredDifference": tf.squared_difference,
}


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), (3,)), ((3, 1), (1, 4)), ((), (2, 2))])
def test_binary_with_broadcasting(op, shapes):
    x, y = r(*shapes[0]), r(*shapes[1])
    if op in ("RealDiv", "Div"):
        y = pos(*shapes[1])
    check_gradients(BINARY[op], x, y)


def test_pow():
    check_gradients(tf.pow, pos(2, 3), r(3))


def test_broadcast_with_unknown_dims():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [None, 3])
        b = tf.placeholder(tf.float64, [None, 1])
        [gx, gb] = gradients(tf.reduce_sum((x + b) * 2.0), [x, b])
        with tf.Session() as sess:
            vx, vb = sess.run([gx, gb], {x: np.ones((4, 3)), b: np.ones((4, 1))})
    np.testing.assert_allclose(vx, np.full((4, 3), 2.0))
    np.testing.assert_allclose(vb, np.full((4, 1), 6.0))


UNARY = {
    "Neg": (tf.negative, r), "Square": (tf.square, r), "Sqrt": (tf.sqrt, pos), "Rsqrt": (tf.rsqrt, pos),
    "Exp": (tf.exp, r), "Log": (tf.log, pos), "Abs": (tf.abs, lambda *s: pos(*s) * np.sign(r(*s))),
    "Reciprocal": (tf.reciprocal, pos), "Relu": (tf.nn.relu, lambda *s: pos(*s) * np.sign(r(*s))),
    "Sigmoid": (tf.sigmoid, r), "Tanh": (tf.tanh, r), "Identity": (tf.identity, r),
    "Softmax": (tf.nn.softmax, r), "LogSoftmax": (tf.nn.log_softmax, r),
}


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary(op):
    fn, make = UNARY[op]
    check_gradients(fn, make(3, 4))


def test_add_n():
    check_gradients(lambda a, b: tf.add_n([a, b, a]), r(2, 2), r(2, 2))


@pytest.mark.parametrize("src,dst", [(np.float64, tf.float32), (np.float32, tf.float64), (np.float64, tf.float64)])
def test_cast_numerically(src, dst):
    # Through float32 the steps must be large enough to stand above its rounding: the function is linear anyway.
    check_gradients(lambda x: tf.cast(x, dst), r(2, 3), dtype=src, eps=1e-2, tol=1e-3)


def test_sign_gradient_is_zero():
    x = pos(3, 4) * np.sign(r(3, 4))  # away from 0, where Sign is flat
    check_gradients(lambda t: tf.sign(t) * 3.0 + t, x)  # "+ t" so the check sees a path; Sign must add exactly nothing
    check_gradients(tf.sign, x)


def test_fill_gradient_is_the_sum():
    check_gradients(lambda v: tf.fill([2, 3], v), r())
    with tf.Graph().as_default():
        v = tf.placeholder(tf.float64, [])
        [g] = gradients(tf.reduce_sum(tf.fill([2, 3], v) * tf.constant(np.arange(6.0).reshape(2, 3))), [v])
        with tf.Session() as sess:
            assert sess.run(g, {v: 0.5}) == 15.0


def test_cast_between_floats():
    # float32 rounding makes central differences useless here: the gradient is the weight, cast back.
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [3])
        y = tf.cast(x, tf.float32) * tf.constant([1.0, 2.0, 3.0])
        [g] = gradients(tf.reduce_sum(y), [x])
        assert g.dtype == tf.float64
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run(g, {x: r(3)}), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_matmul(ta, tb):
    a = r(4, 3) if ta else r(3, 4)
    b = r(2, 4) if tb else r(4, 2)
    check_gradients(lambda x, y: tf.matmul(x, y, transpose_a=ta, transpose_b=tb), a, b)


REDUCE = {"Sum": tf.reduce_sum, "Mean": tf.reduce_mean, "Max": tf.reduce_max, "Min": tf.reduce_min,
          "Prod": tf.reduce_prod}


@pytest.mark.parametrize("op", sorted(REDUCE))
@pytest.mark.parametrize("axis,keepdims", [(None, False), (1, False), ([0, 2], True), (-1, True)])
def test_reductions(op, axis, keepdims):
    x = RNG.permutation(24).reshape(2, 3, 4) / 10.0 + 0.5  # distinct values: max/min are unique
    check_gradients(lambda t: REDUCE[op](t, axis=axis, keepdims=keepdims), x)


def test_prod_with_zeros():
    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]])
    with tf.Graph().as_default():
        t = tf.placeholder(tf.float64, [3, 3])
        [g] = gradients(tf.reduce_sum(tf.reduce_prod(t, axis=1)), [t])
        with tf.Session() as sess:
            got = sess.run(g, {t: x})
    np.testing.assert_allclose(got, [[6.0, 0.0, 0.0], [0.0, 0.0, 0.0], [6.0, 3.0, 2.0]])


def test_mean_with_unknown_dims():
    with tf.Graph().as_default():
        t = tf.placeholder(tf.float64, [None, 2])
        [g] = gradients(tf.reduce_mean(t), [t])
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run(g, {t: np.ones((4, 2))}), np.full((4, 2), 1 / 8))


SHAPES = {
    "Reshape": (lambda x: tf.reshape(x, [4, 3]), (2, 6)),
    "Transpose": (lambda x: tf.transpose(x, [2, 0, 1]), (2, 3, 4)),
    "ExpandDims": (lambda x: tf.expand_dims(x, 1), (2, 3)),
    "Squeeze": (lambda x: tf.squeeze(x, [1]), (2, 1, 3)),
    "Tile": (lambda x: tf.tile(x, [2, 3]), (2, 2)),
    "BroadcastTo": (lambda x: tf.broadcast_to(x, [3, 2, 4]), (2, 1)),
    "Slice": (lambda x: tf.slice(x, [1, 0], [2, -1]), (4, 3)),
    "StridedSlice": (lambda x: x[1:, ::-2, tf.newaxis, 1], (3, 4, 2)),
    "StridedSliceEllipsis": (lambda x: x[..., 1:3], (2, 2, 4)),
    "ConcatV2": (lambda x: tf.concat([x, x * 2, x[:1]], axis=0), (2, 3)),
    "Split": (lambda x: tf.split(x, 3, axis=1), (2, 6)),
    "SplitSizes": (lambda x: tf.split(x, [1, 3], axis=1)[1], (2, 4)),
    "Pack": (lambda x: tf.stack([x, x * 3], axis=1), (2, 3)),
    "Unpack": (lambda x: tf.unstack(x, axis=1)[:2], (2, 3)),
    "GatherV2": (lambda x: tf.gather(x, [2, 0, 2]), (3, 2)),
    "GatherV2Axis1": (lambda x: tf.gather(x, [[1, 1], [0, 3]], axis=1), (2, 4, 2)),
}


@pytest.mark.parametrize("case", sorted(SHAPES))
def test_shape_ops(case):
    fn, shape = SHAPES[case]
    check_gradients(fn, r(*shape))


def test_concat_with_unknown_dims():
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float64, [None, 2])
        b = tf.placeholder(tf.float64, [None, 2])
        ga, gb = gradients(tf.reduce_sum(tf.concat([a, b], 0) * [[1.0, 2.0]]), [a, b])
        with tf.Session() as sess:
            va, vb = sess.run([ga, gb], {a: np.ones((1, 2)), b: np.ones((3, 2))})
    np.testing.assert_allclose(va, [[1.0, 2.0]])
    np.testing.assert_allclose(vb, [[1.0, 2.0]] * 3)


def test_select():
    cond = np.array([[True, False, True], [False, False, True]])
    check_gradients(lambda t, e: tf.where(tf.constant(cond), t, e), r(2, 3), r(2, 3))


def test_softmax_cross_entropy():
    labels = np.array([[0.2, 0.8, 0.0], [0.0, 0.0, 1.0]])

    def loss(logits):
        return tf.nn.softmax_cross_entropy_with_logits(labels=tf.constant(labels), logits=logits)
    check_gradients(loss, r(2, 3))
    check_gradients(lambda lab: tf.nn.softmax_cross_entropy_with_logits_v2(labels=lab, logits=tf.constant(r(2, 3))),
                    labels)


@pytest.mark.parametrize("labels_shape", [(3,), (2, 3)])
def test_sparse_softmax_cross_entropy(labels_shape):
    labels = RNG.integers(0, 4, labels_shape)
    check_gradients(lambda logits: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(labels),
                                                                                  logits=logits),
                    r(*labels_shape, 4))


def test_l2_loss():
    check_gradients(tf.nn.l2_loss, r(3, 2))


def test_every_catalog_rule_is_registered():
    catalog = ["Add", "AddV2", "Sub", "Mul", "RealDiv", "Div", "Pow", "Maximum", "Minimum", "SquaredDifference",
               "Neg", "Square", "Sqrt", "Rsqrt", "Exp", "Log", "Abs", "Reciprocal", "Relu", "Sigmoid", "Tanh",
               "Identity", "AddN", "MatMul", "Sum", "Mean", "Max", "Min", "Prod", "Reshape", "Transpose",
               "ExpandDims", "Squeeze", "Tile", "Slice", "StridedSlice", "ConcatV2", "Split", "Pack", "Unpack",
               "GatherV2", "Cast", "Select", "Softmax", "LogSoftmax", "SoftmaxCrossEntropyWithLogits", "BroadcastTo",
               "Sign", "Fill", "SparseSoftmaxCrossEntropyWithLogits"]
    assert set(catalog) <= set(grad_rules.registered())


# ---------------------------------------------------------------- behaviour of tf.gradients
def test_accumulates_paths_and_weights_grad_ys():
    with tf.Graph().as_default():
        x = tf.constant(2.0)
        y = x * x + x * 3.0
        [g] = gradients(y, x, grad_ys=tf.constant(10.0))
        with tf.Session() as sess:
            assert sess.run(g) == pytest.approx(10 * (2 * 2.0 + 3.0))


def test_unconnected_and_stop_gradient():
    with tf.Graph().as_default():
        x, z = tf.constant(1.0), tf.constant(5.0)
        y = x * 2.0 + tf.stop_gradient(x * 7.0)
        gx, gz = gradients(y, [x, z])
        assert gz is None
        with tf.Session() as sess:
            assert sess.run(gx) == 2.0
        [only_stopped] = gradients(tf.stop_gradient(x) * 3.0, [x])
        assert only_stopped is None
        product = x * z
        [ignored] = gradients(product * 2.0, [x], stop_gradients=[product])
        assert ignored is None


def test_variables_as_xs():
    with tf.Graph().as_default():
        w = Variable([1.0, 2.0], name="w")
        [g] = gradients(tf.reduce_sum(w * w), [w])
        with tf.Session() as sess:
            sess.run(w.initializer)
            np.testing.assert_allclose(sess.run(g), [2.0, 4.0])


@pytest.mark.parametrize("build,op_type", [
    (lambda x: tf.cast(tf.argmax(x, axis=0), tf.float32), "ArgMax"),
    (lambda x: tf.cast(tf.equal(x, 1.0), tf.float32), "Equal"),
    (lambda x: tf.cast(tf.cast(x, tf.int32), tf.float32), "Cast"),
])
def test_non_differentiable_path_is_named(build, op_type):
    with tf.Graph().as_default():
        w = Variable([1.0, 2.0], name="w")
        with pytest.raises(LookupError, match=op_type):
            gradients(tf.reduce_sum(build(w)), [w])


def test_shape_only_paths_give_none():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 2])
        [g] = gradients(tf.cast(tf.shape(x)[0], tf.float32), [x])
        assert g is None


def test_blocked_x_gets_none_beside_a_connected_one():
    # TF1: an x cut off by a non-differentiable op gets None as long as some other x gets a gradient.
    with tf.Graph().as_default():
        w = Variable([1.0, 2.0], name="w")
        z = Variable([3.0, 5.0], name="z")
        loss = tf.reduce_sum(w * tf.cast(tf.argmax(z), tf.float32))
        gw, gz = gradients(loss, [w, z])
        assert gz is None
        gz2, gw2 = gradients(loss, [z, w])
        assert gz2 is None and gw2 is not None
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_allclose(sess.run(gw), [1.0, 1.0])


def test_every_x_blocked_names_the_op_and_the_x():
    with tf.Graph().as_default():
        w = Variable([1.0, 2.0], name="w")
        z = Variable([3.0, 5.0], name="z")
        unrelated = tf.constant(1.0, name="unrelated")
        loss = tf.reduce_sum(tf.cast(tf.argmax(w + z), tf.float32))
        with pytest.raises(LookupError, match=r"with respect to w:0 .*'ArgMax' \(op type: ArgMax\)"):
            gradients(loss, [unrelated, w, z])
        assert gradients(loss, [unrelated]) == [None]  # no path at all: None, as in TF1


def test_minimize_skips_a_blocked_variable():
    with tf.Graph().as_default():
        w = Variable([1.0, 2.0], name="w")
        z = Variable([3.0, 5.0], name="z")
        loss = tf.reduce_sum(w * w * tf.cast(tf.argmax(z), tf.float32))
        opt = tf.train.GradientDescentOptimizer(0.5)
        assert [g is None for g, _ in opt.compute_gradients(loss)] == [False, True]
        step = opt.minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(step)
            np.testing.assert_allclose(sess.run(w), [0.0, 0.0])
            np.testing.assert_allclose(sess.run(z), [3.0, 5.0])


def test_minimize_without_any_path_keeps_its_clear_errors():
    with tf.Graph().as_default():
        w = Variable([1.0, 2.0], name="w")
        other = Variable(1.0, name="other")
        opt = tf.train.GradientDescentOptimizer(0.5)
        with pytest.raises(ValueError, match=r"No gradients provided for any variable.*'w', 'other'"):
            opt.minimize(tf.reduce_sum(tf.constant([1.0]) * 2.0))
        blocked = tf.cast(tf.argmax(w), tf.float32) + tf.cast(tf.argmax(tf.stack([other, other])), tf.float32)
        with pytest.raises(LookupError, match="ArgMax"):
            opt.compute_gradients(blocked)
        with pytest.raises(LookupError, match="ArgMax"):
            opt.minimize(blocked)
