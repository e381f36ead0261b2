"""tf.metrics as streaming state: updates accumulate across runs, values read without changing anything, the
accumulators are local variables (and metric variables) reset by tf.local_variables_initializer(), and the
collections arguments, scopes and errors follow TF1."""

import numpy as np
import pytest

import tasklayer as tf
from tasklayer import metrics as metrics_lib

RNG = np.random.default_rng(9)


def _batches(n, size, classes=3):
    return [(RNG.integers(0, classes, size), RNG.integers(0, classes, size)) for _ in range(n)]


def test_accuracy_streams_over_batches():
    batches = _batches(4, 7)
    with tf.Graph().as_default(), tf.Session() as sess:
        labels, predictions = tf.placeholder(tf.int64, [None]), tf.placeholder(tf.int64, [None])
        acc, update = tf.metrics.accuracy(labels, predictions)
        sess.run(tf.local_variables_initializer())
        assert sess.run(acc) == 0.0  # nothing counted yet: 0, not NaN
        hits = total = 0
        for lab, pred in batches:
            got = sess.run(update, {labels: lab, predictions: pred})
            hits, total = hits + np.sum(lab == pred), total + lab.size
            np.testing.assert_allclose(got, hits / total, rtol=1e-6)
        np.testing.assert_allclose(sess.run(acc), hits / total, rtol=1e-6)
        np.testing.assert_allclose(sess.run(acc), hits / total, rtol=1e-6)  # reading changes nothing
        sess.run(tf.local_variables_initializer())
        assert sess.run(acc) == 0.0


def test_accumulators_are_local_metric_variables():
    with tf.Graph().as_default():
        tf.metrics.accuracy(tf.constant([1]), tf.constant([1]))
        tf.metrics.accuracy(tf.constant([1]), tf.constant([1]))
        tf.metrics.precision(tf.constant([1]), tf.constant([1]))
        names = [v.name for v in tf.local_variables()]
        assert names == ["accuracy/total:0", "accuracy/count:0", "accuracy_1/total:0", "accuracy_1/count:0",
                         "precision/true_positives/count:0", "precision/false_positives/count:0"]
        assert [v.name for v in tf.get_collection(metrics_lib.METRIC_VARIABLES)] == names
        assert metrics_lib.METRIC_VARIABLES == "metric_variables"
        assert tf.global_variables() == [] and tf.trainable_variables() == []


def test_global_initializer_leaves_metrics_uninitialized():
    with tf.Graph().as_default(), tf.Session() as sess:
        acc, _ = tf.metrics.accuracy(tf.constant([1]), tf.constant([1]))
        sess.run(tf.global_variables_initializer())
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value accuracy/"):
            sess.run(acc)


def test_collections_arguments():
    with tf.Graph().as_default():
        value, update = tf.metrics.mean(tf.constant([1.0, 2.0]), metrics_collections=["vals"],
                                        updates_collections=["ups", "more"])
        assert tf.get_collection("vals") == [value]
        assert tf.get_collection("ups") == [update] and tf.get_collection("more") == [update]
        assert value.op.name == "mean/value" and update.op.name == "mean/update_op"


def test_precision_recall_stream_with_weights():
    batches = [(RNG.integers(0, 2, 9), RNG.integers(0, 2, 9), RNG.uniform(0, 2, 9)) for _ in range(3)]
    with tf.Graph().as_default(), tf.Session() as sess:
        labels, predictions = tf.placeholder(tf.int32, [None]), tf.placeholder(tf.int32, [None])
        weights = tf.placeholder(tf.float32, [None])
        p, p_update = tf.metrics.precision(labels, predictions, weights)
        r, r_update = tf.metrics.recall(labels, predictions, weights)
        sess.run(tf.local_variables_initializer())
        tp = fp = fn = 0.0
        for lab, pred, w in batches:
            sess.run([p_update, r_update], {labels: lab, predictions: pred, weights: w})
            tp += np.sum(w * (lab == 1) * (pred == 1))
            fp += np.sum(w * (lab == 0) * (pred == 1))
            fn += np.sum(w * (lab == 1) * (pred == 0))
        np.testing.assert_allclose(sess.run([p, r]), [tp / (tp + fp), tp / (tp + fn)], rtol=1e-5)


def test_condition_counters_and_regression_errors():
    lab, pred = np.float32([1, 0, 1, 0, 1]), np.float32([0.5, 0.0, 0.0, 2.0, 1.0])
    with tf.Graph().as_default(), tf.Session() as sess:
        counters = [fn(lab, pred)[1] for fn in (tf.metrics.true_positives, tf.metrics.false_positives,
                                                tf.metrics.true_negatives, tf.metrics.false_negatives)]
        errors = [fn(lab, pred)[1] for fn in (tf.metrics.mean_squared_error, tf.metrics.mean_absolute_error,
                                              tf.metrics.root_mean_squared_error)]
        sess.run(tf.local_variables_initializer())
        got_counts, got_errors = sess.run(counters), sess.run(errors)
    lb, pb = lab != 0, pred != 0
    assert got_counts == [np.sum(lb & pb), np.sum(~lb & pb), np.sum(~lb & ~pb), np.sum(lb & ~pb)]
    mse = np.mean((lab - pred) ** 2)
    np.testing.assert_allclose(got_errors, [mse, np.mean(np.abs(lab - pred)), np.sqrt(mse)], rtol=1e-6)


def test_mean_with_weights_of_another_rank():
    values = RNG.uniform(0, 1, (4, 3)).astype(np.float32)
    w = np.float32([1, 0, 2, 1])
    with tf.Graph().as_default(), tf.Session() as sess:
        m, update = tf.metrics.mean(values, weights=w[:, None])  # [4, 1] broadcast over the 3 columns
        sess.run(tf.local_variables_initializer())
        np.testing.assert_allclose(sess.run(update), np.sum(values * w[:, None]) / (3 * w.sum()), rtol=1e-6)


def test_incompatible_shapes_are_refused():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="incompatible"):
            tf.metrics.accuracy(tf.zeros([3]), tf.zeros([4]))
