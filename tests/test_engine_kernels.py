"""Every numpy kernel against numpy (or hand-worked TF semantics), incl. broadcasting and edge shapes."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from engine import dtypes, op_defs
from engine.errors import InvalidArgumentError, OpError
from engine.kernels import registry
from engine.kernels.numpy_shapes import strided_slice_index
from engine.testing import run_op, run_op1

RNG = np.random.default_rng(0)
F32 = np.float32
SHAPE_PAIRS = [((), ()), ((3,), ()), ((), (4,)), ((2, 3), (3,)), ((2, 1, 4), (3, 1)), ((0, 3), (3,)), ((5,), (5,))]


def rand(shape, dtype=F32, low=-3, high=3):
    """Random values of a dtype (ints in [low, high))."""
    if np.dtype(dtype).kind == "f":
        return RNG.uniform(low, high, size=shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return RNG.random(shape) > 0.5
    return RNG.integers(low, high, size=shape).astype(dtype)


def check(got, want, dtype=None):
    got = np.asarray(got)
    assert got.shape == np.shape(want), (got.shape, np.shape(want))
    assert got.dtype == (np.dtype(dtype) if dtype else np.asarray(want).dtype), (got.dtype, dtype)
    np.testing.assert_allclose(got.astype(np.float64), np.asarray(want, np.float64), rtol=2e-6, atol=1e-6)


def test_every_catalog_op_has_a_cpu_kernel():
    catalog = ("Const Placeholder RandomStandardNormal RandomUniform Fill ZerosLike OnesLike Range Shape Size Rank "
               "Add AddV2 Sub Mul RealDiv Div FloorDiv FloorMod Pow Maximum Minimum SquaredDifference Equal "
               "NotEqual Less LessEqual Greater GreaterEqual LogicalAnd LogicalOr Neg Square Sqrt Rsqrt Exp Log "
               "Abs Sign Reciprocal Relu Sigmoid Tanh LogicalNot Identity StopGradient AddN MatMul Sum Mean Max "
               "Min Prod All Any ArgMax ArgMin Reshape Transpose ExpandDims Squeeze Tile BroadcastTo Slice "
               "StridedSlice ConcatV2 Split Pack Unpack GatherV2 Cast Select Where OneHot Softmax LogSoftmax "
               "SoftmaxCrossEntropyWithLogits NoOp _Send _Recv").split()
    missing = [op for op in catalog if registry.get(op, "CPU") is None or not op_defs.is_known(op)]
    assert missing == []


BINARY_FLOAT = {"Add": np.add, "AddV2": np.add, "Sub": np.subtract, "Mul": np.multiply, "RealDiv": np.true_divide,
                "Div": np.true_divide, "Maximum": np.maximum, "Minimum": np.minimum,
                "SquaredDifference": lambda a, b: (a - b) ** 2, "FloorDiv": lambda a, b: np.floor(a / b),
                "FloorMod": np.mod}
COMPARE = {"Equal": np.equal, "NotEqual": np.not_equal, "Less": np.less, "LessEqual": np.less_equal,
           "Greater": np.greater, "GreaterEqual": np.greater_equal}


@pytest.mark.parametrize("op", sorted(BINARY_FLOAT))
@pytest.mark.parametrize("shapes", SHAPE_PAIRS)
def test_binary_float_broadcasting_keeps_float32(op, shapes):
    a, b = rand(shapes[0]), rand(shapes[1], low=0.5, high=3)
    check(run_op1(op, [a, b]), BINARY_FLOAT[op](a.astype(np.float64), b.astype(np.float64)), F32)


@pytest.mark.parametrize("op", sorted(COMPARE))
@pytest.mark.parametrize("shapes", SHAPE_PAIRS[:5])
def test_comparisons_give_bool(op, shapes):
    a, b = rand(shapes[0], np.int32), rand(shapes[1], np.int32)
    check(run_op1(op, [a, b]), COMPARE[op](a, b), np.bool_)


def test_integer_division_floors_like_tf1_div():
    a = np.array([7, -7, 7, -7], np.int32)
    b = np.array([2, 2, -2, -2], np.int32)
    check(run_op1("Div", [a, b]), [3, -4, -4, 3], np.int32)
    check(run_op1("FloorDiv", [a, b]), [3, -4, -4, 3], np.int32)
    check(run_op1("FloorMod", [a, b]), [1, 1, -1, -1], np.int32)
    check(run_op1("FloorMod", [np.float32([-7.5]), np.float32([2])]), [0.5], F32)
    with pytest.raises(InvalidArgumentError, match="Integer division by zero"):
        run_op1("FloorDiv", [a, np.zeros(4, np.int32)])


def test_pow_logical_and_int_ops():
    check(run_op1("Pow", [np.int32([2, 3]), np.int32([3, 2])]), [8, 9], np.int32)
    check(run_op1("Pow", [np.float32([4]), np.float32([0.5])]), [2], F32)
    a, b = rand((3, 4), bool), rand((4,), bool)
    check(run_op1("LogicalAnd", [a, b]), a & b, np.bool_)
    check(run_op1("LogicalOr", [a, b]), a | b, np.bool_)
    check(run_op1("LogicalNot", [a]), ~a, np.bool_)
    check(run_op1("Add", [np.int64([1, 2]), np.int64([3, 4])]), [4, 6], np.int64)


UNARY = {"Neg": np.negative, "Square": np.square, "Sqrt": np.sqrt, "Rsqrt": lambda x: 1 / np.sqrt(x),
         "Exp": np.exp, "Log": np.log, "Abs": np.abs, "Sign": np.sign, "Reciprocal": lambda x: 1 / x,
         "Relu": lambda x: np.maximum(x, 0), "Sigmoid": lambda x: 1 / (1 + np.exp(-x)), "Tanh": np.tanh,
         "Identity": lambda x: x, "StopGradient": lambda x: x}


@pytest.mark.parametrize("op", sorted(UNARY))
@pytest.mark.parametrize("shape", [(), (0,), (7,), (2, 3)])
def test_unary_keeps_dtype(op, shape):
    positive = op in ("Sqrt", "Rsqrt", "Log", "Reciprocal")
    x = rand(shape, low=0.5 if positive else -3)
    for dtype in (F32, np.float64):
        check(run_op1(op, [x.astype(dtype)]), UNARY[op](x.astype(np.float64)), dtype)


def test_sigmoid_is_stable_for_large_inputs():
    with np.errstate(all="raise"):
        out = run_op1("Sigmoid", [np.float32([-1e4, 0, 1e4])])
    check(out, [0, 0.5, 1], F32)


def test_add_n_matmul_cast_select():
    xs = [rand((2, 3)) for _ in range(3)]
    check(run_op1("AddN", xs, N=3), xs[0] + xs[1] + xs[2], F32)
    a, b = rand((3, 4)), rand((5, 4))
    check(run_op1("MatMul", [a, b], transpose_b=True), a @ b.T, F32)
    check(run_op1("MatMul", [a.T.copy(), b.T.copy()], transpose_a=True), a @ b.T, F32)
    with pytest.raises(OpError, match="MatMul node 'op_node'.*in0:0 float32\\[3,4\\], in1:0 float32\\[5,4\\]"):
        run_op1("MatMul", [a, b])
    check(run_op1("Cast", [np.float32([-1.7, 2.9])], SrcT=dtypes.float32, DstT=dtypes.int32), [-1, 2], np.int32)
    check(run_op1("Cast", [np.int32([0, 3])], SrcT=dtypes.int32, DstT=dtypes.bool_), [False, True], np.bool_)
    c, t, e = rand((2, 3), bool), rand((2, 3)), rand((2, 3))
    check(run_op1("Select", [c, t, e], T=dtypes.float32), np.where(c, t, e), F32)
    rows = np.array([True, False])
    check(run_op1("Select", [rows, t, e], T=dtypes.float32), np.where(rows[:, None], t, e), F32)


REDUCE = {"Sum": np.sum, "Mean": np.mean, "Max": np.max, "Min": np.min, "Prod": np.prod}


@settings(max_examples=15, deadline=None)
@given(data=st.data(), op=st.sampled_from(sorted(REDUCE)), keep=st.booleans())
def test_reductions_match_numpy(data, op, keep):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    x = data.draw(hnp.arrays(F32, shape, elements=st.floats(-2, 2, width=32)))
    axes = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), unique_by=lambda a: a % max(len(shape), 1),
                              max_size=len(shape))) if shape else []
    got = run_op1(op, [x, np.array(axes, np.int32)], keep_dims=keep, T=dtypes.float32)
    want = REDUCE[op](x.astype(np.float64), axis=tuple(axes), keepdims=keep)
    assert got.dtype == F32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@settings(max_examples=15, deadline=None)
@given(a=hnp.arrays(np.int32, hnp.array_shapes(max_dims=3, max_side=3), elements=st.integers(-9, 9)),
       b_shape=hnp.array_shapes(max_dims=2, max_side=3))
def test_broadcasting_like_numpy_or_error(a, b_shape):
    b = np.ones(b_shape, np.int32)
    try:
        want = a + b
    except ValueError:
        with pytest.raises(InvalidArgumentError, match="Add node"):
            run_op1("Add", [a, b])
        return
    check(run_op1("Add", [a, b]), want, np.int32)


def test_reduction_edge_cases():
    x = rand((2, 3), np.int32, 0, 9)
    check(run_op1("Sum", [x, np.int32(1)]), x.sum(1), np.int32)  # scalar axis, no int64 widening
    check(run_op1("Sum", [x, np.array([], np.int32)]), x, np.int32)  # empty axes: no reduction
    check(run_op1("Mean", [np.int32([[1, 2], [-3, -4]]), np.int32([1])]), [1, -3], np.int32)  # truncates
    check(run_op1("Max", [np.zeros((0, 2), F32), np.int32([0])]), [-np.inf, -np.inf], F32)
    check(run_op1("Sum", [np.zeros((0, 2), F32), np.int32([0, 1])], keep_dims=True), [[0]], F32)
    b = rand((3, 4), bool)
    check(run_op1("All", [b, np.int32([1])], T=dtypes.bool_), b.all(1), np.bool_)
    check(run_op1("Any", [b, np.int32([0, 1])], T=dtypes.bool_), b.any(), np.bool_)
    with pytest.raises(InvalidArgumentError, match="Invalid reduction dimension 2"):
        run_op1("Sum", [x, np.int32([2])])


def test_argmax_argmin_output_type():
    x = np.float32([[1, 5, 5], [7, 0, 7]])
    check(run_op1("ArgMax", [x, np.int32(1)]), [1, 0], np.int64)
    check(run_op1("ArgMin", [x, np.int32(0)], output_type=dtypes.int32), [0, 1, 0], np.int32)


def test_shape_ops():
    x = rand((2, 3, 4))
    check(run_op1("Reshape", [x, np.int32([4, -1])]), x.reshape(4, 6), F32)
    with pytest.raises(InvalidArgumentError, match="24 values"):
        run_op1("Reshape", [x, np.int32([5, -1])])
    check(run_op1("Transpose", [x, np.int32([2, 0, 1])]), x.transpose(2, 0, 1), F32)
    check(run_op1("ExpandDims", [x, np.int32(-1)]), x[..., None], F32)
    y = rand((1, 3, 1))
    check(run_op1("Squeeze", [y]), y.reshape(3), F32)
    check(run_op1("Squeeze", [y], squeeze_dims=[2]), y.reshape(1, 3), F32)
    check(run_op1("Tile", [x, np.int32([1, 2, 1])]), np.tile(x, (1, 2, 1)), F32)
    check(run_op1("BroadcastTo", [rand((3, 1)), np.int32([2, 3, 4])]).shape, (2, 3, 4))
    check(run_op1("Slice", [x, np.int32([1, 0, 1]), np.int32([-1, 2, 3])]), x[1:, 0:2, 1:4], F32)
    parts = run_op("Split", [np.int32(1), rand((2, 6))], num_split=3, T=dtypes.float32)
    assert [p.shape for p in parts] == [(2, 2)] * 3
    a, b = rand((2, 3)), rand((2, 3))
    check(run_op1("ConcatV2", [a, b, np.int32(-1)], N=2), np.concatenate([a, b], -1), F32)
    check(run_op1("Pack", [a, b], N=2, axis=1), np.stack([a, b], 1), F32)
    outs = run_op("Unpack", [x], num=3, axis=1)
    for i, o in enumerate(outs):
        check(o, x[:, i], F32)
    check(run_op1("GatherV2", [x, np.int32([[2, 0]]), np.int32(2)], Tparams=dtypes.float32, Tindices=dtypes.int32),
          np.take(x, [[2, 0]], axis=2), F32)
    with pytest.raises(InvalidArgumentError, match="not in \\[0, 3\\)"):
        run_op1("GatherV2", [x, np.int32([3]), np.int32(1)], Tparams=dtypes.float32)
    check(run_op1("Where", [np.array([[True, False], [True, True]])], T=dtypes.bool_),
          [[0, 0], [1, 0], [1, 1]], np.int64)
    check(run_op1("OneHot", [np.int64([0, 2, 5]), np.int32(3), F32(1), F32(0)], T=dtypes.float32),
          np.eye(3, dtype=F32)[[0, 2]].tolist() + [[0, 0, 0]], F32)
    check(run_op1("OneHot", [np.int64([1, 0]), np.int32(3), F32(5), F32(-1)], T=dtypes.float32, axis=0),
          [[-1, 5], [5, -1], [-1, -1]], F32)


SLICE_CASES = [  # (begin, end, strides, masks, numpy index)
    ([1], [3], [1], {}, np.s_[1:3]),
    ([0, 1], [0, 3], [1, -1], {"begin_mask": 1, "end_mask": 3}, np.s_[:, 1::-1]),
    ([-1], [0], [-1], {"end_mask": 1}, np.s_[::-1]),
    ([0, 2], [0, 0], [1, 1], {"ellipsis_mask": 1, "shrink_axis_mask": 2}, np.s_[..., 2]),
    ([0, 0, 1], [0, 0, 2], [1, 1, 1], {"new_axis_mask": 1, "ellipsis_mask": 2}, np.s_[None, ..., 1:2]),
    ([1, 0], [2, 0], [1, 1], {"shrink_axis_mask": 1, "new_axis_mask": 2}, np.s_[1, None]),
    ([-2, 0], [100, 0], [2, 1], {"end_mask": 2}, np.s_[-2:100:2, :]),
    ([5], [-10], [-2], {}, np.s_[5:-10:-2]),
]


@pytest.mark.parametrize("begin,end,strides,masks,want", SLICE_CASES)
def test_strided_slice_masks_match_numpy_indexing(begin, end, strides, masks, want):
    x = np.arange(4 * 5 * 6, dtype=F32).reshape(4, 5, 6)
    assert strided_slice_index(begin, end, strides, **masks) is not None
    got = run_op1("StridedSlice", [x, np.int32(begin), np.int32(end), np.int32(strides)], Index=dtypes.int32,
                  T=dtypes.float32, **masks)
    check(got, x[want], F32)


def test_strided_slice_errors():
    x = np.zeros((2, 3), F32)
    with pytest.raises(InvalidArgumentError, match="strides\\[0\\] must be non-zero"):
        run_op1("StridedSlice", [x, np.int32([0]), np.int32([1]), np.int32([0])], T=dtypes.float32)
    with pytest.raises(InvalidArgumentError, match="out of bounds"):
        run_op1("StridedSlice", [x, np.int32([5]), np.int32([6]), np.int32([1])], T=dtypes.float32,
                shrink_axis_mask=1)


def test_nn_ops_are_stable():
    x = np.float32([[1000, 1001, 1002], [-5, 0, 5]])
    ref = np.exp(x.astype(np.float64) - x.max(1, keepdims=True))
    ref /= ref.sum(1, keepdims=True)
    check(run_op1("Softmax", [x]), ref, F32)
    check(run_op1("LogSoftmax", [x]), np.log(ref), F32)
    labels = np.float32([[0, 0, 1], [0.5, 0.5, 0]])
    loss, backprop = run_op("SoftmaxCrossEntropyWithLogits", [x, labels])
    check(loss, -(labels * np.log(ref)).sum(1), F32)
    check(backprop, ref - labels, F32)


def test_sources():
    check(run_op1("Fill", [np.int32([2, 0]), F32(3)], T=dtypes.float32), np.full((2, 0), 3, F32), F32)
    x = rand((2, 3), np.int64)
    check(run_op1("ZerosLike", [x]), np.zeros_like(x), np.int64)
    check(run_op1("OnesLike", [x]), np.ones_like(x), np.int64)
    check(run_op1("Range", [np.int32(3), np.int32(10), np.int32(3)], Tidx=dtypes.int32), [3, 6, 9], np.int32)
    check(run_op1("Range", [F32(0), F32(1), F32(0.25)], Tidx=dtypes.float32), [0, .25, .5, .75], F32)
    check(run_op1("Shape", [x]), [2, 3], np.int32)
    check(run_op1("Size", [x], out_type=dtypes.int64), 6, np.int64)
    check(run_op1("Rank", [x]), 2, np.int32)


def test_random_ops_seeded_and_advancing():
    from engine.executor import Executor
    from engine.graph_util import make_const, make_node
    from protos import graph_pb2

    def graph(seed, seed2):
        return graph_pb2.GraphDef(node=[
            make_const("shape", np.int32([1000])),
            make_node("n", "RandomStandardNormal", ["shape"], dtype=dtypes.float32, seed=seed, seed2=seed2,
                      T=dtypes.int32),
            make_node("u", "RandomUniform", ["shape"], dtype=dtypes.float64, seed=seed, seed2=seed2, T=dtypes.int32)])
    ex = Executor(graph(1, 2))
    n1, u1 = ex.run(fetches=["n:0", "u:0"])
    n2 = ex.run(fetches=["n:0"])[0]
    assert n1.dtype == F32 and u1.dtype == np.float64
    assert not np.array_equal(n1, n2)  # every run draws new values
    assert abs(n1.mean()) < 0.2 and 0.8 < n1.std() < 1.2 and 0 <= u1.min() and u1.max() < 1
    fresh = Executor(graph(1, 2))
    np.testing.assert_array_equal(fresh.run(fetches=["n:0"])[0], n1)  # same seeds: same sequence
    assert not np.array_equal(Executor(graph(1, 3)).run(fetches=["n:0"])[0], n1)
