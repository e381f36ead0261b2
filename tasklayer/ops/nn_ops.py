"""Neural-network ops: relu, sigmoid, tanh, softmax, log_softmax, (sparse) softmax cross-entropy, l2_loss."""

from tasklayer import dtypes, shapes
from tasklayer.graph import name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import array_ops, math_ops, reduction_ops
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
    axis = shapes._axis(f"'{scope[:-1]}'", axis, rank)
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    return array_ops.transpose(fn(array_ops.transpose(x, perm), None), perm, name=scope)


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
        labels = convert_to_tensor(labels, name="labels", preferred_dtype=logits.dtype)
        if labels.dtype != logits.dtype:  # TF casts the labels to the logits' type (float64 one-hot labels)
            labels = math_ops.cast(labels, logits.dtype)
        if stop_labels:
            labels = array_ops.stop_gradient(labels, name="labels_stop_gradient")
        rank = logits.shape.ndims
        if rank is None:
            raise ValueError(f"softmax_cross_entropy_with_logits '{scope[:-1]}': logits must have a known rank")
        if rank == 0:
            raise ValueError(f"softmax_cross_entropy_with_logits '{scope[:-1]}': logits must not be a scalar")
        if axis not in (None, -1, rank - 1):
            axis = shapes._axis(f"'{scope[:-1]}'", axis, rank)
            perm = list(range(rank))
            perm[axis], perm[-1] = perm[-1], perm[axis]
            logits, labels = array_ops.transpose(logits, perm), array_ops.transpose(labels, perm)
        if rank == 2:
            return make_op("SoftmaxCrossEntropyWithLogits", [logits, labels], {"T": logits.dtype},
                           scope).outputs[0]
        classes = logits.shape.as_list()[-1]
        flat = [-1, -1 if classes is None else classes]
        if classes is None:
            flat = [-1, array_ops.shape(logits)[-1]]
        cost = make_op("SoftmaxCrossEntropyWithLogits",
                       [array_ops.reshape(logits, flat), array_ops.reshape(labels, flat)],
                       {"T": logits.dtype}, "xent").outputs[0]
        out = array_ops.reshape(cost, array_ops.shape(logits)[:-1], name=scope)
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


def _infer_sparse_xent(op):
    features, labels = op.inputs
    label = who(op)
    fs, ls = shape_of(features), shape_of(labels)
    if fs is not None and len(fs) != 2:
        raise ValueError(f"{label}: logits must be 2-D [batch, classes], got {shapes.fmt(fs)}")
    if ls is not None and len(ls) != 1:
        raise ValueError(f"{label}: labels must be 1-D [batch], got {shapes.fmt(ls)}")
    rows = {d for d in (fs and fs[0], ls and ls[0]) if d is not None}
    if len(rows) > 1:
        raise ValueError(f"{label}: logits and labels must have the same first dimension, got logits shape "
                         f"{shapes.fmt(fs)} and labels shape {shapes.fmt(ls)}")
    batch = (rows.pop() if rows else None,)
    return [(features.dtype, batch), (features.dtype, batch + (fs[1] if fs else None,))]


register_op("SparseSoftmaxCrossEntropyWithLogits", _infer_sparse_xent)


def sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """Per-example cross-entropy between integer class ``labels`` (the shape of ``logits`` without its last axis,
    each in ``[0, classes)``, else an error at run time) and ``softmax(logits)``; named arguments only, as in TF1.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[1, 0], logits=[[0.0, 0.0], [9.0, 9.0]])
    ...     [round(float(v), 4) for v in sess.run(loss)]
    [0.6931, 0.6931]
    """
    _named_only("sparse_softmax_cross_entropy_with_logits", _sentinel, labels, logits)
    with name_scope(name, "SparseSoftmaxCrossEntropyWithLogits", [labels, logits]) as scope:
        logits = convert_to_tensor(logits, name="logits")
        check_dtype("SparseSoftmaxCrossEntropyWithLogits", "logits", logits, dtypes.FLOATS)
        labels = convert_to_tensor(labels, name="labels")
        check_dtype("SparseSoftmaxCrossEntropyWithLogits", "labels", labels, (dtypes.int32, dtypes.int64))
        rank, label_rank = logits.shape.ndims, labels.shape.ndims
        if rank is None:
            raise ValueError(f"sparse_softmax_cross_entropy_with_logits '{scope[:-1]}': logits must have a known "
                             "rank")
        if rank == 0:
            raise ValueError(f"Logits cannot be scalars - received shape {logits.shape}.")
        if label_rank is not None and label_rank != rank - 1:
            raise ValueError(f"Rank mismatch: Rank of labels (received {label_rank}) should equal rank of logits "
                             f"minus 1 (received {rank}).")
        if not labels.shape.is_compatible_with(logits.shape[:-1]):
            raise ValueError(f"Shape mismatch: The shape of labels (received {labels.shape}) should equal the shape "
                             f"of logits except for the last dimension (received {logits.shape}).")
        attrs = {"T": logits.dtype, "Tlabels": labels.dtype}
        if rank == 2:
            return make_op("SparseSoftmaxCrossEntropyWithLogits", [logits, labels], attrs, scope).outputs[0]
        # Other ranks: flatten to [examples, classes] like TF1, then give the cost the labels' shape back.
        classes = logits.shape.as_list()[-1]
        flat_logits = array_ops.reshape(logits, [-1, array_ops.shape(logits)[-1] if classes is None else classes])
        cost = make_op("SparseSoftmaxCrossEntropyWithLogits", [flat_logits, array_ops.reshape(labels, [-1])], attrs,
                       "xent").outputs[0]
        out = array_ops.reshape(cost, array_ops.shape(labels), name=scope)
        out.set_shape(labels.shape.merge_with(logits.shape[:-1]))
        return out


def l2_loss(t, name=None):
    """``sum(t ** 2) / 2``, a scalar (the usual weight-decay term).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.nn.l2_loss([1.0, 2.0])))
    2.5
    """
    with name_scope(name, "L2Loss", [t]) as scope:
        t = convert_to_tensor(t, name="t")
        check_dtype("L2Loss", "t", t, dtypes.FLOATS)
        # Made of Square, Sum and Mul so that their gradient rules serve (d/dt = t).
        return math_ops.multiply(reduction_ops.reduce_sum(math_ops.square(t)), 0.5, name=scope)
