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
from tasklayer.graph import get_default_graph
from tasklayer.training import saver as saver_lib

__all__ = ["MonitoredTrainingSession", "Scaffold", "SessionRunHook", "SessionRunArgs", "SessionRunContext",
           "SessionRunValues", "StopAtStepHook", "CheckpointSaverHook"]

CHECKPOINT_BASENAME = "model.ckpt"
DEFAULT_SAVE_SECS = 600
# Errors that mean "the cluster is not (yet) reachable": a waiting non-chief keeps polling through them.
_TRANSIENT = (errors.UnavailableError, errors.AbortedError, errors.DeadlineExceededError)


# ---------------------------------------------------------------------- hooks
class SessionRunArgs:
    """What a hook adds to a ``run``: ``fetches`` (any structure ``Session.run`` takes) and ``feed_dict``."""

    def __init__(self, fetches, feed_dict=None, options=None):
        self.fetches, self.feed_dict, self.options = fetches, feed_dict, options


class SessionRunValues:
    """What a hook's fetches returned (``results``)."""

    def __init__(self, results, options=None, run_metadata=None):
        self.results, self.options, self.run_metadata = results, options, run_metadata


class SessionRunContext:
    """The ``run`` a hook sees: the original fetches, the raw session, and ``request_stop``."""

    def __init__(self, original_args, session):
        self.original_args, self.session = original_args, session
        self._stop_requested = False

    def request_stop(self):
        """Ask the monitored session to stop: ``should_stop()`` becomes True after this run."""
        self._stop_requested = True

    @property
    def stop_requested(self):
        """Whether a hook asked to stop."""
        return self._stop_requested


class SessionRunHook:
    """Base class of hooks: every method is a no-op unless overridden."""

    def begin(self):
        """Called once before the session is created (the graph may still be changed)."""

    def after_create_session(self, session, coord):
        """Called when a session is ready (initialized or restored)."""

    def before_run(self, run_context):
        """A ``SessionRunArgs`` to add to this run, or None."""
        return None

    def after_run(self, run_context, run_values):
        """Called with the results of the fetches ``before_run`` asked for."""

    def end(self, session):
        """Called when the monitored session closes normally."""


class StopAtStepHook(SessionRunHook):
    """Requests a stop once the global step reaches ``last_step`` (or ``num_steps`` past its first value)."""

    def __init__(self, num_steps=None, last_step=None):
        if (num_steps is None) == (last_step is None):
            raise ValueError("StopAtStepHook: exactly one of num_steps and last_step must be given")
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
    """Saves a checkpoint every ``save_steps`` global steps or ``save_secs`` seconds, and at the end."""

    def __init__(self, checkpoint_dir, save_secs=None, save_steps=None, saver=None, scaffold=None,
                 checkpoint_basename=CHECKPOINT_BASENAME):
        if (save_secs is None) == (save_steps is None):
            raise ValueError("CheckpointSaverHook: exactly one of save_secs and save_steps must be given")
        if save_steps is not None and int(save_steps) <= 0:
            raise ValueError(f"save_steps must be positive, got {save_steps}")
        self._dir, self._secs, self._steps = checkpoint_dir, save_secs, save_steps
        self._saver, self._scaffold = saver, scaffold
        self._prefix = os.path.join(checkpoint_dir, checkpoint_basename)
        self._last_step = self._last_time = None

    def begin(self):
        os.makedirs(self._dir, exist_ok=True)
        self._global_step = variables_lib.get_global_step()
        if self._global_step is None:
            raise RuntimeError("Global step should be created to use CheckpointSaverHook")

    def _get_saver(self):
        return self._saver or (self._scaffold.saver if self._scaffold is not None else None) or _default_saver()

    def after_create_session(self, session, coord):
        self._last_step = int(session.run(self._global_step))
        self._last_time = time.monotonic()

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step.value())

    def after_run(self, run_context, run_values):
        step = int(run_values.results)
        due = (step - self._last_step >= self._steps) if self._steps is not None else \
            (time.monotonic() - self._last_time >= self._secs)
        if due:
            self._save(run_context.session)

    def end(self, session):
        self._save(session)

    def _save(self, session):
        step = int(session.run(self._global_step))
        self._get_saver().save(session, self._prefix, global_step=step)
        self._last_step, self._last_time = step, time.monotonic()


# ---------------------------------------------------------------------- scaffold
_INIT_OP, _READY_OP, _SAVERS = "init_op", "ready_op", "savers"


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


class Scaffold:
    """The ops a monitored session needs: ``init_op``, ``ready_op`` (uninitialized variables) and ``saver``;
    missing ones are built once per graph by ``finalize``."""

    def __init__(self, init_op=None, ready_op=None, saver=None, init_feed_dict=None, init_fn=None):
        self._init_op, self._ready_op, self._saver = init_op, ready_op, saver
        self.init_feed_dict, self.init_fn = init_feed_dict, init_fn

    def finalize(self):
        """Build the missing ops (cached in graph collections, so a second Scaffold reuses them)."""
        if self._init_op is None:
            self._init_op = _cached(_INIT_OP, variables_lib.global_variables_initializer)
        if self._ready_op is None:
            self._ready_op = _cached(_READY_OP, variables_lib.report_uninitialized_variables)
        if self._saver is None:
            self._saver = _default_saver()
        return self

    @property
    def init_op(self):
        """The op initializing the variables."""
        return self._init_op

    @property
    def ready_op(self):
        """A bool vector: True for each global variable not yet initialized."""
        return self._ready_op

    @property
    def saver(self):
        """The Saver used to restore and save."""
        return self._saver


# ---------------------------------------------------------------------- the session
class MonitoredTrainingSession:
    """A training session for one task of a between-graph replicated job (TF1's ``MonitoredTrainingSession``).

    The chief (``is_chief=True``) restores the latest checkpoint of ``checkpoint_dir`` when the variables are
    not initialized yet (initializing them when there is none), saves a checkpoint every
    ``save_checkpoint_steps`` global steps (or ``save_checkpoint_secs``; 600 s when neither is given) and when
    it closes. Other tasks wait (polling, up to ``max_wait_secs``) until the variables are initialized.
    ``restored_from`` is the checkpoint the chief restored, or None.
    """

    def __init__(self, master="", is_chief=True, checkpoint_dir=None, scaffold=None, hooks=None,
                 chief_only_hooks=None, save_checkpoint_secs=None, save_summaries_steps=None,
                 save_summaries_secs=None, config=None, stop_grace_period_secs=120, log_step_count_steps=None,
                 max_wait_secs=7200, save_checkpoint_steps=None, summary_dir=None, recovery_wait_secs=0.5):
        self._master, self._config = master, config
        self._is_chief = bool(is_chief)
        self._checkpoint_dir = checkpoint_dir
        self._max_wait_secs, self._recovery_wait_secs = float(max_wait_secs), float(recovery_wait_secs)
        self._scaffold = (scaffold or Scaffold()).finalize()
        self._hooks = list(hooks or [])
        if self._is_chief:
            self._hooks += list(chief_only_hooks or [])
            if checkpoint_dir:
                if save_checkpoint_steps is None and save_checkpoint_secs is None:
                    save_checkpoint_secs = DEFAULT_SAVE_SECS
                self._hooks.append(CheckpointSaverHook(checkpoint_dir, save_secs=save_checkpoint_secs,
                                                       save_steps=save_checkpoint_steps, scaffold=self._scaffold))
        self.restored_from = None
        self._should_stop = False
        self._closed = False
        for hook in self._hooks:
            hook.begin()
        self._sess = session_lib.Session(master, config=config)
        try:
            self._prepare()
            for hook in self._hooks:
                hook.after_create_session(self._sess, None)
        except BaseException:
            self._sess.close()
            raise

    # -- creation
    def _uninitialized(self):
        """Names of the global variables not initialized yet."""
        flags = self._sess.run(self._scaffold.ready_op)
        names = [v.op.name for v in variables_lib.global_variables()]
        return [n for n, flag in zip(names, list(flags)) if flag]

    def _prepare(self):
        if self._is_chief:
            self._prepare_chief()
        else:
            self._wait_for_chief()

    def _prepare_chief(self):
        missing = self._uninitialized()
        if not missing:
            return  # a recreated session on a cluster whose variables live on: nothing to do
        checkpoint = saver_lib.latest_checkpoint(self._checkpoint_dir) if self._checkpoint_dir else None
        if checkpoint:
            self._scaffold.saver.restore(self._sess, checkpoint)
            self.restored_from = checkpoint
            missing = self._uninitialized()
            if missing:
                raise RuntimeError(f"after restoring {checkpoint}, these variables are still not initialized: "
                                   f"{', '.join(missing)}")
            return
        self._sess.run(self._scaffold.init_op, feed_dict=self._scaffold.init_feed_dict)
        if self._scaffold.init_fn is not None:
            self._scaffold.init_fn(self._scaffold, self._sess)

    def _wait_for_chief(self):
        deadline = time.monotonic() + self._max_wait_secs
        missing, last_error = None, None
        while True:
            try:
                missing = self._uninitialized()
                if not missing:
                    return
            except _TRANSIENT as e:  # the ps may not serve yet, or is being restarted
                last_error = e
            if time.monotonic() >= deadline:
                why = f"still uninitialized: {', '.join(missing)}" if missing else f"last error: {last_error}"
                raise errors.DeadlineExceededError(
                    None, None, f"waited {self._max_wait_secs:g} s for the chief to initialize the variables; "
                                f"{why}")
            time.sleep(self._recovery_wait_secs)

    # -- running
    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """``Session.run`` plus the hooks' fetches; hooks may request a stop (see ``should_stop``)."""
        if self._closed:
            raise RuntimeError("Run called on a closed MonitoredTrainingSession")
        context = SessionRunContext(SessionRunArgs(fetches, feed_dict), self._sess)
        extra = {}
        feeds = dict(feed_dict or {})
        for i, hook in enumerate(self._hooks):
            args = hook.before_run(context)
            if args is not None:
                extra[i] = args.fetches
                feeds.update(args.feed_dict or {})
        results = self._sess.run([fetches, extra], feed_dict=feeds, options=options, run_metadata=run_metadata)
        outputs, hook_results = results
        for i, hook in enumerate(self._hooks):
            if i in extra:
                hook.after_run(context, SessionRunValues(hook_results[i], options, run_metadata))
        self._should_stop = self._should_stop or context.stop_requested
        return outputs

    def should_stop(self):
        """Whether a hook requested a stop (or the session is closed)."""
        return self._should_stop or self._closed

    @property
    def graph(self):
        """The graph the session runs."""
        return self._sess.graph

    def raw_session(self):
        """The underlying ``tf.Session`` (hooks see it; avoid running training ops on it)."""
        return self._sess

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
            try:
                self._sess.close()
            except Exception as e:  # noqa: BLE001 - the cluster may be gone; closing must not hide the cause
                print(f"MonitoredTrainingSession: closing the session failed: {e}", file=sys.stderr)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        # A failure (e.g. the ps died) must not run the end hooks: saving would fail again and hide it.
        normal = exc_type is None or issubclass(exc_type, errors.OutOfRangeError)
        self._close(run_end_hooks=normal)
        return exc_type is not None and issubclass(exc_type, errors.OutOfRangeError)
