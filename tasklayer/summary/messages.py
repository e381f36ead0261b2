"""The protobuf messages of TF1's public API that events files are made of, with TF's names: ``tf.Summary``,
``tf.Event``, ``tf.SessionLog``, ``tf.summary.TaggedRunMetadata``, and ``tf.RunOptions`` / ``tf.RunMetadata``
(which ``Session.run`` takes and ``FileWriter.add_run_metadata`` writes). They are the generated classes of
``protos/summary.proto`` and ``protos/event.proto`` (TF's field numbers), given docstrings here.

>>> import tasklayer as tf
>>> options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
>>> tf.Summary(value=[tf.Summary.Value(tag="loss", simple_value=0.5)]).value[0].simple_value
0.5
"""

from protos.event_pb2 import Event, RunMetadata, RunOptions, SessionLog, TaggedRunMetadata
from protos.summary_pb2 import HistogramProto, Summary, SummaryDescription, SummaryMetadata

__all__ = ["Event", "RunMetadata", "RunOptions", "SessionLog", "TaggedRunMetadata", "HistogramProto", "Summary",
           "SummaryDescription", "SummaryMetadata"]

_DOCS = {
    Summary: "A summary: tagged values of one step (a scalar, histogram, image, audio clip or tensor each).",
    Summary.Value: "One tagged value of a Summary (``simple_value``, ``histo``, ``image``, ``audio`` or ``tensor``).",
    Summary.Image: "A PNG image of a Summary value, with its height, width and colorspace (channels).",
    Summary.Audio: "A WAV clip of a Summary value, with its sample rate, channels and length in frames.",
    HistogramProto: "A histogram: min, max, count, sum, sum of squares and bucket counts with their edges.",
    SummaryMetadata: "Which TensorBoard plugin shows a summary value, and how it is labelled.",
    SummaryDescription: "A description of a summary (its type hint).",
    Event: "One record of an events file: a summary, a graph, a session log or run metadata, at a step and time.",
    SessionLog: "A session's START, STOP or CHECKPOINT (with the checkpoint's path), as an event.",
    TaggedRunMetadata: "The RunMetadata of one Session.run, under a tag, as an event.",
    RunOptions: "Options of one Session.run: ``trace_level`` (NO_TRACE ... FULL_TRACE), ``timeout_in_ms``.",
    RunMetadata: "What one Session.run reports back: ``step_stats`` and ``partition_graphs`` (empty for now).",
}
for _cls, _doc in _DOCS.items():
    _cls.__doc__ = _doc
