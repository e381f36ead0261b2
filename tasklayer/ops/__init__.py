"""The op functions, one module per family; importing this package registers every op type."""

from tasklayer.ops import (array_ops, constant_op, control_flow_ops, math_ops, nn_ops,  # noqa: F401
                           random_ops, reduction_ops, slicing_ops)
