"""Ops that order work rather than compute: no_op, group, with_dependencies, and TF1's control-flow primitives
(Switch, Merge, Enter, Exit, NextIteration, LoopCond, ControlTrigger) that ``tf.cond`` (``tasklayer.ops.cond``)
and ``tf.while_loop`` (``tasklayer.ops.while_loop``) are built from. What their outputs mean at run time (dead
tensors, frames) is the executor's business: ``engine.frames``."""

from engine import op_defs as engine_op_defs
from tasklayer import dtypes
from tasklayer.graph import Operation, Tensor, colocate_with, control_dependencies, get_default_graph, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops._build import make_op, shape_of
from tasklayer.ops.constant_op import convert_to_tensor

register_op("NoOp", lambda op: [])


def no_op(name=None):
    """An op that does nothing (a target to hang control dependencies on).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.no_op(name="nothing").type
    'NoOp'
    """
    return get_default_graph().create_op("NoOp", [], {}, name=name)


def group(*inputs, name=None):
    """An op that runs after all of ``inputs`` (Tensors/Operations, possibly in lists); it has no output.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     a, b = tf.constant(1), tf.constant(2)
    ...     [op.name for op in tf.group(a, b).control_inputs]
    ['Const', 'Const_1']
    """
    deps = []
    for item in _flatten(inputs):
        op = item.op if isinstance(item, Tensor) else item
        if not isinstance(op, Operation):
            raise TypeError(f"group: expected Tensors or Operations, got {item!r}")
        if op not in deps:
            deps.append(op)
    with name_scope(name, "group_deps", deps) as scope:
        with control_dependencies(deps):
            return no_op(name=scope)


def _flatten(items):
    for item in items:
        if isinstance(item, (list, tuple, set)):
            yield from _flatten(item)
        elif isinstance(item, dict):
            yield from _flatten(list(item.values()))
        else:
            yield item


def with_dependencies(dependencies, output_tensor, name=None):
    """``output_tensor``'s value, produced only after ``dependencies`` ran (an Identity under them).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     v = tf.Variable(1.0)
    ...     sess.run(v.initializer)
    ...     print(sess.run(with_dependencies([v.assign(5.0)], tf.constant(2.0))), sess.run(v))
    2.0 5.0
    """
    with name_scope(name, "control_dependency", list(dependencies) + [output_tensor]) as scope:
        with colocate_with(output_tensor), control_dependencies(dependencies):
            output_tensor = convert_to_tensor(output_tensor)
            return make_op("Identity", [output_tensor], {"T": output_tensor.dtype}, scope).outputs[0]


def tuple_(tensors, name=None, control_inputs=None):
    """``tf.tuple``: the same tensors, each produced only once all of them (and ``control_inputs``) are.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     a, b = tuple_([tf.constant(1), tf.constant(2)])
    ...     print(*sess.run([a, b]))
    1 2
    """
    if isinstance(tensors, (str, bytes)) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"tensors must be a list or tuple. Received: {tensors!r}")
    tensors = list(tensors)
    with name_scope(name, "tuple", tensors) as scope:
        gating = [t.op if isinstance(t, Tensor) else t for t in tensors if t is not None]
        if control_inputs:
            gating += [c.op if isinstance(c, Tensor) else c for c in control_inputs]
        gate = group(*gating)
        return [None if t is None else t if isinstance(t, Operation) else with_dependencies([gate], t)
                for t in tensors]


# ---------------------------------------------------------------- control-flow primitives
def _rank0(op, index, what):
    t = op.inputs[index]
    rank = t.shape.ndims
    if rank not in (None, 0):
        shapes = ", ".join(str(list(x.shape.as_tuple() or [])) for x in op.inputs)
        raise ValueError(f"Shape must be rank 0 but is rank {rank} for '{op.name}' (op: '{op.type}') with input "
                         f"shapes: {shapes}.")
    if t.dtype != dtypes.bool_:
        raise TypeError(f"Input '{what}' of '{op.type}' Op has type {t.dtype.name} that does not match expected type "
                        "of bool.")


def _infer_switch(op):
    _rank0(op, 1, "pred")
    data = op.inputs[0]
    return [(data.dtype, data.shape)] * 2


def _infer_merge(op):
    first = op.inputs[0]
    for t in op.inputs[1:]:
        if t.dtype != first.dtype:
            raise TypeError(f"Input 'inputs' of '{op.type}' Op has type list of {first.dtype.name}, "
                            f"{t.dtype.name}: all its inputs must have one type")
    shapes = [shape_of(t) for t in op.inputs]
    # TF's MergeShape: the dims every input agrees on; an unknown rank when the ranks differ.
    if any(s is None for s in shapes) or len({len(s) for s in shapes}) != 1:
        shape = None
    else:
        shape = tuple(dims[0] if len(set(dims)) == 1 else None for dims in zip(*shapes))
    return [(first.dtype, shape), (dtypes.int32, ())]


def _infer_loop_cond(op):
    _rank0(op, 0, "input")
    return [(dtypes.bool_, ())]


def _infer_forward(op):
    x = op.inputs[0]
    return [(x.dtype, x.shape)]


register_op("Switch", _infer_switch)
register_op("RefSwitch", _infer_switch)
register_op("Merge", _infer_merge)
register_op("LoopCond", _infer_loop_cond)
register_op("ControlTrigger", lambda op: [])
for _op in ("Enter", "RefEnter", "Exit", "NextIteration"):
    register_op(_op, _infer_forward)


def is_ref(tensor):
    """Whether ``tensor`` is a variable itself (a TF1 ref: VariableV2, or a RefSwitch/RefEnter of one), which ref
    ops such as Assign take as is."""
    return engine_op_defs.is_known(tensor.op.type) and engine_op_defs.lookup(tensor.op.type).ref_output


def _colocation(tensor):
    """The ``_class`` attr that keeps a ref op with its variable (a Ref never leaves its variable's task)."""
    op = tensor.op
    if "_class" in op.attr_names:
        return op.get_attr("_class")
    return [f"loc:@{op.name}"]


def switch(data, pred, dtype=None, name=None):
    """``(output_false, output_true)``: ``data`` goes to the output ``pred`` picks; the other one is dead.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     f, t = switch(tf.constant(3.0), tf.constant(True))
    ...     print(sess.run(t))
    3.0
    """
    with name_scope(name, "Switch", [data, pred]) as scope:
        if isinstance(data, Tensor) and is_ref(data):
            op = make_op("RefSwitch", [data, convert_to_tensor(pred, name="pred")],
                         {"T": data.dtype, "_class": _colocation(data)}, scope)
            return op.outputs[0], op.outputs[1]
        data = convert_to_tensor(data, dtype=dtype, name="data")
        pred = convert_to_tensor(pred, name="pred")
        op = make_op("Switch", [data, pred], {"T": data.dtype}, scope)
        return op.outputs[0], op.outputs[1]


def switch_ref_or_tensor(data, pred, name="Switch"):
    """``switch`` placed with ``data`` (a branch's Switch of a value from outside runs where the value is)."""
    data_op = data.op if isinstance(data, Tensor) else None
    if data_op is None:
        return switch(data, pred, name=name)
    with colocate_with(data_op, ignore_existing=True):
        return switch(data, pred, name=name)


def merge(inputs, name=None):
    """``(output, value_index)``: the value of the one live tensor of ``inputs`` and its index.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     f, t = switch(tf.constant(3.0), tf.constant(False))
    ...     print(*sess.run(merge([f * 2, t * 10])))
    6.0 0
    """
    if any(inp is None for inp in inputs):
        raise ValueError(f"At least one of the merge inputs is None: {inputs}")
    with name_scope(name, "Merge", inputs) as scope:
        inputs = [convert_to_tensor(x) for x in inputs]
        op = make_op("Merge", inputs, {"T": inputs[0].dtype, "N": len(inputs)}, scope)
        return op.outputs[0], op.outputs[1]


def enter(data, frame_name, is_constant=False, parallel_iterations=10, name=None):
    """``data`` made available in the child frame ``frame_name`` (a loop); constant there when ``is_constant``."""
    op_type = "RefEnter" if is_ref(data) else "Enter"
    attrs = {"T": data.dtype, "frame_name": frame_name, "is_constant": bool(is_constant),
             "parallel_iterations": int(parallel_iterations)}
    if op_type == "RefEnter":
        attrs["_class"] = _colocation(data)
    return make_op(op_type, [data], attrs, name or "Enter").outputs[0]


def exit(data, name=None):  # noqa: A001 - TF's name
    """``data`` made available in the parent frame of its loop."""
    return make_op("Exit", [data], {"T": data.dtype}, name or "Exit").outputs[0]


def next_iteration(data, name=None):
    """``data`` carried into the next iteration of its loop."""
    return make_op("NextIteration", [data], {"T": data.dtype}, name or "NextIteration").outputs[0]


def loop_cond(pred, name=None):
    """A loop's predicate (the Switches of its loop variables take it)."""
    pred = convert_to_tensor(pred, name="input")
    return make_op("LoopCond", [pred], {}, name or "LoopCond").outputs[0]


def control_trigger(name=None):
    """An op that runs even when its control inputs are dead (it orders, it never dies)."""
    return make_op("ControlTrigger", [], {}, name or "ControlTrigger")
