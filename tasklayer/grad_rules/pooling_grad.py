"""Gradient rules of the pooling ops: each is another graph op with the forward op's window attrs (MaxPool's is
MaxPoolGrad, whose own gradient is MaxPoolGradGrad and back, as in TF)."""

from tasklayer.grad_rules import register_gradient
from tasklayer.grad_rules._util import shape_tensor
from tasklayer.ops import array_ops
from tasklayer.ops._window import window_op


@register_gradient("MaxPool")
def _max_pool_grad(op, grad):
    return [window_op("MaxPoolGrad", op, [op.inputs[0], op.outputs[0], grad])]


@register_gradient("MaxPoolGrad")
def _max_pool_grad_grad(op, grad):
    x, y, _ = op.inputs
    # The routing depends on where the maxima are, not smoothly on the values: only the gradient input moves.
    return [array_ops.zeros_like(x), array_ops.zeros_like(y), window_op("MaxPoolGradGrad", op, [x, y, grad])]


@register_gradient("MaxPoolGradGrad")
def _max_pool_grad_grad_grad(op, grad):
    x, y, _ = op.inputs
    return [array_ops.zeros_like(x), array_ops.zeros_like(y), window_op("MaxPoolGrad", op, [x, y, grad])]


@register_gradient("AvgPool")
def _avg_pool_grad(op, grad):
    return [window_op("AvgPoolGrad", op, [shape_tensor(op.inputs[0]), grad])]


@register_gradient("AvgPoolGrad")
def _avg_pool_grad_grad(op, grad):
    return [None, window_op("AvgPool", op, [grad])]
