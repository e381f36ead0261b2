"""``tf.nn``: the neural-network ops."""

from tasklayer.ops.nn_ops import (l2_loss, log_softmax, relu, sigmoid, softmax,  # noqa: F401
                                  softmax_cross_entropy_with_logits, softmax_cross_entropy_with_logits_v2,
                                  sparse_softmax_cross_entropy_with_logits, tanh)

# ---- issue 10 (convolutions and pooling) ----
from tasklayer.ops.conv_ops import (conv2d, conv2d_backprop_filter, conv2d_backprop_input,  # noqa: E402,F401
                                    conv2d_transpose, convolution)
from tasklayer.ops.pooling_ops import avg_pool, avg_pool2d, max_pool, max_pool2d  # noqa: E402,F401

# ---- issue 10 (rest of tf.nn, batch norm, clipping, metrics) ----
from tasklayer.ops.embedding_ops import embedding_lookup  # noqa: E402,F401
from tasklayer.ops.nn_extra_ops import (bias_add, elu, in_top_k, leaky_relu,  # noqa: E402,F401
                                        local_response_normalization, lrn, relu6, selu, softplus, softsign, top_k)
from tasklayer.ops.nn_impl import (batch_normalization, dropout, fused_batch_norm, l2_normalize,  # noqa: E402,F401
                                   moments, sigmoid_cross_entropy_with_logits, weighted_cross_entropy_with_logits,
                                   xw_plus_b)
