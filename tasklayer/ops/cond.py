"""``tf.cond`` and ``tf.case`` as TF1 builds them (Switch and Merge, with a ``CondContext`` per branch), and
``smart_cond``, which picks a branch while building when the predicate is known then.

Only the taken branch runs: its ops get their outside inputs through Switches on the predicate, and ops without
inputs hang on the branch's pivot, so the ops of the other branch are dead (they do not run, side effects
included). The results of the two branches meet in Merges.

>>> import tasklayer as tf
>>> with tf.Graph().as_default(), tf.Session() as sess:
...     x = tf.placeholder(tf.float32, [])
...     y = tf.cond(x > 0, lambda: x * 10, lambda: -x)
...     print(sess.run(y, {x: 2.0}), sess.run(y, {x: -3.0}))
20.0 3.0
"""

import collections
import functools

import numpy as np

from tasklayer import dtypes, tf_logging
from tasklayer.graph import Operation, Tensor, control_dependencies, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import array_ops, control_flow_ops, math_ops, nest, reduction_ops, static_value
from tasklayer.ops._build import make_op, who
from tasklayer.ops.constant_op import constant, convert_to_tensor
from tasklayer.ops.control_flow_context import CondContext

__all__ = ["cond", "case", "smart_cond", "smart_constant_value"]


def _unpack_if_singleton(result):
    return result[0] if isinstance(result, (list, tuple)) and len(result) == 1 else result


def _build_branch(context, fn):
    """Call ``fn`` inside ``context``: ``(what it returned, its flat tensors as seen by the Merges)``."""
    with context.entered():
        original = fn()
        if original is None:
            return None, None

        def as_branch_tensor(value):
            if isinstance(value, Operation):  # an op stands for the pivot, made to wait for it
                return control_flow_ops.with_dependencies([value], context.pivot)
            return context.add_value(convert_to_tensor(value))
        return original, nest.flatten(nest.map_structure(as_branch_tensor, original))


def cond(pred, true_fn=None, false_fn=None, strict=False, name=None, fn1=None, fn2=None):
    """``true_fn()`` if ``pred`` is true else ``false_fn()``, deciding when the graph runs; both functions are
    called once, now, and must return the same structure of tensors (a singleton list or tuple is unpacked
    unless ``strict``; an Operation stands for a tensor that waits for it).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     p = tf.placeholder(tf.bool, [])
    ...     a, b = tf.cond(p, lambda: (tf.constant(1), tf.constant(2)), lambda: (tf.constant(3), tf.constant(4)))
    ...     print(*sess.run([a, b], {p: False}))
    3 4
    """
    if fn1 is not None:
        if true_fn is not None:
            raise TypeError("cond(): 'true_fn' and 'fn1' may not be set simultaneously.")
        true_fn = fn1
    elif true_fn is None:
        raise TypeError("cond(): 'true_fn' argument required")
    if fn2 is not None:
        if false_fn is not None:
            raise TypeError("cond(): 'false_fn' and 'fn2' may not be set simultaneously.")
        false_fn = fn2
    elif false_fn is None:
        raise TypeError("cond(): 'false_fn' argument required")
    if not callable(true_fn):
        raise TypeError("'true_fn' must be callable.")
    if not callable(false_fn):
        raise TypeError("'false_fn' must be callable.")
    with name_scope(name, "cond", [pred]):
        if isinstance(pred, (bool, np.bool_)):
            raise TypeError("'pred' must not be a Python bool.")
        pred = convert_to_tensor(pred, name="pred")
        p_false, p_true = control_flow_ops.switch(pred, pred)
        pivot_true = array_ops.identity(p_true, name="switch_t")
        pivot_false = array_ops.identity(p_false, name="switch_f")
        pred = array_ops.identity(pred, name="pred_id")
        results = []
        for fn, pivot, branch, what in ((true_fn, pivot_true, 1, "true_fn"), (false_fn, pivot_false, 0, "false_fn")):
            original, flat = _build_branch(CondContext(pred, pivot, branch), fn)
            if original is None:
                raise ValueError(f"'{what}' must have a return value.")
            results.append((original, flat))
        (orig_t, flat_t), (orig_f, flat_f) = results
        if not strict:
            orig_t, orig_f = _unpack_if_singleton(orig_t), _unpack_if_singleton(orig_f)
        nest.assert_same_structure(orig_t, orig_f)
        if not flat_t:
            raise ValueError("'true_fn' and 'false_fn' must return at least one result.")
        for t, f in zip(flat_t, flat_f):
            if t.dtype != f.dtype:
                raise ValueError(f"Outputs of 'true_fn' and 'false_fn' must have the same type(s). Received "
                                 f"{t.dtype.name} from 'true_fn' and {f.dtype.name} from 'false_fn'.")
        merges = [control_flow_ops.merge([f, t])[0] for f, t in zip(flat_f, flat_t)]
        merges = nest.pack_sequence_as(orig_t, merges)
        return merges if strict else _unpack_if_singleton(merges)


# ---------------------------------------------------------------- case
def _infer_assert(op):
    if op.inputs[0].dtype != dtypes.bool_ or not op.inputs[0].shape.is_compatible_with(()):
        raise ValueError(f"{who(op)}: the condition must be a bool scalar, got {op.inputs[0].dtype.name} of shape "
                         f"{op.inputs[0].shape}")
    return []


register_op("Assert", _infer_assert, stateful=True)  # the engine's kernel raises "assertion failed: [...]"


def _assert(condition, data, name="Assert"):
    with name_scope(name, "Assert", [condition]) as scope:
        data = [convert_to_tensor(d) for d in data]
        return make_op("Assert", [condition] + data, {"T": [d.dtype for d in data], "summarize": len(data) + 8},
                       scope)


def _assert_at_most_n_true(predicates, n, msg):
    preds = array_ops.stack(list(predicates), name="preds_c")
    count = reduction_ops.reduce_sum(math_ops.cast(preds, dtypes.int32), name="num_true_conds")
    condition = math_ops.less_equal(count, constant(n, name="n_true_conds"))
    names = ", ".join(getattr(p, "name", "?") for p in predicates)
    return _assert(condition, [f"{msg}: more than {n} conditions ({names}) evaluated as True:", preds])


def _default_action(predicates, actions):
    """The last pair's action as the default, run only after checking that its predicate holds and no other does
    (TF's case without a default)."""
    k = len(predicates) - 1
    predicate, action = predicates[k], actions[k]
    others, other_actions = predicates[:k], actions[:k]

    def default_action():
        others_msg = (f"Implementation error: selected default action #{k} was called, but some of other predicates "
                      "are True: ")
        checks = [_assert(predicate, ["Input error: None of conditions evaluated as True:",
                                      array_ops.stack(list(predicates), name="preds_c")])]
        if others:
            checks.insert(0, _assert_at_most_n_true(others, 0, others_msg))
        with control_dependencies(checks):
            return action()
    return default_action, others, other_actions


def _case_pairs(pred_fn_pairs, exclusive, name):
    if not isinstance(pred_fn_pairs, (list, tuple, dict)):
        raise TypeError(f"'pred_fn_pairs' must be a list, tuple, or dict. Received: {type(pred_fn_pairs)}")
    if isinstance(pred_fn_pairs, collections.OrderedDict):
        pred_fn_pairs = list(pred_fn_pairs.items())
    elif isinstance(pred_fn_pairs, dict):
        pred_fn_pairs = sorted(pred_fn_pairs.items(), key=lambda item: item[0].name)
        if not exclusive:
            tf_logging.warn("%s: An unordered dictionary of predicate/fn pairs was provided, but exclusive=False. The "
                            "order of conditional tests is deterministic but not guaranteed.", name)
    for pair in pred_fn_pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(f"Each entry in 'pred_fn_pairs' must be a 2-tuple. Received {pair}.")
        pred, fn = pair
        if not isinstance(pred, Tensor):
            raise TypeError(f"pred must be a Tensor, got: {pred}")
        if pred.dtype != dtypes.bool_:
            raise TypeError(f"pred must be Tensor of type bool: {pred.name}")
        if not callable(fn):
            raise TypeError(f"fn for pred {pred.name} must be callable.")
    return [p for p, _ in pred_fn_pairs], [f for _, f in pred_fn_pairs]


def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """The result of the first ``(predicate, fn)`` pair whose predicate is true, else of ``default()``; with
    ``exclusive``, an InvalidArgumentError at run time when more than one predicate is true. Without a default,
    the last pair's function serves as one (and checks its predicate).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     x = tf.placeholder(tf.int32, [])
    ...     r = tf.case([(x < 0, lambda: tf.constant(-1)), (x > 0, lambda: tf.constant(1))],
    ...                 default=lambda: tf.constant(0))
    ...     print(*[sess.run(r, {x: v}) for v in (-5, 0, 5)])
    -1 0 1
    """
    predicates, actions = _case_pairs(pred_fn_pairs, exclusive, name)
    with name_scope(name, "case", predicates):
        if default is None:
            default, predicates, actions = _default_action(predicates, actions)
        fn = default
        for predicate, action in reversed(list(zip(predicates, actions))):
            fn = functools.partial(cond, predicate, true_fn=action, false_fn=fn, strict=strict)
        if exclusive:
            with control_dependencies([_assert_at_most_n_true(predicates, 1, "Input error: exclusive=True")]):
                return fn()
        return fn()


# ---------------------------------------------------------------- smart_cond
def smart_constant_value(pred):
    """``pred``'s value when it is known while building (a Python or numpy bool, or a constant tensor), else None;
    TypeError for anything else."""
    if isinstance(pred, (bool, np.bool_)):
        return bool(pred)
    if isinstance(pred, (int, np.integer)) and pred in (0, 1):
        return bool(pred)
    if isinstance(pred, Tensor):
        value = static_value.constant_value(pred)
        return None if value is None else bool(value)
    raise TypeError(f"`pred` must be a Tensor, or a Python bool, or 1 or 0. Found instead: {type(pred)}")


def smart_cond(pred, true_fn=None, false_fn=None, name=None):
    """``true_fn()`` or ``false_fn()`` chosen now when ``pred`` is known while building (a bool, a constant),
    else ``tf.cond`` (TF's ``smart_cond``).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     smart_cond(True, lambda: tf.constant(1), lambda: tf.constant(2)).op.type
    'Const'
    """
    if not callable(true_fn):
        raise TypeError(f"`true_fn` must be callable: {true_fn}")
    if not callable(false_fn):
        raise TypeError(f"`false_fn` must be callable: {false_fn}")
    value = smart_constant_value(pred)
    if value is None:
        return cond(pred, true_fn=true_fn, false_fn=false_fn, name=name)
    return true_fn() if value else false_fn()
