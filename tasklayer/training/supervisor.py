"""``tf.train.Supervisor``: TF 1.0-1.4's training helper (a ``Coordinator``, a ``Saver`` and a
``SessionManager``), as distributed programs such as ``mnist_replica.py`` use it.

The chief (``is_chief=True``) restores the newest checkpoint of ``logdir`` or else runs ``init_op``, writes the
graph to ``logdir`` (``graph.pbtxt`` and, for TensorBoard, an events file), then runs the standard services on
threads: a checkpoint every ``save_model_secs``, and every ``save_summaries_secs`` the summary op
(``tf.summary.merge_all()`` by default) and ``global_step/sec``, written by a ``tf.summary.FileWriter`` for
``logdir``. The other tasks wait until ``ready_op`` reports every variable initialized. ``managed_session``
wraps it all in a ``with`` block that stops the threads at the end; an ``OutOfRangeError`` (the input is
exhausted) ends it cleanly, any other error is re-raised after the threads stopped. The graph is finalized by
the constructor, as TF does.

>>> import tasklayer as tf, tempfile
>>> logdir = tempfile.mkdtemp()
>>> with tf.Graph().as_default():
...     step = tf.train.get_or_create_global_step()
...     train = step.assign_add(1)
...     sv = tf.train.Supervisor(logdir=logdir, save_model_secs=0)
...     with sv.managed_session() as sess:
...         for _ in range(3):
...             _ = sess.run(train)
...         _ = sv.saver.save(sess, sv.save_path, global_step=sv.global_step)
>>> with tf.Graph().as_default():
...     step = tf.train.get_or_create_global_step()
...     sv = tf.train.Supervisor(logdir=logdir, save_model_secs=0)
...     with sv.managed_session() as sess:
...         int(sess.run(step))  # restored from the checkpoint
3
"""

import contextlib
import logging
import os
import time

from tasklayer import dtypes, io
from tasklayer import variables as variables_lib
from tasklayer.graph import GraphKeys, get_default_graph
from tasklayer.ops import control_flow_ops
from tasklayer.summary import FileWriter, SessionLog, Summary, merge_all
from tasklayer.training import saver as saver_lib
from tasklayer.training.coordinator import Coordinator, LooperThread
from tasklayer.training.session_manager import SessionManager

__all__ = ["Supervisor"]

log = logging.getLogger("tensorflow")

# TF's collection names (tf.GraphKeys): the Supervisor and MonitoredTrainingSession's Scaffold share them.
READY_OP, READY_FOR_LOCAL_INIT_OP = "ready_op", "ready_for_local_init_op"
INIT_OP, LOCAL_INIT_OP, SUMMARY_OP, QUEUE_RUNNERS = "init_op", "local_init_op", "summary_op", "queue_runners"


class Supervisor:
    """TF1's ``tf.train.Supervisor`` (module docstring)."""

    # A value meaning "build the default" (TF's: 0, so that None can mean "none").
    USE_DEFAULT = 0

    def __init__(self, graph=None, ready_op=USE_DEFAULT, ready_for_local_init_op=USE_DEFAULT, is_chief=True,
                 init_op=USE_DEFAULT, init_feed_dict=None, local_init_op=USE_DEFAULT, logdir=None,
                 summary_op=USE_DEFAULT, saver=USE_DEFAULT, global_step=USE_DEFAULT, save_summaries_secs=120,
                 save_model_secs=600, recovery_wait_secs=30, stop_grace_secs=120, checkpoint_basename="model.ckpt",
                 session_manager=None, summary_writer=USE_DEFAULT, init_fn=None, local_init_run_options=None):
        graph = graph if graph is not None else get_default_graph()
        self._graph = graph
        with graph.as_default():
            self._init_ready_op(ready_op, ready_for_local_init_op)
            self._init_init_op(init_op, init_feed_dict)
            self._init_local_init_op(local_init_op)
            self._init_saver(saver)
            self._init_summary_op(summary_op)
            self._init_global_step(global_step)
        self._is_chief = is_chief
        self._coord = Coordinator()
        self._recovery_wait_secs = recovery_wait_secs
        self._stop_grace_secs = stop_grace_secs
        self._init_fn = init_fn
        self._local_init_run_options = local_init_run_options
        self._logdir = self._save_path = self._summary_writer = None
        self._save_summaries_secs = self._save_model_secs = None
        if self._is_chief:
            self._logdir = logdir
            self._save_summaries_secs, self._save_model_secs = save_summaries_secs, save_model_secs
            if logdir:
                self._save_path = os.path.join(logdir, checkpoint_basename)
            if summary_writer is Supervisor.USE_DEFAULT:
                self._summary_writer = FileWriter(logdir) if logdir else None
            else:
                self._summary_writer = summary_writer
        self._graph_added_to_summary = False
        if session_manager is None:
            session_manager = SessionManager(local_init_op=self._local_init_op, ready_op=self._ready_op,
                                             ready_for_local_init_op=self._ready_for_local_init_op, graph=graph,
                                             recovery_wait_secs=recovery_wait_secs,
                                             local_init_run_options=local_init_run_options)
        self._session_manager = session_manager
        self._verify_setup()
        graph.finalize()

    # ------------------------------------------------------------------ defaults
    def _first_in(self, key):
        items = self._graph.get_collection(key)
        if len(items) > 1:
            log.info("Found %d %s operations. Returning the first one.", len(items), key)
        return items[0] if items else None

    def _init_ready_op(self, ready_op, ready_for_local_init_op):
        if ready_op is Supervisor.USE_DEFAULT:
            ready_op = self._first_in(READY_OP)
            if ready_op is None:
                # TF's default: the global and the local variables not initialized yet.
                ready_op = variables_lib.report_uninitialized_variables(variables_lib.global_variables() +
                                                                        variables_lib.local_variables())
                self._graph.add_to_collection(READY_OP, ready_op)
        self._ready_op = ready_op
        if ready_for_local_init_op is Supervisor.USE_DEFAULT:
            ready_for_local_init_op = self._first_in(READY_FOR_LOCAL_INIT_OP)
        self._ready_for_local_init_op = ready_for_local_init_op

    def _init_init_op(self, init_op, init_feed_dict):
        if init_op is Supervisor.USE_DEFAULT:
            init_op = self._first_in(INIT_OP)
            if init_op is None:
                init_op = variables_lib.global_variables_initializer()
                self._graph.add_to_collection(INIT_OP, init_op)
        self._init_op, self._init_feed_dict = init_op, init_feed_dict

    def _init_local_init_op(self, local_init_op):
        if local_init_op is Supervisor.USE_DEFAULT:
            local_init_op = self._first_in(LOCAL_INIT_OP)
            if local_init_op is None:
                local_init_op = control_flow_ops.group(variables_lib.local_variables_initializer())
                self._graph.add_to_collection(LOCAL_INIT_OP, local_init_op)
        self._local_init_op = local_init_op

    def _init_saver(self, saver):
        if saver is Supervisor.USE_DEFAULT:
            saver = self._first_in(GraphKeys.SAVERS)
            if saver is None and variables_lib.global_variables():
                saver = saver_lib.Saver()
                self._graph.add_to_collection(GraphKeys.SAVERS, saver)
        self._saver = saver

    def _init_summary_op(self, summary_op):
        if summary_op is Supervisor.USE_DEFAULT:
            summary_op = self._first_in(SUMMARY_OP)
            if summary_op is None:
                summary_op = merge_all()
                if summary_op is not None:
                    self._graph.add_to_collection(SUMMARY_OP, summary_op)
        self._summary_op = summary_op

    def _init_global_step(self, global_step):
        if global_step is Supervisor.USE_DEFAULT:
            global_step = self._first_in(GraphKeys.GLOBAL_STEP)
            if global_step is None:
                global_step = self._default_global_step_tensor()
                if global_step is not None:
                    self._graph.add_to_collection(GraphKeys.GLOBAL_STEP, global_step)
        self._global_step = global_step

    def _default_global_step_tensor(self):
        """The tensor ``global_step:0`` when it is an integer, else None."""
        try:
            step = self._graph.get_tensor_by_name("global_step:0")
        except (KeyError, ValueError):
            return None
        if step.dtype.base_dtype in (dtypes.int32, dtypes.int64):
            return step
        log.warning("Found 'global_step' is not an int type: %s", step.dtype)
        return None

    def _verify_setup(self):
        """A replica that is not the chief needs every variable placed (on the ps), or each task would hold its
        own copy."""
        if not self._is_chief:
            for op in self._graph.get_operations():
                if op.type in ("Variable", "VariableV2") and not op.device:
                    raise ValueError(f"When using replicas, all Variables must have their device set: {op}")

    # ------------------------------------------------------------------ properties
    is_chief = property(lambda self: self._is_chief, doc="Whether this supervisor initializes and checkpoints.")
    session_manager = property(lambda self: self._session_manager, doc="The SessionManager it creates sessions with.")
    coord = property(lambda self: self._coord, doc="The Coordinator of its threads.")
    init_op = property(lambda self: self._init_op, doc="The op the chief initializes the model with.")
    init_feed_dict = property(lambda self: self._init_feed_dict, doc="The feeds of init_op.")
    ready_op = property(lambda self: self._ready_op, doc="The report of the variables not initialized yet.")
    ready_for_local_init_op = property(lambda self: self._ready_for_local_init_op,
                                       doc="What must be initialized before local_init_op runs.")
    summary_writer = property(lambda self: self._summary_writer, doc="The chief's FileWriter for logdir, or None.")
    summary_op = property(lambda self: self._summary_op, doc="The summary op (merge_all's), or None.")
    save_summaries_secs = property(lambda self: self._save_summaries_secs, doc="Seconds between summaries.")
    global_step = property(lambda self: self._global_step, doc="The global step tensor, or None.")
    saver = property(lambda self: self._saver, doc="The Saver of the checkpoints.")
    save_model_secs = property(lambda self: self._save_model_secs, doc="Seconds between the chief's checkpoints.")
    save_path = property(lambda self: self._save_path, doc="The checkpoints' prefix (logdir/model.ckpt).")

    # ------------------------------------------------------------------ sessions
    def prepare_or_wait_for_session(self, master="", config=None, wait_for_checkpoint=False, max_wait_secs=7200,
                                    start_standard_services=True):
        """A ready session: the chief restores or initializes the model (and starts the checkpoint thread), the
        others wait for it; the graph's queue runners are started."""
        # A session made again after stop() (a second managed_session) needs its threads to run and the writer
        # that stop() closed open again before the graph and START are written to it, as TF reopens it here.
        self._coord.clear_stop()
        if self._summary_writer:
            self._summary_writer.reopen()
        if self._is_chief:
            sess = self._session_manager.prepare_session(
                master, init_op=self._init_op, saver=self._saver, checkpoint_dir=self._logdir,
                wait_for_checkpoint=wait_for_checkpoint, max_wait_secs=max_wait_secs, config=config,
                init_feed_dict=self._init_feed_dict, init_fn=self._init_fn)
            self._write_graph()
            if start_standard_services:
                log.info("Starting standard services.")
                self.start_standard_services(sess)
        else:
            sess = self._session_manager.wait_for_session(master, config=config, max_wait_secs=max_wait_secs)
        if start_standard_services:
            log.info("Starting queue runners.")
            self.start_queue_runners(sess)
        return sess

    @contextlib.contextmanager
    def managed_session(self, master="", config=None, start_standard_services=True, close_summary_writer=True):
        """``with sv.managed_session(target) as sess:`` a prepared session whose threads are stopped (and the
        session closed) at the end; an error other than OutOfRangeError is re-raised after that."""
        sess = None
        try:
            sess = self.prepare_or_wait_for_session(master=master, config=config,
                                                    start_standard_services=start_standard_services)
            yield sess
        except Exception as e:  # noqa: BLE001 - TF's contract: the coordinator re-raises it from stop()
            self.request_stop(e)
        finally:
            try:
                self.stop(close_summary_writer=close_summary_writer)
            finally:
                if sess is not None:
                    try:
                        sess.close()
                    except Exception:  # noqa: BLE001 - the cluster may be gone already
                        pass

    def _write_graph(self):
        """The chief writes the graph to ``logdir/graph.pbtxt`` and, once, to the summary writer."""
        if self._logdir:
            io.write_graph(self._graph.as_graph_def(), self._logdir, "graph.pbtxt")
        if self._summary_writer and not self._graph_added_to_summary:
            self._summary_writer.add_graph(self._graph)
            self._graph_added_to_summary = True

    def start_standard_services(self, sess):
        """Start the chief's threads: a checkpoint every ``save_model_secs``, and the summary op and
        ``global_step/sec`` every ``save_summaries_secs`` (after a ``SessionLog.START`` at the current step)."""
        if not self._is_chief:
            raise RuntimeError("Only chief supervisor can start standard services. Because only chief supervisors "
                               "can write events.")
        if not self._logdir:
            log.warning("Standard services need a 'logdir' passed to the SessionManager")
            return None
        if self._global_step is not None and self._summary_writer:
            # Only with a step: TensorBoard drops the events after a START's step, from a run that restarted.
            self._summary_writer.add_session_log(SessionLog(status=SessionLog.START),
                                                 int(sess.run(self._global_step)))
        threads = []
        if self._save_summaries_secs and self._summary_writer:
            if self._summary_op is not None:
                threads.append(_SummaryThread(self, sess))
            if self._global_step is not None:
                threads.append(_StepCounterThread(self, sess))
        if self._saver and self._save_model_secs:
            threads.append(_CheckpointThread(self, sess))
        for thread in threads:
            thread.start()
        return threads

    def start_queue_runners(self, sess, queue_runners=None):
        """Start the threads of ``queue_runners`` (default: the graph's) under this supervisor's coordinator."""
        if queue_runners is None:
            queue_runners = self._graph.get_collection(QUEUE_RUNNERS)
        threads = []
        for runner in queue_runners:
            threads.extend(runner.create_threads(sess, coord=self._coord, daemon=True, start=True))
        return threads

    def loop(self, timer_interval_secs, target, args=None, kwargs=None):
        """Start a thread calling ``target(*args, **kwargs)`` every ``timer_interval_secs`` until a stop."""
        looper = LooperThread(self._coord, timer_interval_secs, target=target, args=args, kwargs=kwargs)
        looper.start()
        return looper

    # ------------------------------------------------------------------ stopping
    def stop(self, threads=None, close_summary_writer=True, ignore_live_threads=False):
        """Stop the threads (waiting ``stop_grace_secs``) and re-raise the first error one reported."""
        self._coord.request_stop()
        try:
            self._coord.join(threads, stop_grace_period_secs=self._stop_grace_secs,
                             ignore_live_threads=ignore_live_threads)
        finally:
            # The writer closes last, in case a thread was still using it.
            if close_summary_writer and self._summary_writer:
                # No step: the session may have ended already.
                self._summary_writer.add_session_log(SessionLog(status=SessionLog.STOP))
                self._summary_writer.close()
                self._graph_added_to_summary = False

    def request_stop(self, ex=None):
        """Ask the threads (and the training loop, through ``should_stop``) to stop."""
        self._coord.request_stop(ex=ex)

    def should_stop(self):
        """Whether a stop was requested."""
        return self._coord.should_stop()

    def stop_on_exception(self):
        """A context in which an exception requests a stop."""
        return self._coord.stop_on_exception()

    def wait_for_stop(self):
        """Block until a stop is requested."""
        self._coord.wait_for_stop()

    def summary_computed(self, sess, summary, global_step=None):
        """Write ``summary`` (what a summary op gave) at ``global_step`` (default: the current global step);
        RuntimeError without a summary writer (not the chief, or no logdir)."""
        if not self._summary_writer:
            raise RuntimeError("Writing a summary requires a summary writer.")
        if global_step is None and self._global_step is not None:
            global_step = int(sess.run(self._global_step))
        if global_step is not None:
            self._summary_writer.add_summary(summary, global_step)


class _CheckpointThread(LooperThread):
    """The chief's checkpoints: a save every ``save_model_secs`` (the first when it starts, as TF)."""

    def __init__(self, sv, sess):
        super().__init__(sv.coord, sv.save_model_secs)
        self._sv, self._sess = sv, sess

    def run_loop(self):
        log.info("Saving checkpoint to path %s", self._sv.save_path)
        self._sv.saver.save(self._sess, self._sv.save_path, global_step=self._sv.global_step)
        if self._sv.summary_writer and self._sv.global_step is not None:
            step = int(self._sess.run(self._sv.global_step))
            self._sv.summary_writer.add_session_log(
                SessionLog(status=SessionLog.CHECKPOINT, checkpoint_path=self._sv.save_path), step)


class _SummaryThread(LooperThread):
    """The chief's summaries: the summary op's value every ``save_summaries_secs`` (the first when it starts),
    written at the global step."""

    def __init__(self, sv, sess):
        super().__init__(sv.coord, sv.save_summaries_secs)
        self._sv, self._sess = sv, sess

    def run_loop(self):
        if self._sv.global_step is not None:
            summary, step = self._sess.run([self._sv.summary_op, self._sv.global_step])
            step = int(step)
        else:
            summary, step = self._sess.run(self._sv.summary_op), None
        if self._sv.summary_writer:
            log.info("Recording summary at step %s.", step)
            self._sv.summary_writer.add_summary(summary, step)


class _StepCounterThread(LooperThread):
    """The chief's training speed: ``global_step/sec`` over each ``save_summaries_secs``, as a scalar summary."""

    def __init__(self, sv, sess):
        super().__init__(sv.coord, sv.save_summaries_secs)
        self._sv, self._sess = sv, sess
        self._summary_tag = f"{sv.global_step.op.name}/sec"
        self._last_time, self._last_step = 0.0, 0
        self._logged = 0

    def start_loop(self):
        self._last_time = time.time()
        self._last_step = int(self._sess.run(self._sv.global_step))

    def run_loop(self):
        step = int(self._sess.run(self._sv.global_step))
        added, self._last_step = step - self._last_step, step
        now = time.time()
        elapsed, self._last_time = now - self._last_time, now
        rate = added / elapsed if elapsed > 0 else float("inf")
        if self._sv.summary_writer:
            summary = Summary(value=[Summary.Value(tag=self._summary_tag, simple_value=rate)])
            self._sv.summary_writer.add_summary(summary, step)
        if self._logged < 10:  # as TF: the first ten only
            self._logged += 1
            log.info("%s: %g", self._summary_tag, rate)


# TF's CamelCase aliases.
Supervisor.PrepareSession = Supervisor.prepare_or_wait_for_session
Supervisor.StartQueueRunners = Supervisor.start_queue_runners
Supervisor.StartStandardServices = Supervisor.start_standard_services
Supervisor.Stop = Supervisor.stop
Supervisor.RequestStop = Supervisor.request_stop
Supervisor.Loop = Supervisor.loop
Supervisor.ShouldStop = Supervisor.should_stop
Supervisor.StopOnException = Supervisor.stop_on_exception
Supervisor.WaitForStop = Supervisor.wait_for_stop
Supervisor.SummaryComputed = Supervisor.summary_computed
