"""Graph ops that only gradient rules build: BroadcastGradientArgs, StridedSliceGrad, Pad, UnsortedSegmentSum."""

from tasklayer.op_registry import register_op
from tasklayer.ops import static_value
from tasklayer.ops._build import make_op, shape_of


def _infer_bcast_args(op):
    return [(op.get_attr("T"), (None,)), (op.get_attr("T"), (None,))]


def _infer_from_shape_input(index, dtype_attr="T"):
    def infer(op):
        return [(op.get_attr(dtype_attr), static_value.partial_shape_value(op.inputs[index]))]
    return infer


def _infer_pad(op):
    x, paddings = op.inputs
    pads = static_value.constant_ints(paddings)
    shape = shape_of(x)
    if shape is None:
        return [(x.dtype, None)]
    if pads is None:
        return [(x.dtype, (None,) * len(shape))]
    return [(x.dtype, tuple(None if d is None else d + pads[2 * i] + pads[2 * i + 1] for i, d in enumerate(shape)))]


def _infer_segment_sum(op):
    data, ids, num = op.inputs
    n = static_value.constant_ints(num)
    ds, is_ = shape_of(data), shape_of(ids)
    tail = None if ds is None or is_ is None else tuple(ds[len(is_):])
    return [(data.dtype, None if tail is None else (n[0] if n else None,) + tail)]


register_op("BroadcastGradientArgs", _infer_bcast_args)
register_op("StridedSliceGrad", _infer_from_shape_input(0))
register_op("Pad", _infer_pad)
register_op("UnsortedSegmentSum", _infer_segment_sum)


def broadcast_gradient_args(s0, s1, name=None):
    """``(r0, r1)``: the axes to sum the gradient over for operands of shapes ``s0`` and ``s1``."""
    op = make_op("BroadcastGradientArgs", [s0, s1], {"T": s0.dtype}, name)
    return op.outputs[0], op.outputs[1]


def strided_slice_grad(shape, begin, end, strides, dy, masks, name=None):
    """Zeros of ``shape`` with ``dy`` where the StridedSlice read."""
    attrs = {"T": dy.dtype, "Index": begin.dtype}
    attrs.update(masks)
    return make_op("StridedSliceGrad", [shape, begin, end, strides, dy], attrs, name).outputs[0]


def pad(x, paddings, name=None):
    """Zero-pad ``x`` by ``paddings`` ([rank, 2])."""
    return make_op("Pad", [x, paddings], {"T": x.dtype, "Tpaddings": paddings.dtype}, name).outputs[0]


def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    """Sum the rows of ``data`` into ``num_segments`` buckets given by ``segment_ids``."""
    attrs = {"T": data.dtype, "Tindices": segment_ids.dtype, "Tnumsegments": num_segments.dtype}
    return make_op("UnsortedSegmentSum", [data, segment_ids, num_segments], attrs, name).outputs[0]

