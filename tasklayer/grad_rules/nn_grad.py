"""Gradient rules of the rest of tf.nn: BiasAdd, the activations, LRN, TopKV2, DynamicPartition/Stitch."""

from tasklayer.grad_rules import _ops, not_differentiable, register_gradient
from tasklayer.ops import array_ops as A
from tasklayer.ops import embedding_ops, nn_extra_ops, nn_ops
from tasklayer.ops import math_ops as M
from tasklayer.ops import reduction_ops as R
from tasklayer.ops import slicing_ops as S

not_differentiable("InTopKV2")


def _masked(mask, grad):
    """``grad`` where ``mask`` holds, else 0."""
    return A.where(mask, grad, A.zeros_like(grad))


@register_gradient("BiasAdd")
def _bias_add_grad(op, grad):
    return [grad, nn_extra_ops.bias_add_grad(grad, data_format=op.get_attr("data_format"))]


@register_gradient("BiasAddGrad")
def _bias_add_grad_grad(op, grad):
    # The bias's gradient summed each channel; its own gradient spreads each channel's value back.
    out_backprop = op.inputs[0]
    rank = out_backprop.shape.ndims
    if rank is None:
        raise ValueError(f"gradient of BiasAddGrad '{op.name}' needs the rank of its input")
    per_channel = [1] * rank
    per_channel[1 if op.get_attr("data_format") == "NCHW" else -1] = -1
    return [A.broadcast_to(A.reshape(grad, per_channel), A.shape(out_backprop))]


@register_gradient("Relu6")
def _relu6_grad(op, grad):
    x = op.inputs[0]
    return [_masked(M.logical_and(M.greater(x, 0), M.less(x, 6)), grad)]


@register_gradient("Elu")
def _elu_grad(op, grad):
    y = op.outputs[0]
    return [A.where(M.less(y, 0), grad * (y + 1), grad)]


@register_gradient("Selu")
def _selu_grad(op, grad):
    y = op.outputs[0]
    return [A.where(M.less(y, 0), grad * (y + nn_extra_ops.SELU_SCALE * nn_extra_ops.SELU_ALPHA),
                    grad * nn_extra_ops.SELU_SCALE)]


@register_gradient("LeakyRelu")
def _leaky_relu_grad(op, grad):
    x = op.inputs[0]
    return [A.where(M.greater(x, 0), grad, grad * op.get_attr("alpha"))]


@register_gradient("Softplus")
def _softplus_grad(op, grad):
    return [grad * nn_ops.sigmoid(op.inputs[0])]


@register_gradient("Softsign")
def _softsign_grad(op, grad):
    return [grad / M.square(1 + M.abs(op.inputs[0]))]


@register_gradient("LRN")
def _lrn_grad(op, grad):
    return [nn_extra_ops.lrn_grad(grad, op.inputs[0], op.outputs[0], op)]


@register_gradient("TopKV2")
def _top_k_grad(op, grad, _indices_grad):
    # Each value's gradient goes back to the position it was taken from: scatter (sum) into a flat zero tensor
    # at row * columns + index, then give it the input's shape.
    if grad is None:
        return [None, None]
    x, indices = op.inputs[0], op.outputs[1]
    in_shape = A.shape(x)
    columns = in_shape[-1]
    k = A.shape(indices)[-1]
    rows_of = A.reshape(indices, A.stack([-1, k]))
    offsets = A.expand_dims(M.range(0, A.shape(rows_of)[0] * columns, columns), -1)
    flat_positions = A.reshape(rows_of + offsets, [-1])
    scattered = _ops.unsorted_segment_sum(A.reshape(grad, [-1]), flat_positions, R.reduce_prod(in_shape))
    return [A.reshape(scattered, in_shape), None]


@register_gradient("DynamicPartition")
def _dynamic_partition_grad(op, *grads):
    data, partitions = op.inputs
    prefix = A.shape(partitions)
    original = A.reshape(M.range(R.reduce_prod(prefix)), prefix)
    pieces = embedding_ops.dynamic_partition(original, partitions, op.get_attr("num_partitions"))
    grads = [A.zeros_like(out) if g is None else g for g, out in zip(grads, op.outputs)]
    return [A.reshape(embedding_ops.dynamic_stitch(pieces, grads), A.shape(data)), None]


@register_gradient("DynamicStitch")
def _dynamic_stitch_grad(op, grad):
    n = op.get_attr("N")
    return [None] * n + [S.gather(grad, idx) for idx in op.inputs[:n]]
