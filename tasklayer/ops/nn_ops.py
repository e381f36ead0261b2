"""Neural-network ops: relu, sigmoid, tanh, softmax, log_softmax, softmax cross-entropy."""

from tasklayer import dtypes, shapes
from tasklayer.graph import name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops._build import check_dtype, infer_same, make_op, shape_of, unary, who
from tasklayer.ops.constant_op import convert_to_tensor

for _op in ("Relu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax"):
    register_op(_op, infer_same)


def relu(features, name=None):
    """``max(features, 0)`` elementwise.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.nn.relu([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    return unary("Relu", features, name, dtypes.NUMERIC)


def sigmoid(x, name=None):
    """``1 / (1 + exp(-x))`` elementwise.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.sigmoid(0.0)))
    0.5
    """
    return unary("Sigmoid", x, name, dtypes.FLOATS)


def tanh(x, name=None):
    """Hyperbolic tangent elementwise.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.tanh(0.0)))
    0.0
    """
    return unary("Tanh", x, name, dtypes.FLOATS)


def _along_last_axis(fn, x, axis, scope):
    """Apply ``fn`` (which works on the last axis) along ``axis`` by swapping it to the end and back."""
    rank = x.shape.ndims
    if axis is None or axis == -1 or rank is not None and axis == rank - 1:
        return fn(x, scope)
    if rank is None:
        raise ValueError(f"'{scope[:-1]}': axis {axis} needs the rank of the input to be known")
    from tasklayer.ops.array_ops import transpose
    axis = shapes._axis(f"'{scope[:-1]}'", axis, rank)
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    return transpose(fn(transpose(x, perm), None), perm, name=scope)


def _softmax(op_type, logits, axis, name, dim):
    axis = dim if axis is None else axis
    with name_scope(name, op_type, [logits]) as scope:
        x = convert_to_tensor(logits, name="logits")
        check_dtype(op_type, "logits", x, dtypes.FLOATS)
        if x.shape.ndims == 0:
            raise ValueError(f"{op_type} '{scope[:-1]}': logits must have rank at least 1, got a scalar")
        return _along_last_axis(lambda t, n: make_op(op_type, [t], {"T": t.dtype}, n).outputs[0], x, axis, scope)


def softmax(logits, axis=None, name=None, dim=None):
    """``exp(logits) / sum(exp(logits))`` along ``axis`` (default last), computed stably.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.nn.softmax([0.0, 0.0])).tolist()
    [0.5, 0.5]
    """
    return _softmax("Softmax", logits, axis, name, dim)


def log_softmax(logits, axis=None, name=None, dim=None):
    """``logits - log(sum(exp(logits)))`` along ``axis`` (default last), computed stably.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     round(float(sess.run(tf.nn.log_softmax([0.0, 0.0]))[0]), 4)
    -0.6931
    """
    return _softmax("LogSoftmax", logits, axis, name, dim)


def _infer_xent(op):
    features, labels = op.inputs
    label = who(op)
    for what, t in (("logits", features), ("labels", labels)):
        if t.shape.ndims not in (None, 2):
            raise ValueError(f"{label}: {what} must be 2-D [batch, classes], got {shapes.fmt(shape_of(t))}")
    shape = shapes.broadcast(label, shape_of(features), shape_of(labels)) or (None, None)
    return [(features.dtype, shape[:1]), (features.dtype, shape)]


register_op("SoftmaxCrossEntropyWithLogits", _infer_xent)


def _xent(labels, logits, axis, name, stop_labels):
    with name_scope(name, "softmax_cross_entropy_with_logits", [logits, labels]) as scope:
        logits = convert_to_tensor(logits, name="logits")
        check_dtype("SoftmaxCrossEntropyWithLogits", "logits", logits, dtypes.FLOATS)
        labels = convert_to_tensor(labels, dtype=logits.dtype, name="labels")
        if stop_labels:
            from tasklayer.ops.array_ops import stop_gradient
            labels = stop_gradient(labels, name="labels_stop_gradient")
        rank = logits.shape.ndims
        if rank is None:
            raise ValueError(f"softmax_cross_entropy_with_logits '{scope[:-1]}': logits must have a known rank")
        if rank == 0:
            raise ValueError(f"softmax_cross_entropy_with_logits '{scope[:-1]}': logits must not be a scalar")
        if axis not in (None, -1, rank - 1):
            from tasklayer.ops.array_ops import transpose
            axis = shapes._axis(f"'{scope[:-1]}'", axis, rank)
            perm = list(range(rank))
            perm[axis], perm[-1] = perm[-1], perm[axis]
            logits, labels = transpose(logits, perm), transpose(labels, perm)
        if rank == 2:
            return make_op("SoftmaxCrossEntropyWithLogits", [logits, labels], {"T": logits.dtype},
                           scope).outputs[0]
        from tasklayer.ops.array_ops import reshape, shape
        classes = logits.shape.as_list()[-1]
        flat = [-1, -1 if classes is None else classes]
        if classes is None:
            flat = [-1, shape(logits)[-1]]
        cost = make_op("SoftmaxCrossEntropyWithLogits", [reshape(logits, flat), reshape(labels, flat)],
                       {"T": logits.dtype}, "xent").outputs[0]
        out = reshape(cost, shape(logits)[:-1], name=scope)
        out.set_shape(logits.shape[:-1])
        return out


def softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, dim=-1, name=None, axis=None):
    """Per-example cross-entropy between ``labels`` (a distribution per row) and ``softmax(logits)``;
    named arguments only, as in TF1. Gradients do not flow into ``labels``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     loss = tf.nn.softmax_cross_entropy_with_logits(labels=[[0.0, 1.0]], logits=[[0.0, 0.0]])
    ...     round(float(sess.run(loss)[0]), 4)
    0.6931
    """
    _named_only("softmax_cross_entropy_with_logits", _sentinel, labels, logits)
    return _xent(labels, logits, dim if axis is None else axis, name, stop_labels=True)


def softmax_cross_entropy_with_logits_v2(_sentinel=None, labels=None, logits=None, axis=None, name=None, dim=None):
    """Like ``softmax_cross_entropy_with_logits`` but gradients also flow into ``labels``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     loss = tf.nn.softmax_cross_entropy_with_logits_v2(labels=[[1.0, 0.0]], logits=[[0.0, 0.0]])
    ...     round(float(sess.run(loss)[0]), 4)
    0.6931
    """
    _named_only("softmax_cross_entropy_with_logits_v2", _sentinel, labels, logits)
    return _xent(labels, logits, dim if axis is None else axis, name, stop_labels=False)


def _named_only(fn_name, sentinel, labels, logits):
    if sentinel is not None or labels is None or logits is None:
        raise ValueError(f"Only call `{fn_name}` with named arguments (labels=..., logits=..., ...)")
