"""Cases of the convolution and pooling ops (conv2d, its backprop ops and gradients, conv2d_transpose,
max_pool, avg_pool), with a direct loop reference in numpy that tests/test_conv.py reuses."""

import math

import numpy as np

from tests.op_cases import case

RNG = np.random.default_rng(10)


# ---------------------------------------------------------------- the loop reference (NHWC)
def spatial_plan(size, k, stride, dilation, padding):
    """``(out, pad_before)`` along one axis: ``padding`` is "SAME", "VALID" or a (before, after) pair."""
    reach = (k - 1) * dilation + 1
    if padding == "SAME":
        out = math.ceil(size / stride)
        return out, max((out - 1) * stride + reach - size, 0) // 2
    before, after = (0, 0) if padding == "VALID" else padding
    return (size + before + after - reach) // stride + 1, before


def _axis_padding(padding, axis):
    return padding if isinstance(padding, str) else padding[axis]


def _positions(x_shape, window, strides, dilations, padding):
    """Yield ``(oh, ow, i, j, ih, iw)`` for every window offset that reads an input (not padding) position,
    and return the output size through ``positions.size``."""
    (oh_n, top), (ow_n, left) = (spatial_plan(x_shape[a + 1], window[a], strides[a], dilations[a],
                                              _axis_padding(padding, a)) for a in (0, 1))
    out = []
    for oh in range(oh_n):
        for ow in range(ow_n):
            for i in range(window[0]):
                for j in range(window[1]):
                    ih, iw = oh * strides[0] - top + i * dilations[0], ow * strides[1] - left + j * dilations[1]
                    if 0 <= ih < x_shape[1] and 0 <= iw < x_shape[2]:
                        out.append((oh, ow, i, j, ih, iw))
    return (oh_n, ow_n), out


def conv2d_ref(x, w, strides=(1, 1), padding="VALID", dilations=(1, 1)):
    """Conv2D by its definition: every output position sums input x filter over its window."""
    (oh, ow), pos = _positions(x.shape, w.shape[:2], strides, dilations, padding)
    out = np.zeros((x.shape[0], oh, ow, w.shape[3]), np.float64)
    for o_h, o_w, i, j, ih, iw in pos:
        out[:, o_h, o_w] += x[:, ih, iw].astype(np.float64) @ w[i, j]
    return out.astype(x.dtype)


def conv2d_backprop_input_ref(x_shape, w, dy, strides=(1, 1), padding="VALID", dilations=(1, 1)):
    """Conv2D's input gradient: each output gradient sent back through the filter to the inputs it read."""
    _, pos = _positions(x_shape, w.shape[:2], strides, dilations, padding)
    dx = np.zeros(x_shape, np.float64)
    for o_h, o_w, i, j, ih, iw in pos:
        dx[:, ih, iw] += dy[:, o_h, o_w].astype(np.float64) @ w[i, j].T
    return dx.astype(dy.dtype)


def conv2d_backprop_filter_ref(x, w_shape, dy, strides=(1, 1), padding="VALID", dilations=(1, 1)):
    """Conv2D's filter gradient: every input it read times the output gradient."""
    _, pos = _positions(x.shape, w_shape[:2], strides, dilations, padding)
    dw = np.zeros(w_shape, np.float64)
    for o_h, o_w, i, j, ih, iw in pos:
        dw[i, j] += x[:, ih, iw].astype(np.float64).T @ dy[:, o_h, o_w]
    return dw.astype(x.dtype)


def _pool_windows(x, ksize, strides, padding):
    (oh, ow), pos = _positions(x.shape, ksize, strides, (1, 1), padding)
    windows = {}
    for o_h, o_w, i, j, ih, iw in pos:
        windows.setdefault((o_h, o_w), []).append((ih, iw))
    return (oh, ow), windows


def max_pool_ref(x, ksize, strides, padding):
    """The maximum of the input positions of each window."""
    (oh, ow), windows = _pool_windows(x, ksize, strides, padding)
    out = np.empty((x.shape[0], oh, ow, x.shape[3]), x.dtype)
    for (o_h, o_w), cells in windows.items():
        out[:, o_h, o_w] = np.max([x[:, ih, iw] for ih, iw in cells], axis=0)
    return out


def avg_pool_ref(x, ksize, strides, padding):
    """The mean of the input positions of each window (padding not counted)."""
    (oh, ow), windows = _pool_windows(x, ksize, strides, padding)
    out = np.empty((x.shape[0], oh, ow, x.shape[3]), x.dtype)
    for (o_h, o_w), cells in windows.items():
        out[:, o_h, o_w] = np.mean([x[:, ih, iw] for ih, iw in cells], axis=0)
    return out


def max_pool_grad_ref(x, dy, ksize, strides, padding):
    """Each window's gradient added to the first (row-major) position of its maximum."""
    _, windows = _pool_windows(x, ksize, strides, padding)
    dx = np.zeros(x.shape, dy.dtype)
    for (o_h, o_w), cells in windows.items():
        values = np.stack([x[:, ih, iw] for ih, iw in cells])       # [cells, n, c]
        first = np.argmax(values == values.max(axis=0), axis=0)     # [n, c]
        for n in range(x.shape[0]):
            for c in range(x.shape[3]):
                ih, iw = cells[first[n, c]]
                dx[n, ih, iw, c] += dy[n, o_h, o_w, c]
    return dx


def avg_pool_grad_ref(x_shape, dy, ksize, strides, padding):
    """Each window's gradient shared evenly by its input positions."""
    _, windows = _pool_windows(np.empty(x_shape), ksize, strides, padding)
    dx = np.zeros(x_shape, dy.dtype)
    for (o_h, o_w), cells in windows.items():
        for ih, iw in cells:
            dx[:, ih, iw] += dy[:, o_h, o_w] / len(cells)
    return dx


def nchw(a):
    """An NHWC array as NCHW."""
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


def _rand(*shape):
    return RNG.uniform(-1, 1, shape).astype(np.float32)


# ---------------------------------------------------------------- values
X = _rand(2, 7, 6, 3)
W = _rand(3, 2, 3, 4)
W_DILATED = _rand(2, 3, 3, 2)
DY_S2 = _rand(2, 4, 3, 4)   # an output gradient of X * W, stride 2, SAME
DY_D = _rand(2, 5, 2, 2)    # ... of X * W_DILATED, dilation 2, VALID


@case("conv2d_same_stride1", expect=lambda: conv2d_ref(X, W, padding="SAME"), rtol=1e-4, atol=1e-5)
def _conv_same(tf):
    return tf.nn.conv2d(tf.constant(X), tf.constant(W), strides=[1, 1, 1, 1], padding="SAME")


@case("conv2d_same_stride2_odd_sizes", expect=lambda: conv2d_ref(X, W, (2, 2), "SAME"), rtol=1e-4, atol=1e-5)
def _conv_same_s2(tf):
    return tf.nn.conv2d(tf.constant(X), tf.constant(W), strides=[1, 2, 2, 1], padding="SAME")


@case("conv2d_valid_strides_2_1", expect=lambda: conv2d_ref(X, W, (2, 1), "VALID"), rtol=1e-4, atol=1e-5)
def _conv_valid(tf):
    return tf.nn.conv2d(tf.constant(X), tf.constant(W), strides=[1, 2, 1, 1], padding="VALID")


@case("conv2d_dilated_same", expect=lambda: conv2d_ref(X, W_DILATED, padding="SAME", dilations=(2, 2)),
      rtol=1e-4, atol=1e-5)
def _conv_dilated(tf):
    return tf.nn.conv2d(tf.constant(X), tf.constant(W_DILATED), strides=[1, 1, 1, 1], padding="SAME",
                        dilations=[1, 2, 2, 1])


@case("conv2d_dilated_valid_strided", expect=lambda: conv2d_ref(X, W_DILATED, (2, 2), "VALID", (2, 1)),
      rtol=1e-4, atol=1e-5)
def _conv_dilated_strided(tf):
    return tf.nn.conv2d(tf.constant(X), tf.constant(W_DILATED), strides=[1, 2, 2, 1], padding="VALID",
                        dilations=[1, 2, 1, 1])


@case("conv2d_explicit_padding", expect=lambda: conv2d_ref(X, W, (1, 2), ((1, 2), (0, 1))), rtol=1e-4, atol=1e-5)
def _conv_explicit(tf):
    return tf.nn.conv2d(tf.constant(X), tf.constant(W), strides=[1, 1, 2, 1],
                        padding=[[0, 0], [1, 2], [0, 1], [0, 0]])


@case("conv2d_nchw", expect=lambda: nchw(conv2d_ref(X, W, (2, 2), "SAME")), rtol=1e-4, atol=1e-5)
def _conv_nchw(tf):
    return tf.nn.conv2d(tf.constant(nchw(X)), tf.constant(W), strides=[1, 1, 2, 2], padding="SAME",
                        data_format="NCHW")


@case("conv2d_float64_pointwise", expect=lambda: conv2d_ref(X.astype(np.float64), W[:1, :1].astype(np.float64)))
def _conv_pointwise(tf):
    return tf.nn.conv2d(tf.constant(X.astype(np.float64)), tf.constant(W[:1, :1].astype(np.float64)),
                        strides=1, padding="VALID")


@case("conv2d_fed_unknown_shape", expect=lambda: conv2d_ref(X, W, (2, 2), "SAME"), rtol=1e-4, atol=1e-5)
def _conv_fed(tf):
    x = tf.placeholder(tf.float32, [None, None, None, 3])
    return tf.nn.conv2d(x, tf.constant(W), strides=2, padding="SAME"), {x: X}


@case("conv2d_gradients_stride2_same",
      expect=lambda: [conv2d_backprop_input_ref(X.shape, W, DY_S2, (2, 2), "SAME"),
                      conv2d_backprop_filter_ref(X, W.shape, DY_S2, (2, 2), "SAME")], rtol=1e-4, atol=1e-5)
def _conv_grads(tf):
    x, w = tf.constant(X), tf.constant(W)
    y = tf.nn.conv2d(x, w, strides=[1, 2, 2, 1], padding="SAME")
    return tf.gradients(y, [x, w], grad_ys=tf.constant(DY_S2))


@case("conv2d_gradients_dilated_valid",
      expect=lambda: [conv2d_backprop_input_ref(X.shape, W_DILATED, DY_D, dilations=(2, 2)),
                      conv2d_backprop_filter_ref(X, W_DILATED.shape, DY_D, dilations=(2, 2))], rtol=1e-4, atol=1e-5)
def _conv_grads_dilated(tf):
    x, w = tf.constant(X), tf.constant(W_DILATED)
    y = tf.nn.conv2d(x, w, strides=1, padding="VALID", dilations=2)
    return tf.gradients(y, [x, w], grad_ys=tf.constant(DY_D))



@case("conv2d_backprop_input_direct",
      expect=lambda: conv2d_backprop_input_ref((2, 7, 6, 3), W, DY_S2, (2, 2), "SAME"), rtol=1e-4, atol=1e-5)
def _backprop_input(tf):
    return tf.nn.conv2d_backprop_input([2, 7, 6, 3], tf.constant(W), tf.constant(DY_S2), strides=[1, 2, 2, 1],
                                       padding="SAME")


@case("conv2d_backprop_filter_direct",
      expect=lambda: conv2d_backprop_filter_ref(X, (3, 2, 3, 4), DY_S2, (2, 2), "SAME"), rtol=1e-4, atol=1e-5)
def _backprop_filter(tf):
    return tf.nn.conv2d_backprop_filter(tf.constant(X), [3, 2, 3, 4], tf.constant(DY_S2), strides=[1, 2, 2, 1],
                                        padding="SAME")


V = _rand(2, 3, 3, 4)            # a conv2d_transpose input: its filter is [kh, kw, out=3, in=4]


@case("conv2d_transpose_same_stride2",
      expect=lambda: conv2d_backprop_input_ref((2, 6, 6, 3), W, V, (2, 2), "SAME"), rtol=1e-4, atol=1e-5)
def _transpose(tf):
    return tf.nn.conv2d_transpose(tf.constant(V), tf.constant(W), [2, 6, 6, 3], strides=[1, 2, 2, 1])


@case("conv2d_transpose_valid_odd",
      expect=lambda: conv2d_backprop_input_ref((2, 7, 8, 3), W, V, (2, 3), "VALID"), rtol=1e-4, atol=1e-5)
def _transpose_valid(tf):
    return tf.nn.conv2d_transpose(tf.constant(V), tf.constant(W), [2, 7, 8, 3], strides=[1, 2, 3, 1],
                                  padding="VALID")


P = _rand(2, 5, 7, 3)
DP = _rand(2, 3, 4, 3)      # an output gradient of 3x3 stride-2 SAME pooling of P
TIES = np.float32([[1, 1, 0], [1, 1, 2], [3, 0, 3]]).reshape(1, 3, 3, 1)


@case("max_pool_valid_2x2", expect=lambda: max_pool_ref(P, (2, 2), (2, 2), "VALID"))
def _max_valid(tf):
    return tf.nn.max_pool(tf.constant(P), ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")


@case("max_pool_same_3x3_stride2", expect=lambda: max_pool_ref(P, (3, 3), (2, 2), "SAME"))
def _max_same(tf):
    return tf.nn.max_pool(tf.constant(P), ksize=3, strides=2, padding="SAME")


@case("max_pool_same_negative_values", expect=lambda: max_pool_ref(-np.abs(P) - 1, (2, 3), (1, 2), "SAME"))
def _max_negative(tf):
    return tf.nn.max_pool(tf.constant(-np.abs(P) - 1), ksize=[1, 2, 3, 1], strides=[1, 1, 2, 1], padding="SAME")


@case("max_pool_int32", expect=lambda: max_pool_ref((P * 10).astype(np.int32), (2, 2), (1, 1), "VALID"))
def _max_int(tf):
    return tf.nn.max_pool(tf.constant((P * 10).astype(np.int32)), ksize=2, strides=1, padding="VALID")


@case("max_pool_nchw", expect=lambda: nchw(max_pool_ref(P, (2, 2), (2, 2), "SAME")))
def _max_nchw(tf):
    return tf.nn.max_pool(tf.constant(nchw(P)), ksize=[1, 1, 2, 2], strides=[1, 1, 2, 2], padding="SAME",
                          data_format="NCHW")


@case("max_pool_explicit_padding_and_gradient",
      expect=lambda: [max_pool_ref(P, (2, 3), (2, 2), ((1, 0), (2, 1))),
                      max_pool_grad_ref(P, np.ones((2, 3, 4, 3), np.float32), (2, 3), (2, 2), ((1, 0), (2, 1)))])
def _max_explicit(tf):
    x = tf.constant(P)
    y = tf.nn.max_pool(x, [1, 2, 3, 1], [1, 2, 2, 1], [[0, 0], [1, 0], [2, 1], [0, 0]])
    return [y, tf.gradients(tf.reduce_sum(y), x)[0]]


@case("max_pool_gradient_overlapping_windows",
      expect=lambda: max_pool_grad_ref(P, DP, (3, 3), (2, 2), "SAME"), rtol=1e-5, atol=1e-6)
def _max_grad(tf):
    x = tf.constant(P)
    return tf.gradients(tf.nn.max_pool(x, 3, 2, "SAME"), x, grad_ys=tf.constant(DP))[0]



@case("max_pool_gradient_ties_go_to_the_first", expect=lambda: max_pool_grad_ref(TIES, np.ones((1, 2, 2, 1),
                                                                                              np.float32),
                                                                                (2, 2), (1, 1), "VALID"))
def _max_grad_ties(tf):
    x = tf.constant(TIES)
    return tf.gradients(tf.reduce_sum(tf.nn.max_pool(x, 2, 1, "VALID")), x)[0]


@case("avg_pool_same_counts_only_inputs", expect=lambda: avg_pool_ref(P, (3, 3), (2, 2), "SAME"))
def _avg_same(tf):
    return tf.nn.avg_pool(tf.constant(P), ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME")


@case("avg_pool_valid_2x3", expect=lambda: avg_pool_ref(P, (2, 3), (2, 1), "VALID"))
def _avg_valid(tf):
    return tf.nn.avg_pool(tf.constant(P), ksize=[1, 2, 3, 1], strides=[1, 2, 1, 1], padding="VALID")


@case("avg_pool_nchw", expect=lambda: nchw(avg_pool_ref(P, (2, 2), (2, 2), "SAME")))
def _avg_nchw(tf):
    return tf.nn.avg_pool(tf.constant(nchw(P)), ksize=[1, 1, 2, 2], strides=[1, 1, 2, 2], padding="SAME",
                          data_format="NCHW")


@case("avg_pool_gradient_same", expect=lambda: avg_pool_grad_ref(P.shape, DP, (3, 3), (2, 2), "SAME"))
def _avg_grad(tf):
    x = tf.constant(P)
    return tf.gradients(tf.nn.avg_pool(x, 3, 2, "SAME"), x, grad_ys=tf.constant(DP))[0]


# ---------------------------------------------------------------- errors
@case("conv2d_valid_window_larger_than_input", raises=(ValueError, "Negative dimension size caused by subtracting "
                                                                   "3 from 2"))
def _too_small(tf):
    return tf.nn.conv2d(tf.zeros([1, 2, 2, 3]), tf.zeros([3, 3, 3, 4]), [1, 1, 1, 1], "VALID")


@case("conv2d_depth_not_a_multiple", raises=(ValueError, r"Depth of input \(3\) is not a multiple of input "
                                                         r"depth of filter \(2\)"))
def _depth(tf):
    return tf.nn.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 2, 4]), [1, 1, 1, 1], "SAME")


@case("conv2d_rank3_input", raises=(ValueError, "Shape must be rank 4 but is rank 3"))
def _rank3(tf):
    return tf.nn.conv2d(tf.zeros([5, 5, 3]), tf.zeros([3, 3, 3, 4]), [1, 1, 1, 1], "SAME")


@case("conv2d_lowercase_padding", raises=(ValueError, "Attr 'padding' of 'Conv2D' Op passed string 'same' not in"))
def _lower(tf):
    return tf.nn.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 3, 4]), [1, 1, 1, 1], "same")


@case("conv2d_strides_of_length_3", raises=(ValueError, "strides should be of length 1, 2 or 4"))
def _strides3(tf):
    return tf.nn.conv2d(tf.zeros([1, 5, 5, 3]), tf.zeros([3, 3, 3, 4]), [1, 1, 1], "SAME")


@case("conv2d_filter_dtype_mismatch", raises=(TypeError, "Input 'filter' of 'Conv2D' Op has type float32 that "
                                                         "does not match type float64"))
def _dtype(tf):
    return tf.nn.conv2d(tf.zeros([1, 5, 5, 3], tf.float64), tf.zeros([3, 3, 3, 4]), [1, 1, 1, 1], "SAME")


@case("conv2d_transpose_filter_input_channels", raises=(ValueError, "4 and 3|4 != 3"))
def _transpose_channels(tf):
    return tf.nn.conv2d_transpose(tf.zeros([2, 3, 3, 4]), tf.zeros([3, 3, 5, 3]), [2, 6, 6, 5], [1, 2, 2, 1])


@case("max_pool_valid_window_larger_than_input", raises=(ValueError, "Negative dimension size caused by "
                                                                     "subtracting 2 from 1"))
def _pool_small(tf):
    return tf.nn.max_pool(tf.zeros([1, 1, 5, 3]), [1, 2, 2, 1], [1, 2, 2, 1], "VALID")


@case("max_pool_zero_ksize", raises=(ValueError, "`ksize` cannot be zero"))
def _pool_zero(tf):
    return tf.nn.max_pool(tf.zeros([1, 5, 5, 3]), [1, 0, 2, 1], [1, 2, 2, 1], "SAME")


@case("avg_pool_int32", raises=(TypeError, "DataType int32 not in list of allowed values"))
def _avg_int(tf):
    return tf.nn.avg_pool(tf.zeros([1, 5, 5, 3], tf.int32), [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
