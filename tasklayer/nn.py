"""``tf.nn``: the neural-network ops."""

from tasklayer.ops.nn_ops import (log_softmax, relu, sigmoid, softmax, softmax_cross_entropy_with_logits,  # noqa: F401
                                  softmax_cross_entropy_with_logits_v2, tanh)
