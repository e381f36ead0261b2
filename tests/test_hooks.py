"""The standard session hooks in a MonitoredTrainingSession: what each fetches, logs, feeds or stops, with TF's
arguments and errors (``tasklayer/training/basic_hooks.py``, and ``StopAtStepHook``/``CheckpointSaverHook``)."""

import doctest
import logging

import numpy as np
import pytest

import tasklayer as tf
from tasklayer.training import basic_hooks


class FakeClock:
    """A clock the timers read, moved by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(basic_hooks, "_now", fake)
    return fake


@pytest.fixture
def tf_log(caplog):
    caplog.set_level(logging.INFO, logger="tensorflow")
    return caplog


def _messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "tensorflow"]


def _counter():
    step = tf.train.get_or_create_global_step()
    return step, step.assign_add(1)


def test_the_module_examples_run():
    assert doctest.testmod(basic_hooks, optionflags=doctest.ELLIPSIS).failed == 0


# ---------------------------------------------------------------------- SecondOrStepTimer
def test_second_or_step_timer_needs_exactly_one_period():
    with pytest.raises(ValueError, match="Either every_secs or every_steps should be provided."):
        tf.train.SecondOrStepTimer()
    with pytest.raises(ValueError, match="Can not provide both every_secs and every_steps."):
        tf.train.SecondOrStepTimer(every_secs=1, every_steps=1)


def test_second_or_step_timer_by_seconds(clock):
    timer = tf.train.SecondOrStepTimer(every_secs=10)
    assert timer.should_trigger_for_step(1)
    assert timer.update_last_triggered_step(1) == (None, None)
    clock.now += 9.5
    assert not timer.should_trigger_for_step(2)
    clock.now += 0.5
    assert timer.should_trigger_for_step(5) and not timer.should_trigger_for_step(1)  # never the same step twice
    assert timer.update_last_triggered_step(5) == (10.0, 4) and timer.last_triggered_step() == 5


# ---------------------------------------------------------------------- LoggingTensorHook
def test_logging_tensor_hook_logs_every_n_iterations_in_tag_order(tf_log):
    with tf.Graph().as_default():
        step, train = _counter()
        doubled = tf.multiply(tf.cast(step, tf.float32), 2.0, name="doubled")
        hook = tf.train.LoggingTensorHook({"b_step": step, "a_doubled": "doubled"}, every_n_iter=3)
        with tf.train.MonitoredTrainingSession(hooks=[hook]) as sess:
            for _ in range(7):
                sess.run(train)
    logged = [m for m in _messages(tf_log) if "a_doubled" in m]
    # Runs 0, 3 and 6 are logged; the values are read in the same run as the increment (before or after it).
    assert len(logged) == 3
    assert logged[0].startswith("a_doubled = ") and ", b_step = " in logged[0]
    assert "sec)" in logged[1] and "sec)" not in logged[0]


def test_logging_tensor_hook_at_end_only_and_formatter(tf_log):
    with tf.Graph().as_default():
        step, train = _counter()
        hook = tf.train.LoggingTensorHook([step], at_end=True, formatter=lambda v: f"final step {v[step]}")
        with tf.train.MonitoredTrainingSession(hooks=[hook]) as sess:
            for _ in range(4):
                sess.run(train)
    assert _messages(tf_log).count("final step 4") == 1


def test_logging_tensor_hook_arguments_as_tf():
    with pytest.raises(ValueError, match="either at_end and/or exactly one of every_n_iter and every_n_secs"):
        tf.train.LoggingTensorHook(["x"])
    with pytest.raises(ValueError, match="invalid every_n_iter=0"):
        tf.train.LoggingTensorHook(["x"], every_n_iter=0)
    with tf.Graph().as_default():
        tf.unstack(tf.constant([1, 2]), name="pair")
        hook = tf.train.LoggingTensorHook(["pair"], every_n_iter=1)
        with pytest.raises(ValueError, match="Name pair is ambiguous"):
            hook.begin()


# ---------------------------------------------------------------------- NanTensorHook
def _nan_model():
    step, train = _counter()
    loss = tf.where(step >= 2, tf.constant(np.nan), tf.constant(1.0))
    return train, loss


def test_nan_tensor_hook_raises_on_a_nan_loss():
    with tf.Graph().as_default():
        train, loss = _nan_model()
        runs = 0
        with tf.train.MonitoredTrainingSession(hooks=[tf.train.NanTensorHook(loss)]) as sess:
            with pytest.raises(tf.train.NanLossDuringTrainingError, match="NaN loss during training."):
                for _ in range(4):
                    sess.run(train)
                    runs += 1
        assert runs in (1, 2)  # the loss reads the step before or after the run's own increment


def test_nan_tensor_hook_may_only_stop(tf_log):
    with tf.Graph().as_default():
        train, loss = _nan_model()
        with tf.train.MonitoredTrainingSession(hooks=[tf.train.NanTensorHook(loss, fail_on_nan_loss=False)]) as sess:
            runs = 0
            while not sess.should_stop():
                sess.run(train)
                runs += 1
    assert runs in (2, 3) and "Model diverged with loss = NaN." in _messages(tf_log)


# ---------------------------------------------------------------------- StepCounterHook
def test_step_counter_hook_logs_steps_per_second(clock, tf_log):
    with tf.Graph().as_default():
        _, train = _counter()
        hook = tf.train.StepCounterHook(every_n_steps=10)
        with tf.train.MonitoredTrainingSession(hooks=[hook]) as sess:
            for _ in range(25):
                sess.run(train)
                clock.now += 0.5  # 2 steps a second
    rates = [m for m in _messages(tf_log) if m.startswith("global_step/sec: ")]
    assert rates == ["global_step/sec: 2", "global_step/sec: 2"] and hook.last_steps_per_sec == 2.0
    with pytest.raises(ValueError, match="exactly one of every_n_steps and every_n_secs should be provided."):
        tf.train.StepCounterHook(every_n_steps=None)


def test_hooks_that_need_a_global_step_say_so():
    with tf.Graph().as_default():
        with pytest.raises(RuntimeError, match="Global step should be created to use StepCounterHook."):
            tf.train.StepCounterHook().begin()
        with pytest.raises(RuntimeError, match="Global step should be created to use StopAtStepHook"):
            tf.train.StopAtStepHook(num_steps=1).begin()


# ---------------------------------------------------------------------- FeedFnHook, FinalOpsHook
def test_feed_fn_hook_feeds_every_run_and_every_hook_sees_after_run():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [])
        values = iter([1.0, 2.0, 3.0, 4.0])
        seen = []

        class Watch(tf.train.SessionRunHook):
            def after_run(self, run_context, run_values):
                seen.append(run_values.results)  # None: it asked for nothing, but is told of the run (TF)

        with tf.train.MonitoredTrainingSession(hooks=[tf.train.FeedFnHook(lambda: {x: next(values)}),
                                                      Watch()]) as sess:
            assert [float(sess.run(x * 10)) for _ in range(3)] == [10.0, 20.0, 30.0]
            with pytest.raises(RuntimeError, match="Same tensor is fed by a SessionRunHook and user"):
                sess.run(x, {x: 5.0})
    assert seen == [None, None, None]


def test_final_ops_hook_reraises_an_exhausted_input(tf_log):
    with tf.Graph().as_default():
        queue = tf.FIFOQueue(1, [tf.float32], shapes=[[]])
        close = queue.close()
        hook = tf.train.FinalOpsHook(queue.dequeue())
        sess = tf.train.MonitoredTrainingSession(hooks=[hook])
        sess.run(close)
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.close()
    assert any("FinalOpsHook" in m for m in _messages(tf_log))


# ---------------------------------------------------------------------- GlobalStepWaiterHook
def test_global_step_waiter_hook_holds_the_first_run(monkeypatch):
    with tf.Graph().as_default():
        step, train = _counter()
        other_worker = step.assign_add(5)
        polls = []

        def sleep(seconds):  # another worker moves the global step while this one waits
            polls.append(seconds)
            session.raw_session().run(other_worker)

        monkeypatch.setattr(basic_hooks, "_sleep", sleep)
        with tf.train.MonitoredTrainingSession(hooks=[tf.train.GlobalStepWaiterHook(12)]) as session:
            assert session.run(train) == 16  # released at 15, then this worker's own step
            assert session.run(train) == 17
    assert polls == [basic_hooks.GLOBAL_STEP_POLL_SECS] * 3


# ---------------------------------------------------------------------- StopAtStepHook
def test_stop_at_step_hook_arguments_as_tf():
    with pytest.raises(ValueError, match="One of num_steps or last_step must be specified."):
        tf.train.StopAtStepHook()
    with pytest.raises(ValueError, match="Only one of num_steps or last_step can be specified."):
        tf.train.StopAtStepHook(num_steps=1, last_step=2)


def test_stop_at_step_hook_counts_num_steps_from_the_restored_step(tmp_path):
    def train_for(**kwargs):
        with tf.Graph().as_default():
            step, train = _counter()
            with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), save_checkpoint_steps=100,
                                                   hooks=[tf.train.StopAtStepHook(**kwargs)]) as sess:
                while not sess.should_stop():
                    sess.run(train)
            return int(tf.train.latest_checkpoint(str(tmp_path)).rsplit("-", 1)[1])

    assert train_for(num_steps=5) == 5
    assert train_for(num_steps=3) == 8  # relative to the step restored
    assert train_for(last_step=10) == 10  # absolute


# ---------------------------------------------------------------------- CheckpointSaverHook with listeners
class Recorder(tf.train.CheckpointSaverListener):
    def __init__(self, stop_after=None):
        self.calls, self.stop_after = [], stop_after

    def begin(self):
        self.calls.append("begin")

    def before_save(self, session, global_step_value):
        self.calls.append(("before", global_step_value))

    def after_save(self, session, global_step_value):
        self.calls.append(("after", global_step_value))
        return self.stop_after is not None and global_step_value >= self.stop_after

    def end(self, session, global_step_value):
        self.calls.append(("end", global_step_value))


def test_checkpoint_saver_hook_tells_its_listeners_and_does_not_save_twice(tmp_path):
    listener = Recorder()
    with tf.Graph().as_default():
        _, train = _counter()
        hook = tf.train.CheckpointSaverHook(str(tmp_path), save_steps=2, listeners=[listener])
        with tf.train.MonitoredTrainingSession(hooks=[hook]) as sess:
            for _ in range(4):
                sess.run(train)
    assert listener.calls == ["begin", ("before", 2), ("after", 2), ("before", 4), ("after", 4), ("end", 4)]


def test_a_listener_can_stop_the_training(tmp_path):
    with tf.Graph().as_default():
        _, train = _counter()
        hook = tf.train.CheckpointSaverHook(str(tmp_path), save_steps=3, listeners=[Recorder(stop_after=3)])
        with tf.train.MonitoredTrainingSession(hooks=[hook]) as sess:
            runs = 0
            while not sess.should_stop():
                sess.run(train)
                runs += 1
    assert runs == 3


def test_checkpoint_saver_hook_arguments_as_tf(tmp_path):
    with pytest.raises(ValueError, match="You cannot provide both saver and scaffold."):
        tf.train.CheckpointSaverHook(str(tmp_path), save_steps=1, saver=object(), scaffold=object())
    with pytest.raises(ValueError, match="Either every_secs or every_steps should be provided."):
        tf.train.CheckpointSaverHook(str(tmp_path))
