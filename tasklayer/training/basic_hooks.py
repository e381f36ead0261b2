"""The standard ``tf.train`` session hooks (TF's ``basic_session_run_hooks``) beside ``StopAtStepHook`` and
``CheckpointSaverHook`` (which live with ``MonitoredTrainingSession``): ``LoggingTensorHook``, ``NanTensorHook``,
``StepCounterHook``, ``SummarySaverHook``, ``FeedFnHook``, ``FinalOpsHook``, ``GlobalStepWaiterHook``, the
``SecondOrStepTimer`` they share and ``CheckpointSaverListener``.

Messages go to the ``tensorflow`` logger, at TF's levels (``tf.logging.set_verbosity(tf.logging.INFO)`` shows
them); summaries go to a ``tf.summary.FileWriter`` (by default the ``FileWriterCache``'s for ``output_dir``).
Not here yet: ``ProfilerHook``.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, [])
...     doubled = x * 2
...     final = tf.train.FinalOpsHook(doubled, final_ops_feed_dict={x: 21.0})
...     feed = tf.train.FeedFnHook(lambda: {x: 1.0})
...     with tf.train.MonitoredTrainingSession(hooks=[final, feed]) as sess:
...         sess.run(doubled).item()
...     final.final_ops_values.item()
2.0
42.0
"""

import logging
import time

import numpy as np

from tasklayer import errors
from tasklayer import variables as variables_lib
from tasklayer.graph import get_default_graph
from tasklayer.summary import FileWriterCache, SessionLog, Summary
from tasklayer.training.session_run_hook import SessionRunArgs, SessionRunHook

__all__ = ["SecondOrStepTimer", "LoggingTensorHook", "NanLossDuringTrainingError", "NanTensorHook",
           "StepCounterHook", "SummarySaverHook", "FeedFnHook", "FinalOpsHook", "GlobalStepWaiterHook",
           "CheckpointSaverListener"]

log = logging.getLogger("tensorflow")

GLOBAL_STEP_POLL_SECS = 0.5  # how often GlobalStepWaiterHook reads the global step (TF's figure)


def _now():
    """The clock the timers read (a test replaces it)."""
    return time.time()


def _sleep(seconds):
    time.sleep(seconds)


class SecondOrStepTimer:
    """Triggers every ``every_secs`` seconds or every ``every_steps`` steps (exactly one of them).

    >>> timer = SecondOrStepTimer(every_steps=10)
    >>> timer.should_trigger_for_step(0), timer.update_last_triggered_step(0)
    (True, (None, None))
    >>> timer.should_trigger_for_step(9), timer.should_trigger_for_step(10)
    (False, True)
    """

    def __init__(self, every_secs=None, every_steps=None):
        self.reset()
        self._every_secs, self._every_steps = every_secs, every_steps
        if every_secs is None and every_steps is None:
            raise ValueError("Either every_secs or every_steps should be provided.")
        if every_secs is not None and every_steps is not None:
            raise ValueError("Can not provide both every_secs and every_steps.")

    def reset(self):
        """Forget the last trigger: the next step triggers."""
        self._last_triggered_step = None
        self._last_triggered_time = None

    def should_trigger_for_step(self, step):
        """Whether ``step`` is due (always the first time; never twice for the same step)."""
        if self._last_triggered_step is None:
            return True
        if self._last_triggered_step == step:
            return False
        if self._every_secs is not None and _now() >= self._last_triggered_time + self._every_secs:
            return True
        if self._every_steps is not None and step >= self._last_triggered_step + self._every_steps:
            return True
        return False

    def update_last_triggered_step(self, step):
        """Record a trigger at ``step``; ``(seconds, steps)`` since the previous one (None, None the first time)."""
        now = _now()
        if self._last_triggered_time is None:
            elapsed = (None, None)
        else:
            elapsed = (now - self._last_triggered_time, step - self._last_triggered_step)
        self._last_triggered_time, self._last_triggered_step = now, step
        return elapsed

    def last_triggered_step(self):
        """The step of the last trigger, or None."""
        return self._last_triggered_step


class _NeverTriggerTimer(SecondOrStepTimer):
    """A timer that never triggers (a LoggingTensorHook that logs only at the end)."""

    def __init__(self):
        self.reset()

    def should_trigger_for_step(self, step):
        return False

    def update_last_triggered_step(self, step):
        return (None, None)


def _as_graph_element(obj):
    """A tensor of the default graph from a tensor or a name (``"loss"`` means ``"loss:0"``); ValueError for a
    tensor of another graph or a name that is ambiguous."""
    graph = get_default_graph()
    if not isinstance(obj, str):
        if getattr(obj, "graph", None) is not graph:
            raise ValueError(f"Passed {obj} should have graph attribute that is equal to current graph {graph}.")
        return obj
    if ":" in obj:
        return graph.as_graph_element(obj)
    element = graph.as_graph_element(obj + ":0")
    try:
        graph.as_graph_element(obj + ":1")
    except (KeyError, ValueError):
        return element
    raise ValueError(f"Name {obj} is ambiguous, as this `Operation` has multiple outputs (at least 2).")


class LoggingTensorHook(SessionRunHook):
    """Logs the values of ``tensors`` (a list of tensors or names, or a dict tag -> tensor) every
    ``every_n_iter`` runs or ``every_n_secs`` seconds, and/or at the end (``at_end``); ``formatter(values)``
    turns the dict of values into the line logged."""

    def __init__(self, tensors, every_n_iter=None, every_n_secs=None, at_end=False, formatter=None):
        only_at_end = at_end and every_n_iter is None and every_n_secs is None
        if not only_at_end and (every_n_iter is None) == (every_n_secs is None):
            raise ValueError("either at_end and/or exactly one of every_n_iter and every_n_secs must be provided.")
        if every_n_iter is not None and every_n_iter <= 0:
            raise ValueError(f"invalid every_n_iter={every_n_iter}.")
        if not isinstance(tensors, dict):
            self._tag_order = list(tensors)
            tensors = {item: item for item in tensors}
        else:
            self._tag_order = sorted(tensors.keys())
        self._tensors = tensors
        self._formatter = formatter
        self._timer = (_NeverTriggerTimer() if only_at_end
                       else SecondOrStepTimer(every_secs=every_n_secs, every_steps=every_n_iter))
        self._log_at_end = at_end

    def begin(self):
        self._timer.reset()
        self._iter_count = 0
        self._current_tensors = {tag: _as_graph_element(t) for tag, t in self._tensors.items()}

    def before_run(self, run_context):
        self._should_trigger = self._timer.should_trigger_for_step(self._iter_count)
        return SessionRunArgs(self._current_tensors) if self._should_trigger else None

    def _log_tensors(self, values):
        elapsed, _ = self._timer.update_last_triggered_step(self._iter_count)
        with np.printoptions(suppress=True):
            if self._formatter:
                log.info(self._formatter(values))
                return
            stats = ", ".join(f"{tag} = {values[tag]}" for tag in self._tag_order)
            if elapsed is not None:
                log.info("%s (%.3f sec)", stats, elapsed)
            else:
                log.info("%s", stats)

    def after_run(self, run_context, run_values):
        if self._should_trigger:
            self._log_tensors(run_values.results)
        self._iter_count += 1

    def end(self, session):
        if self._log_at_end:
            self._log_tensors(session.run(self._current_tensors))


class NanLossDuringTrainingError(RuntimeError):
    """Raised by ``NanTensorHook`` when the loss is NaN."""

    def __str__(self):
        return "NaN loss during training."


class NanTensorHook(SessionRunHook):
    """Fetches ``loss_tensor`` every run; when it is NaN, raises ``NanLossDuringTrainingError``
    (``fail_on_nan_loss``) or logs a warning and requests a stop."""

    def __init__(self, loss_tensor, fail_on_nan_loss=True):
        self._loss_tensor = loss_tensor
        self._fail_on_nan_loss = fail_on_nan_loss

    def before_run(self, run_context):
        return SessionRunArgs(self._loss_tensor)

    def after_run(self, run_context, run_values):
        if np.isnan(run_values.results):
            message = "Model diverged with loss = NaN."
            if self._fail_on_nan_loss:
                log.error(message)
                raise NanLossDuringTrainingError
            log.warning(message)
            run_context.request_stop()


def _global_step_or_fail(hook_name):
    step = variables_lib.get_global_step()
    if step is None:
        raise RuntimeError(f"Global step should be created to use {hook_name}.")
    return step


class StepCounterHook(SessionRunHook):
    """Logs global steps per second (``global_step/sec: N``) every ``every_n_steps`` steps or ``every_n_secs``
    seconds, and writes it as a scalar summary of that tag to ``summary_writer`` (or the cached writer of
    ``output_dir``) when either is given."""

    def __init__(self, every_n_steps=100, every_n_secs=None, output_dir=None, summary_writer=None):
        if (every_n_steps is None) == (every_n_secs is None):
            raise ValueError("exactly one of every_n_steps and every_n_secs should be provided.")
        self._timer = SecondOrStepTimer(every_steps=every_n_steps, every_secs=every_n_secs)
        self._output_dir, self._summary_writer = output_dir, summary_writer
        self._last_global_step = None
        self._steps_per_run = 1
        self.last_steps_per_sec = None  # the rate last logged (not in TF: lets a program or test read it)

    def begin(self):
        if self._summary_writer is None and self._output_dir:
            self._summary_writer = FileWriterCache.get(self._output_dir)
        self._global_step = _global_step_or_fail("StepCounterHook")
        self._summary_tag = self._global_step.op.name + "/sec"

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step)

    def _log_and_record(self, elapsed_steps, elapsed_time, global_step):
        rate = elapsed_steps / elapsed_time if elapsed_time > 0 else float("inf")
        self.last_steps_per_sec = rate
        if self._summary_writer is not None:
            summary = Summary(value=[Summary.Value(tag=self._summary_tag, simple_value=rate)])
            self._summary_writer.add_summary(summary, global_step)
        log.info("%s: %g", self._summary_tag, rate)

    def after_run(self, run_context, run_values):
        stale = int(run_values.results)
        if self._timer.should_trigger_for_step(stale + self._steps_per_run):
            step = int(run_context.session.run(self._global_step))
            if self._timer.should_trigger_for_step(step):
                elapsed_time, elapsed_steps = self._timer.update_last_triggered_step(step)
                if elapsed_time is not None:
                    self._log_and_record(elapsed_steps, elapsed_time, step)
        if stale == self._last_global_step:
            log.warning("It seems that global step (tf.train.get_global_step) has not been increased. Current "
                        "value (could be stable): %s vs previous value: %s. You could increase the global step by "
                        "passing tf.train.get_global_step() to Optimizer.apply_gradients or Optimizer.minimize.",
                        stale, self._last_global_step)
        self._last_global_step = stale


class SummarySaverHook(SessionRunHook):
    """Runs the summary op every ``save_steps`` steps or ``save_secs`` seconds (and on the first run) and writes
    what it gives at the global step, to ``summary_writer`` or the cached writer of ``output_dir``; a
    ``SessionLog.START`` first. The op is ``summary_op`` (a tensor or a list of them) or the ``scaffold``'s
    (``tf.summary.merge_all()`` by default): exactly one of the two."""

    def __init__(self, save_steps=None, save_secs=None, output_dir=None, summary_writer=None, scaffold=None,
                 summary_op=None):
        if (scaffold is None) == (summary_op is None):
            raise ValueError("Exactly one of scaffold or summary_op must be provided.")
        self._summary_op, self._scaffold = summary_op, scaffold
        self._summary_writer, self._output_dir = summary_writer, output_dir
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)

    def begin(self):
        if self._summary_writer is None and self._output_dir:
            self._summary_writer = FileWriterCache.get(self._output_dir)
        self._next_step = None
        self._global_step = _global_step_or_fail("SummarySaverHook")

    def _get_summary_op(self):
        """The summary tensors to run, as a list, or None."""
        summary_op = self._summary_op if self._summary_op is not None else self._scaffold.summary_op
        if summary_op is None:
            return None
        return summary_op if isinstance(summary_op, list) else [summary_op]

    def before_run(self, run_context):
        self._request_summary = self._next_step is None or self._timer.should_trigger_for_step(self._next_step)
        requests = {"global_step": self._global_step}
        if self._request_summary and self._get_summary_op() is not None:
            requests["summary"] = self._get_summary_op()
        return SessionRunArgs(requests)

    def after_run(self, run_context, run_values):
        if not self._summary_writer:
            return
        global_step = int(run_values.results["global_step"]) + 1  # the value read may predate this run's step
        if self._next_step is None or self._request_summary:
            global_step = int(run_context.session.run(self._global_step))
        if self._next_step is None:
            self._summary_writer.add_session_log(SessionLog(status=SessionLog.START), global_step)
        if self._request_summary:
            self._timer.update_last_triggered_step(global_step)
            for summary in run_values.results.get("summary", []):
                self._summary_writer.add_summary(summary, global_step)
        self._next_step = global_step + 1

    def end(self, session=None):
        if self._summary_writer:
            self._summary_writer.flush()


class FeedFnHook(SessionRunHook):
    """Adds ``feed_fn()`` (a feed dict) to every run."""

    def __init__(self, feed_fn):
        self.feed_fn = feed_fn

    def before_run(self, run_context):
        return SessionRunArgs(fetches=None, feed_dict=self.feed_fn())


class FinalOpsHook(SessionRunHook):
    """Runs ``final_ops`` (any fetch structure) when the session ends; ``final_ops_values`` holds the results.
    (``Estimator.evaluate`` reads its metrics' values this way.)"""

    def __init__(self, final_ops, final_ops_feed_dict=None):
        self._final_ops, self._final_ops_feed_dict = final_ops, final_ops_feed_dict
        self._final_ops_values = None

    @property
    def final_ops_values(self):
        """What ``final_ops`` gave at the end (None before)."""
        return self._final_ops_values

    def end(self, session):
        if self._final_ops is None:
            return
        try:
            self._final_ops_values = session.run(self._final_ops, feed_dict=self._final_ops_feed_dict)
        except (errors.OutOfRangeError, StopIteration):
            log.warning("An OutOfRangeError or StopIteration exception is raised by the code in FinalOpsHook. This "
                        "typically means the Ops running by the FinalOpsHook have a dependency back to some input "
                        "source, which should not happen. For example, for metrics in tf.estimator.Estimator, all "
                        "metrics functions return two Ops: `value_op` and  `update_op`. Estimator.evaluate calls the "
                        "`update_op` for each batch of the data in input source and, once it is exhausted, it call "
                        "the `value_op` to get the metric values. The `value_op` here should have dependency back to "
                        "variables reading only, rather than reading another batch from input. Otherwise, the "
                        "`value_op`, executed by `FinalOpsHook`, triggers another data reading, which ends "
                        "OutOfRangeError/StopIteration. Please fix that.")
            raise


class GlobalStepWaiterHook(SessionRunHook):
    """Holds this worker's first run until the global step reaches ``wait_until_step`` (TF's staggered start of
    the workers of a between-graph replicated job)."""

    def __init__(self, wait_until_step):
        self._wait_until_step = wait_until_step

    def begin(self):
        self._worker_is_started = False
        self._global_step = _global_step_or_fail("_GlobalStepWaiterHook")

    def before_run(self, run_context):
        if self._worker_is_started:
            return None
        if self._wait_until_step <= 0:
            self._worker_is_started = True
            return None
        log.info("Waiting for global step %d before starting training.", self._wait_until_step)
        last_logged = 0
        while True:
            step = int(run_context.session.run(self._global_step))
            if step >= self._wait_until_step:
                self._worker_is_started = True
                return None
            if step - last_logged > 1000:
                log.info("Waiting for global step %d before starting training. Current step is %d.",
                         self._wait_until_step, step)
                last_logged = step
            _sleep(GLOBAL_STEP_POLL_SECS)


class CheckpointSaverListener:
    """Told around each save of a ``CheckpointSaverHook``: ``begin``, ``before_save``, ``after_save`` (returning
    True stops the training loop) and ``end``."""

    def begin(self):
        """Called once, when the hook begins."""

    def before_save(self, session, global_step_value):
        """Called before each save."""

    def after_save(self, session, global_step_value):
        """Called after each save; True requests a stop."""

    def end(self, session, global_step_value):
        """Called when the training session ends (after the last save)."""
