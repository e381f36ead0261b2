"""``tf.estimator.ModeKeys`` and ``tf.estimator.EstimatorSpec``: what a ``model_fn`` returns, checked as TF
checks it.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     loss = tf.constant(1.5)
...     spec = EstimatorSpec(ModeKeys.EVAL, loss=loss)
...     spec.predictions, spec.eval_metric_ops, spec.training_hooks
({}, {}, ())
>>> with tf.Graph().as_default():
...     EstimatorSpec(ModeKeys.TRAIN, loss=tf.constant(1.0))
Traceback (most recent call last):
...
ValueError: Missing train_op.
"""

import collections

from tasklayer.graph import get_default_graph
from tasklayer.ops import array_ops
from tasklayer.tensor import Operation, Tensor
from tasklayer.training.monitored_session import Scaffold, SessionRunHook

__all__ = ["ModeKeys", "EstimatorSpec", "LOSS_METRIC_KEY"]

LOSS_METRIC_KEY = "loss"
AVERAGE_LOSS_METRIC_KEY = "average_loss"


class ModeKeys:
    """The modes a ``model_fn`` is called in."""

    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"


_NOT_IN_GRAPH = ('{0} with "{1}" must be from the default graph. Possible causes of this error include: \n\n'
                 "1) {0} was created outside the context of the default graph.\n\n"
                 '2) The object passed through to EstimatorSpec was not created in the most recent call to '
                 '"model_fn".')


def _as_tensor(x, what):
    """``x`` as a Tensor (a Variable gives its value); TypeError naming ``what`` otherwise."""
    if isinstance(x, Tensor):
        return x
    if hasattr(x, "_as_graph_element") and isinstance(x._as_graph_element(), Tensor):
        return x._as_graph_element()
    raise TypeError(f"{what} must be Tensor, given: {x}")


def _check_tensor_or_operation(x, what):
    if isinstance(x, (Tensor, Operation)) or hasattr(x, "_as_graph_element"):
        return
    raise TypeError(f"{what} must be Operation or Tensor, given: {x}")


def _check_graph(value, what, name):
    if value.graph is not get_default_graph():
        raise ValueError(_NOT_IN_GRAPH.format(what, name))


def _validate_train_op(train_op, mode):
    if train_op is None:
        if mode == ModeKeys.TRAIN:
            raise ValueError("Missing train_op.")
        return None
    _check_tensor_or_operation(train_op, "train_op")
    _check_graph(train_op, "train_op", train_op.name)
    return train_op


def _validate_loss(loss, mode):
    if loss is None:
        if mode in (ModeKeys.TRAIN, ModeKeys.EVAL):
            raise ValueError("Missing loss.")
        return None
    loss = _as_tensor(loss, "loss")
    shape = loss.get_shape()
    if shape.num_elements() not in (None, 1):
        raise ValueError(f"Loss must be scalar, given: {loss}")
    _check_graph(loss, "loss", loss.name)
    if shape.ndims != 0:
        loss = array_ops.reshape(loss, [])
    return loss


def _validate_predictions(predictions, mode):
    if predictions is None:
        if mode == ModeKeys.PREDICT:
            raise ValueError("Missing predictions.")
        return {}
    if isinstance(predictions, dict):
        predictions = {k: _as_tensor(v, f"predictions[{k}]") for k, v in predictions.items()}
        for key, value in predictions.items():
            _check_graph(value, "prediction values", f"{key}: {value.name}")
        return predictions
    predictions = _as_tensor(predictions, "predictions")
    _check_graph(predictions, "prediction values", predictions.name)
    return predictions


def _validate_hooks(hooks):
    hooks = tuple(hooks or [])
    for hook in hooks:
        if not isinstance(hook, SessionRunHook):
            raise TypeError(f"All hooks must be SessionRunHook instances, given: {hook}")
    return hooks


def _flatten(value):
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _flatten(item)]
    return [value]


def _validate_eval_metric_ops(eval_metric_ops):
    if eval_metric_ops is None:
        return {}
    if not isinstance(eval_metric_ops, dict):
        raise TypeError(f"eval_metric_ops must be a dict, given: {eval_metric_ops}")
    for key, value in eval_metric_ops.items():
        if not isinstance(value, tuple) or len(value) != 2:
            raise TypeError("Values of eval_metric_ops must be (metric_value, update_op) tuples, "
                            f"given: {value} for key: {key}")
        for member in _flatten(value):
            _check_tensor_or_operation(member, f"eval_metric_ops[{key}]")
            _check_graph(member, "eval_metric_ops", f"{key}: {member.name}")
    return dict(eval_metric_ops)


class EstimatorSpec(collections.namedtuple("EstimatorSpec", [
        "mode", "predictions", "loss", "train_op", "eval_metric_ops", "export_outputs", "training_chief_hooks",
        "training_hooks", "scaffold", "evaluation_hooks", "prediction_hooks"])):
    """What a ``model_fn`` returns: TRAIN needs ``loss`` and ``train_op``, EVAL ``loss``, PREDICT
    ``predictions`` (a tensor or a dict of them). ``eval_metric_ops`` maps names to ``(value, update_op)`` pairs
    (``tf.metrics.*``). ``export_outputs`` is kept but unused: there is no SavedModel export yet."""

    def __new__(cls, mode, predictions=None, loss=None, train_op=None, eval_metric_ops=None, export_outputs=None,
                training_chief_hooks=None, training_hooks=None, scaffold=None, evaluation_hooks=None,
                prediction_hooks=None):
        train_op = _validate_train_op(train_op, mode)
        loss = _validate_loss(loss, mode)
        predictions = _validate_predictions(predictions, mode)
        if export_outputs is not None and not isinstance(export_outputs, dict):
            raise TypeError(f"export_outputs must be dict, given: {export_outputs}")
        scaffold = scaffold or Scaffold()
        if not isinstance(scaffold, Scaffold):
            raise TypeError(f"scaffold must be tf.train.Scaffold. Given: {scaffold}")
        return super().__new__(
            cls, mode=mode, predictions=predictions, loss=loss, train_op=train_op,
            eval_metric_ops=_validate_eval_metric_ops(eval_metric_ops), export_outputs=export_outputs,
            training_chief_hooks=_validate_hooks(training_chief_hooks), training_hooks=_validate_hooks(training_hooks),
            scaffold=scaffold, evaluation_hooks=_validate_hooks(evaluation_hooks),
            prediction_hooks=_validate_hooks(prediction_hooks))

    def _replace(self, **kwds):
        """A new spec with some fields replaced (the mode cannot change)."""
        if "mode" in kwds and self.mode != kwds["mode"]:
            raise ValueError("mode of EstimatorSpec cannot be changed.")
        fields = dict(zip(self._fields, self))
        fields.update(kwds)
        return EstimatorSpec(**fields)
