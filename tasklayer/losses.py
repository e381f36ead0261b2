"""``tf.losses``: reduced, weighted losses that add themselves to the ``tf.GraphKeys.LOSSES`` collection.

Each is a per-element loss built from existing ops (so their gradient rules serve), multiplied by ``weights``
and reduced; TF1's default reduction, ``SUM_BY_NONZERO_WEIGHTS``, is the mean over the elements whose weight is
not zero (with ``weights=1.0``, the plain mean). Unlike TF1, the reduction keeps the losses' dtype rather than
going through float32.

>>> import tasklayer as tf
>>> with tf.Graph().as_default(), tf.Session() as sess:
...     mse = tf.losses.mean_squared_error(labels=[1.0, 2.0], predictions=[2.0, 4.0])
...     sess.run(mse).item(), tf.losses.get_losses() == [mse]
(2.5, True)
"""

from tasklayer import dtypes, graph as graph_lib
from tasklayer.graph import GraphKeys, name_scope
from tasklayer.ops import array_ops, math_ops, nn_ops, reduction_ops
from tasklayer.ops.constant_op import convert_to_tensor, is_tensor_like

__all__ = ["Reduction", "compute_weighted_loss", "softmax_cross_entropy", "sparse_softmax_cross_entropy",
           "mean_squared_error", "get_losses", "get_regularization_losses", "get_regularization_loss",
           "get_total_loss"]

REGULARIZATION_LOSSES = "regularization_losses"  # TF1's GraphKeys.REGULARIZATION_LOSSES (get_variable fills it)


class Reduction:
    """How ``compute_weighted_loss`` reduces the weighted losses (TF1's ``tf.losses.Reduction``)."""

    NONE = "none"                                          # the weighted losses, unreduced
    SUM = "weighted_sum"                                   # their sum
    MEAN = "weighted_mean"                                 # sum / sum of the (broadcast) weights
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"   # sum / number of elements
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"  # sum / number of non-zero weights (default)
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls):
        """Every reduction."""
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE, cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key):
        """ValueError unless ``key`` is a reduction."""
        if key not in cls.all():
            raise ValueError(f"Invalid Reduction Key {key}.")


def _num_elements(losses):
    known = losses.shape.as_list() if losses.shape.is_fully_defined() else None
    if known is not None:
        n = 1
        for d in known:
            n *= d
        return float(n)
    return math_ops.cast(array_ops.size(losses), losses.dtype)


def _safe_div(total, count):
    """``total / count``, 0 where ``count`` is 0 (TF1's div_no_nan); the inner where keeps the gradient finite."""
    if isinstance(count, float):
        return math_ops.divide(total, count, name="value") if count else array_ops.zeros_like(total, name="value")
    positive = math_ops.greater(count, array_ops.zeros_like(count))
    safe = array_ops.where(positive, count, array_ops.ones_like(count))
    return array_ops.where(positive, total / safe, array_ops.zeros_like(total), name="value")


def compute_weighted_loss(losses, weights=1.0, scope=None, loss_collection=GraphKeys.LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """``losses * weights`` reduced by ``reduction`` and added to ``loss_collection`` (None: to none).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     sess.run(tf.losses.compute_weighted_loss([1.0, 2.0, 6.0], weights=[1.0, 1.0, 0.0])).item()
    1.5
    """
    Reduction.validate(reduction)
    with name_scope(scope, "weighted_loss", [losses, weights]):
        losses = convert_to_tensor(losses, name="losses")
        if losses.dtype not in dtypes.FLOATS:
            losses = math_ops.cast(losses, dtypes.float32)
        weights_t = _as_weights(weights, losses)
        weighted = math_ops.multiply(losses, weights_t)
        if reduction == Reduction.NONE:
            loss = weighted
        else:
            total = reduction_ops.reduce_sum(weighted)
            if reduction == Reduction.SUM:
                loss = total
            elif reduction == Reduction.MEAN:
                loss = _safe_div(total, reduction_ops.reduce_sum(array_ops.ones_like(losses) * weights_t))
            elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
                loss = _safe_div(total, _num_elements(losses))
            else:
                loss = _safe_div(total, _num_present(losses, weights, weights_t))
        if loss_collection:
            graph_lib.add_to_collection(loss_collection, loss)
        return loss


def _as_weights(weights, losses):
    """``weights`` as a tensor of the losses' dtype; ValueError unless it broadcasts to them (TF1's rule:
    a scalar, or the losses' rank with each dim 1 or equal)."""
    if is_tensor_like(weights):
        weights_t = math_ops.cast(weights, losses.dtype)
    else:  # a Python/numpy value: made in the losses' dtype at once, not rounded through float32
        weights_t = convert_to_tensor(weights, dtype=losses.dtype, name="weights")
    ws, ls = weights_t.shape.as_tuple(), losses.shape.as_tuple()
    if ws and ls is not None and (len(ws) != len(ls) or any(
            w not in (1, None) and v is not None and w != v for w, v in zip(ws, ls))):
        raise ValueError(f"weights can not be broadcast to values. values.rank={len(ls)}. weights.rank={len(ws)}. "
                         f"values.shape={losses.shape}. weights.shape={weights_t.shape}.")
    return weights_t


def _num_present(losses, weights, weights_t):
    """How many elements of ``losses`` have a non-zero weight."""
    if isinstance(weights, (int, float)) and weights != 0:
        return _num_elements(losses)
    present = math_ops.cast(math_ops.not_equal(weights_t, array_ops.zeros_like(weights_t)), losses.dtype)
    return reduction_ops.reduce_sum(array_ops.ones_like(losses) * present, name="num_present")


def _not_none(**args):
    for what, value in args.items():
        if value is None:
            raise ValueError(f"{what} must not be None.")


def softmax_cross_entropy(onehot_labels, logits, weights=1.0, label_smoothing=0, scope=None,
                          loss_collection=GraphKeys.LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted, reduced cross-entropy of ``softmax(logits)`` against ``onehot_labels`` (no gradient to them);
    ``label_smoothing`` mixes the labels with the uniform distribution.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     loss = tf.losses.softmax_cross_entropy([[0.0, 1.0], [1.0, 0.0]], [[0.0, 0.0], [5.0, 5.0]])
    ...     round(float(sess.run(loss)), 4)
    0.6931
    """
    _not_none(onehot_labels=onehot_labels, logits=logits)
    with name_scope(scope, "softmax_cross_entropy_loss", [logits, onehot_labels, weights]) as scope:
        logits = convert_to_tensor(logits, name="logits")
        labels = math_ops.cast(onehot_labels, logits.dtype)
        if not logits.shape.is_compatible_with(labels.shape):
            raise ValueError(f"Shapes {logits.shape} and {labels.shape} are incompatible")
        if label_smoothing > 0:
            classes = math_ops.cast(array_ops.shape(labels)[-1], logits.dtype)
            labels = labels * (1.0 - label_smoothing) + label_smoothing / classes
        losses = nn_ops.softmax_cross_entropy_with_logits(labels=labels, logits=logits, name="xentropy")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def sparse_softmax_cross_entropy(labels, logits, weights=1.0, scope=None, loss_collection=GraphKeys.LOSSES,
                                 reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted, reduced cross-entropy of ``softmax(logits)`` against integer class ``labels`` (the shape of
    ``logits`` without its last axis, or with a last axis of 1).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     loss = tf.losses.sparse_softmax_cross_entropy([1, 0], [[0.0, 0.0], [5.0, 5.0]])
    ...     round(float(sess.run(loss)), 4)
    0.6931
    """
    _not_none(labels=labels, logits=logits)
    with name_scope(scope, "sparse_softmax_cross_entropy_loss", [logits, labels, weights]) as scope:
        logits = convert_to_tensor(logits, name="logits")
        labels = convert_to_tensor(labels, name="labels")
        # TF1 accepts labels [batch, 1] beside logits [batch, classes]: drop the extra axis.
        if labels.shape.ndims is not None and labels.shape.ndims == logits.shape.ndims and (
                labels.shape.as_list()[-1] == 1):
            labels = array_ops.squeeze(labels, [-1])
        losses = nn_ops.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits, name="xentropy")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def mean_squared_error(labels, predictions, weights=1.0, scope=None, loss_collection=GraphKeys.LOSSES,
                       reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted, reduced ``(predictions - labels) ** 2``: by default the mean over the elements.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.losses.mean_squared_error([[0.0], [0.0]], [[1.0], [3.0]])))
    5.0
    """
    _not_none(labels=labels, predictions=predictions)
    with name_scope(scope, "mean_squared_error", [predictions, labels, weights]) as scope:
        predictions = convert_to_tensor(predictions, name="predictions")
        if predictions.dtype not in dtypes.FLOATS:
            predictions = math_ops.cast(predictions, dtypes.float32)
        labels = math_ops.cast(labels, predictions.dtype)
        if not predictions.shape.is_compatible_with(labels.shape):
            raise ValueError(f"Shapes {predictions.shape} and {labels.shape} are incompatible")
        losses = math_ops.squared_difference(predictions, labels)
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def get_losses(scope=None, loss_collection=GraphKeys.LOSSES):
    """The losses in ``loss_collection`` (those whose name matches ``scope``, if given)."""
    return graph_lib.get_collection(loss_collection, scope)


def get_regularization_losses(scope=None):
    """The regularization losses (from ``get_variable(regularizer=...)``; those matching ``scope``, if given)."""
    return graph_lib.get_collection(REGULARIZATION_LOSSES, scope)


def get_regularization_loss(scope=None, name="total_regularization_loss"):
    """The sum of the regularization losses (0.0 when there are none)."""
    losses = get_regularization_losses(scope)
    if losses:
        return math_ops.add_n(losses, name=name)
    return convert_to_tensor(0.0, name=name)


def get_total_loss(add_regularization_losses=True, name="total_loss", scope=None):
    """The sum of the losses in ``tf.GraphKeys.LOSSES`` (plus the regularization losses); ValueError when there
    are none.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     _ = tf.losses.mean_squared_error([0.0], [2.0])
    ...     _ = tf.losses.mean_squared_error([0.0], [1.0])
    ...     print(sess.run(tf.losses.get_total_loss()))
    5.0
    """
    losses = get_losses(scope)
    if add_regularization_losses:
        losses = losses + get_regularization_losses(scope)
    if not losses:
        raise ValueError("get_total_loss: no losses found (none in tf.GraphKeys.LOSSES"
                         f"{' or regularization_losses' if add_regularization_losses else ''})")
    return math_ops.add_n(losses, name=name)
