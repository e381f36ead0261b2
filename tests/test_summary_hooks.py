"""Summaries written by the training loops, read back from their events files: SummarySaverHook,
StepCounterHook's ``global_step/sec``, MonitoredTrainingSession's summary hooks on the chief (and the Scaffold's
summary op), and tf.train.Supervisor's summary services."""

import os

import pytest

import tasklayer as tf
from tasklayer.training import basic_hooks
from tests.polling import wait_until


class FakeClock:
    """The hooks' timer clock, moved by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(basic_hooks, "_now", fake)
    return fake


@pytest.fixture(autouse=True)
def close_cached_writers():
    """The hooks write through FileWriterCache: close its writers (and their threads) after each test."""
    yield
    tf.summary.FileWriterCache.clear()


def events_in(logdir):
    """Every event of every events file of ``logdir``, in file-name order."""
    events = []
    for path in sorted(tf.gfile.Glob(os.path.join(str(logdir), "events.out.tfevents.*"))):
        events.extend(tf.train.summary_iterator(path))
    return events


def scalars(events, tag):
    return [(e.step, v.simple_value) for e in events if e.HasField("summary") for v in e.summary.value
            if v.tag == tag]


def session_logs(events):
    return [(e.session_log.status, e.step) for e in events if e.HasField("session_log")]


def _model():
    """A global step bumped by ``train``, and ``fed`` summarized as ``fed``."""
    step = tf.train.get_or_create_global_step()
    fed = tf.placeholder(tf.float32, [], name="x")
    tf.summary.scalar("fed", fed)
    return step.assign_add(1), fed


# ---------------------------------------------------------------------- SummarySaverHook
def test_summary_saver_hook_writes_every_n_steps_at_the_global_step(tmp_path):
    with tf.Graph().as_default():
        train, fed = _model()
        hook = tf.train.SummarySaverHook(save_steps=2, output_dir=str(tmp_path), summary_op=tf.summary.merge_all())
        with tf.train.MonitoredTrainingSession(hooks=[hook]) as sess:
            for i in range(5):
                sess.run(train, {fed: 10.0 * i})
    events = events_in(tmp_path)
    # The first run, then every 2 steps, labelled with the step the run reached (the summary ran in that run).
    assert scalars(events, "fed") == [(1, 0.0), (3, 20.0), (5, 40.0)]
    assert session_logs(events) == [(tf.SessionLog.START, 1)]
    assert [e.WhichOneof("what") for e in events][:2] == ["file_version", "graph_def"]  # the cache's writer


def test_summary_saver_hook_every_n_seconds_with_a_given_writer(tmp_path, clock):
    with tf.Graph().as_default():
        train, fed = _model()
        writer = tf.summary.FileWriter(str(tmp_path))
        scaffold = tf.train.Scaffold()  # the session's: it finalizes the summary op the hook runs
        hook = tf.train.SummarySaverHook(save_secs=10, summary_writer=writer, scaffold=scaffold)
        with tf.train.MonitoredTrainingSession(scaffold=scaffold, hooks=[hook]) as sess:
            for i in range(4):
                sess.run(train, {fed: float(i)})
                clock.now += 6.0 if i < 2 else 0.0
        writer.close()
    # Run 1 (the first), run 3 (12 s later); not run 4 (no time passed). The scaffold's op is merge_all().
    assert scalars(events_in(tmp_path), "fed") == [(1, 0.0), (3, 2.0)]


def test_summary_saver_hook_arguments_as_tf(tmp_path):
    with tf.Graph().as_default():
        op = tf.summary.scalar("x", 1.0)
        with pytest.raises(ValueError, match="Exactly one of scaffold or summary_op must be provided."):
            tf.train.SummarySaverHook(save_steps=1, output_dir=str(tmp_path))
        with pytest.raises(ValueError, match="Exactly one of scaffold or summary_op must be provided."):
            tf.train.SummarySaverHook(save_steps=1, scaffold=tf.train.Scaffold(), summary_op=op)
        with pytest.raises(ValueError, match="Can not provide both every_secs and every_steps."):
            tf.train.SummarySaverHook(save_steps=1, save_secs=1, summary_op=op)
        with pytest.raises(RuntimeError, match="Global step should be created to use SummarySaverHook."):
            tf.train.SummarySaverHook(save_steps=1, summary_op=op, output_dir=str(tmp_path)).begin()


def test_summary_saver_hook_takes_a_list_of_summary_ops(tmp_path):
    with tf.Graph().as_default():
        train, fed = _model()
        other = tf.summary.scalar("double", fed * 2, collections=[])
        hook = tf.train.SummarySaverHook(save_steps=1, output_dir=str(tmp_path),
                                         summary_op=[tf.summary.merge_all(), other])
        with tf.train.MonitoredTrainingSession(hooks=[hook]) as sess:
            sess.run(train, {fed: 3.0})
    events = events_in(tmp_path)
    assert scalars(events, "fed") == [(1, 3.0)] and scalars(events, "double") == [(1, 6.0)]


# ---------------------------------------------------------------------- StepCounterHook
def test_step_counter_hook_writes_global_steps_per_second(tmp_path, clock):
    with tf.Graph().as_default():
        train, fed = _model()
        hook = tf.train.StepCounterHook(every_n_steps=2, output_dir=str(tmp_path))
        with tf.train.MonitoredTrainingSession(hooks=[hook]) as sess:
            for i in range(5):
                sess.run(train, {fed: 0.0})
                clock.now += 0.5
        tf.summary.FileWriterCache.get(str(tmp_path)).flush()
    # Triggered at steps 1, 3, 5: 2 steps per 1 s of the fake clock.
    assert scalars(events_in(tmp_path), "global_step/sec") == [(3, 2.0), (5, 2.0)]
    assert hook.last_steps_per_sec == 2.0


# ---------------------------------------------------------------------- MonitoredTrainingSession
def test_monitored_session_chief_writes_summaries_and_steps_per_second(tmp_path):
    with tf.Graph().as_default():
        train, fed = _model()
        with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), save_summaries_steps=2,
                                               log_step_count_steps=2) as sess:
            for i in range(5):
                sess.run(train, {fed: float(i)})
        assert tf.get_collection(tf.GraphKeys.SUMMARY_OP), "the scaffold keeps its merge_all() there"
    events = events_in(tmp_path)
    assert scalars(events, "fed") == [(1, 0.0), (3, 2.0), (5, 4.0)]
    assert [step for step, _ in scalars(events, "global_step/sec")] == [3, 5]
    assert session_logs(events) == [(tf.SessionLog.START, 1)]
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-5")


def test_monitored_session_summary_dir_defaults_and_switches(tmp_path):
    with tf.Graph().as_default():
        train, fed = _model()
        # Defaults: summaries every 100 steps (the first run's at once), global_step/sec every 100 steps.
        with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path / "ckpt"),
                                               summary_dir=str(tmp_path / "summaries")) as sess:
            for i in range(3):
                sess.run(train, {fed: 7.0})
        # Both intervals None: no summaries (the step counter still needs a directory to write to).
        with tf.train.MonitoredTrainingSession(summary_dir=str(tmp_path / "off"), save_summaries_steps=None,
                                               save_summaries_secs=None, log_step_count_steps=0) as sess:
            sess.run(train, {fed: 1.0})
    assert scalars(events_in(tmp_path / "summaries"), "fed") == [(1, 7.0)]
    assert not events_in(tmp_path / "ckpt")
    assert not tf.gfile.Exists(str(tmp_path / "off"))


def test_scaffold_summary_op_is_merge_all_or_the_collections_one():
    with tf.Graph().as_default():
        assert tf.train.Scaffold().finalize().summary_op is None  # no summaries
    with tf.Graph().as_default():
        tf.train.get_or_create_global_step()
        tf.summary.scalar("x", 1.0)
        scaffold = tf.train.Scaffold().finalize()
        assert scaffold.summary_op.op.type == "MergeSummary"
        assert tf.get_collection(tf.GraphKeys.SUMMARY_OP) == [scaffold.summary_op]
        assert tf.train.Scaffold().finalize().summary_op is scaffold.summary_op  # kept, not rebuilt
        mine = tf.summary.scalar("mine", 2.0)
        assert tf.train.Scaffold(summary_op=mine).finalize().summary_op is mine
        tf.add_to_collection(tf.GraphKeys.SUMMARY_OP, mine)
        with pytest.raises(RuntimeError, match='More than one item in the collection "summary_op"'):
            tf.train.Scaffold().finalize()


# ---------------------------------------------------------------------- Supervisor
def test_supervisor_chief_writes_graph_summaries_steps_and_session_logs(tmp_path):
    with tf.Graph().as_default():
        step = tf.train.get_or_create_global_step()
        train = step.assign_add(1)
        tf.summary.scalar("constant", tf.constant(5.0))
        sv = tf.train.Supervisor(logdir=str(tmp_path), save_summaries_secs=3600, save_model_secs=3600)
        assert isinstance(sv.summary_writer, tf.summary.FileWriter)
        assert sv.summary_op is tf.get_collection(tf.GraphKeys.SUMMARY_OP)[0]

        def written(kind):
            sv.summary_writer.flush()
            return [e for e in events_in(tmp_path) if e.WhichOneof("what") == kind]
        with sv.managed_session() as sess:
            # Each service runs once at its start, then every hour: wait for the first summaries.
            wait_until(lambda: len(written("summary")) >= 2, what="the summary and step counter threads' summaries")
            wait_until(lambda: any(e.session_log.status == tf.SessionLog.CHECKPOINT for e in written("session_log")),
                       what="the checkpoint thread's session log")
            sess.run(train)
            sv.summary_computed(sess, sess.run(sv.summary_op))
    events = events_in(tmp_path)
    assert [e.WhichOneof("what") for e in events][:3] == ["file_version", "graph_def", "session_log"]
    logs = [e.session_log for e in events if e.HasField("session_log")]
    assert [log.status for log in logs][0] == tf.SessionLog.START and logs[-1].status == tf.SessionLog.STOP
    assert [log.checkpoint_path for log in logs if log.status == tf.SessionLog.CHECKPOINT] == [sv.save_path]
    assert scalars(events, "constant") == [(0, 5.0), (1, 5.0)]  # the thread's, then summary_computed's
    assert [s for s, _ in scalars(events, "global_step/sec")] == [0]
    assert tf.gfile.Exists(os.path.join(str(tmp_path), "graph.pbtxt"))


def test_supervisor_without_logdir_or_off_the_chief_writes_nothing(tmp_path):
    with tf.Graph().as_default():
        tf.train.get_or_create_global_step()
        tf.summary.scalar("x", 1.0)
        sv = tf.train.Supervisor(save_model_secs=0)
        assert sv.summary_writer is None and sv.summary_op is not None
        with sv.managed_session(start_standard_services=False) as sess:
            with pytest.raises(RuntimeError, match="Writing a summary requires a summary writer."):
                sv.summary_computed(sess, sess.run(sv.summary_op))
    with tf.Graph().as_default():
        tf.train.get_or_create_global_step()
        writer = tf.summary.FileWriter(str(tmp_path / "given"))
        sv = tf.train.Supervisor(logdir=str(tmp_path / "given"), summary_writer=writer, save_model_secs=0,
                                 summary_op=None, is_chief=True)
        assert sv.summary_writer is writer and sv.summary_op is None
        with sv.managed_session():
            pass
    assert [(s, st) for s, st in session_logs(events_in(tmp_path / "given"))] == [(tf.SessionLog.START, 0),
                                                                                   (tf.SessionLog.STOP, 0)]
