"""The TF1 graph API: write ``import tasklayer as tf`` where a TensorFlow 1.x program says ``import tensorflow
as tf``.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     x = tf.constant(5)
...     z = (x - 8) * (x + 1)
...     with tf.Session() as sess:
...         print(sess.run(z))
-18
"""

from tasklayer import dtypes, errors, nn  # noqa: F401
from tasklayer.dtypes import (DType, as_dtype, double, float16, float32, float64, half, int32, int64,  # noqa: F401
                              string, uint8)
from tasklayer.graph import (Graph, GraphKeys, Operation, Tensor, add_to_collection, colocate_with,  # noqa: F401
                             control_dependencies, device, get_collection, get_collection_ref,
                             get_default_graph, name_scope, reset_default_graph)
from tasklayer.graph_io import import_graph_def  # noqa: F401
from tasklayer.ops.array_ops import (broadcast_to, concat, expand_dims, fill, identity, one_hot, ones,  # noqa: F401
                                     ones_like, placeholder, rank, reshape, shape, size, squeeze, stack,
                                     stop_gradient, tile, transpose, unstack, where, zeros, zeros_like)
from tasklayer.ops.constant_op import (constant, convert_to_tensor,  # noqa: F401
                                       register_tensor_conversion_function)
from tasklayer.ops.control_flow_ops import group, no_op  # noqa: F401
from tasklayer.ops.math_ops import (abs, add, add_n, cast, div, divide, equal, exp, floordiv, floormod,  # noqa: F401
                                    greater, greater_equal, less, less_equal, log, logical_and, logical_not,
                                    logical_or, matmul, maximum, minimum, mod, multiply, negative, not_equal,
                                    pow, range, realdiv, reciprocal, rsqrt, sign, sqrt, square,
                                    squared_difference, subtract, truediv)
from tasklayer.ops.nn_ops import sigmoid, tanh  # noqa: F401
from tasklayer.ops.random_ops import random_normal, random_uniform, set_random_seed  # noqa: F401
from tasklayer.ops.reduction_ops import (argmax, argmin, reduce_all, reduce_any, reduce_max,  # noqa: F401
                                         reduce_mean, reduce_min, reduce_prod, reduce_sum)
from tasklayer.ops.slicing_ops import gather, newaxis, slice, split, strided_slice  # noqa: F401
from tasklayer.session import InteractiveSession, Session, get_default_session  # noqa: F401
from tasklayer.shapes import Dimension, TensorShape  # noqa: F401

bool = dtypes.bool_  # noqa: A001 - TF's name (tf.bool)
sub, mul = subtract, multiply

# tf.train is imported plainly, so that a module of it that fails to import fails `import tasklayer` with its cause.
from tasklayer import train  # noqa: E402,F401

# Variables, gradients, layers and losses. `tf.gradients` is the function: the line below rebinds the name of
# the submodule, so code inside the package imports `from tasklayer.gradients import gradients` instead.
from tasklayer import initializers, layers, losses  # noqa: E402,F401
from tasklayer.gradients import gradients  # noqa: E402,F401
from tasklayer.initializers import (constant_initializer, glorot_uniform_initializer,  # noqa: E402,F401
                                    ones_initializer, random_normal_initializer, random_uniform_initializer,
                                    zeros_initializer)
from tasklayer.state_ops import assign, assign_add, assign_sub  # noqa: E402,F401
from tasklayer.variable_scope import (AUTO_REUSE, VariableScope, get_variable, get_variable_scope,  # noqa: E402,F401
                                      variable_scope)
from tasklayer.variables import (Variable, global_variables, global_variables_initializer,  # noqa: E402,F401
                                 is_variable_initialized, local_variables, local_variables_initializer, model_variables,
                                 report_uninitialized_variables, trainable_variables, variables_initializer)

initialize_all_variables = global_variables_initializer  # TF1's deprecated alias

# ---- issue 5 (session configuration, lossy transfer): appended by the config helper --------------------------
from tasklayer.session_config import ConfigProto, GPUOptions, GraphOptions, OptimizerOptions  # noqa: E402,F401

# ---- issue 10 (TF1 scaffolding, dtypes, random ops, initializers) ----
from tasklayer.dtypes import (bfloat16, complex64, complex128, int8, int16, uint16, uint32,  # noqa: E402,F401
                              uint64)
from tasklayer.ops.math_ops import (saturate_cast, to_bfloat16, to_complex64, to_complex128,  # noqa: E402,F401
                                    to_double, to_float, to_int32, to_int64)
from tasklayer.ops.linalg_ops import qr  # noqa: E402,F401
from tasklayer.ops.random_ops import (get_seed, multinomial, random_crop, random_shuffle,  # noqa: E402,F401
                                      truncated_normal)
from tasklayer.initializers import (glorot_normal_initializer, orthogonal_initializer,  # noqa: E402,F401
                                    truncated_normal_initializer, uniform_unit_scaling_initializer,
                                    variance_scaling_initializer)
from tasklayer import app, flags, tf_random as random, tf_logging as logging  # noqa: E402,F401
from tasklayer.tf_logging import get_logger  # noqa: E402,F401

# ---- issue 10 (queues and queue-based input) ----
from tasklayer.ops.data_flow_ops import FIFOQueue, PaddingFIFOQueue, QueueBase, RandomShuffleQueue  # noqa: E402,F401
from tasklayer.ops.io_ops import (ReaderBase, TextLineReader, WholeFileReader, decode_csv,  # noqa: E402,F401
                                 matching_files, read_file, write_file)
from tasklayer.training.input import count_up_to  # noqa: E402,F401

# ---- issue 10 (rest of tf.nn, batch norm, clipping, metrics) ----
from tasklayer import metrics  # noqa: E402,F401
from tasklayer.ops.clip_ops import (clip_by_average_norm, clip_by_global_norm, clip_by_norm,  # noqa: E402,F401
                                    clip_by_value, global_norm)
from tasklayer.ops.embedding_ops import dynamic_partition, dynamic_stitch  # noqa: E402,F401

# ---- issue 10 (Supervisor, session hooks, tf.estimator) ----
from tasklayer import estimator  # noqa: E402,F401

# ---- issue 10 (tf.data) ----
from tasklayer import data  # noqa: E402,F401

# ---- issue 10 (package layers) ----
from tasklayer.distributed import remote_session as _remote_session  # noqa: E402,F401 - registers grpc:// targets
from tasklayer import local_session as _local_session  # noqa: E402,F401 - registers the in-process target

# ---- issue 10 (control flow: cond, case, while_loop) ----
from tasklayer.graph import init_scope  # noqa: E402,F401
from tasklayer.ops.cond import case, cond  # noqa: E402,F401
from tasklayer.ops.control_flow_ops import tuple_ as tuple  # noqa: E402,F401,A004
from tasklayer.ops.while_loop import while_loop  # noqa: E402,F401

# ---- issue 10 (tf.summary, tf.gfile, tf.io, RunOptions/RunMetadata) ----
from tasklayer import gfile, io, summary  # noqa: E402,F401
from tasklayer.summary import Event, SessionLog, Summary  # noqa: E402,F401
from tasklayer.summary.messages import RunMetadata, RunOptions  # noqa: E402,F401

# ---- issue 10 (tf.contrib) ----
from tasklayer import contrib  # noqa: E402,F401
