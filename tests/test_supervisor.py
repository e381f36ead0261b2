"""``tf.train.SessionManager`` and ``tf.train.Supervisor``: restore-or-init on the chief, waiting for the model
elsewhere, local init ops, the chief's checkpoint thread, queue runners and stopping, with TF's errors; and the
local init op that MonitoredTrainingSession now runs through the same SessionManager."""

import doctest
import threading

import pytest

import tasklayer as tf
from tasklayer.training import session_manager, supervisor
from tests.polling import wait_until


@pytest.fixture
def server():
    s = tf.train.Server.create_local_server()
    yield s
    s.stop()


def test_the_module_examples_run():
    for module in (session_manager, supervisor):
        assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0, module.__name__


# ---------------------------------------------------------------------- SessionManager
def _model():
    w = tf.Variable(1.0, name="w")
    return w, tf.train.Saver()


def test_prepare_session_initializes_then_restores(tmp_path):
    with tf.Graph().as_default():
        w, saver = _model()
        sm = tf.train.SessionManager()
        sess = sm.prepare_session("", init_op=tf.global_variables_initializer(), saver=saver,
                                  checkpoint_dir=str(tmp_path))
        assert sess.run(w) == 1.0
        sess.run(w.assign(7.0))
        path = saver.save(sess, str(tmp_path / "model"), global_step=3)
        sess = sm.prepare_session("", init_op=tf.global_variables_initializer(), saver=saver,
                                  checkpoint_dir=str(tmp_path))
        assert sess.run(w) == 7.0
        sess = sm.prepare_session("", saver=saver, checkpoint_filename_with_path=path)
        assert sess.run(w) == 7.0


def test_prepare_session_errors_as_tf(tmp_path):
    with tf.Graph().as_default():
        w, saver = _model()
        other = tf.Variable(2.0, name="other")
        sm = tf.train.SessionManager(ready_op=tf.report_uninitialized_variables())
        with pytest.raises(ValueError, match="Can not provide both checkpoint_dir and checkpoint_filename_with_path"):
            sm.prepare_session("", saver=saver, checkpoint_dir="a", checkpoint_filename_with_path="b")
        with pytest.raises(RuntimeError, match="Model is not initialized and no init_op or init_fn or local_init_op"):
            sm.prepare_session("")
        with pytest.raises(RuntimeError, match="Init operations did not make model ready.  Init op: init_w.*"
                                               "Variables not initialized: other"):
            sm.prepare_session("", init_op=tf.variables_initializer([w], name="init_w"))
        sess = sm.prepare_session("", init_fn=lambda sess: sess.run([w.initializer, other.initializer]))
        assert sess.run(other) == 2.0
        with pytest.raises(ValueError, match="If you pass a ready_for_local_init_op you must also pass a local_init_op"):
            tf.train.SessionManager(ready_for_local_init_op=tf.report_uninitialized_variables())


def test_recover_session_says_whether_it_restored(tmp_path):
    with tf.Graph().as_default():
        w, saver = _model()
        sm = tf.train.SessionManager(ready_op=tf.report_uninitialized_variables())
        sess, restored = sm.recover_session("", saver=saver, checkpoint_dir=str(tmp_path))
        assert not restored
        sess.run(w.initializer)
        saver.save(sess, str(tmp_path / "model"), global_step=1)
        sess, restored = sm.recover_session("", saver=saver, checkpoint_dir=str(tmp_path))
        assert restored and sess.run(w) == 1.0


def test_wait_for_session_waits_for_another_task_then_runs_the_local_init_op(server):
    with tf.Graph().as_default():
        w, _ = _model()
        counter = tf.Variable(0, name="counter", collections=[tf.GraphKeys.LOCAL_VARIABLES])
        sm = tf.train.SessionManager(ready_op=tf.report_uninitialized_variables(tf.global_variables() +
                                                                                tf.local_variables()),
                                     ready_for_local_init_op=tf.report_uninitialized_variables(),
                                     local_init_op=tf.local_variables_initializer(), recovery_wait_secs=0.02)
        with pytest.raises(tf.errors.DeadlineExceededError,
                           match=r"Session was not ready after waiting 0.1 secs; still uninitialized: w$"):
            sm.wait_for_session(server.target, max_wait_secs=0.1)
        got = {}
        waiter = threading.Thread(target=lambda: got.update(sess=sm.wait_for_session(server.target,
                                                                                      max_wait_secs=20)))
        waiter.start()
        chief = tf.Session(server.target)
        chief.run(w.initializer)
        waiter.join(20)
        assert got["sess"].run([w, counter]) == [1.0, 0]


# ---------------------------------------------------------------------- Supervisor
def _step_model():
    step = tf.train.get_or_create_global_step()
    return step, step.assign_add(1)


def test_the_chief_checkpoints_at_start_then_every_save_model_secs(tmp_path):
    with tf.Graph().as_default() as graph:
        step, train = _step_model()
        sv = tf.train.Supervisor(logdir=str(tmp_path), save_model_secs=3600)
        assert graph.finalized and sv.is_chief and sv.global_step is step
        assert sv.save_path == str(tmp_path / "model.ckpt")
        with sv.managed_session() as sess:
            # TF's checkpoint thread saves once as it starts, then every save_model_secs.
            wait_until(lambda: tf.train.latest_checkpoint(str(tmp_path)), what="the first checkpoint")
            sess.run(train)
        assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-0")
        assert sv.should_stop()


@pytest.mark.filterwarnings("error")  # a second session must not write to the writer the first one closed
def test_managed_session_ends_cleanly_on_out_of_range_and_reraises_other_errors(tmp_path):
    with tf.Graph().as_default():
        _, train = _step_model()
        sv = tf.train.Supervisor(logdir=str(tmp_path), save_model_secs=0)
        with sv.managed_session() as sess:
            sess.run(train)
            raise tf.errors.OutOfRangeError(None, None, "input exhausted")
        assert sv.should_stop()
        with pytest.raises(ValueError, match="bad batch"):
            with sv.managed_session() as sess:  # a new session: the stop is cleared
                assert not sv.should_stop()
                raise ValueError("bad batch")


@pytest.mark.filterwarnings("error")  # "Attempting to use a closed FileWriter" fails the test
def test_a_second_managed_session_writes_its_events_to_a_reopened_writer(tmp_path):
    with tf.Graph().as_default():
        _, train = _step_model()
        sv = tf.train.Supervisor(logdir=str(tmp_path), save_model_secs=0)
        for _ in range(2):
            with sv.managed_session() as sess:
                sess.run(train)
    # stop() closed the writer; the next session reopened it (a new events file) before writing to it, as TF.
    files = sorted(tmp_path.glob("events.out.tfevents.*"))
    assert len(files) == 2
    for path in files:
        events = list(tf.train.summary_iterator(str(path)))
        logs = [e.session_log.status for e in events if e.HasField("session_log")]
        assert any(e.HasField("graph_def") for e in events)
        assert logs == [tf.SessionLog.START, tf.SessionLog.STOP]


def test_a_non_chief_needs_placed_variables_and_waits_for_the_chief(server):
    with tf.Graph().as_default():
        tf.Variable(1.0, name="unplaced")
        with pytest.raises(ValueError, match="When using replicas, all Variables must have their device set"):
            tf.train.Supervisor(is_chief=False)
    with tf.Graph().as_default():
        with tf.device("/job:local/task:0"):
            step, train = _step_model()
        worker = tf.train.Supervisor(is_chief=False, recovery_wait_secs=0.02)
        outcome = {}

        def run_worker():
            with worker.managed_session(server.target) as sess:
                outcome["step"] = sess.run(train)

        thread = threading.Thread(target=run_worker)
        thread.start()
        with tf.Session(server.target) as chief:
            chief.run(step.initializer)
        thread.join(20)
        assert outcome == {"step": 1}


def test_loop_runs_a_function_until_the_stop():
    with tf.Graph().as_default():
        _step_model()
        sv = tf.train.Supervisor(save_model_secs=0)
        calls = []
        looper = sv.Loop(0.01, calls.append, args=("tick",))
        wait_until(lambda: len(calls) >= 3, what="three calls")
        sv.stop()
        assert not looper.is_alive() and set(calls) == {"tick"}


def test_queue_runners_run_under_the_supervisor_and_stop_with_it():
    with tf.Graph().as_default():
        _step_model()
        queue = tf.FIFOQueue(10, [tf.int32], shapes=[[]])
        tf.train.add_queue_runner(tf.train.QueueRunner(queue, [queue.enqueue(tf.constant(7))]))
        dequeue = queue.dequeue()
        sv = tf.train.Supervisor(save_model_secs=0, recovery_wait_secs=0.02)
        with sv.managed_session() as sess:
            assert [sess.run(dequeue) for _ in range(3)] == [7, 7, 7]
        assert sv.should_stop()


def test_services_and_summaries_as_tf(tmp_path):
    with tf.Graph().as_default():
        _step_model()
        sv = tf.train.Supervisor(logdir=None, save_model_secs=0)  # no logdir: no writer, as TF
        assert sv.summary_op is None and sv.summary_writer is None
        with sv.managed_session(start_standard_services=False) as sess:
            with pytest.raises(RuntimeError, match="Writing a summary requires a summary writer."):
                sv.summary_computed(sess, b"summary")
    with tf.Graph().as_default():
        with tf.device("/job:ps/task:0"):
            _step_model()
        sv = tf.train.Supervisor(is_chief=False)
        with pytest.raises(RuntimeError, match="Only chief supervisor can start standard services."):
            sv.start_standard_services(None)


# ---------------------------------------------------------------------- MonitoredTrainingSession's local init
def test_monitored_session_initializes_local_variables_on_every_task(server, tmp_path):
    with tf.Graph().as_default() as graph:
        _, train = _step_model()
        seen = tf.Variable(0, name="seen", collections=[tf.GraphKeys.LOCAL_VARIABLES])
        count = seen.assign_add(1)
        outcome = {}

        def worker():
            with graph.as_default(), tf.train.MonitoredTrainingSession(
                    master=server.target, is_chief=False, recovery_wait_secs=0.02, max_wait_secs=20) as sess:
                outcome["worker"] = sess.run(count)

        with tf.train.MonitoredTrainingSession(master=server.target, checkpoint_dir=str(tmp_path)) as sess:
            assert [sess.run([count, train]) for _ in range(3)] == [[1, 1], [2, 2], [3, 3]]
            # The worker's session runs the local init op too (here on the same server: it starts again at 0).
            thread = threading.Thread(target=worker)
            thread.start()
            thread.join(20)
    assert outcome == {"worker": 1}


def test_scaffold_takes_tf_arguments():
    with tf.Graph().as_default():
        _step_model()
        init = tf.no_op(name="my_init")
        scaffold = tf.train.Scaffold(init, None, None)  # TF's order: init_op, init_feed_dict, init_fn, ...
        copy = tf.train.Scaffold(copy_from_scaffold=scaffold).finalize()
        assert copy.init_op is init and copy.local_init_op is not None and copy.ready_for_local_init_op is not None
        with pytest.raises(TypeError, match="copy_from_scaffold is not a Scaffold instance."):
            tf.train.Scaffold(copy_from_scaffold=object())


def test_monitored_session_runs_the_queue_runners_under_a_coordinator_its_hooks_get():
    with tf.Graph().as_default():
        _step_model()
        queue = tf.FIFOQueue(10, [tf.int32], shapes=[[]])
        tf.train.add_queue_runner(tf.train.QueueRunner(queue, [queue.enqueue(tf.constant(3))]))
        dequeue = queue.dequeue()
        coords = []

        class Keep(tf.train.SessionRunHook):
            def after_create_session(self, session, coord):
                coords.append(coord)

        with tf.train.MonitoredTrainingSession(hooks=[Keep()]) as sess:
            assert [sess.run(dequeue) for _ in range(3)] == [3, 3, 3]
            assert not sess.should_stop()
        assert isinstance(coords[0], tf.train.Coordinator) and coords[0].should_stop()  # stopped at the close
