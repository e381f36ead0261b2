"""The TF1 summary ops: ``tf.summary.scalar``, ``histogram``, ``image``, ``audio``, ``text``, ``tensor_summary``,
``merge`` and ``merge_all``. Each is a graph op whose output is a serialized ``tf.Summary`` (a string scalar),
built by its kernel (``engine/kernels/numpy_summary.py``) when the op runs; ``tf.summary.FileWriter`` writes it.

The tag of a value is the op's name scope, as in TF: ``scalar("loss", x)`` made twice gives tags ``loss`` and
``loss_1``, and inside ``tf.name_scope("train")`` the tag is ``train/loss``. ``family`` prefixes the tag (and the
op's scope) so TensorBoard shows it in that tab. Every summary is added to ``tf.GraphKeys.SUMMARIES`` (or to
``collections``), which ``merge_all`` merges.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     loss = tf.summary.scalar("loss", tf.constant(0.25))
...     with tf.name_scope("train"):
...         _ = tf.summary.histogram("weights", tf.constant([1.0, 2.0, 2.0]))
...     merged = tf.summary.merge_all()
...     with tf.Session() as sess:
...         summary = tf.Summary.FromString(sess.run(merged))
>>> [(v.tag, v.WhichOneof("value")) for v in summary.value]
[('loss', 'simple_value'), ('train/weights', 'histo')]
>>> summary.value[0].simple_value, summary.value[1].histo.num
(0.25, 3.0)
"""

import contextlib
import logging
import re

import numpy as np

from protos import summary_pb2
from tasklayer import dtypes
from tasklayer.graph import GraphKeys, Tensor, add_to_collection, get_collection, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops._build import check_dtype, make_op
from tasklayer.ops.constant_op import convert_to_tensor

__all__ = ["scalar", "histogram", "image", "audio", "text", "tensor_summary", "merge", "merge_all"]

log = logging.getLogger("tensorflow")

# TF's realnumbertypes, in the order its dtype errors list them.
REAL_NUMBER_TYPES = (dtypes.float32, dtypes.float64, dtypes.int32, dtypes.uint8, dtypes.int16, dtypes.int8,
                     dtypes.int64, dtypes.bfloat16, dtypes.uint16, dtypes.float16, dtypes.uint32, dtypes.uint64)
IMAGE_TYPES = (dtypes.uint8, dtypes.float32, dtypes.float16, dtypes.float64)
# ImageSummary's default: opaque red, for the pixels of a float image that are NaN or infinite.
BAD_COLOR = np.array([255, 0, 0, 255], np.uint8)

_INVALID_TAG_CHARACTERS = re.compile(r"[^-/\w\.]")


def _summary_output(op):
    return [(dtypes.string, ())]


for _op in ("ScalarSummary", "HistogramSummary", "ImageSummary", "AudioSummaryV2", "TensorSummaryV2",
            "MergeSummary"):
    register_op(_op, _summary_output)


def clean_tag(name):
    """``name`` with the characters an op name cannot hold replaced by ``_`` and leading slashes dropped (TF's
    ``summary_op_util.clean_tag``; logged when it changes anything).

    >>> clean_tag("my loss!"), clean_tag("/a/b")
    ('my_loss_', 'a/b')
    """
    if name is not None:
        new_name = _INVALID_TAG_CHARACTERS.sub("_", name).lstrip("/")
        if new_name != name:
            log.info("Summary name %s is illegal; using %s instead.", name, new_name)
            name = new_name
    return name


@contextlib.contextmanager
def _summary_scope(name, family=None, default_name=None, values=None):
    """TF's ``summary_scope``: a name scope named after the summary (under ``family`` when given); yields
    ``(tag, scope)``, the tag being the scope's name prefixed with the family again, so that TensorBoard groups
    it in that tab."""
    name, family = clean_tag(name), clean_tag(family)
    base = name if family is None else f"{family}/{name}"
    with name_scope(base, default_name, values) as scope:
        stripped = scope.rstrip("/")
        yield (stripped if family is None else f"{family}/{stripped}"), scope


def _collect(summary, collections, default):
    for key in default if collections is None else collections:
        add_to_collection(key, summary)


def _string_scalar(value, name):
    return convert_to_tensor(value, dtype=dtypes.string, name=name)


def _graph_values(value):
    return [value] if isinstance(value, Tensor) else None


def scalar(name, tensor, collections=None, family=None):
    """A summary of one real number (TensorBoard's scalars); ``tensor`` must hold a single value."""
    with _summary_scope(name, family, values=_graph_values(tensor)) as (tag_name, scope):
        tags = _string_scalar(tag_name, "tags")
        values = convert_to_tensor(tensor, name="values")
        check_dtype("ScalarSummary", "values", values, REAL_NUMBER_TYPES)
        val = make_op("ScalarSummary", [tags, values], {"T": values.dtype}, scope).outputs[0]
        _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def histogram(name, values, collections=None, family=None):
    """A histogram of every value of ``values`` (any shape; NaN or infinity fails the run)."""
    with _summary_scope(name, family, "HistogramSummary", _graph_values(values)) as (tag_name, scope):
        tag = _string_scalar(tag_name, "tag")
        values = convert_to_tensor(values, name="values")
        check_dtype("HistogramSummary", "values", values, REAL_NUMBER_TYPES)
        val = make_op("HistogramSummary", [tag, values], {"T": values.dtype}, scope).outputs[0]
        _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def image(name, tensor, max_outputs=3, collections=None, family=None):
    """PNG images of the first ``max_outputs`` entries of a ``[batch, height, width, channels]`` tensor
    (channels 1, 3 or 4). uint8 pixels are kept; float images are scaled to [0, 255] one image at a time."""
    max_outputs = int(max_outputs)
    if max_outputs < 1:
        raise ValueError(f"Attr 'max_images' of 'ImageSummary' Op passed {max_outputs} less than minimum 1.")
    with _summary_scope(name, family, values=_graph_values(tensor)) as (tag_name, scope):
        tag = _string_scalar(tag_name, "tag")
        tensor = convert_to_tensor(tensor, name="tensor")
        check_dtype("ImageSummary", "tensor", tensor, IMAGE_TYPES)
        attrs = {"T": tensor.dtype, "max_images": max_outputs, "bad_color": BAD_COLOR.copy()}
        val = make_op("ImageSummary", [tag, tensor], attrs, scope).outputs[0]
        _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def audio(name, tensor, sample_rate, max_outputs=3, collections=None, family=None):
    """WAV clips of the first ``max_outputs`` entries of a float ``[batch, frames]`` or ``[batch, frames,
    channels]`` tensor of samples in [-1, 1], at ``sample_rate`` Hz."""
    max_outputs = int(max_outputs)
    if max_outputs < 1:
        raise ValueError(f"Attr 'max_outputs' of 'AudioSummaryV2' Op passed {max_outputs} less than minimum 1.")
    with _summary_scope(name, family, values=_graph_values(tensor)) as (tag_name, scope):
        sample_rate = convert_to_tensor(sample_rate, dtype=dtypes.float32, name="sample_rate")
        tag = _string_scalar(tag_name, "tag")
        tensor = convert_to_tensor(tensor, dtype=None if isinstance(tensor, Tensor) else dtypes.float32,
                                   name="tensor")
        if tensor.dtype != dtypes.float32:
            raise TypeError(f"Input 'tensor' of 'AudioSummaryV2' Op has type {tensor.dtype.name} that does not "
                            "match expected type of float32.")
        val = make_op("AudioSummaryV2", [tag, tensor, sample_rate], {"max_outputs": max_outputs},
                      scope).outputs[0]
        _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def tensor_summary(name, tensor, summary_description=None, collections=None, summary_metadata=None,
                   family=None, display_name=None):
    """The whole tensor as a summary value (a TensorProto), with ``summary_metadata`` (a ``SummaryMetadata``)
    saying which TensorBoard plugin shows it."""
    metadata = summary_pb2.SummaryMetadata()
    if summary_metadata is not None:
        metadata.CopyFrom(summary_metadata)
    if summary_description is not None:
        metadata.summary_description = summary_description
    if display_name is not None:
        metadata.display_name = display_name
    with _summary_scope(name, family, values=_graph_values(tensor)) as (tag_name, scope):
        tag = _string_scalar(tag_name, "tag")
        tensor = convert_to_tensor(tensor, name="tensor")
        serialized = _string_scalar(metadata.SerializeToString(), "serialized_summary_metadata")
        val = make_op("TensorSummaryV2", [tag, tensor, serialized], {"T": tensor.dtype}, scope).outputs[0]
        _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def text(name, tensor, collections=None):
    """A string tensor as text (TensorBoard's text plugin renders it as markdown)."""
    tensor = convert_to_tensor(tensor)
    if tensor.dtype != dtypes.string:
        raise ValueError(f"Expected tensor {tensor.name} to have dtype string, got <dtype: '{tensor.dtype.name}'>")
    metadata = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"))
    return tensor_summary(name, tensor, summary_metadata=metadata, collections=collections)


def merge(inputs, collections=None, name=None):
    """One summary holding the values of ``inputs`` (string tensors of serialized summaries); a tag found twice
    fails the run. Added to ``collections`` only (none by default)."""
    inputs = list(inputs)
    if not inputs:
        raise ValueError("List argument 'inputs' to 'MergeSummary' Op with length 0 shorter than minimum length 1.")
    name = clean_tag(name)
    with name_scope(name, "Merge", [t for t in inputs if isinstance(t, Tensor)] or None):
        tensors = [convert_to_tensor(t) for t in inputs]
        if any(t.dtype != dtypes.string for t in tensors):
            kinds = ", ".join(t.dtype.name for t in tensors)
            raise TypeError(f"Tensors in list passed to 'inputs' of 'MergeSummary' Op have types [{kinds}] that "
                            "do not match expected type string.")
        val = make_op("MergeSummary", tensors, {"N": len(tensors)}, name or "MergeSummary").outputs[0]
        _collect(val, collections, [])
    return val


def merge_all(key=GraphKeys.SUMMARIES, scope=None, name=None):
    """``merge`` of every summary in collection ``key`` (of those under name scope ``scope``), or None when
    there is none."""
    summary_ops = get_collection(key, scope=scope)
    if not summary_ops:
        return None
    return merge(summary_ops, name=name)
