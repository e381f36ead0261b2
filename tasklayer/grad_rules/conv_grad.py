"""Gradient rules of the convolution and pooling ops: each is another graph op with the forward op's window
attrs (Conv2D's are its two backprop ops, which differentiate into each other and Conv2D, as in TF)."""

from tasklayer.grad_rules import register_gradient
from tasklayer.grad_rules._util import shape_tensor
from tasklayer.ops import array_ops
from tasklayer.ops.conv_ops import window_op


@register_gradient("Conv2D")
def _conv2d_grad(op, grad):
    x, w = op.inputs
    return [window_op("Conv2DBackpropInput", op, [shape_tensor(x), w, grad]),
            window_op("Conv2DBackpropFilter", op, [x, shape_tensor(w), grad])]


@register_gradient("Conv2DBackpropInput")
def _conv2d_backprop_input_grad(op, grad):
    _, w, dy = op.inputs
    return [None,
            window_op("Conv2DBackpropFilter", op, [grad, shape_tensor(w), dy]),
            window_op("Conv2D", op, [grad, w])]


@register_gradient("Conv2DBackpropFilter")
def _conv2d_backprop_filter_grad(op, grad):
    x, _, dy = op.inputs
    return [window_op("Conv2DBackpropInput", op, [shape_tensor(x), grad, dy]),
            None,
            window_op("Conv2D", op, [x, grad])]


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
