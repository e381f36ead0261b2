"""The cupy backend against the numpy reference, kernel by kernel (skipped where there is no GPU/cupy)."""

import numpy as np
import pytest

from engine import dtypes
from engine.kernels import cupy_backend, registry
from engine.testing import run_op

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not cupy_backend.AVAILABLE, reason="needs cupy and an NVIDIA GPU")]

GPU = "/job:localhost/replica:0/task:0/device:GPU:0"
R = np.random.default_rng(0)
F32 = dtypes.float32


def f(*shape, low=-3.0, high=3.0):
    return R.uniform(low, high, shape).astype(np.float32)


BINARY = ["Add", "AddV2", "Sub", "Mul", "RealDiv", "Div", "FloorDiv", "FloorMod", "Pow", "Maximum", "Minimum",
          "SquaredDifference", "Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual"]
UNARY = ["Neg", "Square", "Sqrt", "Rsqrt", "Exp", "Log", "Abs", "Sign", "Reciprocal", "Relu", "Sigmoid", "Tanh",
         "Identity", "StopGradient"]
CASES = (
    [(op, [f(2, 3), f(3, low=0.5)], {}) for op in BINARY]
    + [(op, [f(4, 5, low=0.5)], {}) for op in UNARY]
    + [("LogicalAnd", [f(3) > 0, f(3) > 0], {"T": dtypes.bool_}), ("LogicalOr", [f(3) > 0, f(3) > 0],
                                                                      {"T": dtypes.bool_}),
       ("LogicalNot", [f(3) > 0], {"T": dtypes.bool_}),
       ("AddN", [f(2, 2), f(2, 2), f(2, 2)], {"N": 3}),
       ("MatMul", [f(3, 4), f(5, 4)], {"transpose_b": True}),
       ("Cast", [f(4)], {"SrcT": F32, "DstT": dtypes.int32}),
       ("Select", [f(2, 3) > 0, f(2, 3), f(2, 3)], {}),
       ("Sum", [f(3, 4), np.int32([1])], {"keep_dims": True}), ("Mean", [f(3, 4), np.int32([0, 1])], {}),
       ("Max", [f(3, 4), np.int32([0])], {}), ("Min", [f(3, 4), np.int32([1])], {}),
       ("Prod", [f(3, 4), np.int32([1])], {}),
       ("All", [f(3, 4) > 0, np.int32([1])], {"T": dtypes.bool_}), ("Any", [f(3, 4) > 0, np.int32([0])],
                                                                       {"T": dtypes.bool_}),
       ("ArgMax", [f(3, 4), np.int32(1)], {}), ("ArgMin", [f(3, 4), np.int32(0)], {}),
       ("Reshape", [f(2, 6), np.int32([3, -1])], {}), ("Transpose", [f(2, 3, 4), np.int32([1, 2, 0])], {}),
       ("ExpandDims", [f(2, 3), np.int32(1)], {}), ("Squeeze", [f(1, 3, 1)], {}),
       ("Tile", [f(2, 3), np.int32([2, 1])], {}), ("BroadcastTo", [f(3, 1), np.int32([2, 3, 4])], {}),
       ("Slice", [f(4, 5), np.int32([1, 1]), np.int32([-1, 2])], {}),
       ("StridedSlice", [f(4, 5, 6), np.int32([0, 1]), np.int32([0, 4]), np.int32([1, -1])],
        {"begin_mask": 1, "end_mask": 1, "shrink_axis_mask": 0}),
       ("ConcatV2", [f(2, 3), f(2, 3), np.int32(0)], {"N": 2}), ("Split", [np.int32(1), f(2, 6)], {"num_split": 3}),
       ("Pack", [f(2, 3), f(2, 3)], {"N": 2, "axis": 1}), ("Unpack", [f(3, 2)], {"num": 3}),
       ("GatherV2", [f(4, 3), np.int32([3, 0]), np.int32(0)], {"Tparams": F32}),
       ("Where", [f(3, 4) > 0], {"T": dtypes.bool_}),
       ("OneHot", [np.int64([0, 2, 5]), np.int32(3), np.float32(1), np.float32(0)], {}),
       ("Softmax", [f(3, 5)], {}), ("LogSoftmax", [f(3, 5)], {}),
       ("SoftmaxCrossEntropyWithLogits", [f(3, 5), np.eye(5, dtype=np.float32)[[0, 2, 4]]], {}),
       ("Fill", [np.int32([2, 3]), np.float32(7)], {}), ("ZerosLike", [f(2, 2)], {}), ("OnesLike", [f(2, 2)], {}),
       ("Range", [np.int32(0), np.int32(9), np.int32(2)], {"Tidx": dtypes.int32}),
       ("Shape", [f(2, 3)], {}), ("Size", [f(2, 3)], {}), ("Rank", [f(2, 3)], {})])


def test_gpu_kernels_are_registered():
    assert registry.get("MatMul", "GPU") is not None and registry.get("Add", "GPU") is not None


@pytest.mark.parametrize("op,inputs,attrs", CASES, ids=[c[0] + str(i) for i, c in enumerate(CASES)])
def test_gpu_kernel_matches_numpy(op, inputs, attrs):
    if op == "OneHot":
        attrs = dict(attrs, T=F32)
    cpu = run_op(op, inputs, **attrs)
    gpu = run_op(op, inputs, device=GPU, **attrs)
    assert len(cpu) == len(gpu)
    for c, g in zip(cpu, gpu):
        assert isinstance(g, np.ndarray) and g.dtype == c.dtype and g.shape == c.shape
        np.testing.assert_allclose(g.astype(np.float64), c.astype(np.float64), rtol=1e-5, atol=1e-5)


def test_mixed_cpu_gpu_graph_and_soft_placed_ops():
    from engine.executor import Executor
    from engine.graph_util import make_const, make_node
    from protos import graph_pb2
    g = graph_pb2.GraphDef(node=[
        make_node("x", "Placeholder", dtype=F32),
        make_node("mm", "MatMul", ["x", "x"], T=F32, device=GPU),
        make_const("shape", np.int32([4, 4])),
        make_node("noise", "RandomUniform", ["shape"], dtype=F32, seed=1, seed2=1, T=dtypes.int32, device=GPU),
        make_node("y", "Add", ["mm", "noise"], T=F32, device=GPU),
        make_node("z", "Neg", ["y"], T=F32)])  # back on the CPU
    x = f(4, 4)
    z, noise = Executor(g).run({"x:0": x}, ["z:0", "noise:0"])
    np.testing.assert_allclose(z, -(x @ x + noise), rtol=1e-5, atol=1e-5)
