"""Values of tensors known while building the graph (constants, static shapes), for shape inference."""

import numpy as np


def constant_value(tensor):
    """The value of ``tensor`` as an ndarray when it is known without running the graph, else None."""
    op = tensor.op
    kind = op.type
    if kind == "Const":
        return op.get_attr("value")
    if kind in ("Shape", "Size", "Rank"):
        shape = op.inputs[0].shape
        if kind == "Rank":
            return None if shape.ndims is None else np.array(shape.ndims, np.int32)
        if not shape.is_fully_defined():
            return None
        dt = op.get_attr("out_type").as_numpy_dtype
        return np.array(shape.as_list(), dt) if kind == "Shape" else np.array(shape.num_elements(), dt)
    if kind in ("Identity", "StopGradient"):
        return constant_value(op.inputs[0])
    if kind == "Cast":
        v = constant_value(op.inputs[0])
        return None if v is None else v.astype(op.get_attr("DstT").as_numpy_dtype)
    if kind == "Pack":
        parts = [constant_value(t) for t in op.inputs]
        return None if any(p is None for p in parts) else np.stack(parts, axis=op.get_attr("axis"))
    if kind == "ConcatV2":
        parts = [constant_value(t) for t in op.inputs]
        if any(p is None for p in parts):
            return None
        return np.concatenate(parts[:-1], axis=int(parts[-1]))
    return None


def constant_ints(tensor):
    """The known value of an integer tensor as a tuple of ints (a scalar gives a 1-tuple), else None."""
    v = constant_value(tensor)
    return None if v is None else tuple(int(x) for x in np.ravel(v))


def constant_int(tensor):
    """The known value of a scalar integer tensor as an int, else None."""
    v = constant_value(tensor)
    return None if v is None or np.size(v) != 1 else int(np.ravel(v)[0])


def partial_shape_value(tensor):
    """A 1-D shape tensor's value with None where an entry is unknown (-1 stays -1); None if its length is."""
    known = constant_ints(tensor)
    if known is not None:
        return known
    op = tensor.op
    if op.type == "Pack" and op.get_attr("axis") == 0:
        return tuple(constant_int(t) for t in op.inputs)
    if op.type == "Shape":
        return op.inputs[0].shape.as_tuple()
    if op.type == "StridedSlice" and not any(op.get_attr(m) for m in ("ellipsis_mask", "new_axis_mask",
                                                                      "shrink_axis_mask")):
        whole = partial_shape_value(op.inputs[0])
        spec = [constant_ints(t) for t in op.inputs[1:]]
        if whole is not None and all(s is not None and len(s) == 1 for s in spec):
            (b,), (e,), (s,) = spec
            b = None if op.get_attr("begin_mask") & 1 else b
            e = None if op.get_attr("end_mask") & 1 else e
            return whole[b:e:s]
    if op.type == "ConcatV2":
        parts = [partial_shape_value(t) for t in op.inputs[:-1]]
        return None if any(p is None for p in parts) else sum(parts, ())
    shape = tensor.shape.as_tuple()
    if shape is not None and len(shape) == 1 and shape[0] is not None:
        return (None,) * shape[0]
    return None
