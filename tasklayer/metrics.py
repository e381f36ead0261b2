"""``tf.metrics``: streaming metrics, each a ``(value, update_op)`` pair over LOCAL variables.

Running ``update_op`` folds a batch into the metric's accumulators (and returns the metric so far); ``value``
reads the metric without changing it. The accumulators are local variables (in ``tf.GraphKeys.LOCAL_VARIABLES``
and the ``metric_variables`` collection), made under the metric's scope (``accuracy/total``, ``accuracy/count``)
and initialized by ``tf.local_variables_initializer()``.

>>> import tasklayer as tf
>>> with tf.Graph().as_default(), tf.Session() as sess:
...     labels = tf.placeholder(tf.int64, [None])
...     predictions = tf.placeholder(tf.int64, [None])
...     acc, update = tf.metrics.accuracy(labels, predictions)
...     sess.run(tf.local_variables_initializer())
...     _ = sess.run(update, {labels: [1, 2, 3, 4], predictions: [1, 2, 0, 0]})
...     _ = sess.run(update, {labels: [1, 1], predictions: [1, 1]})
...     sess.run(acc).item(), [v.name for v in tf.local_variables()]
(0.6666666865348816, ['accuracy/total:0', 'accuracy/count:0'])
"""

import numpy as np

from tasklayer import dtypes
from tasklayer.graph import GraphKeys, add_to_collection
from tasklayer.ops import array_ops, math_ops, reduction_ops
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.variable_scope import variable_scope
from tasklayer.variables import Variable

__all__ = ["METRIC_VARIABLES", "metric_variable", "mean", "accuracy", "true_positives", "false_positives",
           "true_negatives", "false_negatives", "precision", "recall", "mean_squared_error",
           "mean_absolute_error", "root_mean_squared_error"]

# TF1's GraphKeys.METRIC_VARIABLES ("metric_variables"): where every metric's accumulators are also collected.
METRIC_VARIABLES = getattr(GraphKeys, "METRIC_VARIABLES", "metric_variables")


def metric_variable(shape, dtype, validate_shape=True, name=None):
    """A zero-initialized local, non-trainable variable in the LOCAL_VARIABLES and metric collections."""
    dims = np.asarray(shape, dtype=np.int32)  # an int array even for the scalar shape []
    return Variable(lambda: array_ops.zeros(dims, dtype), trainable=False,
                    collections=[GraphKeys.LOCAL_VARIABLES, METRIC_VARIABLES], validate_shape=validate_shape,
                    name=name)


def _add_to(collections, tensor):
    for key in collections or ():
        add_to_collection(key, tensor)


def _safe_div(numerator, denominator, name):
    """``numerator / denominator``, 0 where the denominator is not positive (TF's div_no_nan on counts)."""
    positive = math_ops.greater(denominator, 0)
    safe = array_ops.where(positive, denominator, array_ops.ones_like(denominator))
    return array_ops.where(positive, numerator / safe, array_ops.zeros_like(numerator), name=name)


def _squeeze_last(x, y):
    """TF's remove_squeezable_dimensions: drop a trailing size-1 axis from whichever has one rank too many."""
    rx, ry = x.shape.ndims, y.shape.ndims
    if rx is not None and ry is not None:
        if rx - ry == 1 and x.shape.as_list()[-1] in (None, 1):
            x = array_ops.squeeze(x, [-1])
        elif ry - rx == 1 and y.shape.as_list()[-1] in (None, 1):
            y = array_ops.squeeze(y, [-1])
    return x, y


def _remove_squeezable_dimensions(predictions, labels, weights):
    """Predictions, labels and weights with squeezable trailing dims dropped so that their shapes line up."""
    predictions = convert_to_tensor(predictions, name="predictions")
    if labels is not None:
        labels = convert_to_tensor(labels, name="labels")
        predictions, labels = _squeeze_last(predictions, labels)
        if not predictions.shape.is_compatible_with(labels.shape):
            raise ValueError(f"Shapes {predictions.shape} and {labels.shape} are incompatible")
    if weights is None:
        return predictions, labels, None
    weights = convert_to_tensor(weights, name="weights")
    wr, pr = weights.shape.ndims, predictions.shape.ndims
    if wr and pr is not None:
        if wr - pr == 1:
            weights = array_ops.squeeze(weights, [-1])
        elif pr - wr == 1:
            weights = array_ops.expand_dims(weights, -1)
    return predictions, labels, weights


def _weighted(values, weights):
    """``(values * weights, sum of the weights broadcast to values)`` as float32."""
    weights = math_ops.cast(weights, dtypes.float32) * array_ops.ones_like(values)
    return math_ops.multiply(values, weights), reduction_ops.reduce_sum(weights)


def mean(values, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """``(mean, update_op)``: the (weighted) mean of every value passed to ``update_op`` so far, kept as a
    ``total`` and a ``count``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     x = tf.placeholder(tf.float32, [None])
    ...     m, update = tf.metrics.mean(x)
    ...     sess.run(tf.local_variables_initializer())
    ...     sess.run(update, {x: [1.0, 2.0]}).item(), sess.run(update, {x: [6.0]}).item(), sess.run(m).item()
    (1.5, 3.0, 3.0)
    """
    with variable_scope(name, "mean", [values, weights]):
        values = math_ops.cast(convert_to_tensor(values, name="values"), dtypes.float32)
        total = metric_variable([], dtypes.float32, name="total")
        count = metric_variable([], dtypes.float32, name="count")
        if weights is None:
            num_values = math_ops.cast(array_ops.size(values), dtypes.float32)
        else:
            values, _, weights = _remove_squeezable_dimensions(values, None, weights)
            values, num_values = _weighted(values, weights)
        update_total = total.assign_add(reduction_ops.reduce_sum(values))
        update_count = count.assign_add(num_values)
        mean_t = _safe_div(total.value(), count.value(), "value")
        update_op = _safe_div(update_total, update_count, "update_op")
        _add_to(metrics_collections, mean_t)
        _add_to(updates_collections, update_op)
        return mean_t, update_op


def accuracy(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """``(accuracy, update_op)``: the (weighted) fraction of ``predictions`` equal to ``labels`` so far.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     acc, update = tf.metrics.accuracy(labels=[1, 0, 1, 1], predictions=[1, 1, 1, 0])
    ...     sess.run(tf.local_variables_initializer())
    ...     sess.run(update).item(), sess.run(acc).item()
    (0.5, 0.5)
    """
    predictions, labels, weights = _remove_squeezable_dimensions(predictions, labels, weights)
    if labels.dtype != predictions.dtype:
        predictions = math_ops.cast(predictions, labels.dtype)
    is_correct = math_ops.cast(math_ops.equal(predictions, labels), dtypes.float32)
    return mean(is_correct, weights, metrics_collections, updates_collections, name or "accuracy")


# ---------------------------------------------------------------- counts of a condition, precision, recall
def _count_condition(values, weights, metrics_collections, updates_collections):
    """``(count, update_op)``: the (weighted) number of true ``values`` so far."""
    count = metric_variable([], dtypes.float32, name="count")
    values = math_ops.cast(values, dtypes.float32)
    if weights is not None:
        values = math_ops.multiply(values, math_ops.cast(weights, dtypes.float32))
    value = array_ops.identity(count)
    update_op = count.assign_add(reduction_ops.reduce_sum(values))
    _add_to(metrics_collections, value)
    _add_to(updates_collections, update_op)
    return value, update_op


def _condition_counter(default_name, want_label, want_prediction):
    def counter(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
        with variable_scope(name, default_name, [predictions, labels, weights]):
            predictions, labels, weights = _remove_squeezable_dimensions(
                math_ops.cast(predictions, dtypes.bool_), math_ops.cast(labels, dtypes.bool_), weights)
            hit = math_ops.logical_and(math_ops.equal(labels, want_label), math_ops.equal(predictions, want_prediction))
            return _count_condition(hit, weights, metrics_collections, updates_collections)
    counter.__name__ = counter.__qualname__ = default_name
    counter.__doc__ = (f"``({default_name}, update_op)``: the (weighted) number of elements with label "
                       f"{want_label} and prediction {want_prediction} (both read as bool) so far.")
    return counter


true_positives = _condition_counter("true_positives", True, True)
false_positives = _condition_counter("false_positives", False, True)
true_negatives = _condition_counter("true_negatives", False, False)
false_negatives = _condition_counter("false_negatives", True, False)


def _ratio(default_name, other_counter, labels, predictions, weights, metrics_collections, updates_collections,
           name):
    """``tp / (tp + other)`` (0 while that is 0) and its update."""
    with variable_scope(name, default_name, [predictions, labels, weights]):
        predictions, labels, weights = _remove_squeezable_dimensions(
            math_ops.cast(predictions, dtypes.bool_), math_ops.cast(labels, dtypes.bool_), weights)
        tp, tp_update = true_positives(labels, predictions, weights)
        other, other_update = other_counter(labels, predictions, weights)
        value = _safe_div(tp, tp + other, "value")
        update_op = _safe_div(tp_update, tp_update + other_update, "update_op")
        _add_to(metrics_collections, value)
        _add_to(updates_collections, update_op)
        return value, update_op


def precision(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """``(precision, update_op)``: true positives / (true positives + false positives) so far (labels and
    predictions read as bool; 0 before any positive prediction).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     p, update = tf.metrics.precision(labels=[1, 0, 1, 0], predictions=[1, 1, 0, 0])
    ...     sess.run(tf.local_variables_initializer())
    ...     sess.run(update).item()
    0.5
    """
    return _ratio("precision", false_positives, labels, predictions, weights, metrics_collections,
                  updates_collections, name)


def recall(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """``(recall, update_op)``: true positives / (true positives + false negatives) so far (labels and
    predictions read as bool; 0 before any positive label).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     r, update = tf.metrics.recall(labels=[1, 1, 1, 0], predictions=[1, 0, 0, 1])
    ...     sess.run(tf.local_variables_initializer())
    ...     round(sess.run(update).item(), 4)
    0.3333
    """
    return _ratio("recall", false_negatives, labels, predictions, weights, metrics_collections,
                  updates_collections, name)


# ---------------------------------------------------------------- regression errors
def mean_squared_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                       name=None):
    """``(mse, update_op)``: the (weighted) mean of ``(labels - predictions) ** 2`` so far."""
    predictions, labels, weights = _remove_squeezable_dimensions(predictions, labels, weights)
    squared_error = math_ops.squared_difference(labels, predictions)
    return mean(squared_error, weights, metrics_collections, updates_collections, name or "mean_squared_error")


def mean_absolute_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                        name=None):
    """``(mae, update_op)``: the (weighted) mean of ``abs(labels - predictions)`` so far."""
    predictions, labels, weights = _remove_squeezable_dimensions(predictions, labels, weights)
    absolute_error = math_ops.abs(predictions - labels)
    return mean(absolute_error, weights, metrics_collections, updates_collections, name or "mean_absolute_error")


def root_mean_squared_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                            name=None):
    """``(rmse, update_op)``: the square root of the (weighted) mean squared error so far."""
    predictions, labels, weights = _remove_squeezable_dimensions(predictions, labels, weights)
    squared_error = math_ops.squared_difference(labels, predictions)
    mse, update_mse = mean(squared_error, weights, None, None, name or "root_mean_squared_error")
    rmse, update_rmse = math_ops.sqrt(mse), math_ops.sqrt(update_mse)
    _add_to(metrics_collections, rmse)
    _add_to(updates_collections, update_rmse)
    return rmse, update_rmse
