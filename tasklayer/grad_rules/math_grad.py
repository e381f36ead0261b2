"""Gradient rules of the elementwise, matmul and reduction ops."""

import numpy as np

from tasklayer import dtypes
from tasklayer.grad_rules import not_differentiable, register_gradient
from tasklayer.grad_rules._util import restore_reduced, static_reduction_axes, static_shape, unbroadcast
from tasklayer.ops import array_ops as A
from tasklayer.ops import math_ops as M
from tasklayer.ops import nn_ops
from tasklayer.ops import reduction_ops as R

not_differentiable("Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd",
                   "LogicalOr", "LogicalNot", "ArgMax", "ArgMin", "FloorDiv", "FloorMod", "All", "Any",
                   "Range", "Shape", "Size", "Rank", "ZerosLike", "OnesLike", "RandomStandardNormal",
                   "RandomUniform", "OneHot", "Where", "Const", "Placeholder", "VariableV2", "NoOp",
                   "IsVariableInitialized", "BroadcastGradientArgs")


def _binary(op, gx, gy):
    x, y = op.inputs
    return [unbroadcast(gx, x, y), unbroadcast(gy, y, x)]


@register_gradient("Add")
@register_gradient("AddV2")
def _add_grad(op, grad):
    return _binary(op, grad, grad)


@register_gradient("Sub")
def _sub_grad(op, grad):
    return _binary(op, grad, -grad)


@register_gradient("Mul")
def _mul_grad(op, grad):
    x, y = op.inputs
    return _binary(op, grad * y, x * grad)


@register_gradient("RealDiv")
@register_gradient("Div")
def _div_grad(op, grad):
    x, y = op.inputs
    return _binary(op, grad / y, -grad * x / (y * y))


@register_gradient("Pow")
def _pow_grad(op, grad):
    x, y = op.inputs
    z = op.outputs[0]
    gx = grad * y * M.pow(x, y - 1)
    positive = M.greater(x, A.zeros_like(x))
    log_x = A.where(positive, M.log(A.where(positive, x, A.ones_like(x))), A.zeros_like(x))
    return _binary(op, gx, grad * z * log_x)


def _select_grad(mask, grad):
    zeros = A.zeros_like(grad)
    return A.where(mask, grad, zeros), A.where(mask, zeros, grad)


@register_gradient("Maximum")
def _maximum_grad(op, grad):
    x, y = op.inputs
    mask = M.greater_equal(x, y)
    if static_shape(grad) is None or mask.shape.as_tuple() != grad.shape.as_tuple():
        mask = M.logical_and(mask, A.ones_like(grad, dtype=dtypes.bool_))
    return _binary(op, *_select_grad(mask, grad))


@register_gradient("Minimum")
def _minimum_grad(op, grad):
    x, y = op.inputs
    mask = M.less_equal(x, y)
    if static_shape(grad) is None or mask.shape.as_tuple() != grad.shape.as_tuple():
        mask = M.logical_and(mask, A.ones_like(grad, dtype=dtypes.bool_))
    return _binary(op, *_select_grad(mask, grad))


@register_gradient("SquaredDifference")
def _squared_difference_grad(op, grad):
    x, y = op.inputs
    d = grad * 2 * (x - y)
    return _binary(op, d, -d)


@register_gradient("Neg")
def _neg_grad(op, grad):
    return [-grad]


@register_gradient("Square")
def _square_grad(op, grad):
    return [grad * 2 * op.inputs[0]]


@register_gradient("Sqrt")
def _sqrt_grad(op, grad):
    return [grad * 0.5 / op.outputs[0]]


@register_gradient("Rsqrt")
def _rsqrt_grad(op, grad):
    y = op.outputs[0]
    return [grad * -0.5 * y * y * y]


@register_gradient("Exp")
def _exp_grad(op, grad):
    return [grad * op.outputs[0]]


@register_gradient("Log")
def _log_grad(op, grad):
    return [grad / op.inputs[0]]


@register_gradient("Abs")
def _abs_grad(op, grad):
    return [grad * M.sign(op.inputs[0])]


@register_gradient("Sign")
def _sign_grad(op, grad):
    return [A.zeros_like(op.inputs[0])]


@register_gradient("Reciprocal")
def _reciprocal_grad(op, grad):
    y = op.outputs[0]
    return [-grad * y * y]


@register_gradient("Relu")
def _relu_grad(op, grad):
    y = op.outputs[0]
    return [A.where(M.greater(y, A.zeros_like(y)), grad, A.zeros_like(grad))]


@register_gradient("Sigmoid")
def _sigmoid_grad(op, grad):
    y = op.outputs[0]
    return [grad * y * (1 - y)]


@register_gradient("Tanh")
def _tanh_grad(op, grad):
    y = op.outputs[0]
    return [grad * (1 - y * y)]


@register_gradient("Identity")
def _identity_grad(op, grad):
    return [grad]


@register_gradient("StopGradient")
def _stop_gradient_grad(op, grad):
    return [None]


@register_gradient("AddN")
def _add_n_grad(op, grad):
    return [grad] * len(op.inputs)


@register_gradient("Cast")
def _cast_grad(op, grad):
    src, dst = op.get_attr("SrcT"), op.get_attr("DstT")
    if src in dtypes.FLOATS and dst in dtypes.FLOATS:
        return [M.cast(grad, src)]
    return [None]


@register_gradient("MatMul")
def _matmul_grad(op, grad):
    a, b = op.inputs
    ta, tb = op.get_attr("transpose_a"), op.get_attr("transpose_b")
    if not ta and not tb:
        return [M.matmul(grad, b, transpose_b=True), M.matmul(a, grad, transpose_a=True)]
    if not ta and tb:
        return [M.matmul(grad, b), M.matmul(grad, a, transpose_a=True)]
    if ta and not tb:
        return [M.matmul(b, grad, transpose_b=True), M.matmul(a, grad)]
    return [M.matmul(b, grad, transpose_a=True, transpose_b=True),
            M.matmul(grad, a, transpose_a=True, transpose_b=True)]


# ---------------------------------------------------------------- reductions
@register_gradient("Sum")
def _sum_grad(op, grad):
    return [restore_reduced(grad, op), None]


def _reduced_count(op):
    x, y = op.inputs[0], op.outputs[0]
    sx, axes = static_shape(x), static_reduction_axes(op)
    if sx is not None and axes is not None:
        return float(np.prod([sx[a] for a in axes])) if axes else 1.0
    return M.cast(A.size(x), x.dtype) / M.cast(M.maximum(A.size(y), 1), x.dtype)


@register_gradient("Mean")
def _mean_grad(op, grad):
    return [restore_reduced(grad, op) / _reduced_count(op), None]


def _extreme_grad(op, grad):
    x = op.inputs[0]
    y_full = restore_reduced(op.outputs[0], op)
    hits = M.cast(M.equal(x, y_full), grad.dtype)
    ties = R.reduce_sum(hits, _axes(op), keepdims=True)
    return [hits / ties * restore_reduced(grad, op), None]


def _axes(op):
    """A reduction's axes: static ints when known, else its axes tensor (the rank is known only at run time)."""
    axes = static_reduction_axes(op)
    return op.inputs[1] if axes is None else axes


register_gradient("Max")(_extreme_grad)
register_gradient("Min")(_extreme_grad)


@register_gradient("Prod")
def _prod_grad(op, grad):
    # d prod / d x_i = product of the other elements: prod / x_i without zeros; with one zero only that element
    # gets the product of the rest; with two or more, every derivative is zero.
    x = op.inputs[0]
    axes = _axes(op)
    is_zero = M.equal(x, A.zeros_like(x))
    nonzero = A.where(is_zero, A.ones_like(x), x)
    prod_nonzero = R.reduce_prod(nonzero, axes, keepdims=True)
    zero_count = R.reduce_sum(M.cast(is_zero, x.dtype), axes, keepdims=True)
    one_zero = M.cast(M.equal(zero_count, A.ones_like(zero_count)), x.dtype)
    no_zero = M.cast(M.equal(zero_count, A.zeros_like(zero_count)), x.dtype)
    others = A.where(is_zero, A.broadcast_to(prod_nonzero * one_zero, A.shape(x)), prod_nonzero / nonzero * no_zero)
    return [others * restore_reduced(grad, op), None]


# ---------------------------------------------------------------- nn
@register_gradient("Softmax")
def _softmax_grad(op, grad):
    y = op.outputs[0]
    return [(grad - R.reduce_sum(grad * y, -1, keepdims=True)) * y]


@register_gradient("LogSoftmax")
def _log_softmax_grad(op, grad):
    return [grad - R.reduce_sum(grad, -1, keepdims=True) * M.exp(op.outputs[0])]


@register_gradient("SoftmaxCrossEntropyWithLogits")
def _softmax_xent_grad(op, grad_loss, grad_backprop):
    features, labels = op.inputs
    backprop = op.outputs[1]
    if grad_backprop is not None:
        raise LookupError(f"SoftmaxCrossEntropyWithLogits '{op.name}': gradients through its backprop output "
                          "(second order) are not supported")
    if grad_loss is None:
        return [None, None]
    g = A.expand_dims(grad_loss, -1)
    g_features = unbroadcast(g * backprop, features, labels)
    g_labels = unbroadcast(g * -nn_ops.log_softmax(features), labels, features)
    return [g_features, g_labels]


@register_gradient("SparseSoftmaxCrossEntropyWithLogits")
def _sparse_softmax_xent_grad(op, grad_loss, grad_backprop):
    if grad_backprop is not None:
        raise LookupError(f"SparseSoftmaxCrossEntropyWithLogits '{op.name}': gradients through its backprop "
                          "output (second order) are not supported")
    if grad_loss is None:
        return [None, None]
    # The kernel's backprop output is softmax(logits) - onehot(labels); the labels (indices) get none.
    return [A.expand_dims(grad_loss, -1) * op.outputs[1], None]
