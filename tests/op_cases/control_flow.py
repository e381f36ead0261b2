"""Cases of control flow: tf.cond, tf.case and tf.while_loop, their values and gradients (names start cond_, case_
and while_ so that ``bench/tf_reference.py --only`` picks them)."""

import numpy as np

from tests.op_cases import case

_W = np.float32([[0.5, -0.3], [0.2, 0.8]])
_XS = np.float32([[0.1, 0.2], [0.3, -0.1], [-0.2, 0.4]])


def _pred(tf, value):
    p = tf.placeholder(tf.bool, [])
    return p, {p: value}


@case("cond_takes_the_true_branch", expect=lambda: np.float32(9))
def _cond_true(tf):
    p, feed = _pred(tf, True)
    x = tf.constant(3.0)
    return tf.cond(p, lambda: x * x, lambda: -x), feed


@case("cond_takes_the_false_branch", expect=lambda: np.float32(-3))
def _cond_false(tf):
    p, feed = _pred(tf, False)
    x = tf.constant(3.0)
    return tf.cond(p, lambda: x * x, lambda: -x), feed


@case("cond_branches_return_nested_structures",
      expect=lambda: {"a": (np.float32(6), np.int32(7)), "b": [np.float32(-1)]})
def _cond_structures(tf):
    p, feed = _pred(tf, False)
    x = tf.constant(2.0)
    return tf.cond(p, lambda: {"a": (x, tf.constant(1)), "b": [x + 1]},
                   lambda: {"a": (x * 3, tf.constant(7)), "b": [x - 3]}, strict=True), feed


@case("cond_nested_in_a_branch", expect=lambda: [np.float32(12), np.float32(10)])
def _cond_nested(tf):
    p, q = tf.placeholder(tf.bool, []), tf.placeholder(tf.bool, [])
    x = tf.constant(10.0)
    inner = tf.cond(p, lambda: tf.cond(q, lambda: x + 1, lambda: x + 2), lambda: x * 2)
    outer = tf.cond(q, lambda: x * 2, lambda: tf.cond(p, lambda: x, lambda: x * 3))
    return [inner, outer], {p: True, q: False}


@case("cond_of_operations_gives_the_taken_pivot", expect=lambda: np.bool_(False))
def _cond_ops(tf):
    p, feed = _pred(tf, False)
    return tf.cond(p, lambda: tf.no_op(), lambda: tf.no_op()), feed


@case("cond_runs_the_side_effects_of_the_taken_branch_only", init=True,
      expect=lambda: [np.float32(0), np.float32(1)])
def _cond_side_effects(tf):
    p, feed = _pred(tf, False)
    a, b = tf.Variable(0.0), tf.Variable(0.0)
    r = tf.cond(p, lambda: tf.assign_add(a, 1.0), lambda: tf.assign_add(b, 1.0))
    with tf.control_dependencies([r]):
        return [tf.identity(a.read_value()), tf.identity(b.read_value())], feed


@case("cond_gradient_flows_through_the_true_branch", expect=lambda: [np.float32(6), np.float32(0)])
def _cond_grad_true(tf):
    p, feed = _pred(tf, True)
    x, y = tf.constant(3.0), tf.constant(5.0)
    out = tf.cond(p, lambda: x * x, lambda: y * 4.0)
    return tf.gradients(out, [x, y]), feed


@case("cond_gradient_flows_through_the_false_branch", expect=lambda: [np.float32(0), np.float32(4)])
def _cond_grad_false(tf):
    p, feed = _pred(tf, False)
    x, y = tf.constant(3.0), tf.constant(5.0)
    out = tf.cond(p, lambda: x * x, lambda: y * 4.0)
    return tf.gradients(out, [x, y]), feed


@case("cond_gradient_of_a_tensor_used_in_both_branches", expect=lambda: np.float32([1.5, 6.0]))
def _cond_grad_both(tf):
    p, feed = _pred(tf, False)
    x = tf.constant([0.5, -1.0])
    out = tf.reduce_sum(tf.cond(p, lambda: tf.exp(x), lambda: x * x * x * 2.0))
    return tf.gradients(out, x)[0], feed


@case("case_first_true_predicate_wins", expect=lambda: np.int32(1))
def _case_first(tf):
    x = tf.placeholder(tf.int32, [])
    r = tf.case([(x < 0, lambda: tf.constant(-1)), (x < 5, lambda: tf.constant(1)), (x < 9, lambda: tf.constant(2))],
                default=lambda: tf.constant(0))
    return r, {x: 3}


@case("case_falls_back_to_the_default", expect=lambda: np.int32(0))
def _case_default(tf):
    x = tf.placeholder(tf.int32, [])
    r = tf.case([(x < 0, lambda: tf.constant(-1)), (x < 5, lambda: tf.constant(1))], default=lambda: tf.constant(0))
    return r, {x: 30}


@case("case_exclusive_with_two_true_predicates_fails", raises=(Exception, "more than 1 conditions"))
def _case_exclusive(tf):
    x = tf.placeholder(tf.int32, [])
    r = tf.case([(x < 0, lambda: tf.constant(-1)), (x < 5, lambda: tf.constant(1))], default=lambda: tf.constant(0),
                exclusive=True)
    return r, {x: -3}


@case("while_counts_and_sums", expect=lambda: [np.int32(10), np.int32(45)])
def _while_sum(tf):
    i, total = tf.while_loop(lambda i, t: i < 10, lambda i, t: (i + 1, t + i), [tf.constant(0), tf.constant(0)])
    return [i, total]


@case("while_carries_nested_structures",
      expect=lambda: [np.int32(3), {"a": np.float32(8), "b": (np.float32([3, 3]), np.int32(-3))}])
def _while_structures(tf):
    def body(i, v):
        return i + 1, {"a": v["a"] * 2.0, "b": (v["b"][0] + 1.0, v["b"][1] - 1)}
    init = (tf.constant(0), {"a": tf.constant(1.0), "b": (tf.zeros([2]), tf.constant(0))})
    return list(tf.while_loop(lambda i, v: i < 3, body, init))  # a list: (x, dict) would read as (fetches, feeds)


@case("while_shape_invariant_lets_a_tensor_grow", expect=lambda: np.float32(np.ones(16)))
def _while_grow(tf):
    return tf.while_loop(lambda x: tf.size(x) < 10, lambda x: tf.concat([x, x], 0), [tf.ones([1])],
                         shape_invariants=[tf.TensorShape([None])])


@case("while_maximum_iterations_stops_the_loop", expect=lambda: np.int32(4))
def _while_max(tf):
    return tf.while_loop(lambda x: x < 100, lambda x: x + 1, [tf.constant(0)], maximum_iterations=4)


@case("while_loops_nest", expect=lambda: np.int32(sum(j for i in range(5) for j in range(i))))
def _while_nested(tf):
    def outer(i, acc):
        _, s = tf.while_loop(lambda j, s: j < i, lambda j, s: (j + 1, s + j), [tf.constant(0), tf.constant(0)])
        return i + 1, acc + s
    return tf.while_loop(lambda i, a: i < 5, outer, [tf.constant(0), tf.constant(0)])[1]


@case("while_body_with_a_cond", expect=lambda: np.int32(sum(k if k % 2 == 0 else -k for k in range(6))))
def _while_cond(tf):
    def body(k, s):
        return k + 1, tf.cond(tf.equal(k % 2, 0), lambda: s + k, lambda: s - k)
    return tf.while_loop(lambda k, s: k < 6, body, [tf.constant(0), tf.constant(0)])[1]


@case("while_in_a_cond_branch", expect=lambda: [np.int32(12), np.int32(-1)])
def _while_in_cond(tf):
    p, q = tf.placeholder(tf.bool, []), tf.placeholder(tf.bool, [])

    def loop():
        return tf.while_loop(lambda k: k < 10, lambda k: k + 3, [tf.constant(0)])
    return [tf.cond(p, loop, lambda: tf.constant(-1)), tf.cond(q, loop, lambda: tf.constant(-1))], {p: True, q: False}


@case("while_gradient_of_repeated_squaring", expect=lambda: [np.float32(1.5 ** 8), np.float32(8 * 1.5 ** 7)],
      rtol=1e-5)
def _while_grad_power(tf):
    x = tf.constant(1.5)
    _, z = tf.while_loop(lambda i, z: i < 3, lambda i, z: (i + 1, z * z), [tf.constant(0), x])
    return [z, tf.gradients(z, x)[0]]


@case("while_gradient_with_no_iteration_is_one", expect=lambda: [np.float32(1.5), np.float32(1)])
def _while_grad_zero(tf):
    x = tf.constant(1.5)
    _, z = tf.while_loop(lambda i, z: i < 0, lambda i, z: (i + 1, z * z), [tf.constant(0), x])
    return [z, tf.gradients(z, x)[0]]


def _rnn_numpy():
    """h_t = tanh(h_{t-1} W + x_t), loss = sum(h_T): the loss and its gradients for h_0 and W."""
    hs = [np.float32([[0.1, -0.2]])]
    for x in _XS:
        hs.append(np.tanh(hs[-1] @ _W + x))
    grad_h, grad_w = np.ones_like(hs[-1]), np.zeros_like(_W)
    for t in range(len(_XS), 0, -1):
        pre = grad_h * (1 - hs[t] ** 2)
        grad_w += hs[t - 1].T @ pre
        grad_h = pre @ _W.T
    return [np.float32(hs[-1].sum()), grad_h.astype(np.float32), grad_w.astype(np.float32)]


@case("while_gradient_of_an_rnn_reaches_the_weights", expect=_rnn_numpy, rtol=1e-4, atol=1e-5)
def _while_rnn(tf):
    w = tf.constant(_W)
    xs = tf.constant(_XS)
    h0 = tf.constant([[0.1, -0.2]])

    def body(t, h):
        return t + 1, tf.tanh(tf.matmul(h, w) + xs[t])
    _, h = tf.while_loop(lambda t, h: t < 3, body, [tf.constant(0), h0])
    loss = tf.reduce_sum(h)
    return [loss] + tf.gradients(loss, [h0, w])


@case("while_gradient_through_a_cond_in_the_body", rtol=1e-4,
      expect=lambda: np.float32(np.prod([2.0 if k % 2 == 0 else 3.0 for k in range(5)])))
def _while_grad_cond(tf):
    x = tf.constant(1.0)

    def body(k, v):
        return k + 1, tf.cond(tf.equal(k % 2, 0), lambda: v * 2.0, lambda: v * 3.0)
    _, y = tf.while_loop(lambda k, v: k < 5, body, [tf.constant(0), x])
    return tf.gradients(y, x)[0]
