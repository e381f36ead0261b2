"""``tf.while_loop`` as TF1 builds it: per loop variable an Enter into the loop's frame, a Merge of it with the
NextIteration of the body's result, a Switch on the LoopCond of ``cond``'s result, an Identity feeding the body
and an Exit with the final value. The executor runs the frame once per iteration (``engine.frames``).

>>> import tasklayer as tf
>>> with tf.Graph().as_default(), tf.Session() as sess:
...     i, total = tf.while_loop(lambda i, t: i < 5, lambda i, t: (i + 1, t + i), [0, 0])
...     print(*sess.run([i, total]))
5 10
"""

from tasklayer.graph import get_default_graph, name_scope
from tasklayer.ops import array_ops, control_flow_ops, math_ops, nest
from tasklayer.ops.constant_op import constant, convert_to_tensor
from tasklayer.ops.control_flow_context import WhileContext
from tasklayer.shapes import TensorShape

__all__ = ["while_loop", "build_loop"]


def _shape_less_or_equal(shape, invariant):
    """Whether ``shape`` fits ``invariant`` (as specific as it, or more)."""
    inv = invariant.as_tuple()
    if inv is None:
        return True
    dims = shape.as_tuple()
    if dims is None or len(dims) != len(inv):
        return False
    return all(b is None or a == b for a, b in zip(dims, inv))


def _shape_str(shape):
    dims = shape.as_tuple()
    return "<unknown>" if dims is None else "(" + ", ".join("None" if d is None else str(d) for d in dims) + \
        ("," if len(dims) == 1 else "") + ")"


def _force_shape(tensor, shape):
    """Give ``tensor`` the static shape ``shape`` even when it is less specific than the inferred one (a loop
    variable's Enter takes its shape invariant)."""
    tensor._shape = shape


def _enforce_shape_invariant(merge_var, next_var):
    if not _shape_less_or_equal(next_var.shape, merge_var.shape):
        entering = merge_var.op.inputs[0].op.inputs[0]
        raise ValueError(f"Input tensor '{entering.name}' enters the loop with shape {_shape_str(entering.shape)}, "
                         f"but has shape {_shape_str(next_var.shape)} after one iteration. To allow the shape to vary "
                         "across iterations, use the `shape_invariants` argument of tf.while_loop to specify a "
                         "less-specific shape.")


def _outer_control_pivot(ctx):
    ctx = ctx.outer
    while ctx is not None:
        pivot = ctx.control_pivot()
        if pivot is not None:
            return pivot
        ctx = ctx.outer
    return None


def build_loop(ctx, cond, body, loop_vars, shape_invariants=None, return_same_structure=False):
    """Build the loop of ``ctx`` (a new ``WhileContext``); its results packed like the body's result (one result
    unpacked unless ``return_same_structure``)."""
    graph = ctx.graph
    flat_vars = [convert_to_tensor(v) for v in nest.flatten(loop_vars)]
    if shape_invariants is None:
        flat_invariants = [v.shape for v in flat_vars]
    else:
        nest.assert_same_structure(loop_vars, shape_invariants, check_types=False)
        flat_invariants = [TensorShape(s) for s in nest.flatten(shape_invariants)]
    structure = nest.pack_sequence_as(loop_vars, flat_vars)
    # The control dependencies around the loop apply to its Enters (ops that wait for nothing else).
    outer_controls = [graph._control_inputs_for([v.op]) for v in flat_vars]
    with ctx.entered():
        real_vars = flat_vars if ctx.outer is None else [ctx.outer.add_value(v) for v in flat_vars]
        enters = []
        with graph.control_dependencies(None):
            for var, invariant in zip(real_vars, flat_invariants):
                if not _shape_less_or_equal(var.shape, invariant):
                    raise ValueError(f"The shape invariant specified for {var.name} is not compatible with the "
                                     f"initial shape of the loop variable. It enters the loop with shape "
                                     f"{_shape_str(var.shape)}, but the specified shape invariant is "
                                     f"{_shape_str(invariant)}.")
                enter = control_flow_ops.enter(var, ctx.name, is_constant=False,
                                               parallel_iterations=ctx.parallel_iterations)
                _force_shape(enter, invariant)
                enters.append(enter)
        pivot = _outer_control_pivot(ctx)
        for enter, controls in zip(enters, outer_controls):
            enter.op._control_flow_context = ctx
            extra = list(controls)
            if pivot is not None and enter.op.inputs[0].op.type in ("Enter", "RefEnter"):
                extra.append(pivot.op)
            if extra:
                enter.op._add_control_inputs(extra)
        ctx.loop_enters = enters
        merges = [control_flow_ops.merge([e, e])[0] for e in enters]
        ctx.merges = merges
        ctx.pivot_for_pred = merges[0]
        packed = nest.pack_sequence_as(structure, merges)
        ctx.pivot = control_flow_ops.loop_cond(convert_to_tensor(cond(*packed)), name="LoopCond")
        switches = [control_flow_ops.switch_ref_or_tensor(m, ctx.pivot) for m in merges]
        ctx.switches = [s[0].op for s in switches]
        body_vars = [array_ops.identity(s[1]) for s in switches]
        ctx.body_inputs = body_vars
        ctx.pivot_for_body = body_vars[0]
        packed_body = nest.pack_sequence_as(structure, body_vars)
        result = body(*packed_body)
        if not nest.is_nested(result):
            result = [result]
        nest.assert_same_structure(list(packed_body), list(result))
        flat_result = [convert_to_tensor(v) for v in nest.flatten(result)]
        if len(merges) != len(flat_result):
            raise ValueError(f"Number of inputs and outputs of 'body' must match 'loop_vars'. Got {len(merges)} for "
                             f"the number of inputs/outputs, and {len(flat_result)} for 'loop_vars'.")
        for m, v in zip(merges, flat_result):
            if v.dtype != m.dtype:
                raise TypeError(f"Input 1 of node {m.op.name} was passed {v.dtype.name} from {v.name} incompatible "
                                f"with expected {m.dtype.name}: the body must keep each loop variable's dtype.")
            n = control_flow_ops.next_iteration(v)
            _enforce_shape_invariant(m, n)
            graph._update_input(m.op, 1, n)
            ctx.next_iterations.append(n.op)
        ctx.loop_exits = [control_flow_ops.exit(s[0]) for s in switches]
    packed_exits = nest.pack_sequence_as(result, ctx.loop_exits)
    if return_same_structure:
        return packed_exits
    return packed_exits[0] if len(ctx.loop_exits) == 1 else packed_exits


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10, back_prop=True,
               swap_memory=False, name=None, maximum_iterations=None, return_same_structure=False):
    """Repeat ``body`` while ``cond`` is true: ``loop_vars`` is a (possibly nested) list or tuple of tensors,
    ``cond(*vars)`` a bool scalar and ``body(*vars)`` new values of the same structure, dtypes and shapes (or
    shapes within ``shape_invariants``). ``maximum_iterations`` stops the loop after that many iterations.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     x = tf.while_loop(lambda x: tf.reduce_sum(x) < 100, lambda x: tf.concat([x, x], 0), [tf.ones([1])],
    ...                       shape_invariants=[tf.TensorShape([None])])
    ...     sess.run(tf.shape(x)).tolist()
    [128]
    """
    if not callable(cond):
        raise TypeError("'cond' must be callable.")
    if not callable(body):
        raise TypeError("'body' must be callable.")
    if parallel_iterations < 1:
        raise TypeError("'parallel_iterations' must be a positive integer.")
    with name_scope(name, "while", [v for v in nest.flatten(loop_vars) if hasattr(v, "graph")]):
        if not loop_vars:
            raise ValueError("'loop_vars' must be provided.")
        try_to_pack = len(loop_vars) == 1 and not return_same_structure
        if maximum_iterations is not None:
            maximum_iterations = convert_to_tensor(maximum_iterations, name="maximum_iterations")
            if maximum_iterations.shape.ndims != 0:
                raise ValueError(f"'maximum_iterations' must be a scalar. Received shape: {maximum_iterations.shape}")
            counter = constant(0, dtype=maximum_iterations.dtype, name="iteration_counter")
            orig_cond, orig_body, limit = cond, body, maximum_iterations
            if try_to_pack:
                loop_vars = (counter, loop_vars[0])

                def cond(i, lv):
                    return math_ops.logical_and(i < limit, orig_cond(lv))

                def body(i, lv):
                    return i + 1, orig_body(lv)
            else:
                loop_vars = (counter, loop_vars)

                def cond(i, lv):
                    return math_ops.logical_and(i < limit, orig_cond(*lv))

                def body(i, lv):
                    return i + 1, orig_body(*lv)
            if shape_invariants is not None:
                shape_invariants = (TensorShape([]), shape_invariants)
        ctx = WhileContext(maximum_iterations, parallel_iterations, back_prop, swap_memory,
                           graph=get_default_graph())
        result = build_loop(ctx, cond, body, loop_vars, shape_invariants, return_same_structure)
        return result[1] if maximum_iterations is not None else result
