"""Test helpers: run one op on numpy inputs through the real executor, build GraphDefs tersely."""

import numpy as np

from engine import dtypes, op_defs
from engine.executor import Executor
from engine.graph_util import make_node
from protos import graph_pb2


def single_op_graph(op, inputs, device="", **attrs):
    """A GraphDef: one Placeholder per input (``in0``, ``in1``, ...) feeding node ``op_node``; T defaults to
    the first input's dtype."""
    g = graph_pb2.GraphDef()
    names = []
    for i, value in enumerate(inputs):
        value = np.asarray(value)
        g.node.append(make_node(f"in{i}", "Placeholder", dtype=dtypes.as_dtype(value.dtype)))
        names.append(f"in{i}")
    if inputs and "T" not in attrs:
        attrs["T"] = dtypes.as_dtype(np.asarray(inputs[0]).dtype)
    g.node.append(make_node("op_node", op, names, device=device, **attrs))
    return g


def run_op(op, inputs, device="", **attrs):
    """Run ``op`` on ``inputs`` (arrays); its outputs as a list of ndarrays."""
    g = single_op_graph(op, inputs, device=device, **attrs)
    n = len(op_defs.output_dtypes(g.node[-1]))
    feeds = {f"in{i}:0": np.asarray(v) for i, v in enumerate(inputs)}
    return Executor(g).run(feeds, [f"op_node:{k}" for k in range(n)])


def run_op1(op, inputs, device="", **attrs):
    """``run_op`` for one-output ops: the output."""
    return run_op(op, inputs, device=device, **attrs)[0]
