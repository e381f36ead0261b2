"""``tf.train.MonitoredTrainingSession``: a session that initializes or restores on the chief, makes the other
workers wait for initialization, saves checkpoints on the chief and runs hooks (``StopAtStepHook``).

>>> import tasklayer as tf, tempfile
>>> d = tempfile.mkdtemp()
>>> with tf.Graph().as_default():
...     step = tf.train.get_or_create_global_step()
...     train = step.assign_add(1)
...     hooks = [tf.train.StopAtStepHook(last_step=5)]
...     with tf.train.MonitoredTrainingSession(checkpoint_dir=d, save_checkpoint_steps=2, hooks=hooks) as sess:
...         while not sess.should_stop():
...             _ = sess.run(train)
...     tf.train.latest_checkpoint(d).endswith("model.ckpt-5")
True
"""

import os
import sys
import time

from tasklayer import errors
from tasklayer import session as session_lib
from tasklayer import variables as variables_lib
from tasklayer.graph import GraphKeys, get_default_graph
from tasklayer.summary import merge_all
from tasklayer.training import cluster_follow, saver as saver_lib
from tasklayer.training.basic_hooks import StepCounterHook, SummarySaverHook
from tasklayer.training.coordinator import Coordinator
from tasklayer.training.session_manager import SessionManager, checkpoint_step
from tasklayer.training.session_run_hook import (SessionRunArgs, SessionRunContext, SessionRunHook,  # noqa: F401
                                                 SessionRunValues)

__all__ = ["MonitoredTrainingSession", "Scaffold", "SessionRunHook", "SessionRunArgs", "SessionRunContext",
           "SessionRunValues", "StopAtStepHook", "CheckpointSaverHook"]

CHECKPOINT_BASENAME = "model.ckpt"
DEFAULT_SAVE_SECS = 600
# Errors that mean a task of the cluster was lost or restarted: the session is recreated and the run made again
# (TF's ``_PREEMPTION_ERRORS``). This runtime says NotFound, not Aborted, for a partition a restarted task lost.
RECOVERABLE_ERRORS = (errors.AbortedError, errors.UnavailableError, errors.NotFoundError)


def is_recoverable(error):
    """Whether ``error`` says a task was lost or restarted (a NotFound only when a graph handle is gone)."""
    if isinstance(error, errors.NotFoundError):
        return "is not registered" in str(error)
    return isinstance(error, RECOVERABLE_ERRORS)


class StopAtStepHook(SessionRunHook):
    """Requests a stop once the global step reaches ``last_step`` (or ``num_steps`` past its first value)."""

    def __init__(self, num_steps=None, last_step=None):
        if num_steps is None and last_step is None:
            raise ValueError("One of num_steps or last_step must be specified.")
        if num_steps is not None and last_step is not None:
            raise ValueError("Only one of num_steps or last_step can be specified.")
        self._num_steps, self._last_step = num_steps, last_step
        self._global_step = None
        self._stop_now = False  # the step was already reached when the session was (re)created

    def begin(self):
        self._global_step = variables_lib.get_global_step()
        if self._global_step is None:
            raise RuntimeError("Global step should be created to use StopAtStepHook "
                               "(tf.train.get_or_create_global_step())")

    def after_create_session(self, session, coord):
        if self._last_step is None:
            self._last_step = int(session.run(self._global_step)) + self._num_steps
        self._stop_now = int(session.run(self._global_step)) >= self._last_step

    def before_run(self, run_context):
        if self._stop_now:
            run_context.request_stop()
        return SessionRunArgs(self._global_step.value())

    def after_run(self, run_context, run_values):
        if int(run_values.results) + 1 >= self._last_step:  # the value read may predate this run's increment
            step = int(run_context.session.run(self._global_step))
            if step >= self._last_step:
                run_context.request_stop()

    @property
    def last_step(self):
        """The step at which this hook stops the loop."""
        return self._last_step


class CheckpointSaverHook(SessionRunHook):
    """Saves a checkpoint every ``save_steps`` global steps or ``save_secs`` seconds, and at the end (unless the
    last step was just saved). ``listeners`` (``tf.train.CheckpointSaverListener``) are called around each save;
    one whose ``after_save`` returns True stops the training loop."""

    def __init__(self, checkpoint_dir, save_secs=None, save_steps=None, saver=None,
                 checkpoint_basename=CHECKPOINT_BASENAME, scaffold=None, listeners=None):
        if saver is not None and scaffold is not None:
            raise ValueError("You cannot provide both saver and scaffold.")
        if save_secs is None and save_steps is None:
            raise ValueError("Either every_secs or every_steps should be provided.")
        if save_secs is not None and save_steps is not None:
            raise ValueError("Can not provide both every_secs and every_steps.")
        if save_steps is not None and int(save_steps) <= 0:
            raise ValueError(f"save_steps must be positive, got {save_steps}")
        self._dir, self._secs, self._steps = checkpoint_dir, save_secs, save_steps
        self._saver, self._scaffold = saver, scaffold
        self._listeners = list(listeners or [])
        self._prefix = os.path.join(checkpoint_dir, checkpoint_basename)
        self._last_step = self._last_time = self._last_saved_step = None

    def begin(self):
        os.makedirs(self._dir, exist_ok=True)
        self._global_step = variables_lib.get_global_step()
        if self._global_step is None:
            raise RuntimeError("Global step should be created to use CheckpointSaverHook.")
        for listener in self._listeners:
            listener.begin()

    def _get_saver(self):
        return self._saver or (self._scaffold.saver if self._scaffold is not None else None) or _default_saver()

    def after_create_session(self, session, coord):
        self._last_step = int(session.run(self._global_step))
        self._last_time = time.monotonic()

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step.value())

    def after_run(self, run_context, run_values):
        if self._steps is None:
            if time.monotonic() - self._last_time >= self._secs and self._save(run_context.session):
                run_context.request_stop()
            return
        # As TF: the step read before the run, plus the run's own step, says whether a save may be due; only
        # then is the global step read again (other workers move it too) and the save made when it is.
        if int(run_values.results) + 1 - self._last_step >= self._steps:
            step = int(run_context.session.run(self._global_step))
            if step - self._last_step >= self._steps and self._save(run_context.session, step):
                run_context.request_stop()

    def end(self, session):
        step = int(session.run(self._global_step))
        if step != self._last_saved_step:
            self._save(session, step)
        for listener in self._listeners:
            listener.end(session, step)

    def _save(self, session, step=None):
        """Save (listeners told before and after); whether a listener asked to stop."""
        step = int(session.run(self._global_step)) if step is None else step
        for listener in self._listeners:
            listener.before_save(session, step)
        self._get_saver().save(session, self._prefix, global_step=step)
        self._last_step, self._last_time, self._last_saved_step = step, time.monotonic(), step
        return any([bool(listener.after_save(session, step)) for listener in self._listeners])


# ---------------------------------------------------------------------- scaffold
_INIT_OP, _READY_OP, _SAVERS = "init_op", "ready_op", "savers"
QUEUE_RUNNERS = "queue_runners"  # tf.GraphKeys.QUEUE_RUNNERS: started with every session, under its coordinator
_LOCAL_INIT_OP, _READY_FOR_LOCAL_INIT_OP = "local_init_op", "ready_for_local_init_op"


def _cached(key, build):
    """One op per graph under collection ``key``: sessions recreated after a failure add no new ops."""
    graph = get_default_graph()
    found = graph.get_collection(key)
    if found:
        return found[0]
    value = build()
    graph.add_to_collection(key, value)
    return value


def _default_saver():
    return _cached(_SAVERS, lambda: saver_lib.Saver(sharded=True, allow_empty=True))


def _report_all_uninitialized():
    """TF's default ready op: the global and the local variables not initialized yet."""
    return variables_lib.report_uninitialized_variables(variables_lib.global_variables() +
                                                        variables_lib.local_variables())


def _default_summary_op():
    """TF's default summary op: the graph's ``summary_op`` (there must be at most one), else
    ``tf.summary.merge_all()`` (None when there is no summary), which is then kept in that collection."""
    graph = get_default_graph()
    found = graph.get_collection(GraphKeys.SUMMARY_OP)
    if len(found) > 1:
        raise RuntimeError('More than one item in the collection "summary_op". Please indicate which one to use by '
                           'passing it to the tf.Scaffold constructor as:  tf.Scaffold(summary_op=item to use)')
    if found:
        return found[0]
    summary_op = merge_all()
    if summary_op is not None:
        graph.add_to_collection(GraphKeys.SUMMARY_OP, summary_op)
    return summary_op


def _default_local_init_op():
    """TF's default local init op: the local variables' initializers (metrics' counters, epoch counters)."""
    return variables_lib.local_variables_initializer()


class Scaffold:
    """The ops a monitored session needs: ``init_op``, ``ready_op`` (uninitialized variables),
    ``local_init_op`` with ``ready_for_local_init_op`` (run in every new session once the global variables are
    there), ``saver`` and ``summary_op`` (``tf.summary.merge_all()``); missing ones are built once per graph by
    ``finalize``. ``init_fn(scaffold, sess)`` runs after ``init_op`` when the chief initializes (not when it
    restores)."""

    def __init__(self, init_op=None, init_feed_dict=None, init_fn=None, ready_op=None,
                 ready_for_local_init_op=None, local_init_op=None, summary_op=None, saver=None,
                 copy_from_scaffold=None, local_init_feed_dict=None):
        if copy_from_scaffold is not None:
            if not isinstance(copy_from_scaffold, Scaffold):
                raise TypeError("copy_from_scaffold is not a Scaffold instance.")
            c = copy_from_scaffold
            init_op = init_op or c._init_op
            init_feed_dict = init_feed_dict or c.init_feed_dict
            init_fn = init_fn or c.init_fn
            ready_op = ready_op or c._ready_op
            ready_for_local_init_op = ready_for_local_init_op or c._ready_for_local_init_op
            local_init_op = local_init_op or c._local_init_op
            local_init_feed_dict = local_init_feed_dict or c.local_init_feed_dict
            summary_op = summary_op or c.summary_op
            saver = saver or c._saver
        self._init_op, self._ready_op, self._saver = init_op, ready_op, saver
        self._local_init_op, self._ready_for_local_init_op = local_init_op, ready_for_local_init_op
        self.init_feed_dict, self.init_fn = init_feed_dict, init_fn
        self.local_init_feed_dict, self.summary_op = local_init_feed_dict, summary_op

    def finalize(self):
        """Build the missing ops (cached in graph collections, so a second Scaffold reuses them)."""
        if self._init_op is None:
            self._init_op = _cached(_INIT_OP, variables_lib.global_variables_initializer)
        if self._ready_op is None:
            self._ready_op = _cached(_READY_OP, _report_all_uninitialized)
        if self._ready_for_local_init_op is None:
            self._ready_for_local_init_op = _cached(
                _READY_FOR_LOCAL_INIT_OP,
                lambda: variables_lib.report_uninitialized_variables(variables_lib.global_variables()))
        if self._local_init_op is None:
            self._local_init_op = _cached(_LOCAL_INIT_OP, _default_local_init_op)
        if self._saver is None:
            self._saver = _default_saver()
        if self.summary_op is None:
            self.summary_op = _default_summary_op()
        return self

    @property
    def init_op(self):
        """The op initializing the variables."""
        return self._init_op

    @property
    def ready_op(self):
        """A 1-D string tensor: the names of the global variables not initialized yet."""
        return self._ready_op

    @property
    def local_init_op(self):
        """The op initializing the local variables, run in every new session."""
        return self._local_init_op

    @property
    def ready_for_local_init_op(self):
        """A 1-D string tensor: the global variables not initialized yet (``local_init_op`` waits for none)."""
        return self._ready_for_local_init_op

    @property
    def saver(self):
        """The Saver used to restore and save."""
        return self._saver


# ---------------------------------------------------------------------- recovery
def _log(message):
    """One flushed line on stderr (where TF logs its session lifecycle)."""
    print(f"MonitoredTrainingSession: {message}", file=sys.stderr, flush=True)


def _first_line(error):
    return f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300] if str(error).strip() else ''}"


def _close_quietly(sess):
    try:
        sess.close()
    except Exception as e:  # noqa: BLE001 - the cluster may be gone; closing must not hide the cause
        _log(f"closing the session failed: {e}")


class _RecoverableSession:
    """A session recreated when a task of the cluster is lost (TF's ``_RecoverableSession``): a ``run`` failing
    with an error ``is_recoverable`` accepts closes the session, creates a new one with ``create`` (the chief
    restores the latest checkpoint, the others wait for the model) and runs the same fetches again."""

    def __init__(self, create, max_wait_secs, before_close=None):
        self._create, self._max_wait_secs = create, max_wait_secs
        self._before_close = before_close  # stops the threads that run on the session (queue runners)
        self._sess = create()

    @property
    def graph(self):
        """The graph the session runs."""
        return self.raw().graph

    def raw(self):
        """The current ``tf.Session`` (created anew if the last one failed)."""
        if self._sess is None:
            self._sess = self._create()
        return self._sess

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """``Session.run``, retried on a new session while a lost task makes it fail (up to ``max_wait_secs``)."""
        first_failure = None
        while True:
            try:
                return self.raw().run(fetches, feed_dict=feed_dict, options=options, run_metadata=run_metadata)
            except RECOVERABLE_ERRORS as e:
                if not is_recoverable(e):
                    raise
                now = time.monotonic()
                first_failure = now if first_failure is None else first_failure
                if now - first_failure > self._max_wait_secs:
                    raise
                _log(f"a task of the cluster may have failed or restarted ({_first_line(e)}); "
                     "closing the session and creating a new one")
                self.close()

    def close(self):
        """Close the current session (a later ``run`` creates a new one)."""
        sess, self._sess = self._sess, None
        if sess is not None:
            if self._before_close is not None:
                self._before_close()
            _close_quietly(sess)


# ---------------------------------------------------------------------- the session
USE_DEFAULT = object()  # an argument left out (TF's marker: None means "off" for the summary intervals)


def _summary_hooks(summary_dir, scaffold, save_summaries_steps, save_summaries_secs, log_step_count_steps):
    """The chief's summary hooks, as TF's MonitoredTrainingSession adds them: a StepCounterHook and a
    SummarySaverHook writing to ``summary_dir`` (none without one)."""
    if save_summaries_steps is USE_DEFAULT and save_summaries_secs is USE_DEFAULT:
        save_summaries_steps, save_summaries_secs = 100, None
    elif save_summaries_secs is USE_DEFAULT:
        save_summaries_secs = None
    elif save_summaries_steps is USE_DEFAULT:
        save_summaries_steps = None
    if not summary_dir:
        return []
    hooks = []
    if log_step_count_steps and log_step_count_steps > 0:
        hooks.append(StepCounterHook(output_dir=summary_dir, every_n_steps=log_step_count_steps))
    if (save_summaries_steps or 0) > 0 or (save_summaries_secs or 0) > 0:
        hooks.append(SummarySaverHook(scaffold=scaffold, save_steps=save_summaries_steps,
                                      save_secs=save_summaries_secs, output_dir=summary_dir))
    return hooks


class MonitoredTrainingSession:
    """A training session for one task of a between-graph replicated job (TF1's ``MonitoredTrainingSession``).

    The chief (``is_chief=True``) restores the latest checkpoint of ``checkpoint_dir`` (the newest older one
    that restores cleanly when it is corrupt; initializing the variables when there is none), saves a
    checkpoint every ``save_checkpoint_steps`` global steps (or ``save_checkpoint_secs``; 600 s when neither is
    given) and when it closes. It also writes summaries for TensorBoard to ``summary_dir`` (default
    ``checkpoint_dir``): the scaffold's summary op (``tf.summary.merge_all()``) every ``save_summaries_steps``
    (100 when neither it nor ``save_summaries_secs`` is given) and ``global_step/sec`` every
    ``log_step_count_steps``. Other tasks wait (polling) until the variables are initialized. Every new session
    runs the scaffold's local init op (the local variables: metrics, epoch counters) and starts the graph's queue
    runners under a ``tf.train.Coordinator``, which the hooks get in ``after_create_session``; the runners stop
    when the session closes or is replaced. Restoring, initializing and waiting go through
    ``tf.train.SessionManager``.
    ``restored_from`` is the checkpoint the chief last restored, or None.

    Recovery, as TF does it: when a ``run`` fails because a task was lost (``is_recoverable``), the session
    is closed and a new one created the same way (the chief restores the latest checkpoint, so a restarted ps
    resumes from it), then the same ``run`` is made again. Creating a session is retried through those errors
    too (a ps that does not serve yet), up to ``max_wait_secs``. ``server``, this task's ``tf.train.Server``
    (not in TF, which has no restarted tasks at new ports), is pointed at where every task runs now before each
    session is created (``cluster_follow.follow_cluster``).
    """

    def __init__(self, master="", is_chief=True, checkpoint_dir=None, scaffold=None, hooks=None,
                 chief_only_hooks=None, save_checkpoint_secs=None, save_summaries_steps=USE_DEFAULT,
                 save_summaries_secs=USE_DEFAULT, config=None, stop_grace_period_secs=120, log_step_count_steps=100,
                 max_wait_secs=7200, save_checkpoint_steps=None, summary_dir=None, recovery_wait_secs=0.5,
                 server=None):
        self._master, self._config, self._server = master, config, server
        self._is_chief = bool(is_chief)
        self._checkpoint_dir = checkpoint_dir
        self._max_wait_secs, self._recovery_wait_secs = float(max_wait_secs), float(recovery_wait_secs)
        self._graph = get_default_graph()
        self._scaffold = scaffold or Scaffold()
        self._hooks = list(hooks or [])
        if self._is_chief:
            self._hooks += list(chief_only_hooks or [])
            self._hooks += _summary_hooks(summary_dir or checkpoint_dir, self._scaffold, save_summaries_steps,
                                          save_summaries_secs, log_step_count_steps)
            if checkpoint_dir:
                if save_checkpoint_steps is None and save_checkpoint_secs is None:
                    save_checkpoint_secs = DEFAULT_SAVE_SECS
                # As TF: 0 (or None) for both turns the periodic saves off (an Estimator adds its own saver hook).
                if (save_checkpoint_secs or 0) > 0 or (save_checkpoint_steps or 0) > 0:
                    self._hooks.append(CheckpointSaverHook(checkpoint_dir, save_secs=save_checkpoint_secs or None,
                                                           save_steps=save_checkpoint_steps or None,
                                                           scaffold=self._scaffold))
        self.restored_from = None
        self._should_stop = False
        self._closed = False
        for hook in self._hooks:
            hook.begin()
        self._scaffold.finalize()  # after the hooks' begin, as TF: they may still add to the graph
        self._session_manager = SessionManager(
            local_init_op=self._scaffold.local_init_op, ready_op=self._scaffold.ready_op,
            ready_for_local_init_op=self._scaffold.ready_for_local_init_op, graph=self._graph,
            recovery_wait_secs=self._recovery_wait_secs, local_init_feed_dict=self._scaffold.local_init_feed_dict)
        self._stop_grace_period_secs = stop_grace_period_secs
        self._coord, self._threads = None, []
        self._sess = _RecoverableSession(self._create_session, self._max_wait_secs, self._stop_threads)

    # -- creation
    def _create_session(self):
        """A new ``tf.Session``, ready (restored/initialized on the chief, waited for elsewhere), hooks told;
        retried through recoverable errors until ``max_wait_secs`` pass."""
        deadline = time.monotonic() + self._max_wait_secs
        while True:
            if self._server is not None:
                cluster_follow.follow_cluster(self._server)
            sess = session_lib.Session(self._master, graph=self._graph, config=self._config)
            try:
                if self._is_chief:
                    self._prepare_chief(sess)
                else:
                    self._session_manager.wait_until_ready(sess, max(0.0, deadline - time.monotonic()))
                coord = self._start_threads(sess)
                for hook in self._hooks:
                    hook.after_create_session(sess, coord)
                return sess
            except RECOVERABLE_ERRORS as e:
                self._stop_threads()
                _close_quietly(sess)
                if not is_recoverable(e) or time.monotonic() >= deadline:
                    raise
                _log(f"creating a session failed ({_first_line(e)}); trying again")
                time.sleep(self._recovery_wait_secs)
            except BaseException:
                self._stop_threads()
                _close_quietly(sess)
                raise

    def _start_threads(self, sess):
        """A new Coordinator for ``sess``, with the graph's queue runners started under it (TF's
        ``_CoordinatedSessionCreator``); hooks get it in ``after_create_session``."""
        self._stop_threads()
        self._coord = Coordinator(clean_stop_exception_types=[])  # as TF: the coordinator hides no error
        self._threads = []
        for runner in self._graph.get_collection(QUEUE_RUNNERS):
            self._threads.extend(runner.create_threads(sess, coord=self._coord, daemon=True, start=True))
        return self._coord

    def _stop_threads(self):
        """Stop the queue runners of the current session (before it closes, or is replaced after a failure)."""
        coord, threads, self._threads = self._coord, self._threads, []
        if coord is None:
            return
        coord.request_stop()
        try:
            coord.join(threads, stop_grace_period_secs=self._stop_grace_period_secs, ignore_live_threads=True)
        except Exception as e:  # noqa: BLE001 - a runner's error was raised to the loop already, or the cluster is gone
            _log(f"a thread of the session ended with {_first_line(e)}")

    def _prepare_chief(self, sess):
        """TF's ``SessionManager.prepare_session``: restore the newest checkpoint that restores cleanly (the
        saver then remembers the kept ones, for ``max_to_keep``), else run the init op."""
        scaffold = self._scaffold
        init_fn = (lambda sess: scaffold.init_fn(scaffold, sess)) if scaffold.init_fn is not None else None
        checkpoint = self._session_manager.initialize_session(
            sess, init_op=scaffold.init_op, saver=scaffold.saver, checkpoint_dir=self._checkpoint_dir,
            init_feed_dict=scaffold.init_feed_dict, init_fn=init_fn)
        if checkpoint:
            self.restored_from = checkpoint
            # The step in the checkpoint's name: the global step may already have moved on (other workers).
            step = checkpoint_step(checkpoint)
            _log(f"restored from {f'step {step}' if step is not None else 'it'} ({checkpoint})")

    # -- running
    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """``Session.run`` plus the hooks' fetches; hooks may request a stop (see ``should_stop``). A run
        interrupted by a lost task is made again on a new session (see the class docstring)."""
        if self._closed:
            raise RuntimeError("Run called on a closed MonitoredTrainingSession")
        context = SessionRunContext(SessionRunArgs(fetches, feed_dict), self._sess)
        extra = {}
        feeds = dict(feed_dict or {})
        for i, hook in enumerate(self._hooks):
            args = hook.before_run(context)
            if args is None:
                continue
            if args.fetches is not None:
                extra[i] = args.fetches
            for tensor, value in (args.feed_dict or {}).items():
                if feed_dict and tensor in feed_dict:
                    raise RuntimeError(f"Same tensor is fed by a SessionRunHook and user. Conflict(s): {[tensor]}")
                if tensor in feeds:
                    raise RuntimeError(f"Same tensor is fed by two hooks. Conflict(s): {[tensor]}")
                feeds[tensor] = value
        results = self._sess.run([fetches, extra], feed_dict=feeds, options=options, run_metadata=run_metadata)
        outputs, hook_results = results
        # As TF, every hook's after_run is called; one that fetched nothing gets None.
        for i, hook in enumerate(self._hooks):
            hook.after_run(context, SessionRunValues(hook_results.get(i), options, run_metadata))
        self._should_stop = self._should_stop or context.stop_requested
        return outputs

    def should_stop(self):
        """Whether a hook (or a queue runner's coordinator) requested a stop, or the session is closed; a queue
        runner's error is raised here, as TF does."""
        if self._closed:
            return True
        if self._coord is not None:
            self._coord.raise_requested_exception()
            if self._coord.should_stop():
                return True
        return self._should_stop

    @property
    def graph(self):
        """The graph the session runs."""
        return self._sess.graph

    def raw_session(self):
        """The underlying ``tf.Session`` (hooks see it; avoid running training ops on it)."""
        return self._sess.raw()

    # -- closing
    def close(self):
        """Run the hooks' ``end`` (the chief's final checkpoint), then close the session."""
        self._close(run_end_hooks=True)

    def _close(self, run_end_hooks):
        if self._closed:
            return
        self._closed = True
        try:
            if run_end_hooks:
                for hook in self._hooks:
                    hook.end(self._sess)
        finally:
            self._sess.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        # A failure (e.g. the ps died) must not run the end hooks: saving would fail again and hide it.
        normal = exc_type is None or issubclass(exc_type, errors.OutOfRangeError)
        self._close(run_end_hooks=normal)
        return exc_type is not None and issubclass(exc_type, errors.OutOfRangeError)
