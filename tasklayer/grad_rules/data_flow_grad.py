"""Queues, readers and file ops carry no gradient (as in TF): they move and read values, they compute none.
Declared here rather than beside the ops, so that the ops modules need nothing of the gradient rules."""

from tasklayer.grad_rules import not_differentiable
from tasklayer.ops.data_flow_ops import QUEUE_USE_OP_TYPES
from tasklayer.ops.io_ops import IO_OP_TYPES

not_differentiable(*QUEUE_USE_OP_TYPES, *IO_OP_TYPES)
