"""Neural-network kernels: Softmax, LogSoftmax, (Sparse)SoftmaxCrossEntropyWithLogits (last axis, max-shifted)."""

import numpy as np

from engine.errors import InvalidArgumentError
from engine.kernels.registry import register_kernel


@register_kernel("Softmax", "CPU", xp_generic=True)
def softmax(node, env, xp=np):
    """``exp(x - max) / sum(exp(x - max))`` over the last axis."""
    def softmax_fn(logits):
        if logits.ndim < 1:
            raise InvalidArgumentError(None, None, "logits must have at least one dimension")
        e = xp.exp(logits - xp.max(logits, axis=-1, keepdims=True))
        return e / xp.sum(e, axis=-1, keepdims=True)
    return softmax_fn


@register_kernel("LogSoftmax", "CPU", xp_generic=True)
def log_softmax(node, env, xp=np):
    """``(x - max) - log(sum(exp(x - max)))`` over the last axis."""
    def log_softmax_fn(logits):
        if logits.ndim < 1:
            raise InvalidArgumentError(None, None, "logits must have at least one dimension")
        shifted = logits - xp.max(logits, axis=-1, keepdims=True)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))
    return log_softmax_fn


@register_kernel("SoftmaxCrossEntropyWithLogits", "CPU", xp_generic=True)
def softmax_cross_entropy(node, env, xp=np):
    """``(loss [batch], backprop [batch, classes])`` for 2-D features and labels (broadcast together)."""
    def sce_fn(features, labels):
        features, labels = xp.broadcast_arrays(features, labels)
        if features.ndim != 2:
            raise InvalidArgumentError(None, None, f"logits and labels must be 2-D, got shape "
                                                   f"{list(features.shape)}")
        shifted = features - xp.max(features, axis=-1, keepdims=True)
        log_sum = xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))
        log_probs = shifted - log_sum
        loss = -xp.sum(labels * log_probs, axis=-1)
        backprop = xp.exp(log_probs) - labels
        return loss, backprop
    return sce_fn


@register_kernel("SparseSoftmaxCrossEntropyWithLogits", "CPU", xp_generic=True)
def sparse_softmax_cross_entropy(node, env, xp=np):
    """``(loss [batch], backprop [batch, classes])`` for 2-D features and 1-D integer labels in [0, classes)."""
    def ssce_fn(features, labels):
        if features.ndim != 2 or labels.ndim != 1 or labels.shape[0] != features.shape[0]:
            raise InvalidArgumentError(None, None, f"logits must be 2-D and labels 1-D with the same first "
                                                   f"dimension, got logits shape {list(features.shape)} and "
                                                   f"labels shape {list(labels.shape)}")
        classes = features.shape[1]
        if classes == 0:
            raise InvalidArgumentError(None, None, "Must have at least one class, but got logits shape "
                                                   f"{list(features.shape)}")
        # TF on CPU refuses a label out of range rather than return a loss of garbage.
        bad = (labels < 0) | (labels >= classes)
        if bool(xp.any(bad)):
            raise InvalidArgumentError(None, None, f"Received a label value of {int(labels[bad][0])} which is "
                                                   f"outside the valid range of [0, {classes}).")
        shifted = features - xp.max(features, axis=-1, keepdims=True)
        log_probs = shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))
        rows = xp.arange(features.shape[0])
        loss = -log_probs[rows, labels]
        backprop = xp.exp(log_probs)
        backprop[rows, labels] -= 1
        return loss, backprop
    return ssce_fn
