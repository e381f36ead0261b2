"""tf.summary.FileWriter's events files, read back by TensorBoard's own reader (``EventAccumulator``) where
tensorboard is installed, and by ``tf.train.summary_iterator``: scalars, histograms, images, audio, text, the
graph (as TensorBoard's graph plugin prepares it), run metadata and session logs; the file's framing and name."""

import glob
import os
import socket
import struct
import subprocess
import sys

import numpy as np
import pytest

import tasklayer as tf
from protos import event_pb2
from tests.op_cases.summary import decode_png

try:
    from tensorboard.backend import process_graph
    from tensorboard.backend.event_processing import event_accumulator
except ImportError:  # the suite runs without it: only the tests of TensorBoard's reading skip
    event_accumulator = None

needs_tensorboard = pytest.mark.skipif(event_accumulator is None,
                                       reason="tensorboard is not installed (pip install tensorboard): "
                                              "TensorBoard's own reader cannot check the files")


def accumulate(logdir):
    """TensorBoard's view of ``logdir``, keeping every event."""
    acc = event_accumulator.EventAccumulator(str(logdir), size_guidance={
        event_accumulator.IMAGES: 0, event_accumulator.AUDIO: 0, event_accumulator.HISTOGRAMS: 0,
        event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0, event_accumulator.COMPRESSED_HISTOGRAMS: 0})
    acc.Reload()
    return acc


BATCHES = [np.arange(8, dtype=np.float32).reshape(2, 4) * (step + 1) - 3 for step in range(3)]


def _write_every_kind(logdir):
    """Three steps of every summary kind, the graph and one step's run metadata; the writer (closed)."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        with tf.name_scope("stats"):
            tf.summary.scalar("average", tf.reduce_mean(x))
        tf.summary.histogram("values", x)
        tf.summary.image("pixels", tf.reshape(x, [-1, 2, 2, 1]), max_outputs=1)
        tf.summary.audio("sound", x / 10.0, 8000, max_outputs=1)
        tf.summary.text("notes", tf.constant("**bold** text"))
        merged = tf.summary.merge_all()
        with tf.Session() as sess:
            writer = tf.summary.FileWriter(str(logdir), sess.graph)
            for step, batch in enumerate(BATCHES):
                metadata = tf.RunMetadata()
                summary = sess.run(merged, {x: batch}, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                                   run_metadata=metadata)
                writer.add_summary(summary, step)
            writer.add_run_metadata(metadata, "step2", global_step=2)
            writer.close()
    return writer


@needs_tensorboard
def test_tensorboard_reads_every_summary_kind(tmp_path):
    _write_every_kind(tmp_path)
    acc = accumulate(tmp_path)
    tags = acc.Tags()
    assert tags["scalars"] == ["stats/average"] and tags["histograms"] == ["values"]
    assert tags["images"] == ["pixels/image"] and tags["audio"] == ["sound/audio"] and tags["tensors"] == ["notes"]
    assert tags["graph"] and tags["run_metadata"] == ["step2"]
    scalars = acc.Scalars("stats/average")
    assert [(e.step, e.value) for e in scalars] == [(s, float(b.mean())) for s, b in enumerate(BATCHES)]
    histos = acc.Histograms("values")
    assert [(h.step, h.histogram_value.num, h.histogram_value.max) for h in histos] == [
        (s, 8.0, float(b.max())) for s, b in enumerate(BATCHES)]
    [image] = acc.Images("pixels/image")[:1]
    assert (image.height, image.width) == (2, 2)
    first = BATCHES[0][0].reshape(2, 2)  # has negatives: 127/max|v| around 128
    want = (first * np.float32(127.0 / np.abs(BATCHES[0][0]).max()) + np.float32(128.0)).astype(np.uint8)
    np.testing.assert_array_equal(decode_png(image.encoded_image_string)[..., 0], want)
    [sound] = acc.Audio("sound/audio")[:1]
    assert (sound.content_type, sound.sample_rate, sound.length_frames) == ("audio/wav", 8000.0, 4)
    [note] = acc.Tensors("notes")[:1]
    assert list(note.tensor_proto.string_val) == [b"**bold** text"]
    assert acc.SummaryMetadata("notes").plugin_data.plugin_name == "text"
    assert acc.RunMetadata("step2").ByteSize() == 0  # parses as TF's RunMetadata (no step stats collected yet)


@needs_tensorboard
def test_tensorboard_graph_plugin_reads_the_graph(tmp_path):
    _write_every_kind(tmp_path)
    graph = accumulate(tmp_path).Graph()  # parsed with TF's own GraphDef message
    nodes = {n.name: n for n in graph.node}
    x = nodes["x"]
    assert x.op == "Placeholder" and x.attr["dtype"].type == 1  # DT_FLOAT
    assert [d.size for d in x.attr["shape"].shape.dim] == [-1, 4]
    assert [d.size for d in x.attr["_output_shapes"].list.shape[0].dim] == [-1, 4]
    data, axes = nodes["stats/Mean"].input
    assert data == "x" and nodes[axes].attr["value"].tensor.dtype == 3  # the int32 reduction indices
    process_graph.prepare_graph_for_ui(graph)  # what the graph tab serves
    assert "Placeholder" in str(graph)


@needs_tensorboard
def test_metadata_is_written_once_per_tag_and_session_logs_are_kept(tmp_path):
    with tf.Graph().as_default():
        note = tf.summary.text("note", tf.constant("hi"))
        with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path)) as writer:
            writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START), 0)
            for step in range(2):
                writer.add_summary(sess.run(note), step)
            path = writer.event_file
    events = list(tf.train.summary_iterator(path))
    notes = [e.summary.value[0] for e in events if e.HasField("summary")]
    assert [v.HasField("metadata") for v in notes] == [True, False]
    assert [e.session_log.status for e in events if e.HasField("session_log")] == [tf.SessionLog.START]
    acc = accumulate(tmp_path)
    assert [e.step for e in acc.Tensors("note")] == [0, 1]


def test_events_file_is_named_and_framed_as_tf_writes_it(tmp_path):
    writer = tf.summary.FileWriter(str(tmp_path / "new" / "dir"), filename_suffix=".v1")
    writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="x", simple_value=1.0)]), global_step=5)
    writer.flush()
    [path] = glob.glob(str(tmp_path / "new" / "dir" / "events.out.tfevents.*"))
    assert path == writer.event_file and writer.get_logdir() == str(tmp_path / "new" / "dir")
    name = os.path.basename(path)
    assert name.startswith("events.out.tfevents.") and name.endswith(f".{socket.gethostname()}.v1")
    with open(path, "rb") as f:
        data = f.read()
    records, offset = [], 0
    while offset < len(data):  # length, its masked CRC, the record, its masked CRC
        (length,) = struct.unpack("<Q", data[offset:offset + 8])
        assert struct.unpack("<I", data[offset + 8:offset + 12])[0] == tf.io.masked_crc32c(data[offset:offset + 8])
        record = data[offset + 12:offset + 12 + length]
        assert struct.unpack("<I", data[offset + 12 + length:offset + 16 + length])[0] == tf.io.masked_crc32c(record)
        records.append(tf.Event.FromString(record))
        offset += 16 + length
    assert records[0].file_version == "brain.Event:2" and records[0].wall_time > 0
    assert records[1].step == 5 and records[1].summary.value[0].simple_value == 1.0
    writer.close()


def test_a_second_writer_in_the_same_second_gets_its_own_file(tmp_path):
    writers = [tf.summary.FileWriter(str(tmp_path)) for _ in range(3)]
    assert len({w.event_file for w in writers}) == 3
    for i, writer in enumerate(writers):
        writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="w", simple_value=i)]), 0)
        writer.close()
    for i, writer in enumerate(writers):
        [event] = [e for e in tf.train.summary_iterator(writer.event_file) if e.HasField("summary")]
        assert event.summary.value[0].simple_value == i


def test_closed_writer_drops_events_until_reopened_in_a_new_file(tmp_path):
    writer = tf.summary.FileWriter(str(tmp_path))
    first = writer.event_file
    writer.close()
    with pytest.warns(UserWarning, match="Attempting to use a closed FileWriter"):
        writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="lost", simple_value=1.0)]), 1)
    writer.reopen()
    writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="kept", simple_value=2.0)]), 2)
    writer.close()
    assert [e.WhichOneof("what") for e in tf.train.summary_iterator(first)] == ["file_version"]
    second = [e for e in tf.train.summary_iterator(writer.event_file)]
    assert writer.event_file != first
    assert [e.WhichOneof("what") for e in second] == ["file_version", "summary"]
    assert second[1].summary.value[0].tag == "kept"


def test_writer_arguments_and_errors_as_tf(tmp_path):
    with tf.Graph().as_default() as g:
        tf.constant(1.0, name="c")
        with pytest.raises(ValueError, match="Please pass only graph, or graph_def"):
            tf.summary.FileWriter(str(tmp_path), graph=g, graph_def=g.as_graph_def())
        writer = tf.summary.FileWriter(str(tmp_path), graph_def=g.as_graph_def())  # the deprecated form works
        with pytest.raises(TypeError, match="must be an instance of `Graph`"):
            writer.add_graph(42)
        writer.add_run_metadata(tf.RunMetadata(), "once")
        with pytest.raises(ValueError, match="The provided tag was already used for this event type"):
            writer.add_run_metadata(tf.RunMetadata(), "once")
        writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="t", simple_value=3.0)]).SerializeToString())
        writer.add_event(tf.Event(step=9, file_version="custom"))
        writer.close()
    events = list(tf.train.summary_iterator(writer.event_file))
    assert [e.WhichOneof("what") for e in events] == ["file_version", "graph_def", "tagged_run_metadata",
                                                      "summary", "file_version"]
    assert events[-1].step == 9 and events[3].step == 0


def test_file_writer_cache_shares_one_writer_per_directory(tmp_path):
    try:
        with tf.Graph().as_default():
            tf.constant(1.0, name="in_the_graph")
            a = tf.summary.FileWriterCache.get(str(tmp_path / "a"))
            assert tf.summary.FileWriterCache.get(str(tmp_path / "a")) is a
            assert tf.summary.FileWriterCache.get(str(tmp_path / "b")) is not a
            a.flush()
        [event] = [e for e in tf.train.summary_iterator(a.event_file) if e.HasField("graph_def")]
        assert "in_the_graph" in str(event_pb2.GraphDef.FromString(event.graph_def))
    finally:
        tf.summary.FileWriterCache.clear()
    assert tf.summary.FileWriterCache.get(str(tmp_path / "a")) is not a
    tf.summary.FileWriterCache.clear()


def test_summary_iterator_finds_a_corrupted_or_cut_record(tmp_path):
    writer = tf.summary.FileWriter(str(tmp_path))
    writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="x", simple_value=1.0)]), 1)
    writer.close()
    data = open(writer.event_file, "rb").read()
    corrupted, cut = tmp_path / "corrupted", tmp_path / "cut"
    corrupted.write_bytes(data[:-6] + bytes([data[-6] ^ 1]) + data[-5:])
    cut.write_bytes(data[:-3])
    for path, what in ((corrupted, "corrupted record"), (cut, "truncated record")):
        events = tf.train.summary_iterator(str(path))
        assert next(events).file_version == "brain.Event:2"
        with pytest.raises(tf.errors.OpError, match=what) as raised:
            next(events)
        assert raised.value.error_code == 15  # DATA_LOSS, as TF's DataLossError


def test_tensorflow_summaries_are_accepted_by_their_bytes(tmp_path):
    class ForeignSummary:  # e.g. TensorFlow's own tf.Summary: any message with the same fields
        def SerializeToString(self):  # noqa: N802 - protobuf's name
            return tf.Summary(value=[tf.Summary.Value(tag="foreign", simple_value=7.0)]).SerializeToString()
    with tf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_summary(ForeignSummary(), 3)
    [event] = [e for e in tf.train.summary_iterator(writer.event_file) if e.HasField("summary")]
    assert (event.step, event.summary.value[0].tag) == (3, "foreign")


def test_a_writer_never_closed_is_flushed_when_the_process_exits(tmp_path):
    code = ("import sys, tasklayer as tf\n"
            "w = tf.summary.FileWriter(sys.argv[1], flush_secs=3600)\n"
            "w.add_summary(tf.Summary(value=[tf.Summary.Value(tag='x', simple_value=1.0)]), 1)\n"
            "print(w.event_file)\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120,
                         cwd=root)
    assert out.returncode == 0, out.stderr
    events = list(tf.train.summary_iterator(out.stdout.strip()))
    assert [e.WhichOneof("what") for e in events] == ["file_version", "summary"]
