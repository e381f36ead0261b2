"""``tf.nn``: the neural-network ops."""

from tasklayer.ops.nn_ops import (l2_loss, log_softmax, relu, sigmoid, softmax,  # noqa: F401
                                  softmax_cross_entropy_with_logits, softmax_cross_entropy_with_logits_v2,
                                  sparse_softmax_cross_entropy_with_logits, tanh)
