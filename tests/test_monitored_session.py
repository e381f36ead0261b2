"""MonitoredTrainingSession: chief restore-or-init, non-chiefs waiting, periodic checkpoints, and recovery (a
run failing because a task was lost is made again on a new session; the chief restores the last checkpoint,
or the newest good one when it is corrupt, and keeps ``max_to_keep`` across restarts)."""

import json
import os
import threading

import pytest

import tasklayer as tf
from tasklayer import session as session_lib
from tasklayer.training import monitored_session
from tasklayer.training import saver as saver_lib


class FlakySession(session_lib.Session):
    """A local session whose runs of ``fail_op`` raise ``error`` while ``failures`` (shared) lasts."""

    failures, fail_op, error, created = [], None, None, []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        FlakySession.created.append(self)

    def run(self, fetches, *args, **kwargs):
        flat = fetches[0] if isinstance(fetches, list) and fetches else fetches
        if flat is FlakySession.fail_op and FlakySession.failures:
            FlakySession.failures.pop()
            raise FlakySession.error
        return super().run(fetches, *args, **kwargs)


@pytest.fixture
def flaky(monkeypatch):
    monkeypatch.setattr(monitored_session.session_lib, "Session", FlakySession)
    FlakySession.failures, FlakySession.created = [], []
    return FlakySession


def _counter_model():
    step = tf.train.get_or_create_global_step()
    return step, step.assign_add(1)


def test_a_lost_task_recreates_the_session_and_the_chief_restores(flaky, tmp_path, capfd):
    with tf.Graph().as_default():
        step, train = _counter_model()
        flaky.fail_op, flaky.error = train, tf.errors.UnavailableError(None, None, "/job:ps/task:0 is gone")
        with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), save_checkpoint_steps=3,
                                               recovery_wait_secs=0.01) as sess:
            for _ in range(7):
                sess.run(train)
            latest = tf.train.latest_checkpoint(str(tmp_path))
            saved = int(latest.rsplit("-", 1)[1])
            assert 3 <= saved < 7
            flaky.failures = [1]  # the next train run fails once: a new (local, so empty) session restores
            assert sess.run(train) == saved + 1  # the same run, made again after the restore
            assert len(flaky.created) == 2 and sess.restored_from == latest
            assert sess.run(step) == saved + 1
    assert f"restored from step {saved}" in capfd.readouterr().err


def test_a_failure_that_is_not_a_lost_task_is_raised(flaky, tmp_path):
    with tf.Graph().as_default():
        _, train = _counter_model()
        for error in (tf.errors.InvalidArgumentError(None, None, "bad feed"),
                      tf.errors.NotFoundError(None, None, "no kernel registered for op type 'Foo'")):
            flaky.fail_op, flaky.error, flaky.failures, flaky.created = train, error, [1], []
            with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path / "c"), save_checkpoint_steps=5) \
                    as sess:
                with pytest.raises(type(error)):
                    sess.run(train)
                assert len(flaky.created) == 1


def test_a_restarted_graph_handle_is_recoverable():
    gone = tf.errors.NotFoundError(None, None, "graph handle 'g3' is not registered on /job:ps/task:0 (the task "
                                               "may have restarted)")
    assert monitored_session.is_recoverable(gone)
    assert monitored_session.is_recoverable(tf.errors.AbortedError(None, None, "x"))
    assert not monitored_session.is_recoverable(tf.errors.FailedPreconditionError(None, None, "x"))


def test_a_non_chief_waits_for_the_chief_then_trains(tmp_path):
    server = tf.train.Server.create_local_server()
    try:
        with tf.Graph().as_default() as graph:
            step, train = _counter_model()
            ready = threading.Event()
            outcome = {}

            def worker():
                with graph.as_default(), tf.train.MonitoredTrainingSession(
                        master=server.target, is_chief=False, recovery_wait_secs=0.05, max_wait_secs=20) as sess:
                    ready.set()
                    outcome["step"] = sess.run(train)

            thread = threading.Thread(target=worker)
            thread.start()
            assert not ready.wait(0.3)  # nothing initialized yet: still waiting
            with tf.train.MonitoredTrainingSession(master=server.target, is_chief=True,
                                                   checkpoint_dir=str(tmp_path), save_checkpoint_steps=100) as sess:
                thread.join(20)
                assert outcome["step"] == 1 and sess.run(step) == 1
    finally:
        server.stop()


def test_a_non_chief_gives_up_naming_what_is_not_initialized():
    server = tf.train.Server.create_local_server()
    try:
        with tf.Graph().as_default():
            _counter_model()
            with pytest.raises(tf.errors.DeadlineExceededError, match="still uninitialized: global_step"):
                tf.train.MonitoredTrainingSession(master=server.target, is_chief=False, max_wait_secs=0.3,
                                                  recovery_wait_secs=0.05)
    finally:
        server.stop()


def _train_to(checkpoint_dir, last_step, max_to_keep=5, save_steps=1):
    """A chief (a fresh graph: as after a restart) trains to ``last_step``; returns the session."""
    with tf.Graph().as_default():
        _, train = _counter_model()
        scaffold = tf.train.Scaffold(saver=tf.train.Saver(max_to_keep=max_to_keep))
        hooks = [tf.train.StopAtStepHook(last_step=last_step)]
        with tf.train.MonitoredTrainingSession(checkpoint_dir=str(checkpoint_dir), scaffold=scaffold, hooks=hooks,
                                               save_checkpoint_steps=save_steps) as sess:
            while not sess.should_stop():
                sess.run(train)
        return sess


def _kept(directory):
    return tf.train.get_checkpoint_state(str(directory)).all_model_checkpoint_paths


def test_a_restarted_chief_keeps_max_to_keep_across_the_restart(tmp_path):
    _train_to(tmp_path, 6, max_to_keep=3, save_steps=2)  # saves at steps 2, 4, 6
    before = _kept(tmp_path)
    assert [p.rsplit("-", 1)[1] for p in before] == ["2", "4", "6"]
    _train_to(tmp_path, 9, max_to_keep=3, save_steps=2)  # restores 6, saves 8 and (at the end) 9: 2 and 4 go
    after = _kept(tmp_path)
    assert [p.rsplit("-", 1)[1] for p in after] == ["6", "8", "9"]
    for gone in set(before) - set(after):
        assert not [n for n in os.listdir(tmp_path) if n.startswith(os.path.basename(gone) + ".")]


def _damage(prefix):
    """Overwrite the first bytes of checkpoint ``prefix``'s data file (a torn or damaged write)."""
    index = json.loads(open(prefix + ".index.json").read())
    with open(os.path.join(os.path.dirname(prefix), index["data_file"]), "r+b") as f:
        f.write(b"torn")


def test_a_chief_skips_a_corrupt_latest_checkpoint_for_the_newest_good_one(tmp_path, capfd):
    _train_to(tmp_path, 4)
    *_, older, latest = _kept(tmp_path)
    older_step = int(older.rsplit("-", 1)[1])
    assert tf.train.latest_checkpoint(str(tmp_path)) == latest and older_step < 4
    _damage(latest)
    with tf.Graph().as_default():
        step, train = _counter_model()
        with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), save_checkpoint_steps=100) as sess:
            assert sess.restored_from == older and sess.run(step) == older_step
            sess.run(train)
    err = capfd.readouterr().err
    assert f"skipping checkpoint {latest}: CorruptCheckpointError: checkpoint data file" in err
    assert f"restored from step {older_step}" in err
    assert tf.train.latest_checkpoint(str(tmp_path)) == older[:-1] + str(older_step + 1)  # the end hook's save


def test_a_chief_with_no_good_checkpoint_fails_naming_each(tmp_path):
    _train_to(tmp_path, 4)
    kept = _kept(tmp_path)
    for prefix in kept:
        _damage(prefix)
    with tf.Graph().as_default():
        _counter_model()
        with pytest.raises(saver_lib.CorruptCheckpointError, match="no checkpoint restores cleanly") as err:
            tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), save_checkpoint_steps=100)
    assert all(f"{prefix} (" in str(err.value) for prefix in kept)


def test_save_checkpoint_steps_saves_every_n_global_steps(tmp_path):
    """TF's cadence: with ``save_checkpoint_steps=3`` the chief saves at global steps 3, 6 and 9 (not every 4th)."""
    with tf.Graph().as_default():
        _, train = _counter_model()
        with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), save_checkpoint_steps=3) as sess:
            for _ in range(9):
                sess.run(train)
            state = tf.train.get_checkpoint_state(str(tmp_path))
            saved = [int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths]
    assert saved == [3, 6, 9]
