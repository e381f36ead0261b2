"""Convolutions and pooling: values against a loop reference over many configurations, gradients against
central differences, shape inference and errors, the tf.layers conv/pool layers, and the docstring examples.
(Single values, also run on TensorFlow by bench/tf_reference.py, are in tests/op_cases/conv.py.)"""

import doctest
import importlib

import numpy as np
import pytest

import tasklayer as tf
from engine.kernels import numpy_conv, registry
from tasklayer.gradients import gradients
from tasklayer.ops._window import window_op
from tests.gradient_check import check_gradients
from tests.op_cases.conv import (avg_pool_grad_ref, avg_pool_ref, conv2d_backprop_filter_ref,
                                 conv2d_backprop_input_ref, conv2d_ref, max_pool_grad_ref, max_pool_ref, nchw)

RNG = np.random.default_rng(3)


def _r(*shape):
    return RNG.uniform(-1, 1, shape)


def _distinct(*shape):
    """Values far apart (no ties, no near-ties), so that max pooling is differentiable around them."""
    return RNG.permutation(int(np.prod(shape))).reshape(shape) / 4.0 - 3.0


def _run(fetches, feeds=None):
    with tf.Session() as sess:
        return sess.run(fetches, feeds)


# ---------------------------------------------------------------- values over many configurations
# (input NHWC, filter [kh, kw, in, out], strides, padding, dilations)
CONV_CONFIGS = [
    ((2, 5, 5, 3), (3, 3, 3, 4), (1, 1), "SAME", (1, 1)),
    ((2, 5, 5, 3), (3, 3, 3, 4), (1, 1), "VALID", (1, 1)),
    ((1, 7, 6, 2), (3, 2, 2, 3), (2, 2), "SAME", (1, 1)),
    ((1, 7, 6, 2), (3, 2, 2, 3), (2, 3), "VALID", (1, 1)),
    ((2, 8, 9, 1), (4, 4, 1, 2), (2, 2), "SAME", (1, 1)),      # even kernel: the odd padding goes at the end
    ((1, 9, 8, 2), (3, 3, 2, 2), (1, 1), "SAME", (2, 3)),
    ((1, 9, 8, 2), (2, 3, 2, 2), (1, 1), "VALID", (3, 2)),
    ((1, 9, 9, 2), (3, 3, 2, 1), (2, 2), "SAME", (2, 2)),
    ((1, 6, 7, 3), (3, 3, 3, 2), (1, 2), ((2, 0), (1, 3)), (1, 1)),
    ((3, 4, 4, 5), (1, 1, 5, 2), (1, 1), "VALID", (1, 1)),     # pointwise: a plain matmul
    ((1, 5, 5, 2), (1, 1, 2, 3), (2, 2), "SAME", (1, 1)),
    ((1, 2, 3, 2), (5, 5, 2, 2), (1, 1), "SAME", (1, 1)),      # a kernel larger than the input
]


def _conv_args(strides, padding, dilations, fmt):
    per_dim = (lambda p: [1, *p, 1]) if fmt == "NHWC" else (lambda p: [1, 1, *p])
    if not isinstance(padding, str):
        padding = [[0, 0], list(padding[0]), list(padding[1]), [0, 0]]
        padding = padding if fmt == "NHWC" else [padding[0], padding[3], padding[1], padding[2]]
    return dict(strides=per_dim(strides), padding=padding, dilations=per_dim(dilations), data_format=fmt)


@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
@pytest.mark.parametrize("config", CONV_CONFIGS, ids=[str(i) for i in range(len(CONV_CONFIGS))])
def test_conv2d_and_its_backprop_ops_match_the_loop_reference(config, fmt):
    x_shape, w_shape, strides, padding, dilations = config
    x, w = _r(*x_shape), _r(*w_shape)
    y_ref = conv2d_ref(x, w, strides, padding, dilations)
    dy = _r(*y_ref.shape)
    to_fmt = (lambda a: a) if fmt == "NHWC" else nchw
    args = _conv_args(strides, padding, dilations, fmt)
    with tf.Graph().as_default():
        y = tf.nn.conv2d(to_fmt(x), w, **args)
        dx = tf.nn.conv2d_backprop_input(list(to_fmt(x).shape), w, to_fmt(dy), **args)
        dw = tf.nn.conv2d_backprop_filter(to_fmt(x), list(w_shape), to_fmt(dy), **args)
        assert y.shape.as_list() == list(to_fmt(y_ref).shape)
        got = _run([y, dx, dw])
    np.testing.assert_allclose(got[0], to_fmt(y_ref), atol=1e-12)
    np.testing.assert_allclose(got[1], to_fmt(conv2d_backprop_input_ref(x_shape, w, dy, strides, padding,
                                                                        dilations)), atol=1e-12)
    np.testing.assert_allclose(got[2], conv2d_backprop_filter_ref(x, w_shape, dy, strides, padding, dilations),
                               atol=1e-12)


@pytest.mark.parametrize("block_bytes", [1, 3000, 1 << 30])
def test_cache_blocks_of_any_size_give_the_same_values(monkeypatch, block_bytes):
    # 1 byte: a block per output row of one image; 3000: a few rows; 1 GiB: the whole batch at once.
    monkeypatch.setattr(numpy_conv, "_BLOCK_BYTES", block_bytes)
    x, w = _r(3, 6, 5, 2), _r(3, 3, 2, 4)
    y_ref = conv2d_ref(x, w, (2, 1), "SAME")
    dy = _r(*y_ref.shape)
    with tf.Graph().as_default():
        args = dict(strides=[1, 2, 1, 1], padding="SAME")
        got = _run([tf.nn.conv2d(x, w, **args), tf.nn.conv2d_backprop_input(list(x.shape), w, dy, **args),
                    tf.nn.conv2d_backprop_filter(x, list(w.shape), dy, **args)])
    np.testing.assert_allclose(got[0], y_ref, atol=1e-12)
    np.testing.assert_allclose(got[1], conv2d_backprop_input_ref(x.shape, w, dy, (2, 1), "SAME"), atol=1e-12)
    np.testing.assert_allclose(got[2], conv2d_backprop_filter_ref(x, w.shape, dy, (2, 1), "SAME"), atol=1e-12)


def test_conv2d_float32_and_int32():
    x, w = _r(2, 6, 6, 3).astype(np.float32), _r(3, 3, 3, 2).astype(np.float32)
    xi, wi = RNG.integers(-5, 5, (1, 4, 4, 2)).astype(np.int32), RNG.integers(-5, 5, (2, 2, 2, 3)).astype(np.int32)
    with tf.Graph().as_default():
        y, yi = tf.nn.conv2d(x, w, 1, "SAME"), tf.nn.conv2d(xi, wi, 1, "VALID")
        got, got_i = _run([y, yi])
    assert got.dtype == np.float32 and got_i.dtype == np.int32
    np.testing.assert_allclose(got, conv2d_ref(x, w, padding="SAME"), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got_i, conv2d_ref(xi, wi))


# (input, ksize, strides, padding)
POOL_CONFIGS = [
    ((2, 6, 6, 3), (2, 2), (2, 2), "VALID"),
    ((2, 5, 7, 2), (2, 2), (2, 2), "SAME"),
    ((1, 7, 5, 2), (3, 3), (2, 2), "SAME"),
    ((1, 7, 5, 2), (3, 2), (1, 2), "VALID"),
    ((1, 4, 4, 1), (3, 3), (1, 1), "SAME"),
    ((2, 3, 3, 2), (4, 4), (3, 3), "SAME"),     # windows larger than the input
    ((1, 5, 5, 2), (1, 1), (2, 2), "SAME"),
]


@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
@pytest.mark.parametrize("config", POOL_CONFIGS, ids=[str(i) for i in range(len(POOL_CONFIGS))])
def test_pools_and_their_gradients_match_the_loop_reference(config, fmt):
    x_shape, ksize, strides, padding = config
    x = np.round(_r(*x_shape) * 2) / 2   # ties among values: the gradient goes to the first maximum
    y_ref = max_pool_ref(x, ksize, strides, padding)
    dy = _r(*y_ref.shape)
    to_fmt = (lambda a: a) if fmt == "NHWC" else nchw
    per_dim = (lambda p: [1, *p, 1]) if fmt == "NHWC" else (lambda p: [1, 1, *p])
    args = dict(ksize=per_dim(ksize), strides=per_dim(strides), padding=padding, data_format=fmt)
    with tf.Graph().as_default():
        xt = tf.constant(to_fmt(x))
        mp, ap = tf.nn.max_pool(xt, **args), tf.nn.avg_pool(xt, **args)
        gm = gradients(mp, xt, grad_ys=tf.constant(to_fmt(dy)))[0]
        ga = gradients(ap, xt, grad_ys=tf.constant(to_fmt(dy)))[0]
        got = _run([mp, ap, gm, ga])
    np.testing.assert_array_equal(got[0], to_fmt(y_ref))
    np.testing.assert_allclose(got[1], to_fmt(avg_pool_ref(x, ksize, strides, padding)), atol=1e-12)
    np.testing.assert_allclose(got[2], to_fmt(max_pool_grad_ref(x, dy, ksize, strides, padding)), atol=1e-12)
    np.testing.assert_allclose(got[3], to_fmt(avg_pool_grad_ref(x_shape, dy, ksize, strides, padding)), atol=1e-12)


def test_max_pool_of_integers_pads_with_their_lowest_value():
    x = np.full((1, 3, 3, 1), np.iinfo(np.int32).min + 1, np.int32)
    with tf.Graph().as_default():
        got = _run(tf.nn.max_pool(x, 2, 2, "SAME"))
    assert got.dtype == np.int32 and (got == x[0, 0, 0, 0]).all()


# ---------------------------------------------------------------- gradients against central differences
@pytest.mark.parametrize("fmt,strides,padding,dilations", [
    ("NHWC", [1, 2, 2, 1], "SAME", [1, 1, 1, 1]),
    ("NHWC", [1, 1, 1, 1], "VALID", [1, 2, 1, 1]),
    ("NCHW", [1, 1, 2, 1], [[0, 0], [0, 0], [1, 0], [2, 1]], [1, 1, 1, 1]),
])
def test_conv2d_gradients_numerically(fmt, strides, padding, dilations):
    x = _r(1, 5, 4, 2) if fmt == "NHWC" else _r(1, 2, 5, 4)
    check_gradients(lambda t, w: tf.nn.conv2d(t, w, strides, padding, data_format=fmt, dilations=dilations),
                    x, _r(2, 2, 2, 3))


def test_conv2d_transpose_gradients_numerically():
    # Conv2DBackpropInput's rule: its filter and out_backprop inputs.
    check_gradients(lambda v, w: tf.nn.conv2d_transpose(v, w, [1, 5, 4, 2], [1, 2, 2, 1], "SAME"),
                    _r(1, 3, 2, 3), _r(3, 2, 2, 3))


def test_conv2d_backprop_filter_gradients_numerically():
    check_gradients(lambda x, dy: tf.nn.conv2d_backprop_filter(x, [2, 3, 2, 2], dy, [1, 2, 1, 1], "SAME"),
                    _r(1, 4, 4, 2), _r(1, 2, 4, 2))


def test_second_order_gradient_of_conv2d_runs_as_graph_ops():
    with tf.Graph().as_default():
        x, w = tf.constant(_r(1, 4, 4, 2)), tf.constant(_r(3, 3, 2, 2))
        y = tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME")
        [gx] = gradients(tf.reduce_sum(tf.square(y)), [x])
        [gw] = gradients(tf.reduce_sum(gx), [w])
        types = {op.type for op in tf.get_default_graph().get_operations()}
        assert {"Conv2DBackpropInput", "Conv2DBackpropFilter"} <= types
        assert _run(gw).shape == (3, 3, 2, 2)


def test_gradients_through_unknown_shapes_match_the_static_ones():
    x_value, w_value = _r(2, 9, 7, 3), _r(3, 3, 3, 2)

    def grads(x_shape):
        with tf.Graph().as_default():
            x, w = tf.placeholder(tf.float64, x_shape), tf.constant(w_value)
            y = tf.nn.avg_pool(tf.nn.max_pool(tf.nn.conv2d(x, w, 2, "SAME"), 2, 2, "SAME"), 2, 1, "SAME")
            return _run(gradients(tf.reduce_sum(y * y), [x, w]), {x: x_value})
    for static, unknown in zip(grads(x_value.shape), grads([None, None, None, 3])):
        np.testing.assert_allclose(unknown, static, atol=1e-12)

@pytest.mark.parametrize("padding,strides", [("SAME", 2), ("VALID", 1)])
def test_pool_gradients_numerically(padding, strides):
    check_gradients(lambda t: tf.nn.max_pool(t, 3, strides, padding), _distinct(1, 5, 5, 2), eps=1e-3)
    check_gradients(lambda t: tf.nn.avg_pool(t, 3, strides, padding), _r(1, 5, 5, 2))


def test_pool_grad_ops_gradients_numerically():
    x = _distinct(1, 4, 5, 2)
    with tf.Graph().as_default():
        xt = tf.constant(x)
        y = tf.nn.max_pool(xt, 2, 2, "SAME")
        y_value = _run(y)
    # MaxPoolGrad and MaxPoolGradGrad are linear in their gradient input (the maxima's positions stay put).

    def max_pool_grad(dy):
        xt = tf.constant(x)
        return window_op("MaxPoolGrad", tf.nn.max_pool(xt, 2, 2, "SAME").op, [xt, tf.constant(y_value), dy])
    check_gradients(max_pool_grad, _r(*y_value.shape))

    def max_pool_grad_grad(g):
        xt = tf.constant(x)
        return window_op("MaxPoolGradGrad", tf.nn.max_pool(xt, 2, 2, "SAME").op, [xt, tf.constant(y_value), g])
    check_gradients(max_pool_grad_grad, _r(*x.shape))

    def avg_pool_grad(dy):
        return window_op("AvgPoolGrad", tf.nn.avg_pool(tf.constant(x), 3, 2, "SAME").op, [tf.constant(x.shape), dy])
    check_gradients(avg_pool_grad, _r(1, 2, 3, 2))


# ---------------------------------------------------------------- shape inference and errors
def test_shape_inference_with_unknown_dims():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 28, None, 3])
        assert tf.nn.conv2d(x, tf.zeros([5, 5, 3, 8]), 2, "SAME").shape.as_list() == [None, 14, None, 8]
        assert tf.nn.conv2d(x, tf.zeros([5, 5, 3, 8]), 1, "VALID").shape.as_list() == [None, 24, None, 8]
        assert tf.nn.max_pool(x, 3, 2, "VALID").shape.as_list() == [None, 13, None, 3]
        c = tf.placeholder(tf.float32, [None, 3, 10, 10])
        assert tf.nn.conv2d(c, tf.zeros([3, 3, 3, 6]), [1, 1, 2, 2], "SAME",
                            data_format="NCHW").shape.as_list() == [None, 6, 5, 5]
        assert tf.nn.conv2d(tf.placeholder(tf.float32), tf.zeros([3, 3, 3, 6]), 1, "SAME").shape.ndims == 4
        out = tf.nn.conv2d_transpose(tf.zeros([2, 3, 3, 4]), tf.zeros([3, 3, 5, 4]),
                                     tf.stack([2, tf.placeholder(tf.int32, []), 6, 5]), 2)
        assert out.shape.as_list() == [2, None, 6, 5]


@pytest.mark.parametrize("build,error,pattern", [
    (lambda: tf.nn.conv2d(tf.zeros([1, 5, 5, 4]), tf.zeros([3, 3, 2, 4]), 1, "SAME"), ValueError, "grouped"),
    (lambda: tf.nn.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 3, 4]), [2, 1, 1, 1], "SAME"), ValueError,
     "strides in the batch and depth"),
    (lambda: tf.nn.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 3, 4]), 1, "SAME", dilations=[1, 1, 1, 2]),
     ValueError, "dilations in the batch and depth"),
    (lambda: tf.nn.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 3, 4]), [1, 0, 1, 1], "SAME"), ValueError,
     "Stride must be > 0"),
    (lambda: tf.nn.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 3, 4]), 1, [[1, 0], [0, 0], [0, 0], [0, 0]]),
     ValueError, "Nonzero explicit padding in the batch or depth"),
    (lambda: tf.nn.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 3, 4]), 1, "EXPLICIT"), ValueError,
     "must be a list"),
    (lambda: tf.nn.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 3, 4]), 1, "SAME", data_format="NWHC"),
     ValueError, "Attr 'data_format' of 'Conv2D' Op passed string 'NWHC'"),
    (lambda: tf.nn.conv2d(tf.zeros([1, 5, 5, 3], tf.int64), tf.zeros([3, 3, 3, 4], tf.int64), 1, "SAME"),
     TypeError, "DataType int64 not in list of allowed values"),
    (lambda: tf.nn.conv2d_transpose(tf.zeros([2, 3, 3, 4]), tf.zeros([3, 3, 5, 4]), [2, 9, 9, 5], 2), ValueError,
     "Size of out_backprop doesn't match computed: actual = 3, computed = 5"),
    (lambda: tf.nn.conv2d_transpose(tf.zeros([2, 3, 3, 4]), tf.zeros([3, 3, 5, 4]), [2, 6, 6, 6], 2), ValueError,
     "output_shape does not match filter's output channels, 6 != 5"),
    (lambda: tf.nn.conv2d_transpose(tf.zeros([2, 3, 3, 4]), tf.zeros([3, 3, 5, 4]), [2, 6, 6, 5], 2, "FULL"),
     ValueError, "padding must be either VALID or SAME"),
    (lambda: tf.nn.max_pool(tf.zeros([1, 5, 5, 4]), [1, 1, 1, 2], [1, 1, 1, 2], "VALID"), ValueError,
     "across the depth"),
    (lambda: tf.nn.max_pool(tf.zeros([1, 5, 5, 4]), [2, 2, 2, 1], [1, 1, 1, 1], "VALID"), ValueError,
     "Pooling is not yet supported on the batch dimension"),
    (lambda: tf.nn.max_pool(tf.zeros([5, 5, 4]), 2, 2, "VALID"), ValueError, "Shape must be rank 4 but is rank 3"),
    (lambda: tf.nn.convolution(tf.zeros([1, 5, 3]), tf.zeros([3, 3, 4]), "SAME"), ValueError,
     "only 2-D convolutions"),
    (lambda: tf.nn.convolution(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 3, 4]), "SAME", strides=2,
                               dilation_rate=2), ValueError, "strides > 1 not supported in conjunction"),
])
def test_errors_name_the_problem(build, error, pattern):
    with tf.Graph().as_default():
        with pytest.raises(error, match=pattern):
            build()


def test_a_fed_input_of_the_wrong_depth_fails_when_run():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, None, None, None])
        y = tf.nn.conv2d(x, tf.zeros([3, 3, 3, 4]), 1, "VALID")
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="input depth must be evenly divisible by "
                                                                     "filter depth: 2 vs 3"):
                sess.run(y, {x: np.zeros((1, 5, 5, 2), np.float32)})
            with pytest.raises(tf.errors.InvalidArgumentError, match="Negative dimension size caused by "
                                                                     "subtracting 3 from 2"):
                sess.run(y, {x: np.zeros((1, 2, 5, 3), np.float32)})


def test_backprop_ops_check_the_output_gradient_when_run():
    with tf.Graph().as_default():
        dy = tf.placeholder(tf.float32, None)
        dx = tf.nn.conv2d_backprop_input([1, 6, 6, 3], tf.zeros([3, 3, 3, 4]), dy, [1, 2, 2, 1], "SAME")
        x = tf.placeholder(tf.float32, None)
        pooled_grad = gradients(tf.nn.max_pool(x, 2, 2, "VALID"), x, grad_ys=dy)[0]
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"out_backprop has shape \[1, 4, 4, 4\]"):
                sess.run(dx, {dy: np.zeros((1, 4, 4, 4), np.float32)})
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"grad has shape \[1, 3, 3, 2\]"):
                sess.run(pooled_grad, {x: np.zeros((1, 4, 4, 2), np.float32), dy: np.zeros((1, 3, 3, 2))})

def test_convolution_is_conv2d_with_spatial_arguments():
    x, w = _r(1, 6, 6, 2), _r(3, 3, 2, 2)
    with tf.Graph().as_default():
        a = tf.nn.convolution(x, w, "SAME", dilation_rate=[2, 2])
        b = tf.nn.convolution(x, w, "VALID", strides=[2, 1])
        assert a.op.type == "Conv2D" and a.name == "convolution:0"
        got = _run([a, b])
    np.testing.assert_allclose(got[0], conv2d_ref(x, w, padding="SAME", dilations=(2, 2)), atol=1e-12)
    np.testing.assert_allclose(got[1], conv2d_ref(x, w, (2, 1)), atol=1e-12)


def test_op_names_follow_tf():
    with tf.Graph().as_default():
        x = tf.zeros([1, 5, 5, 3])
        assert tf.nn.conv2d(x, tf.zeros([3, 3, 3, 4]), 1, "SAME").name == "Conv2D:0"
        assert tf.nn.max_pool(x, 2, 2, "VALID").name == "MaxPool:0"
        assert tf.nn.avg_pool(x, 2, 2, "VALID", name="pool").name == "pool:0"
        assert tf.nn.conv2d_transpose(tf.zeros([2, 3, 3, 4]), tf.zeros([3, 3, 5, 4]), [2, 6, 6, 5],
                                      [1, 2, 2, 1]).name == "conv2d_transpose:0"


def test_every_kernel_is_array_module_generic():
    # So the cupy backend runs these kernels on a GPU with the same code.
    for op in ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MaxPool", "MaxPoolGrad",
               "MaxPoolGradGrad", "AvgPool", "AvgPoolGrad"):
        assert registry.get(op, "CPU").xp_generic, op


# ---------------------------------------------------------------- tf.layers
def test_conv2d_layer_variables_shapes_and_values():
    x = _r(2, 6, 6, 3).astype(np.float32)
    with tf.Graph().as_default():
        y = tf.layers.conv2d(x, 4, 3, strides=2, padding="Same", activation=tf.nn.relu,
                             bias_initializer=tf.constant_initializer(0.5))
        y2 = tf.layers.conv2d(x, 2, (1, 3))
        names = [(v.name, v.shape.as_list()) for v in tf.global_variables()]
        assert names == [("conv2d/kernel:0", [3, 3, 3, 4]), ("conv2d/bias:0", [4]),
                         ("conv2d_1/kernel:0", [1, 3, 3, 2]), ("conv2d_1/bias:0", [2])]
        assert y.shape.as_list() == [2, 3, 3, 4] and y2.shape.as_list() == [2, 6, 4, 2]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got, kernel = sess.run([y, tf.global_variables()[0]])
    np.testing.assert_allclose(got, np.maximum(conv2d_ref(x, kernel, (2, 2), "SAME") + 0.5, 0), rtol=1e-5,
                               atol=1e-5)


def test_conv2d_layer_channels_first_and_no_bias():
    x = _r(2, 3, 5, 5).astype(np.float32)
    with tf.Graph().as_default():
        layer = tf.layers.Conv2D(4, 3, data_format="channels_first", dilation_rate=2, use_bias=False,
                                 kernel_initializer=tf.ones_initializer(), name="cf")
        y = layer(x)
        assert layer.variables == [layer.kernel] and layer.kernel.name == "cf/kernel:0"
        assert y.shape.as_list() == [2, 4, 1, 1]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run(y)
    np.testing.assert_allclose(got, nchw(conv2d_ref(x.transpose(0, 2, 3, 1), np.ones((3, 3, 3, 4), np.float32),
                                                    dilations=(2, 2))), rtol=1e-5)


def test_channels_first_bias_is_added_per_channel():
    with tf.Graph().as_default():
        y = tf.layers.conv2d(tf.zeros([1, 2, 3, 3]), 2, 1, data_format="channels_first",
                             bias_initializer=tf.constant_initializer([1.0, 2.0]))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run(y)
    np.testing.assert_array_equal(got[0, :, 0, 0], [1.0, 2.0])


def test_conv2d_layer_reuse_and_repeated_calls():
    with tf.Graph().as_default():
        a = tf.layers.conv2d(tf.zeros([1, 5, 5, 3]), 4, 3, name="shared")
        b = tf.layers.conv2d(tf.ones([2, 7, 7, 3]), 4, 3, name="shared", reuse=True)
        layer = tf.layers.Conv2D(2, 3)
        layer(tf.zeros([1, 5, 5, 3]))
        layer(tf.zeros([4, 6, 6, 3]))
        assert len(tf.trainable_variables()) == 4 and b.shape.as_list() == [2, 5, 5, 4] and a is not b
        with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
            layer(tf.zeros([1, 5, 5, 2]))
        with pytest.raises(ValueError, match="already exists"):
            tf.layers.conv2d(tf.zeros([1, 5, 5, 3]), 4, 3, name="shared")


def test_conv2d_layer_regularizers_and_trainable():
    with tf.Graph().as_default():
        tf.layers.conv2d(tf.zeros([1, 5, 5, 3]), 4, 3, kernel_regularizer=lambda w: tf.reduce_sum(w) * 0.0,
                         activity_regularizer=lambda y: tf.reduce_sum(y), trainable=False)
        assert tf.trainable_variables() == [] and len(tf.global_variables()) == 2
        assert len(tf.get_collection("regularization_losses")) == 2


def test_conv2d_layer_kernel_takes_the_scope_initializer_bias_stays_zeros():
    with tf.Graph().as_default():
        with tf.variable_scope("outer", initializer=tf.ones_initializer()):
            layer = tf.layers.Conv2D(2, 1)
            layer(tf.zeros([1, 2, 2, 3]))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            kernel, bias = sess.run([layer.kernel, layer.bias])
    assert layer.kernel.name == "outer/conv2d/kernel:0"
    np.testing.assert_array_equal(kernel, np.ones((1, 1, 3, 2)))
    np.testing.assert_array_equal(bias, [0.0, 0.0])

@pytest.mark.parametrize("kwargs,pattern", [
    (dict(padding="full"), 'The `padding` argument must be one of "valid", "same"'),
    (dict(data_format="NHWC"), 'The `data_format` argument must be one of "channels_first", "channels_last"'),
    (dict(kernel_size=(1, 2, 3)), "The `kernel_size` argument must be a tuple of 2 integers"),
    (dict(strides=2, dilation_rate=2), "strides > 1 not supported in conjunction with dilation_rate > 1"),
    (dict(filters=0), "filters must be positive"),
])
def test_conv2d_layer_argument_errors(kwargs, pattern):
    args = dict(filters=4, kernel_size=3)
    args.update(kwargs)
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=pattern):
            tf.layers.conv2d(tf.zeros([1, 5, 5, 3]), **args)


def test_conv2d_layer_input_errors():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="expected ndim=4, found ndim=3"):
            tf.layers.conv2d(tf.zeros([5, 5, 3]), 4, 3)
        with pytest.raises(ValueError, match="channel dimension of the inputs should be defined"):
            tf.layers.conv2d(tf.placeholder(tf.float32, [1, 5, 5, None]), 4, 3)


@pytest.mark.parametrize("padding,strides,expected", [("same", 2, [2, 10, 8, 4]), ("valid", 2, [2, 11, 9, 4]),
                                                       ("valid", 1, [2, 7, 6, 4])])
def test_conv2d_transpose_layer(padding, strides, expected):
    x = _r(2, 5, 4, 3).astype(np.float32)
    with tf.Graph().as_default():
        layer = tf.layers.Conv2DTranspose(4, 3, strides=strides, padding=padding, use_bias=False)
        y = layer(x)
        fed = tf.placeholder(tf.float32, [None, None, None, 3])
        y_fed = layer(fed)
        assert layer.kernel.name == "conv2d_transpose/kernel:0"
        assert layer.kernel.shape.as_list() == [3, 3, 4, 3] and y.shape.as_list() == expected
        assert y_fed.shape.as_list() == [None, None, None, 4]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got, got_fed, kernel = sess.run([y, y_fed, layer.kernel], {fed: x})
    want = conv2d_backprop_input_ref(tuple(expected), kernel, x, (strides, strides), padding.upper())
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_fed, want, rtol=1e-5, atol=1e-5)


def test_pooling_layers():
    x = _r(2, 5, 7, 3).astype(np.float32)
    with tf.Graph().as_default():
        m = tf.layers.max_pooling2d(x, 3, 2, padding="SAME")
        a = tf.layers.average_pooling2d(x, (2, 3), (1, 2))
        c = tf.layers.MaxPooling2D(2, 2, data_format="channels_first")(nchw(x))
        assert [m.name, a.name, c.name] == ["max_pooling2d/MaxPool:0", "average_pooling2d/AvgPool:0",
                                            "max_pooling2d_1/MaxPool:0"]
        assert tf.global_variables() == []
        got = _run([m, a, c])
    np.testing.assert_array_equal(got[0], max_pool_ref(x, (3, 3), (2, 2), "SAME"))
    np.testing.assert_allclose(got[1], avg_pool_ref(x, (2, 3), (1, 2), "VALID"), rtol=1e-6)
    np.testing.assert_array_equal(got[2], nchw(max_pool_ref(x, (2, 2), (2, 2), "VALID")))
    with tf.Graph().as_default(), pytest.raises(ValueError, match="The `pool_size` argument must be a tuple"):
        tf.layers.max_pooling2d(x, (2, 2, 2), 2)


def test_a_small_conv_net_trains():
    rng = np.random.default_rng(0)
    images = rng.standard_normal((8, 8, 8, 1)).astype(np.float32)
    labels = (images.mean(axis=(1, 2, 3)) > 0).astype(np.int32)
    with tf.Graph().as_default():
        tf.set_random_seed(1)
        h = tf.layers.conv2d(images, 4, 3, padding="same", activation=tf.nn.relu)
        h = tf.layers.max_pooling2d(h, 2, 2)
        h = tf.layers.conv2d_transpose(h, 2, 2, strides=2, activation=tf.nn.relu)
        h = tf.layers.average_pooling2d(h, 8, 8)
        logits = tf.reshape(h, [8, 2])
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            first = sess.run(loss)
            for _ in range(20):
                sess.run(step)
            assert sess.run(loss) < first


# ---------------------------------------------------------------- docstring examples
@pytest.mark.parametrize("name", ["tasklayer.ops.conv_ops", "tasklayer.ops.pooling_ops",
                                  "tasklayer.layers.convolutional", "tasklayer.layers.pooling",
                                  "engine.kernels.window"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0

