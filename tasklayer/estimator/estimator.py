"""``tf.estimator.Estimator``: a model given as a ``model_fn``, trained, evaluated and used for predictions
from the checkpoints in its ``model_dir``.

Each call builds a fresh graph: ``input_fn()`` gives the features and labels (a ``(features, labels)`` tuple,
or a ``tf.data.Dataset`` of such tuples), ``model_fn(features, labels, mode, params, config)`` returns an
``EstimatorSpec``. ``train`` runs a ``MonitoredTrainingSession`` (restoring the latest checkpoint of
``model_dir``, so a second ``train`` continues), ``evaluate`` restores the latest checkpoint and returns the
mean ``loss``, the ``global_step`` and the ``eval_metric_ops``' values, ``predict`` yields predictions.
In a cluster (``RunConfig`` from ``TF_CONFIG``) the variables go to the ps tasks through a
``replica_device_setter``: see ``tf.estimator.train_and_evaluate``.

>>> import tasklayer as tf, numpy as np, tempfile
>>> def model_fn(features, labels, mode):
...     w = tf.get_variable("w", [], initializer=tf.zeros_initializer())
...     loss = tf.reduce_mean(tf.square(features * w - labels))
...     train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, tf.train.get_global_step())
...     return tf.estimator.EstimatorSpec(mode, predictions=features * w, loss=loss, train_op=train_op)
>>> def input_fn():
...     return tf.constant([1.0, 2.0]), tf.constant([3.0, 6.0])  # y = 3 x
>>> est = tf.estimator.Estimator(model_fn, model_dir=tempfile.mkdtemp())
>>> _ = est.train(input_fn, steps=30)
>>> result = est.evaluate(input_fn, steps=1)
>>> int(result["global_step"]), round(float(est.get_variable_value("w")), 3), bool(result["loss"] < 1e-6)
(30, 3.0, True)
"""

import contextlib
import copy
import inspect
import logging
import os
import tempfile
import time

from tasklayer import metrics as metrics_lib
from tasklayer import summary
from tasklayer import variables as variables_lib
from tasklayer.graph import Graph, GraphKeys, get_default_graph
from tasklayer.ops import control_flow_ops
from tasklayer.ops.random_ops import set_random_seed
from tasklayer.train.device_setter import STANDARD_PS_OPS, replica_device_setter
from tasklayer.training import saver as saver_lib
from tasklayer.training.basic_hooks import CheckpointSaverListener, FinalOpsHook, LoggingTensorHook, NanTensorHook
from tasklayer.training.monitored_session import (CheckpointSaverHook, MonitoredTrainingSession, Scaffold,
                                                  SessionRunHook, StopAtStepHook)
from tasklayer.estimator.inputs import INPUT_HOOKS
from tasklayer.estimator.model_fn import LOSS_METRIC_KEY, EstimatorSpec, ModeKeys
from tasklayer.estimator.run_config import RunConfig, TaskType

__all__ = ["Estimator", "WarmStartSettings"]

log = logging.getLogger("tensorflow")

_VALID_MODEL_FN_ARGS = {"features", "labels", "mode", "params", "self", "config"}


def _fn_args(fn):
    """The names of ``fn``'s parameters (a bound method without ``self``, a partial without what it binds)."""
    return tuple(inspect.signature(fn).parameters)


def _verify_model_fn_args(model_fn, params):
    args = set(_fn_args(model_fn))
    if "features" not in args:
        raise ValueError(f"model_fn ({model_fn}) must include features argument.")
    if params is not None and "params" not in args:
        raise ValueError(f"model_fn ({model_fn}) does not include params argument, but params ({params}) is "
                         "passed to Estimator.")
    if params is None and "params" in args:
        log.warning("Estimator's model_fn (%s) includes params argument, but params are not passed to Estimator.",
                    model_fn)
    unexpected = sorted(args - _VALID_MODEL_FN_ARGS)
    if unexpected:
        raise ValueError(f"model_fn ({model_fn}) has following not expected args: {unexpected}")


def _check_hooks_type(hooks):
    hooks = list(hooks or [])
    for hook in hooks:
        if not isinstance(hook, SessionRunHook):
            raise TypeError(f"Hooks must be a SessionRunHook, given: {hook}")
    return hooks


def _check_listeners_type(listeners):
    listeners = list(listeners or [])
    for listener in listeners:
        if not isinstance(listener, CheckpointSaverListener):
            raise TypeError(f"saving_listeners must be a list of CheckpointSaverListener, given: {listener}")
    return listeners


def _replica_device_setter(config):
    """TF's default device function: variables on the ps tasks, the rest on this task (None without ps)."""
    if config.num_ps_replicas <= 0:
        return None
    worker_device = f"/job:{config.task_type}/task:{config.task_id}" if config.task_type else "/job:worker"
    return replica_device_setter(ps_tasks=config.num_ps_replicas, worker_device=worker_device, merge_devices=True,
                                 ps_ops=list(STANDARD_PS_OPS), cluster=config.cluster_spec)


def _load_global_step_from_checkpoint_dir(checkpoint_dir):
    """The global step of the latest checkpoint of ``checkpoint_dir``; 0 when there is none."""
    try:
        path = saver_lib.latest_checkpoint(checkpoint_dir)
        if not path:
            return 0
        step = saver_lib.read_index(path).get("global_step")
        if step is None:
            step = saver_lib.read_checkpoint(path)[GraphKeys.GLOBAL_STEP]
        return int(step)
    except (saver_lib.CheckpointError, KeyError, ValueError, OSError):
        return 0


def _dict_to_str(dictionary):
    return ", ".join(f"{k} = {v}" for k, v in sorted(dictionary.items()))


class WarmStartSettings:
    """Where ``Estimator(warm_start_from=...)`` takes initial values: the checkpoint (or directory)
    ``ckpt_to_initialize_from``, for the trainable variables matching ``vars_to_warm_start`` (a regular expression
    or a list of names/variables); ``var_name_to_prev_var_name`` renames. Used only when ``model_dir`` has no
    checkpoint yet (then the model is restored from there instead)."""

    def __init__(self, ckpt_to_initialize_from, vars_to_warm_start=".*", var_name_to_vocab_info=None,
                 var_name_to_prev_var_name=None):
        if not ckpt_to_initialize_from:
            raise ValueError("`ckpt_to_initialize_from` MUST be set in WarmStartSettings")
        if var_name_to_vocab_info:
            raise NotImplementedError("WarmStartSettings(var_name_to_vocab_info=...) is not supported")
        self.ckpt_to_initialize_from = os.fspath(ckpt_to_initialize_from)
        self.vars_to_warm_start = vars_to_warm_start
        self.var_name_to_prev_var_name = dict(var_name_to_prev_var_name or {})

    def variables(self):
        """The variables of the default graph to warm-start."""
        wanted = self.vars_to_warm_start
        if wanted is None:
            return []
        if isinstance(wanted, str):
            return variables_lib.trainable_variables(wanted)
        names = {w if isinstance(w, str) else w.op.name for w in wanted}
        return [v for v in variables_lib.global_variables() if v.op.name in names]

    def checkpoint(self):
        """The checkpoint prefix to read (the latest of a directory)."""
        path = self.ckpt_to_initialize_from
        if os.path.isdir(path):
            latest = saver_lib.latest_checkpoint(path)
            if latest is None:
                raise ValueError(f"WarmStartSettings: no checkpoint in {path}")
            return latest
        return path


def _warm_start_settings(warm_start_from):
    if warm_start_from is None or isinstance(warm_start_from, WarmStartSettings):
        return warm_start_from
    if isinstance(warm_start_from, (str, os.PathLike)):
        return WarmStartSettings(ckpt_to_initialize_from=warm_start_from)
    raise ValueError("warm_start_from must be a string or a WarmStartSettings, instead got "
                     f"{type(warm_start_from)}")


class _DatasetInitializerHook(SessionRunHook):
    """Initializes a dataset's iterator in every new session (an input_fn that returns a ``tf.data.Dataset``)."""

    def __init__(self, iterator):
        self._iterator = iterator

    def begin(self):
        self._initializer = self._iterator.initializer

    def after_create_session(self, session, coord):
        session.run(self._initializer)


class _StopAfterNEvalsHook(SessionRunHook):
    """Stops an evaluation after ``num_evals`` runs, logging the progress."""

    def __init__(self, num_evals, log_progress=True):
        self._num_evals, self._log_progress = num_evals, log_progress
        self._every = max(num_evals // 10, 1)
        self._done = 0

    def after_create_session(self, session, coord):
        self._done = 0

    def after_run(self, run_context, run_values):
        self._done += 1
        if self._log_progress and (self._done % self._every == 0 or self._done == self._num_evals):
            log.info("Evaluation [%d/%d]", self._done, self._num_evals)
        if self._done >= self._num_evals:
            run_context.request_stop()


class Estimator:
    """A model (``model_fn``) with its checkpoints (``model_dir``): ``train``, ``evaluate``, ``predict``.

    ``model_dir`` defaults to ``config.model_dir``, else a new temporary directory; ``params`` is passed to
    ``model_fn`` (which must then take ``params``); ``warm_start_from`` (a checkpoint, a directory or
    ``WarmStartSettings``) gives the trainable variables their first values when ``model_dir`` has no
    checkpoint. Not here yet: ``export_saved_model`` (no SavedModel) and summaries (no ``tf.summary``).
    """

    def __init__(self, model_fn, model_dir=None, config=None, params=None, warm_start_from=None):
        if config is None:
            config = RunConfig()
        elif not isinstance(config, RunConfig):
            raise ValueError(f"config must be an instance of `RunConfig`, but provided {config}.")
        model_dir = os.fspath(model_dir) if model_dir is not None else None
        if model_dir is not None and config.model_dir is not None and model_dir != config.model_dir:
            raise ValueError("model_dir are set both in constructor and RunConfig, but with different values. In "
                             f"constructor: '{model_dir}', in RunConfig: '{config.model_dir}' ")
        model_dir = model_dir or config.model_dir
        if model_dir is None:
            model_dir = tempfile.mkdtemp()
            log.warning("Using temporary folder as model directory: %s", model_dir)
        if config.model_dir != model_dir:
            config = config.replace(model_dir=model_dir)
        self._config = config
        self._model_dir = model_dir
        self._session_config = config.session_config
        self._device_fn = config.device_fn or _replica_device_setter(config)
        if model_fn is None:
            raise ValueError("model_fn must be provided to Estimator.")
        _verify_model_fn_args(model_fn, params)
        self._model_fn = model_fn
        self._params = copy.deepcopy(params or {})
        self._warm_start_settings = _warm_start_settings(warm_start_from)
        # This task's tf.train.Server when train_and_evaluate started one: the training session then follows
        # tasks that yarnflow restarted at new ports (not in TF, whose tasks keep their addresses).
        self._server = None

    # ------------------------------------------------------------------ properties
    @property
    def model_dir(self):
        """Where the checkpoints are."""
        return self._model_dir

    @property
    def config(self):
        """A copy of the ``RunConfig``."""
        return copy.deepcopy(self._config)

    @property
    def params(self):
        """A copy of the ``params`` given to ``model_fn``."""
        return copy.deepcopy(self._params)

    @property
    def model_fn(self):
        """``model_fn(features, labels, mode, config)`` bound to this estimator's ``params``."""
        def public_model_fn(features, labels, mode, config):
            return self._call_model_fn(features, labels, mode, config)
        return public_model_fn

    def latest_checkpoint(self):
        """The prefix of the newest checkpoint in ``model_dir``, or None."""
        return saver_lib.latest_checkpoint(self._model_dir)

    def _latest_checkpoint_or_fail(self):
        path = self.latest_checkpoint()
        if not path:
            raise ValueError(f"Could not find trained model in model_dir: {self._model_dir}.")
        return path

    def get_variable_value(self, name):
        """The value of variable ``name`` in the latest checkpoint."""
        arrays = saver_lib.read_checkpoint(self._latest_checkpoint_or_fail())
        if name not in arrays:
            raise ValueError(f"Variable {name!r} is not in the latest checkpoint; it holds: "
                             f"{', '.join(sorted(arrays))}")
        return arrays[name]

    def get_variable_names(self):
        """The names of the variables in the latest checkpoint."""
        return sorted(saver_lib.read_checkpoint(self._latest_checkpoint_or_fail()))

    def eval_dir(self, name=None):
        """The directory of the evaluation called ``name``."""
        return os.path.join(self._model_dir, "eval" if not name else "eval_" + name)

    # ------------------------------------------------------------------ train
    def train(self, input_fn, hooks=None, steps=None, max_steps=None, saving_listeners=None):
        """Train ``steps`` more steps, or until the global step is ``max_steps`` (or the input ends); ``self``."""
        if self._config.task_type in (TaskType.EVALUATOR, TaskType.PS):
            raise ValueError("Train has been called wrong configuration. Please use tf.estimator.train_and_evaluate "
                             f"which calls proper API according to given configuration. Current configuration: "
                             f"{self._config}.")
        if steps is not None and max_steps is not None:
            raise ValueError("Can not provide both steps and max_steps.")
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        if max_steps is not None and max_steps <= 0:
            raise ValueError(f"Must specify max_steps > 0, given: {max_steps}")
        if max_steps is not None and max_steps <= _load_global_step_from_checkpoint_dir(self._model_dir):
            log.info("Skipping training since max_steps has already saved.")
            return self
        hooks = _check_hooks_type(hooks)
        if steps is not None or max_steps is not None:
            hooks.append(StopAtStepHook(steps, max_steps))
        loss = self._train_model(input_fn, hooks, _check_listeners_type(saving_listeners))
        log.info("Loss for final step: %s.", loss)
        return self

    def _train_model(self, input_fn, hooks, saving_listeners):
        with Graph().as_default() as graph:
            with self._device_scope(graph):
                set_random_seed(self._config.tf_random_seed)
                self._create_and_assert_global_step(graph)
                features, labels, input_hooks = self._features_and_labels(input_fn, ModeKeys.TRAIN)
                spec = self._call_model_fn(features, labels, ModeKeys.TRAIN, self.config)
            return self._train_with_spec(spec, input_hooks + hooks, saving_listeners)

    def _train_with_spec(self, spec, worker_hooks, saving_listeners):
        config, graph = self._config, get_default_graph()
        global_step = variables_lib.get_global_step(graph)
        graph.add_to_collection(GraphKeys.LOSSES, spec.loss)
        summary.scalar("loss", spec.loss)  # as TF's estimator: TensorBoard's loss curve
        worker_hooks = list(worker_hooks) + [NanTensorHook(spec.loss)]
        if config.log_step_count_steps is not None:
            worker_hooks.append(LoggingTensorHook({"loss": spec.loss, "step": global_step},
                                                  every_n_iter=config.log_step_count_steps))
        worker_hooks.extend(spec.training_hooks)
        if not (spec.scaffold.saver or graph.get_collection(GraphKeys.SAVERS)):
            graph.add_to_collection(GraphKeys.SAVERS, saver_lib.Saver(
                sharded=True, max_to_keep=config.keep_checkpoint_max,
                keep_checkpoint_every_n_hours=config.keep_checkpoint_every_n_hours, defer_build=True,
                save_relative_paths=True))
        chief_hooks = []
        saver_hooks = [h for h in worker_hooks + list(spec.training_chief_hooks)
                       if isinstance(h, CheckpointSaverHook)]
        if (config.save_checkpoints_secs or config.save_checkpoints_steps) and not saver_hooks:
            chief_hooks = [CheckpointSaverHook(self._model_dir, save_secs=config.save_checkpoints_secs,
                                               save_steps=config.save_checkpoints_steps, scaffold=spec.scaffold)]
            saver_hooks = chief_hooks[:]
        if saving_listeners:
            if not saver_hooks:
                raise ValueError("There should be a CheckpointSaverHook to use saving_listeners. Please set one of "
                                 "the RunConfig.save_checkpoints_steps or RunConfig.save_checkpoints_secs.")
            for listener in saving_listeners:
                if listener not in saver_hooks[0]._listeners:
                    saver_hooks[0]._listeners.append(listener)
        scaffold = self._warm_started(spec.scaffold, checkpoint_path=None)
        loss, any_step = None, False
        with MonitoredTrainingSession(master=config.master, is_chief=config.is_chief,
                                      checkpoint_dir=self._model_dir, scaffold=scaffold, hooks=worker_hooks,
                                      chief_only_hooks=tuple(chief_hooks) + tuple(spec.training_chief_hooks),
                                      save_checkpoint_secs=0, save_summaries_steps=config.save_summary_steps,
                                      config=self._session_config, log_step_count_steps=config.log_step_count_steps,
                                      max_wait_secs=config.session_creation_timeout_secs, server=self._server) as sess:
            while not sess.should_stop():
                _, loss = sess.run([spec.train_op, spec.loss])
                any_step = True
        if not any_step:
            log.warning("Training with estimator made no steps. Perhaps input is empty or misspecified.")
        return loss

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, input_fn, steps=None, hooks=None, checkpoint_path=None, name=None):
        """Evaluate the latest checkpoint (or ``checkpoint_path``) on ``steps`` batches (all of them when None:
        until the input ends); a dict of the metrics' values with ``loss`` (the mean loss per batch) and
        ``global_step``."""
        hooks = _check_hooks_type(hooks)
        if steps is not None:
            if steps <= 0:
                raise ValueError(f"Must specify steps > 0, given: {steps}")
            hooks.append(_StopAfterNEvalsHook(num_evals=steps))
        if not checkpoint_path:
            checkpoint_path = self.latest_checkpoint()
            if not checkpoint_path:
                log.info("Could not find trained model in model_dir: %s, running initialization to evaluate.",
                         self._model_dir)
        with Graph().as_default() as graph:
            set_random_seed(self._config.tf_random_seed)
            global_step = self._create_and_assert_global_step(graph)
            features, labels, input_hooks = self._features_and_labels(input_fn, ModeKeys.EVAL)
            spec = self._call_model_fn(features, labels, ModeKeys.EVAL, self.config)
            if LOSS_METRIC_KEY in spec.eval_metric_ops:
                raise ValueError(f'Metric with name "{LOSS_METRIC_KEY}" is not allowed, because Estimator already '
                                 "defines a default metric with the same name.")
            metric_ops = dict(spec.eval_metric_ops)
            metric_ops[LOSS_METRIC_KEY] = metrics_lib.mean(spec.loss)
            if GraphKeys.GLOBAL_STEP in metric_ops:
                raise ValueError("Metric with name `global_step` is not allowed, because Estimator already defines "
                                 "a default metric with the same name.")
            update_op = control_flow_ops.group(*[update for _, update in metric_ops.values()])
            eval_dict = {key: value for key, (value, _) in metric_ops.items()}
            eval_dict[GraphKeys.GLOBAL_STEP] = global_step
            final = FinalOpsHook(eval_dict)
            all_hooks = input_hooks + hooks + list(spec.evaluation_hooks) + [final]
            scaffold = self._warm_started(spec.scaffold, checkpoint_path)
            log.info("Starting evaluation at %s", time.strftime("%Y-%m-%dT%H:%M:%S"))
            start = time.time()
            with MonitoredTrainingSession(master=self._config.evaluation_master, is_chief=True, scaffold=scaffold,
                                          hooks=all_hooks, config=self._session_config) as sess:
                while not sess.should_stop():
                    sess.run(update_op)
            log.info("Inference Time : %.5fs", time.time() - start)
        results = final.final_ops_values
        log.info("Saving dict for global step %d: %s", results[GraphKeys.GLOBAL_STEP], _dict_to_str(results))
        return results

    # ------------------------------------------------------------------ predict
    def predict(self, input_fn, predict_keys=None, hooks=None, checkpoint_path=None, yield_single_examples=True):
        """Yield the predictions of the latest checkpoint (or ``checkpoint_path``) until the input ends: one
        example at a time (a dict of values, or the value), or whole batches with
        ``yield_single_examples=False``; ``predict_keys`` picks entries of a dict of predictions."""
        hooks = _check_hooks_type(hooks)
        if not checkpoint_path:
            checkpoint_path = self.latest_checkpoint()
        if not checkpoint_path:
            log.info("Could not find trained model in model_dir: %s, running initialization to predict.",
                     self._model_dir)
        with Graph().as_default() as graph:
            set_random_seed(self._config.tf_random_seed)
            self._create_and_assert_global_step(graph)
            features, _, input_hooks = self._features_and_labels(input_fn, ModeKeys.PREDICT)
            if not input_hooks and not graph.get_collection("queue_runners"):
                log.warning("Input graph does not use tf.data.Dataset or contain a QueueRunner. That means predict "
                            "yields forever. This is probably a mistake.")
            spec = self._call_model_fn(features, None, ModeKeys.PREDICT, self.config)
            predictions = self._extract_keys(spec.predictions, predict_keys)
            all_hooks = input_hooks + hooks + list(spec.prediction_hooks)
            scaffold = self._warm_started(spec.scaffold, checkpoint_path)
            with MonitoredTrainingSession(master=self._config.master, is_chief=True, scaffold=scaffold,
                                          hooks=all_hooks, config=self._session_config) as sess:
                while not sess.should_stop():
                    values = sess.run(predictions)
                    if not yield_single_examples:
                        yield values
                    elif not isinstance(predictions, dict):
                        yield from values
                    else:
                        for i in range(self._extract_batch_length(values)):
                            yield {key: value[i] for key, value in values.items()}

    @staticmethod
    def _extract_keys(predictions, predict_keys):
        if not predict_keys:
            return predictions
        if not isinstance(predictions, dict):
            raise ValueError("predict_keys argument is not valid in case of non-dict predictions.")
        existing = list(predictions.keys())
        chosen = {key: value for key, value in predictions.items() if key in predict_keys}
        if not chosen:
            raise ValueError(f"Expected to run at least one output from {existing}, provided {predict_keys}.")
        return chosen

    @staticmethod
    def _extract_batch_length(values):
        length = None
        for key, value in values.items():
            length = length or value.shape[0]
            if value.shape[0] != length:
                raise ValueError(f"Batch length of predictions should be same. {key} has different batch length "
                                 "than others.")
        return length

    # ------------------------------------------------------------------ building the graph
    def _device_scope(self, graph):
        return graph.device(self._device_fn) if self._device_fn is not None else contextlib.nullcontext()

    @staticmethod
    def _create_and_assert_global_step(graph):
        step = variables_lib.create_global_step(graph)
        if not step.dtype.base_dtype.is_integer:
            raise TypeError(f"Existing global_step must be an integer, found {step.dtype}")
        return step

    def _call_input_fn(self, input_fn, mode):
        args = _fn_args(input_fn)
        kwargs = {}
        if "mode" in args:
            kwargs["mode"] = mode
        if "params" in args:
            kwargs["params"] = self.params
        if "config" in args:
            kwargs["config"] = self.config
        return input_fn(**kwargs)

    def _features_and_labels(self, input_fn, mode):
        """``(features, labels, hooks)`` from ``input_fn``: a Dataset is read through an iterator initialized
        in every session, a tuple is ``(features, labels)``, anything else the features."""
        result = self._call_input_fn(input_fn, mode)
        hooks = list(get_default_graph().get_collection(INPUT_HOOKS))  # e.g. numpy_input_fn's feeder
        if hasattr(result, "make_initializable_iterator"):  # a tf.data.Dataset
            iterator = result.make_initializable_iterator()
            hooks.append(_DatasetInitializerHook(iterator))
            result = iterator.get_next()
        if isinstance(result, (list, tuple)):
            if len(result) != 2:
                raise ValueError("input_fn should return (features, labels) as a len 2 tuple.")
            return result[0], result[1], hooks
        return result, None, hooks

    def _call_model_fn(self, features, labels, mode, config):
        args = _fn_args(self._model_fn)
        kwargs = {}
        if "labels" in args:
            kwargs["labels"] = labels
        elif labels is not None:
            raise ValueError("model_fn does not take labels, but input_fn returns labels.")
        if "mode" in args:
            kwargs["mode"] = mode
        if "params" in args:
            kwargs["params"] = self.params
        if "config" in args:
            kwargs["config"] = config
        log.info("Calling model_fn.")
        spec = self._model_fn(features=features, **kwargs)
        log.info("Done calling model_fn.")
        if not isinstance(spec, EstimatorSpec):
            raise ValueError("model_fn should return an EstimatorSpec.")
        return spec

    def _warm_started(self, scaffold, checkpoint_path):
        """The scaffold a session starts from: restoring ``checkpoint_path`` when given (evaluate, predict),
        else warm-starting (when asked) the first time the model is initialized."""
        if checkpoint_path:
            def restore(scaffold, sess):
                scaffold.saver.restore(sess, checkpoint_path)
            return Scaffold(copy_from_scaffold=scaffold, init_fn=restore)
        settings = self._warm_start_settings
        if settings is None:
            return scaffold
        variables = settings.variables()
        previous = scaffold.init_fn

        def warm_start(scaffold, sess):
            if previous is not None:
                previous(scaffold, sess)
            path = settings.checkpoint()
            arrays = saver_lib.read_checkpoint(path)
            log.info("Warm-starting from: %s", path)
            for var in variables:
                source = settings.var_name_to_prev_var_name.get(var.op.name, var.op.name)
                if source not in arrays:
                    raise ValueError(f"Warm-starting: variable {source!r} is not in checkpoint {path}")
                var.load(arrays[source], sess)
        return Scaffold(copy_from_scaffold=scaffold, init_fn=warm_start)
