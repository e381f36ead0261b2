"""Gradients through inputs of unknown rank (``tf.placeholder("float")``): reductions and broadcasting binary ops
build their gradients from run-time shapes, checked against central differences; the classic linear regression
program trains."""

import numpy as np
import pytest

import tasklayer as tf
from tests.gradient_check import check_gradients

RNG = np.random.default_rng(3)


REDUCTIONS = {"sum": tf.reduce_sum, "mean": tf.reduce_mean, "max": tf.reduce_max, "min": tf.reduce_min,
              "prod": tf.reduce_prod}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis,keepdims", [(None, False), (1, False), (-1, True), ([0, 2], False)])
def test_reductions_over_unknown_rank(name, axis, keepdims):
    x = RNG.uniform(0.5, 2.0, (2, 3, 2))  # distinct positive values: max/min and prod are smooth there
    check_gradients(lambda t: REDUCTIONS[name](t, axis=axis, keepdims=keepdims), x, unknown_rank=True)


def test_reduction_over_axes_known_only_at_run_time():
    def build(t):
        axes = tf.placeholder(tf.int32, [None], name="axes")
        return tf.reduce_sum(t, axis=axes), {axes: [0, -1]}
    check_gradients(build, RNG.standard_normal((2, 3, 2)), unknown_rank=True)


def test_reducing_a_fed_scalar():
    check_gradients(lambda t: tf.reduce_sum(t) * 3.0, np.array(2.0), unknown_rank=True)
    check_gradients(lambda t: tf.reduce_max(t, keepdims=True), np.array(2.0), unknown_rank=True)


BINARY = {"add": tf.add, "sub": tf.subtract, "mul": tf.multiply, "div": tf.div, "realdiv": tf.realdiv,
          "pow": tf.pow, "maximum": tf.maximum, "minimum": tf.minimum, "squared_difference": tf.squared_difference}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", [((2, 3), (3,)), ((3, 1), (1, 2)), ((), (2, 2))], ids=str)
def test_broadcasting_binary_ops_over_unknown_rank(name, shapes):
    x, y = RNG.uniform(0.5, 2.0, shapes[0]), RNG.uniform(0.5, 2.0, shapes[1])
    check_gradients(BINARY[name], x, y, unknown_rank=True)


def test_linear_regression_program_trains():
    train_x = np.asarray([3.3, 4.4, 5.5, 6.71, 6.93, 4.168, 9.779, 6.182, 7.59, 2.167])
    train_y = np.asarray([1.7, 2.76, 2.09, 3.19, 1.694, 1.573, 3.366, 2.596, 2.53, 1.221])
    n = train_x.shape[0]
    with tf.Graph().as_default():
        X, Y = tf.placeholder("float"), tf.placeholder("float")
        W, b = tf.Variable(0.0, name="weight"), tf.Variable(0.0, name="bias")
        pred = tf.add(tf.multiply(X, W), b)
        cost = tf.reduce_sum(tf.pow(pred - Y, 2)) / (2 * n)
        step = tf.train.GradientDescentOptimizer(0.01).minimize(cost)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            w0, b0 = 0.0, 0.0
            residual = w0 * train_x + b0 - train_y
            initial = (residual ** 2).sum() / (2 * n)
            sess.run(step, {X: train_x, Y: train_y})  # one full-batch step: exactly the analytic gradient
            np.testing.assert_allclose(sess.run([W, b]), [w0 - 0.01 * (residual * train_x).sum() / n,
                                                          b0 - 0.01 * residual.sum() / n], rtol=1e-5)
            for _ in range(10):
                for x, y in zip(train_x, train_y):  # and per sample, fed as scalars
                    sess.run(step, {X: x, Y: y})
            fitted = sess.run(cost, {X: train_x, Y: train_y})
    assert fitted < initial / 5, (fitted, initial)
