"""tf.summary ops beyond their values (``tests/op_cases/summary.py`` has those): names and tags, collections,
graph-time errors, summaries of fed and trained tensors, RunOptions/RunMetadata in Session.run, and the
docstring examples of the summary modules."""

import doctest
import importlib
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import tasklayer as tf

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCTEST_MODULES = ["tasklayer.summary", "tasklayer.summary.summary_ops", "tasklayer.summary.writer",
                   "tasklayer.summary.event_file", "tasklayer.summary.graph_export", "tasklayer.summary.messages",
                   "tasklayer.gfile", "tasklayer.io"]


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def _values(serialized):
    return [(v.tag, v.WhichOneof("value")) for v in tf.Summary.FromString(serialized).value]


def test_summary_ops_are_string_scalars_named_like_tf():
    with tf.Graph().as_default() as g:
        loss = tf.summary.scalar("loss", tf.constant(1.0))
        hist = tf.summary.histogram(None, tf.constant([1.0]))  # no name: TF's default scope
        with tf.name_scope("layer1"):
            img = tf.summary.image("input", tf.zeros([1, 2, 2, 1]), family="images")
        assert (loss.dtype, loss.shape.as_list()) == (tf.string, [])
        assert [loss.op.name, hist.op.name, img.op.name] == ["loss", "HistogramSummary", "layer1/images/input"]
        assert [t.op.name for t in loss.op.inputs] == ["loss/tags", "Const"]
        assert img.op.get_attr("max_images") == 3 and img.op.get_attr("T") == tf.float32
        assert g.get_collection(tf.GraphKeys.SUMMARIES) == [loss, hist, img]
        with tf.Session() as sess:
            # The family comes first in the tag again, so that TensorBoard shows it in that tab.
            assert _values(sess.run(img)) == [("images/layer1/images/input/image/0", "image")]


def test_collections_argument_replaces_the_summaries_collection():
    with tf.Graph().as_default() as g:
        mine = tf.summary.scalar("mine", 1.0, collections=["custom", "other"])
        none = tf.summary.histogram("none", [1.0], collections=[])
        assert g.get_collection(tf.GraphKeys.SUMMARIES) == []
        assert g.get_collection("custom") == [mine] and g.get_collection("other") == [mine]
        assert tf.summary.merge_all() is None
        merged = tf.summary.merge_all("custom", name="custom_merge")
        assert merged.op.name == "custom_merge/custom_merge"  # TF scopes the named op under its own name
        with tf.Session() as sess:
            assert _values(sess.run(tf.summary.merge([merged, none]))) == [("mine", "simple_value"),
                                                                            ("none", "histo")]


def test_merge_all_takes_a_name_scope_filter():
    with tf.Graph().as_default():
        tf.summary.scalar("a", 1.0)
        with tf.name_scope("tower"):
            tf.summary.scalar("b", 2.0)
        with tf.Session() as sess:
            assert _values(sess.run(tf.summary.merge_all(scope="tower"))) == [("tower/b", "simple_value")]


def test_summaries_of_fed_and_trained_values_follow_the_run():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None])
        w = tf.Variable(2.0)
        train = w.assign_add(1.0)
        merged = tf.summary.merge([tf.summary.scalar("w", w), tf.summary.histogram("x", x * w)])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            first = tf.Summary.FromString(sess.run(merged, {x: [1.0, 2.0]}))
            sess.run(train)
            second = tf.Summary.FromString(sess.run(merged, {x: [1.0, 2.0]}))
    assert [first.value[0].simple_value, second.value[0].simple_value] == [2.0, 3.0]
    assert [first.value[1].histo.sum, second.value[1].histo.sum] == [6.0, 9.0]


def test_graph_time_errors_name_the_problem():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Attr 'max_images' of 'ImageSummary' Op passed 0 less than minimum 1"):
            tf.summary.image("i", tf.zeros([1, 2, 2, 1]), max_outputs=0)
        with pytest.raises(TypeError, match="Input 'tensor' of 'AudioSummaryV2' Op has type int32"):
            tf.summary.audio("a", tf.zeros([1, 4], tf.int32), 8000)
        with pytest.raises(ValueError, match="List argument 'inputs' to 'MergeSummary' Op with length 0"):
            tf.summary.merge([])
        with pytest.raises(TypeError, match="'values' of 'HistogramSummary' has DataType string"):
            tf.summary.histogram("h", tf.constant(["a"]))


def test_run_time_errors_name_the_node():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, None)
        with tf.name_scope("layer"):
            hist = tf.summary.histogram("activations", x)
        audio = tf.summary.audio("clip", tf.zeros([1, 4]), tf.placeholder(tf.float32, None, name="rate"))
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="Nan in summary histogram for: layer/activations"):
                sess.run(hist, {x: [0.0, np.nan]})
            with pytest.raises(tf.errors.InvalidArgumentError, match="sample_rate must be > 0"):
                sess.run(audio, {"rate:0": 0.0})
            with pytest.raises(tf.errors.InvalidArgumentError, match="sample_rate must be rank-0 or contain a single"):
                sess.run(audio, {"rate:0": [1.0, 2.0]})


def test_summary_names_are_cleaned_as_tf_cleans_them():
    with tf.Graph().as_default():
        s = tf.summary.scalar("/accuracy (train)", 1.0)
        assert s.op.name == "accuracy__train_"
        with tf.Session() as sess:
            assert _values(sess.run(s)) == [("accuracy__train_", "simple_value")]


def test_legacy_scalar_shapes_and_vector_tags():
    with tf.Graph().as_default():
        one = tf.summary.scalar("one", tf.constant([4.0]))  # a 1-element vector is a legacy scalar
        with tf.Session() as sess:
            assert tf.Summary.FromString(sess.run(one)).value[0].simple_value == 4.0


def test_text_and_tensor_summaries_carry_plugin_metadata():
    with tf.Graph().as_default():
        text = tf.summary.text("notes", tf.constant([["a", "b"]]))
        plain = tf.summary.tensor_summary("t", tf.constant(1.5, tf.float64), display_name="shown")
        with tf.Session() as sess:
            text_value = tf.Summary.FromString(sess.run(text)).value[0]
            plain_value = tf.Summary.FromString(sess.run(plain)).value[0]
    assert text_value.metadata.plugin_data.plugin_name == "text"
    assert list(text_value.tensor.string_val) == [b"a", b"b"]
    assert [d.size for d in text_value.tensor.tensor_shape.dim] == [1, 2]
    assert plain_value.metadata.display_name == "shown"
    assert np.frombuffer(plain_value.tensor.tensor_content, "<f8").tolist() == [1.5]


def test_session_run_takes_run_options_and_run_metadata():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [])
        y = x * 2
        options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE, timeout_in_ms=60000)
        metadata = tf.RunMetadata()
        with tf.Session() as sess:
            assert sess.run(y, {x: 2.0}, options=options, run_metadata=metadata) == 4.0
    # Step stats are not collected yet: the metadata stays empty, and serializes (add_run_metadata writes it).
    assert tf.RunMetadata.FromString(metadata.SerializeToString()) == tf.RunMetadata()
    assert tf.RunOptions.FromString(options.SerializeToString()).trace_level == 3


def test_run_options_timeout_bounds_a_blocked_run():
    with tf.Graph().as_default():
        queue = tf.FIFOQueue(1, [tf.float32], shapes=[[]])
        with tf.Session() as sess:
            with pytest.raises(tf.errors.DeadlineExceededError):
                sess.run(queue.dequeue(), options=tf.RunOptions(timeout_in_ms=50))


def test_importing_tasklayer_registers_the_engine_side_of_summary_ops():
    # A master validates a graph before it loads any kernel: the op defs must be there from the import on.
    code = ("import tasklayer\nfrom engine import op_defs\n"
            "print(all(op_defs.is_known(t) for t in ('ScalarSummary', 'HistogramSummary', 'ImageSummary', "
            "'AudioSummaryV2', 'TensorSummaryV2', 'MergeSummary')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.stdout.strip() == "True", out.stderr


def test_summaries_run_on_a_cluster_session():
    server = tf.train.Server.create_local_server()
    try:
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [None])
            merged = tf.summary.merge([tf.summary.scalar("mean", tf.reduce_mean(x)), tf.summary.histogram("x", x)])
            with tf.Session(server.target) as sess:
                summary = tf.Summary.FromString(sess.run(merged, {x: [1.0, 3.0]}))
    finally:
        server.stop()
    assert summary.value[0].simple_value == 2.0 and summary.value[1].histo.num == 2.0
