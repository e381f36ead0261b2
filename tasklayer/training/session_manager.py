"""``tf.train.SessionManager``: sessions that start from a checkpoint, from the init op, or from what another task
(the chief) initialized. ``Supervisor`` and ``MonitoredTrainingSession`` are both built on it.

>>> import tasklayer as tf, tempfile
>>> d = tempfile.mkdtemp()
>>> with tf.Graph().as_default():
...     w = tf.Variable(3.0, name="w")
...     saver = tf.train.Saver()
...     sm = tf.train.SessionManager()
...     sess = sm.prepare_session("", init_op=tf.global_variables_initializer(), saver=saver, checkpoint_dir=d)
...     _ = sess.run(w.assign(5.0)); _ = saver.save(sess, d + "/model", global_step=1)
...     restored, loaded = sm.recover_session("", saver=saver, checkpoint_dir=d)
...     loaded, float(restored.run(w))
(True, 5.0)

Beyond TF (yarnflow restarts tasks, and a task can die mid-save): restoring from a directory takes the newest of
its kept checkpoints that restores cleanly, skipping a torn one with a line on stderr; the saver then adopts the
kept checkpoints, so ``max_to_keep`` still deletes the oldest after a restart.
"""

import logging
import re
import sys
import time

import numpy as np

from tasklayer import errors
from tasklayer import session as session_lib
from tasklayer.graph import get_default_graph
from tasklayer.training import saver as saver_lib

__all__ = ["SessionManager", "restore_newest_good", "checkpoint_step"]

log = logging.getLogger("tensorflow")

CLUSTER_POLL_SECS = 0.5  # how often a session is tried again while a task of the cluster does not serve yet


def _say(message):
    """One flushed line on stderr: restarts and skipped checkpoints must be seen without logging configured."""
    print(f"SessionManager: {message}", file=sys.stderr, flush=True)


def _first_line(error):
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0][:300] if text else ''}"


def _close_quietly(sess):
    try:
        sess.close()
    except Exception as e:  # noqa: BLE001 - the cluster may be gone; closing must not hide the cause
        _say(f"closing the session failed: {e}")


def checkpoint_step(path):
    """The global step in a checkpoint prefix's name (``model.ckpt-120`` -> 120), or None.

    >>> checkpoint_step("/tmp/m/model.ckpt-120"), checkpoint_step("/tmp/m/model.ckpt")
    (120, None)
    """
    m = re.search(r"-(\d+)$", path or "")
    return int(m.group(1)) if m else None


def restore_newest_good(saver, sess, state):
    """Restore the newest checkpoint of ``state`` (a ``CheckpointState``) that is complete and not corrupt, saying
    on stderr why each newer one was skipped; its prefix, or None when none is complete. CorruptCheckpointError
    when every complete one is corrupt (the chief must not start again from scratch and save over them); a
    checkpoint that does not match the model is raised at once."""
    newest_first = [state.model_checkpoint_path] + state.all_model_checkpoint_paths[::-1]
    candidates = []
    for path in newest_first:
        if path in candidates:
            continue
        if not saver_lib.checkpoint_exists(path):
            _say(f"skipping checkpoint {path}: it has no index (deleted, or never completed)")
            continue
        candidates.append(path)
    failures = []
    for path in candidates:
        try:
            saver.restore(sess, path)
            return path
        except saver_lib.CorruptCheckpointError as e:
            # A torn or damaged file: an older checkpoint loses some steps, failing on every restart loses the job.
            _say(f"skipping checkpoint {path}: {_first_line(e)}")
            failures.append(f"{path} ({e})")
    if failures:
        raise saver_lib.CorruptCheckpointError("no checkpoint restores cleanly: " + "; ".join(failures))
    return None


def _maybe_name(obj):
    """An op's name for a message (TF's ``_maybe_name``)."""
    if obj is None:
        return None
    return getattr(obj, "name", repr(obj))


def _ready(op, sess, what):
    """``(True, None)`` when ``op`` (a report of uninitialized variables) is empty, else ``(False, why)``."""
    if op is None:
        return True, None
    try:
        value = sess.run(op)
    except errors.FailedPreconditionError as e:
        if "uninitialized" not in str(e):
            log.warning("%s : error [%s]", what, e)
            raise
        return False, str(e)
    value = np.asarray(value)
    if value.size == 0 or value.dtype == np.int32:
        return True, None
    names = ", ".join(v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in value.ravel().tolist())
    return False, "Variables not initialized: " + names


class SessionManager:
    """Creates sessions that are ready to use: restored from a checkpoint, initialized by ``init_op``, or (on a
    task that is not the chief) waited for until ``ready_op`` reports nothing uninitialized.

    ``local_init_op`` runs in every new session once ``ready_for_local_init_op`` reports nothing (the global
    variables it may read are there); ``ready_op`` then says whether the model is ready.
    """

    def __init__(self, local_init_op=None, ready_op=None, ready_for_local_init_op=None, graph=None,
                 recovery_wait_secs=30, local_init_run_options=None, local_init_feed_dict=None):
        self._graph = graph if graph is not None else get_default_graph()
        self._local_init_op = local_init_op
        self._local_init_feed_dict = local_init_feed_dict
        self._local_init_run_options = local_init_run_options
        self._ready_op = ready_op
        self._ready_for_local_init_op = ready_for_local_init_op
        self._recovery_wait_secs = recovery_wait_secs
        self._target = None
        if ready_for_local_init_op is not None and local_init_op is None:
            raise ValueError("If you pass a ready_for_local_init_op you must also pass a local_init_op , "
                             f"ready_for_local_init_op [{ready_for_local_init_op}]")

    # ------------------------------------------------------------------ TF's API
    def prepare_session(self, master, init_op=None, saver=None, checkpoint_dir=None,
                        checkpoint_filename_with_path=None, wait_for_checkpoint=False, max_wait_secs=7200,
                        config=None, init_feed_dict=None, init_fn=None):
        """A session restored from the latest checkpoint (of ``checkpoint_dir``, or the one named) or else
        initialized by ``init_op``/``init_fn(sess)``; RuntimeError when the model is still not ready."""
        def prepare():
            sess = self._new_session(master, config)
            try:
                self.initialize_session(sess, init_op=init_op, saver=saver, checkpoint_dir=checkpoint_dir,
                                        checkpoint_filename_with_path=checkpoint_filename_with_path,
                                        wait_for_checkpoint=wait_for_checkpoint, max_wait_secs=max_wait_secs,
                                        init_feed_dict=init_feed_dict, init_fn=init_fn)
            except BaseException:
                _close_quietly(sess)
                raise
            return sess
        return self._until_the_cluster_serves(prepare, max_wait_secs)

    def recover_session(self, master, saver=None, checkpoint_dir=None, checkpoint_filename_with_path=None,
                        wait_for_checkpoint=False, max_wait_secs=7200, config=None):
        """``(sess, restored)``: a session restored from a checkpoint if there is one that makes the model
        ready (``restored`` True), else a session as it is (its local init op run when it could be)."""
        return self._until_the_cluster_serves(
            lambda: self._recover(master, saver, checkpoint_dir, checkpoint_filename_with_path, wait_for_checkpoint,
                                  max_wait_secs, config), max_wait_secs)

    def _recover(self, master, saver, checkpoint_dir, checkpoint_filename_with_path, wait_for_checkpoint,
                 max_wait_secs, config):
        sess = self._new_session(master, config)
        try:
            restored = self._restore_checkpoint(sess, saver, checkpoint_dir, checkpoint_filename_with_path,
                                                wait_for_checkpoint, max_wait_secs)
            local_ok, message = self._try_run_local_init_op(sess)
            if not restored:
                return sess, False
            source = checkpoint_dir or checkpoint_filename_with_path
            if not local_ok:
                log.info("Restoring model from %s did not make model ready for local init: %s", source, message)
                return sess, False
            ready, message = self._model_ready(sess)
            if not ready:
                log.info("Restoring model from %s did not make model ready: %s", source, message)
                return sess, False
            log.info("Restored model from %s", source)
            return sess, True
        except BaseException:
            _close_quietly(sess)
            raise

    def wait_for_session(self, master, config=None, max_wait_secs=float("Inf")):
        """A session once another task made the model ready (a new session is tried every
        ``recovery_wait_secs``); DeadlineExceededError after ``max_wait_secs``."""
        max_wait_secs = float("Inf") if max_wait_secs is None else max_wait_secs
        deadline = time.monotonic() + max_wait_secs
        while True:
            sess = self._new_session(master, config)
            try:
                message = self._until_the_cluster_serves(lambda: self._ready_message(sess),
                                                         deadline - time.monotonic())
            except BaseException:
                _close_quietly(sess)
                raise
            if message is None:
                return sess
            _close_quietly(sess)
            if deadline - time.monotonic() - self._recovery_wait_secs < 0:
                raise errors.DeadlineExceededError(None, None, self._not_ready_error(max_wait_secs, message))
            log.info("Waiting for model to be ready.  %s", message)
            time.sleep(self._recovery_wait_secs)

    # ------------------------------------------------------------------ on a session already made
    def initialize_session(self, sess, init_op=None, saver=None, checkpoint_dir=None,
                           checkpoint_filename_with_path=None, wait_for_checkpoint=False, max_wait_secs=7200,
                           init_feed_dict=None, init_fn=None):
        """``prepare_session`` on a session that exists (``MonitoredTrainingSession`` makes its own, retrying
        through lost tasks); the checkpoint restored, or None when the model was initialized instead."""
        restored = self._restore_checkpoint(sess, saver, checkpoint_dir, checkpoint_filename_with_path,
                                            wait_for_checkpoint, max_wait_secs)
        if not restored:
            if init_op is None and not init_fn and self._local_init_op is None:
                raise RuntimeError("Model is not initialized and no init_op or init_fn or local_init_op was given")
            if init_op is not None:
                sess.run(init_op, feed_dict=init_feed_dict)
            if init_fn:
                init_fn(sess)
        local_ok, message = self._try_run_local_init_op(sess)
        if not local_ok:
            raise RuntimeError("Init operations did not make model ready for local_init.  Init op: "
                               f"{_maybe_name(init_op)}, init fn: {init_fn}, error: {message}")
        ready, message = self._model_ready(sess)
        if not ready:
            raise RuntimeError(f"Init operations did not make model ready.  Init op: {_maybe_name(init_op)}, "
                               f"init fn: {init_fn}, local_init_op: {_maybe_name(self._local_init_op)}, "
                               f"error: {message}" + (f" (after restoring {restored})" if restored else ""))
        return restored

    def wait_until_ready(self, sess, max_wait_secs=float("Inf")):
        """``wait_for_session`` polling one existing session every ``recovery_wait_secs``."""
        deadline = time.monotonic() + max_wait_secs
        while True:
            message = self._ready_message(sess)
            if message is None:
                return
            if time.monotonic() >= deadline:
                raise errors.DeadlineExceededError(None, None, self._not_ready_error(max_wait_secs, message))
            time.sleep(self._recovery_wait_secs)

    # ------------------------------------------------------------------ helpers
    def _until_the_cluster_serves(self, attempt, max_wait_secs):
        """``attempt()``, made again while a task of the cluster does not serve yet (UnavailableError), up to
        ``max_wait_secs``. TF's master waits for the tasks when it creates a session; this runtime's sessions
        fail at once instead, so the waiting a program relies on (a chief started before its ps) is done here."""
        deadline = time.monotonic() + max_wait_secs
        said = False
        while True:
            try:
                return attempt()
            except errors.UnavailableError as e:
                if time.monotonic() + CLUSTER_POLL_SECS > deadline:
                    raise
                if not said:
                    _say(f"waiting for the tasks of the cluster to serve ({_first_line(e)})")
                    said = True
                time.sleep(CLUSTER_POLL_SECS)

    def _new_session(self, master, config):
        self._target = master
        return session_lib.Session(master, graph=self._graph, config=config)

    def _restore_checkpoint(self, sess, saver, checkpoint_dir, checkpoint_filename_with_path, wait_for_checkpoint,
                            max_wait_secs):
        """The checkpoint restored into ``sess``, or None (no saver, no checkpoint, or none came in time)."""
        if checkpoint_dir and checkpoint_filename_with_path:
            raise ValueError("Can not provide both checkpoint_dir and checkpoint_filename_with_path.")
        if not saver or not (checkpoint_dir or checkpoint_filename_with_path):
            return None
        if checkpoint_filename_with_path:
            saver.restore(sess, checkpoint_filename_with_path)
            return checkpoint_filename_with_path
        waited = 0.0
        state = saver_lib.get_checkpoint_state(checkpoint_dir)
        while state is None or not state.model_checkpoint_path:
            if not (wait_for_checkpoint and waited < max_wait_secs):
                return None
            log.info("Waiting for checkpoint to be available.")
            time.sleep(self._recovery_wait_secs)
            waited += self._recovery_wait_secs
            state = saver_lib.get_checkpoint_state(checkpoint_dir)
        path = restore_newest_good(saver, sess, state)
        # Adopt the kept checkpoints, so max_to_keep deletes the oldest after a restart too.
        saver.recover_last_checkpoints(state.all_model_checkpoint_paths)
        return path

    def _try_run_local_init_op(self, sess):
        """Run ``local_init_op`` when ``ready_for_local_init_op`` allows it: ``(ran or not needed, why not)``."""
        if self._local_init_op is None:
            return True, None
        ready, message = _ready(self._ready_for_local_init_op, sess, "Model not ready for local init")
        if not ready:
            return False, message
        log.info("Running local_init_op.")
        sess.run(self._local_init_op, feed_dict=self._local_init_feed_dict, options=self._local_init_run_options)
        log.info("Done running local_init_op.")
        return True, None

    def _model_ready(self, sess):
        return _ready(self._ready_op, sess, "Model not ready")

    def _ready_message(self, sess):
        """None when the model is ready in ``sess`` (its local init op run), else why not."""
        local_ok, message = self._try_run_local_init_op(sess)
        if not local_ok:
            return message  # the global variables the local init op waits for: what the chief must initialize
        ready, message = self._model_ready(sess)
        return None if ready else message

    @staticmethod
    def _not_ready_error(max_wait_secs, message):
        # TF's sentence, then what is missing (the names of the variables nobody initialized).
        prefix = "Variables not initialized: "
        detail = "still uninitialized: " + message[len(prefix):] if message.startswith(prefix) else message
        return f"Session was not ready after waiting {max_wait_secs:.3g} secs; {detail}"
