"""TensorShape and the static shape inference helpers (checked against numpy where numpy can say)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from tasklayer import shapes
from tasklayer.shapes import Dimension, TensorShape


def test_tensor_shape_basics():
    s = TensorShape([None, 3])
    assert s.as_list() == [None, 3] and s.ndims == 2 and len(s) == 2 and s.rank == 2
    assert str(s) == "(?, 3)" and repr(s) == "TensorShape([None, 3])" and str(TensorShape([4])) == "(4,)"
    assert s[1] == 3 and s[0].value is None and s[1:].as_list() == [3]
    assert not s.is_fully_defined() and s.num_elements() is None
    assert s.is_compatible_with([7, 3]) and not s.is_compatible_with([7, 4]) and not s.is_compatible_with([3])
    assert s.merge_with([7, None]).as_list() == [7, 3]
    with pytest.raises(ValueError, match="incompatible"):
        s.merge_with([None, 4])
    unknown = TensorShape(None)
    assert unknown.ndims is None and str(unknown) == "<unknown>" and unknown.is_compatible_with([1, 2, 3])
    with pytest.raises(ValueError, match="unknown TensorShape"):
        unknown.as_list()
    assert TensorShape(100).as_list() == [100] and TensorShape([2, 3]).num_elements() == 6
    assert TensorShape([2]) == [2] and TensorShape([2]).concatenate([5]).as_list() == [2, 5]
    assert int(Dimension(4)) == 4 and (Dimension(4) * 2).value == 8 and (Dimension(None) + 1).value is None
    assert shapes.fmt((2, None)) == "[2,?]" and shapes.fmt(None) == "<unknown>"


def test_broadcast_with_unknown_dims():
    assert shapes.broadcast("Add 'a'", (None, 3), (4, 1)) == (4, 3)
    assert shapes.broadcast("Add 'a'", (None,), (1,)) == (None,)
    assert shapes.broadcast("Add 'a'", (None,), None) is None
    with pytest.raises(ValueError, match=r"Add 'a': dimensions must be equal or 1 to broadcast: \[2\] vs \[3\]"):
        shapes.broadcast("Add 'a'", (2,), (3,))


def test_inference_helpers():
    w = "Op 'n'"
    assert shapes.matmul(w, (2, 3), (3, None)) == (2, None)
    assert shapes.matmul(w, (3, 2), (4, 3), transpose_a=True, transpose_b=True) == (2, 4)
    with pytest.raises(ValueError, match=r"Op 'n': inner dimensions must agree: \[2,3\] x \[4,5\]"):
        shapes.matmul(w, (2, 3), (4, 5))
    assert shapes.reshape(w, (2, 6), (-1, 4)) == (3, 4)
    assert shapes.reshape(w, (None, 6), (-1, 3)) == (None, 3)
    with pytest.raises(ValueError, match="only one dimension"):
        shapes.reshape(w, (4,), (-1, -1))
    assert shapes.concat(w, [(2, None), (3, 4)], 0) == (5, 4)
    assert shapes.concat(w, [(2, 4), (None, 4)], 0) == (None, 4)
    assert shapes.gather(w, (5, 3), (2, 7), 0) == (2, 7, 3)
    assert shapes.one_hot(w, (4,), 10, -1) == (4, 10) and shapes.one_hot(w, (4,), 10, 0) == (10, 4)
    assert shapes.slice_(w, (5, None), (1, 0), (-1, 2)) == (4, 2)
    assert shapes.split(w, (6, 4), 0, 3) == (2, 4)
    assert shapes.pack(w, [(2,), (None,)], 1) == (2, 2)
    assert shapes.squeeze(w, (1, None, 1), None) is None and shapes.squeeze(w, (1, 3, 1), None) == (3,)
    assert shapes.tile(w, (2, None), (3, 2)) == (6, None)
    assert shapes.transpose(w, (1, 2, 3), (2, 0, 1)) == (3, 1, 2)
    assert shapes.reduce(w, (2, 3, 4), None, True) == (None, None, None)


@settings(max_examples=30, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4, max_side=4))
def test_property_broadcast_matches_numpy_and_tolerates_unknowns(bs):
    assert shapes.broadcast("x", *bs.input_shapes) == bs.result_shape
    hidden = [tuple(None if d > 1 else d for d in s) for s in bs.input_shapes]
    partial = shapes.broadcast("x", *hidden)
    assert TensorShape(partial).is_compatible_with(bs.result_shape)


@settings(max_examples=30, deadline=None)
@given(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4), st.data(), st.booleans())
def test_property_reduce_matches_numpy(shape, data, keepdims):
    axes = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), max_size=4))
    want = np.zeros(shape).sum(axis=tuple({a % len(shape) for a in axes}), keepdims=keepdims).shape
    assert shapes.reduce("x", shape, axes, keepdims) == want


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_property_strided_slice_matches_numpy(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    key = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    want = np.zeros(shape)[key].shape
    spec = key if isinstance(key, tuple) else (key,)
    begin, end, strides, masks = [], [], [], dict(begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0,
                                                  shrink_axis_mask=0)
    for i, s in enumerate(spec):
        if isinstance(s, slice):
            begin.append(s.start or 0)
            end.append(s.stop or 0)
            strides.append(s.step or 1)
            masks["begin_mask"] |= (s.start is None) << i
            masks["end_mask"] |= (s.stop is None) << i
        elif s is Ellipsis or s is None:
            begin.append(0), end.append(0), strides.append(1)
            masks["ellipsis_mask" if s is Ellipsis else "new_axis_mask"] |= 1 << i
        else:
            begin.append(s), end.append(s + 1), strides.append(1)
            masks["shrink_axis_mask"] |= 1 << i
    assert shapes.strided_slice("x", shape, begin, end, strides, **masks) == want
