"""The rest of tf.nn's own op types: bias_add, relu6, elu, selu, leaky_relu, softplus, softsign, lrn, top_k,
in_top_k (kernels in ``engine/kernels/numpy_nn_extra.py``, gradients in ``grad_rules/nn_grad.py``)."""

from engine.op_constants import SELU_ALPHA, SELU_SCALE  # noqa: F401 (grad_rules/nn_grad.py reads them here)
from tasklayer import dtypes, shapes
from tasklayer.graph import Tensor, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import static_value
from tasklayer.ops._build import check_dtype, infer_same, make_op, shape_of, unary, who
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.ops.math_ops import cast

for _op in ("Relu6", "Elu", "Selu", "LeakyRelu", "Softplus", "Softsign", "LRNGrad"):
    register_op(_op, infer_same)


def _with_shapes(op):
    """TF's tail of a shape error: ``for BiasAdd 'BiasAdd' with input shapes: [3], [3].``"""
    return f"for {who(op)} with input shapes: {', '.join(shapes.fmt(shape_of(t)) for t in op.inputs)}."


def _need_rank(op, t, rank, at_least=False):
    r = t.shape.ndims
    if r is not None and (r < rank if at_least else r != rank):
        kind = "at least rank" if at_least else "rank"
        raise ValueError(f"Shape must be {kind} {rank} but is rank {r} {_with_shapes(op)}")


def _merge_dim(op, a, b):
    if a is not None and b is not None and a != b:
        raise ValueError(f"Dimensions must be equal, but are {a} and {b} {_with_shapes(op)}")
    return a if a is not None else b


# ---------------------------------------------------------------- bias_add
def _data_format(data_format):
    """TF's reading of a data_format: ``NC...`` is NCHW, ``N...C`` is NHWC (None: NHWC)."""
    if data_format is None:
        return "NHWC"
    if data_format.startswith("NC"):
        return "NCHW"
    if data_format.startswith("N") and data_format.endswith("C"):
        return "NHWC"
    raise ValueError("data_format must be of the form `N...C` or `NC...`")


def _infer_bias_add(op):
    value, bias = op.inputs
    nchw = op.get_attr("data_format") == "NCHW"
    _need_rank(op, value, 3 if nchw else 2, at_least=True)
    _need_rank(op, bias, 1)
    shape = shape_of(value)
    if shape is None:
        return [(value.dtype, None)]
    axis = 1 if nchw else len(shape) - 1
    out = list(shape)
    out[axis] = _merge_dim(op, shape[axis], None if bias.shape.ndims is None else shape_of(bias)[0])
    return [(value.dtype, tuple(out))]


def _infer_bias_add_grad(op):
    g = op.inputs[0]
    nchw = op.get_attr("data_format") == "NCHW"
    _need_rank(op, g, 3 if nchw else 2, at_least=True)
    shape = shape_of(g)
    return [(g.dtype, (None if shape is None else shape[1 if nchw else -1],))]


register_op("BiasAdd", _infer_bias_add)
register_op("BiasAddGrad", _infer_bias_add_grad)


def bias_add(value, bias, data_format=None, name=None):
    """``value + bias`` with the 1-D ``bias`` added along the channel axis (the last for ``NHWC``, axis 1 for
    ``NCHW``).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.nn.bias_add([[1.0, 2.0], [3.0, 4.0]], [10.0, 20.0])).tolist()
    [[11.0, 22.0], [13.0, 24.0]]
    """
    with name_scope(name, "BiasAdd", [value, bias]) as scope:
        data_format = _data_format(data_format)
        value = convert_to_tensor(value, name="input")
        bias = convert_to_tensor(bias, dtype=value.dtype, name="bias")
        check_dtype("BiasAdd", "value", value, dtypes.NUMBERS)
        return make_op("BiasAdd", [value, bias], {"T": value.dtype, "data_format": data_format}, scope).outputs[0]


def bias_add_grad(out_backprop, data_format="NHWC", name=None):
    """The gradient of ``bias_add`` for its bias: ``out_backprop`` summed over all but the channel axis."""
    return make_op("BiasAddGrad", [out_backprop], {"T": out_backprop.dtype, "data_format": data_format},
                   name).outputs[0]


# ---------------------------------------------------------------- activations
def relu6(features, name=None):
    """``min(max(features, 0), 6)`` elementwise.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.nn.relu6([-1.0, 3.0, 7.0])).tolist()
    [0.0, 3.0, 6.0]
    """
    return unary("Relu6", features, name, dtypes.NUMERIC)


def elu(features, name=None):
    """``exp(features) - 1`` where negative, else ``features`` (exponential linear unit).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     [round(v, 4) for v in sess.run(tf.nn.elu([-1.0, 2.0])).tolist()]
    [-0.6321, 2.0]
    """
    return unary("Elu", features, name, dtypes.FLOATS)


def selu(features, name=None):
    """``scale * elu(features)`` with ``alpha * scale`` on the negative side (scaled exponential linear unit,
    scale 1.0507..., alpha 1.6732...).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     [round(v, 4) for v in sess.run(tf.nn.selu([-1.0, 1.0])).tolist()]
    [-1.1113, 1.0507]
    """
    return unary("Selu", features, name, dtypes.FLOATS)


def softplus(features, name=None):
    """``log(exp(features) + 1)`` elementwise, without overflow.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     [round(v, 4) for v in sess.run(tf.nn.softplus([0.0, 100.0])).tolist()]
    [0.6931, 100.0]
    """
    return unary("Softplus", features, name, dtypes.FLOATS)


def softsign(features, name=None):
    """``features / (abs(features) + 1)`` elementwise.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.nn.softsign([-3.0, 1.0])).tolist()
    [-0.75, 0.5]
    """
    return unary("Softsign", features, name, dtypes.FLOATS)


def leaky_relu(features, alpha=0.2, name=None):
    """``features`` where positive, else ``alpha * features``; integer features are cast to float32 first.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.nn.leaky_relu([-2.0, 3.0], alpha=0.5)).tolist()
    [-1.0, 3.0]
    """
    with name_scope(name, "LeakyRelu", [features]) as scope:
        x = convert_to_tensor(features, name="features")
        if x.dtype in dtypes.INTEGERS:
            x = cast(x, dtypes.float32)
        check_dtype("LeakyRelu", "features", x, dtypes.FLOATS)
        if isinstance(alpha, Tensor):
            raise TypeError(f"Expected float for argument 'alpha' not {alpha!r}.")
        alpha = float(getattr(alpha, "item", lambda: alpha)())  # a numpy scalar or 0-d array, as TF takes
        return make_op("LeakyRelu", [x], {"T": x.dtype, "alpha": alpha}, scope).outputs[0]


# ---------------------------------------------------------------- local response normalization
def _infer_lrn(op):
    _need_rank(op, op.inputs[0], 4)
    return infer_same(op)


register_op("LRN", _infer_lrn)

_LRN_ATTRS = ("depth_radius", "bias", "alpha", "beta")


def local_response_normalization(input, depth_radius=5, bias=1, alpha=1, beta=0.5, name=None):  # noqa: A002
    """Each value of a 4-D ``input`` divided by ``(bias + alpha * sqr_sum) ** beta``, ``sqr_sum`` the sum of
    squares over the ``2 * depth_radius + 1`` nearest channels (the last axis). Float32 and float16 as in TF;
    float64 too.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.nn.lrn([[[[3.0, 0.0]]]], depth_radius=1, bias=0.0, alpha=1.0, beta=1.0)).tolist()
    [[[[0.3333333432674408, 0.0]]]]
    """
    with name_scope(name, "LRN", [input]) as scope:
        x = convert_to_tensor(input, name="input")
        check_dtype("LRN", "input", x, dtypes.FLOATS)
        attrs = {"T": x.dtype, "depth_radius": int(depth_radius), "bias": float(bias), "alpha": float(alpha),
                 "beta": float(beta)}
        return make_op("LRN", [x], attrs, scope).outputs[0]


lrn = local_response_normalization


def lrn_grad(grads, input_image, output_image, op):
    """The gradient of the LRN ``op`` for its input (an LRNGrad op with the same attrs)."""
    attrs = {"T": grads.dtype, **{a: op.get_attr(a) for a in _LRN_ATTRS}}
    return make_op("LRNGrad", [grads, input_image, output_image], attrs).outputs[0]


# ---------------------------------------------------------------- top_k, in_top_k
def _infer_top_k(op):
    x, k_t = op.inputs
    _need_rank(op, x, 1, at_least=True)
    _need_rank(op, k_t, 0)
    k = static_value.constant_ints(k_t)
    k = None if k is None else k[0]
    shape = shape_of(x)
    if k is not None and k < 0:
        raise ValueError(f"Need k >= 0, got {k} {_with_shapes(op)}")
    if k is not None and shape is not None and shape[-1] is not None and shape[-1] < k:
        raise ValueError(f"input must have last dimension >= k = {k} but is {shape[-1]} {_with_shapes(op)}")
    out = None if shape is None else shape[:-1] + (k,)
    return [(x.dtype, out), (dtypes.int32, out)]


register_op("TopKV2", _infer_top_k)


def top_k(input, k=1, sorted=True, name=None):  # noqa: A002 - TF's argument names
    """``(values, indices)``: the ``k`` largest entries of the last axis of ``input``, largest first, and their
    int32 indices; equal values come lower index first.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     values, indices = sess.run(tf.nn.top_k([[1.0, 3.0, 3.0, 2.0]], k=3))
    ...     values.tolist(), indices.tolist()
    ([[3.0, 3.0, 2.0]], [[1, 2, 3]])
    """
    with name_scope(name, "TopKV2", [input, k]) as scope:
        x = convert_to_tensor(input, name="input")
        check_dtype("TopKV2", "input", x, dtypes.NUMERIC)
        k_t = convert_to_tensor(k, dtype=dtypes.int32, name="k")
        op = make_op("TopKV2", [x, k_t], {"T": x.dtype, "sorted": bool(sorted)}, scope)
        return op.outputs[0], op.outputs[1]


def _infer_in_top_k(op):
    predictions, targets, k = op.inputs
    _need_rank(op, predictions, 2)
    _need_rank(op, targets, 1)
    _need_rank(op, k, 0)
    ps, ts = shape_of(predictions), shape_of(targets)
    batch = _merge_dim(op, ps and ps[0], ts and ts[0])
    return [(dtypes.bool_, (batch,))]


register_op("InTopKV2", _infer_in_top_k)


def in_top_k(predictions, targets, k, name=None):
    """Whether each ``targets[i]`` is among the ``k`` largest of ``predictions[i]`` (float32 [batch, classes]);
    ties with the k-th value count as in, an out-of-range target or a non-finite row as out.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.nn.in_top_k([[0.1, 0.9, 0.0], [0.5, 0.2, 0.3]], [1, 2], k=1)).tolist()
    [True, False]
    """
    with name_scope(name, "in_top_k", [predictions, targets, k]):
        predictions = convert_to_tensor(predictions, name="predictions")
        if predictions.dtype != dtypes.float32:
            raise TypeError(f"Input 'predictions' of 'InTopKV2' Op has type {predictions.dtype.name} that does not "
                            "match expected type of float32.")
        targets = convert_to_tensor(targets, name="targets", preferred_dtype=dtypes.int32)
        check_dtype("InTopKV2", "targets", targets, (dtypes.int32, dtypes.int64))
        k_t = convert_to_tensor(k, dtype=targets.dtype, name="k")
        return make_op("InTopKV2", [predictions, targets, k_t], {"T": targets.dtype}, name).outputs[0]
