"""Gradient rules of the convolution ops: each is another graph op with the forward op's window attrs (Conv2D's
are its two backprop ops, which differentiate into each other and Conv2D, as in TF)."""

from tasklayer.grad_rules import register_gradient
from tasklayer.grad_rules._util import shape_tensor
from tasklayer.ops._window import window_op


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
