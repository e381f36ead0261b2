"""``tf.estimator.train_and_evaluate``: train and evaluate an Estimator locally, or as one task of a
between-graph replicated job described by ``TF_CONFIG`` (``RunConfig``).

Every task runs the same program. By the task's type:

* ``ps``: starts its ``tf.train.Server`` and serves the variables until it is stopped (``join``; under yarnflow
  it follows workers restarted at new ports, and the app master stops it once the workers are done);
* ``worker`` (and ``chief``): starts its server, waits ``min(60, 5 * k)`` s as TF staggers workers (see
  ``RunConfig(experimental_max_worker_delay_secs=...)``), then trains with ``Estimator.train`` through a
  ``MonitoredTrainingSession`` on its own server, the variables on the ps tasks;
* the chief (worker 0 of a ps/worker cluster, or a real ``chief``/``master`` task: ``RunConfig``) initializes or
  restores the model, saves the checkpoints, evaluates each new checkpoint (at most every ``throttle_secs``)
  and the final one, as TF's ``master`` did;
* ``evaluator``: evaluates each new checkpoint of ``model_dir`` until the training's last step.

Without a cluster it all runs in this process. The chief (and a local run) returns ``(metrics, [])``: the last
evaluation and no exports (TF returns None on a distributed chief; there is no SavedModel export yet).

>>> import tasklayer as tf, tempfile
>>> def model_fn(features, labels, mode):
...     w = tf.get_variable("w", [], initializer=tf.zeros_initializer())
...     loss = tf.reduce_mean(tf.square(features * w - labels))
...     train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, tf.train.get_global_step())
...     return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)
>>> def input_fn():
...     return tf.constant([1.0, 2.0]), tf.constant([2.0, 4.0])
>>> est = tf.estimator.Estimator(model_fn, model_dir=tempfile.mkdtemp())
>>> metrics, _ = tf.estimator.train_and_evaluate(est, tf.estimator.TrainSpec(input_fn, max_steps=20),
...                                              tf.estimator.EvalSpec(input_fn, steps=1))
>>> int(metrics["global_step"]), bool(metrics["loss"] < 1e-6)
(20, True)
"""

import collections
import logging
import time

from tasklayer.estimator.estimator import Estimator
from tasklayer.estimator.run_config import TaskType
from tasklayer.train.server import Server
from tasklayer.training.basic_hooks import CheckpointSaverListener, SecondOrStepTimer
from tasklayer.training.cluster_follow import join_following_cluster
from tasklayer.training.monitored_session import SessionRunHook

__all__ = ["TrainSpec", "EvalSpec", "train_and_evaluate"]

log = logging.getLogger("tensorflow")

_MAX_DELAY_SECS = 60
_DELAY_SECS_PER_WORKER = 5


def _validate_input_fn(input_fn):
    if not callable(input_fn):
        raise TypeError(f"`input_fn` must be callable, given: {input_fn}")


def _validate_hooks(hooks):
    hooks = tuple(hooks or [])
    for hook in hooks:
        if not isinstance(hook, SessionRunHook):
            raise TypeError(f"All hooks must be `SessionRunHook` instances, given: {hook}")
    return hooks


class TrainSpec(collections.namedtuple("TrainSpec", ["input_fn", "max_steps", "hooks", "saving_listeners"])):
    """What ``train_and_evaluate`` trains on: ``input_fn``, up to ``max_steps`` (None: until the input ends)."""

    def __new__(cls, input_fn, max_steps=None, hooks=None, saving_listeners=None):
        _validate_input_fn(input_fn)
        if max_steps is not None and max_steps <= 0:
            raise ValueError(f"Must specify max_steps > 0, given: {max_steps}")
        listeners = tuple(saving_listeners or [])
        for listener in listeners:
            if not isinstance(listener, CheckpointSaverListener):
                raise TypeError(f"All saving_listeners must be `CheckpointSaverListener` instances, given: "
                                f"{listener}")
        return super().__new__(cls, input_fn=input_fn, max_steps=max_steps, hooks=_validate_hooks(hooks),
                               saving_listeners=listeners)


class EvalSpec(collections.namedtuple("EvalSpec", ["input_fn", "steps", "name", "hooks", "exporters",
                                                   "start_delay_secs", "throttle_secs"])):
    """How ``train_and_evaluate`` evaluates: ``steps`` batches of ``input_fn`` (None: until it ends), at most
    every ``throttle_secs`` seconds, the first after ``start_delay_secs`` (on an evaluator task)."""

    def __new__(cls, input_fn, steps=100, name=None, hooks=None, exporters=None, start_delay_secs=120,
                throttle_secs=600):
        _validate_input_fn(input_fn)
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be string, given: {name}")
        if exporters:
            raise NotImplementedError("EvalSpec(exporters=...): exporting a SavedModel is not supported yet")
        if start_delay_secs < 0:
            raise ValueError(f"Must specify start_delay_secs >= 0, given: {start_delay_secs}")
        if throttle_secs < 0:
            raise ValueError(f"Must specify throttle_secs >= 0, given: {throttle_secs}")
        return super().__new__(cls, input_fn=input_fn, steps=steps, name=name, hooks=_validate_hooks(hooks),
                               exporters=(), start_delay_secs=start_delay_secs, throttle_secs=throttle_secs)


def train_and_evaluate(estimator, train_spec, eval_spec):
    """Train ``estimator`` on ``train_spec`` and evaluate it on ``eval_spec``, locally or as this task of the
    cluster in ``TF_CONFIG`` (module docstring); ``(metrics, [])`` on the chief or locally, else None."""
    if not isinstance(eval_spec, EvalSpec):
        raise TypeError(f"`eval_spec` must have type `tf.estimator.EvalSpec`. Got: {type(eval_spec)}")
    executor = _TrainingExecutor(estimator, train_spec, eval_spec)
    config = estimator.config
    if config.task_type == TaskType.EVALUATOR and config.task_id > 0:
        raise ValueError("For distributed training, there can only be one `evaluator` task (with task id 0).  "
                         f"Given task id {config.task_id}")
    return executor.run()


class _EvalListener(CheckpointSaverListener):
    """Evaluates after a checkpoint is saved (at most every ``throttle_secs``) and, at the end, the last
    checkpoint if it was not evaluated yet (TF's ``_NewCheckpointListenerForEvaluate``)."""

    def __init__(self, evaluator, throttle_secs):
        self._evaluator, self._throttle_secs = evaluator, throttle_secs
        self.eval_result = None

    def begin(self):
        self._timer = SecondOrStepTimer(every_secs=self._throttle_secs)

    def after_save(self, session, global_step_value):
        if self._timer.should_trigger_for_step(global_step_value):
            self._evaluate(global_step_value)
        else:
            log.info("Skip the current checkpoint eval due to throttle secs (%s secs).", self._throttle_secs)

    def end(self, session, global_step_value):
        if global_step_value != self._timer.last_triggered_step():
            self._evaluate(global_step_value)

    def _evaluate(self, global_step_value):
        self._timer.update_last_triggered_step(global_step_value)
        result = self._evaluator.evaluate()
        if result is not None:
            self.eval_result = result


class _Evaluator:
    """Evaluates the newest checkpoint of the estimator once (skipping one already evaluated)."""

    def __init__(self, estimator, eval_spec):
        self._estimator, self._eval_spec = estimator, eval_spec
        self._previous_checkpoint = None

    def evaluate(self):
        """The metrics of the newest checkpoint, or None when there is none or no new one."""
        checkpoint = self._estimator.latest_checkpoint()
        if not checkpoint:
            log.warning("Estimator is not trained yet. Will start an evaluation when a checkpoint is ready.")
            return None
        if checkpoint == self._previous_checkpoint:
            log.warning("No new checkpoint ready for evaluation. Skip the current evaluation pass as evaluation "
                        "results are expected to be same for the same checkpoint.")
            return None
        metrics = self._estimator.evaluate(input_fn=self._eval_spec.input_fn, steps=self._eval_spec.steps,
                                           name=self._eval_spec.name, checkpoint_path=checkpoint,
                                           hooks=self._eval_spec.hooks)
        self._previous_checkpoint = checkpoint
        return metrics


class _TrainingExecutor:
    """Runs this task's part of ``train_and_evaluate``: ``run_<task type>``."""

    def __init__(self, estimator, train_spec, eval_spec):
        if not isinstance(estimator, Estimator):
            raise TypeError(f"`estimator` must have type `tf.estimator.Estimator`. Got: {type(estimator)}")
        if not isinstance(train_spec, TrainSpec):
            raise TypeError(f"`train_spec` must have type `tf.estimator.TrainSpec`. Got: {type(train_spec)}")
        if not isinstance(eval_spec, EvalSpec):
            raise TypeError(f"`eval_spec` must have type `tf.estimator.EvalSpec`. Got: {type(eval_spec)}")
        self._estimator, self._train_spec, self._eval_spec = estimator, train_spec, eval_spec

    def run(self):
        """Train and evaluate locally, or run this task's part (module docstring)."""
        config = self._estimator.config
        if not config.cluster_spec and config.task_type != TaskType.EVALUATOR:
            log.info("Running training and evaluation locally (non-distributed).")
            return self.run_local()
        if not config.task_type:
            raise ValueError("`estimator.config` must have task_type set. This usually means TF_CONFIG environment "
                             "is not set correctly.")
        if config.task_type == "local":
            raise ValueError("`task.type` in TF_CONFIG cannot be `local`. Leaving `cluster` and `task` properties in "
                             "TF_CONFIG absent triggers train and evaluate `Estimator` locally (non-distributed).")
        runners = {"chief": self.run_chief, "master": self.run_master, "worker": self.run_worker,
                   "ps": self.run_ps, "evaluator": self.run_evaluator}
        if config.task_type not in runners:
            raise ValueError(f"Task type {config.task_type} is not supported. Supported task types are "
                             f"{sorted(runners)}")
        return runners[config.task_type]()

    def _evaluating_listener(self):
        return _EvalListener(_Evaluator(self._estimator, self._eval_spec), self._eval_spec.throttle_secs)

    def run_local(self):
        """Train in this process, evaluating each new checkpoint (throttled) and the last one."""
        listener = self._evaluating_listener()
        self._estimator.train(input_fn=self._train_spec.input_fn, max_steps=self._train_spec.max_steps,
                              hooks=list(self._train_spec.hooks),
                              saving_listeners=list(self._train_spec.saving_listeners) + [listener])
        return listener.eval_result, []

    def run_master(self):
        """The chief of a cluster: train (initializing, checkpointing) and evaluate as ``run_local`` does."""
        listener = self._evaluating_listener()
        self._start_distributed_training(saving_listeners=[listener])
        return listener.eval_result, []

    def run_chief(self):
        """A ``chief`` task: the chief's training and evaluation (as TF's ``master``; no evaluator needed)."""
        return self.run_master()

    def run_worker(self):
        """A worker: train; worker 0 of a cluster without a chief is the chief (``run_master``)."""
        if self._estimator.config.is_chief:
            return self.run_master()
        self._start_distributed_training()
        return None

    def run_ps(self):
        """A ps task: serve the variables until the server is stopped."""
        server = self._start_std_server(self._estimator.config)
        join_following_cluster(server)

    def run_evaluator(self):
        """Evaluate each new checkpoint (every ``throttle_secs``) until one reaches the training's last step."""
        evaluator = _Evaluator(self._estimator, self._eval_spec)
        if self._eval_spec.start_delay_secs:
            log.info("Waiting %f secs before starting eval.", self._eval_spec.start_delay_secs)
            time.sleep(self._eval_spec.start_delay_secs)
        max_steps = self._train_spec.max_steps
        while True:
            start = time.time()
            metrics = evaluator.evaluate()
            if metrics is not None and max_steps and metrics["global_step"] >= max_steps:
                log.info("Exiting evaluation, global_step=%s >= train max_steps=%s", metrics["global_step"],
                         max_steps)
                return metrics, []
            wait = self._eval_spec.throttle_secs - (time.time() - start)
            if wait > 0:
                log.info("Waiting %f secs before starting next eval run.", wait)
                time.sleep(wait)

    def _start_distributed_training(self, saving_listeners=None):
        config = self._estimator.config
        self._estimator._server = self._start_std_server(config)
        delay = 0
        if config.task_type == TaskType.WORKER and not config.is_chief:
            max_delay = _MAX_DELAY_SECS
            if config.experimental_max_worker_delay_secs is not None:
                max_delay = int(config.experimental_max_worker_delay_secs)
            # TF delays worker k by (k + 1) * 5 s behind a separate chief; here worker 0 may be the chief itself.
            first = 0 if TaskType.CHIEF not in config.cluster_spec.jobs and \
                TaskType.MASTER not in config.cluster_spec.jobs else 1
            delay = min(max_delay, (config.task_id + first) * _DELAY_SECS_PER_WORKER)
        if delay > 0:
            log.info("Waiting %d secs before starting training.", delay)
            time.sleep(delay)
        self._estimator.train(input_fn=self._train_spec.input_fn, max_steps=self._train_spec.max_steps,
                              hooks=list(self._train_spec.hooks),
                              saving_listeners=list(self._train_spec.saving_listeners) + list(saving_listeners or []))

    @staticmethod
    def _start_std_server(config):
        """This task's ``tf.train.Server`` from the config (None for a one-task cluster, which runs in process)."""
        if not config.cluster_spec:
            raise RuntimeError("Could not start server; be sure to specify cluster_spec, task_type, and task in "
                               "RunConfig or set the TF_CONFIG environment variable.")
        if not config.master:
            jobs = config.cluster_spec.jobs
            if len(jobs) == 1 and len(config.cluster_spec.job_tasks(jobs[0])) == 1 and \
                    config.task_type in (TaskType.CHIEF, TaskType.MASTER, TaskType.WORKER):
                log.info("Skip starting Tensorflow server as there is only one node in the cluster.")
                return None
            if config.task_type != TaskType.PS:
                raise RuntimeError("Could not start server; be sure to specify master in RunConfig or set the "
                                   "TF_CONFIG environment variable.")
        log.info("Start Tensorflow server.")
        server = Server(config.cluster_spec, job_name=config.task_type, task_index=config.task_id, start=False,
                        protocol=config.protocol)
        server.start()
        return server
