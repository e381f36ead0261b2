"""``tf.summary.FileWriter``: writes summaries, graphs, run metadata and session logs as events to an events file
that TensorBoard reads; and ``tf.summary.FileWriterCache``, one writer per directory for a process.

>>> import tasklayer as tf, tempfile
>>> logdir = tempfile.mkdtemp()
>>> with tf.Graph().as_default() as g:
...     loss = tf.placeholder(tf.float32, [])
...     summary = tf.summary.scalar("loss", loss)
...     with tf.Session() as sess, tf.summary.FileWriter(logdir, sess.graph) as writer:
...         for step in range(3):
...             writer.add_summary(sess.run(summary, {loss: 1.0 / (step + 1)}), step)
>>> [(e.step, e.summary.value[0].simple_value) for e in tf.train.summary_iterator(writer.event_file)
...  if e.HasField("summary")]
[(0, 1.0), (1, 0.5), (2, 0.3333333432674408)]
"""

import logging
import threading
import time
import warnings

from protos import event_pb2, graph_pb2, summary_pb2
from tasklayer.graph import Graph, get_default_graph
from tasklayer.summary.event_file import EventFileWriter
from tasklayer.summary.graph_export import tensorboard_graph_def

__all__ = ["FileWriter", "FileWriterCache"]

log = logging.getLogger("tensorflow")


def _as_message(value, cls, what):
    """``value`` as a ``cls`` message: itself, parsed from bytes, or re-read from another library's message of
    the same shape (TensorFlow's own ``tf.Summary``, say)."""
    if isinstance(value, cls):
        return value
    if isinstance(value, bytes):
        return cls.FromString(value)
    if hasattr(value, "SerializeToString"):
        return cls.FromString(value.SerializeToString())
    raise TypeError(f"{what} must be a {cls.__name__} proto or its serialized bytes, got {type(value).__name__}")


class FileWriter:
    """Writes events for TensorBoard to a new events file in ``logdir`` (TF1's ``tf.summary.FileWriter``).

    ``graph`` (usually ``sess.graph``) is written first when given. Events are queued (``max_queue``) and written
    by a thread, which flushes the file every ``flush_secs``; ``flush`` or ``close`` make them visible at once.
    The metadata of a summary value (which plugin shows it) is written with the first value of each tag only,
    as TF does."""

    def __init__(self, logdir, graph=None, max_queue=10, flush_secs=120, graph_def=None, filename_suffix=None,
                 session=None):
        if session is not None:
            raise NotImplementedError("FileWriter(session=...) writes through TF 2 summary ops, which this runtime "
                                      "does not have: leave session out")
        self.event_writer = EventFileWriter(logdir, max_queue, flush_secs, filename_suffix)
        self._closed = False
        self._session_run_tags = {}
        self._seen_summary_tags = set()
        if graph is not None or graph_def is not None:
            self.add_graph(graph=graph, graph_def=graph_def)

    @property
    def event_file(self):
        """The path of the events file being written (not in TF: tests and tools read it)."""
        return self.event_writer.path

    def get_logdir(self):
        """The directory of the events file."""
        return self.event_writer.get_logdir()

    # -- events
    def add_summary(self, summary, global_step=None):
        """Write a ``Summary`` (a proto, or the bytes a summary op outputs) at ``global_step``."""
        given = _as_message(summary, summary_pb2.Summary, "summary")
        summary = summary_pb2.Summary()
        summary.CopyFrom(given)  # stripped below: the caller's proto stays as it was
        for value in summary.value:
            if not value.HasField("metadata"):
                continue
            if value.tag in self._seen_summary_tags:
                value.ClearField("metadata")  # TensorBoard keeps each tag's first metadata only
            else:
                self._seen_summary_tags.add(value.tag)
        self._add_event(event_pb2.Event(summary=summary), global_step)

    def add_session_log(self, session_log, global_step=None):
        """Write a ``SessionLog`` (START, STOP or CHECKPOINT) at ``global_step``."""
        self._add_event(event_pb2.Event(session_log=_as_message(session_log, event_pb2.SessionLog,
                                                                "session_log")), global_step)

    def add_graph(self, graph, global_step=None, graph_def=None):
        """Write ``graph`` (a ``tf.Graph``; a GraphDef is accepted, as TF's deprecated form) for TensorBoard's
        graph tab."""
        if graph is not None and graph_def is not None:
            raise ValueError("Please pass only graph, or graph_def (deprecated), but not both.")
        if isinstance(graph_def, Graph):
            log.warning("When passing a `Graph` object, please use the `graph` named argument instead of "
                        "`graph_def`.")
            graph, graph_def = graph_def, None
        if graph is None:
            graph = graph_def
            if isinstance(graph, (graph_pb2.GraphDef, event_pb2.GraphDef)):
                log.warning("Passing a `GraphDef` to the SummaryWriter is deprecated. Pass a `Graph` object "
                            "instead, such as `sess.graph`.")
        tf_graph = tensorboard_graph_def(graph)
        self._add_event(event_pb2.Event(graph_def=tf_graph.SerializeToString()), global_step)

    def add_run_metadata(self, run_metadata, tag, global_step=None):
        """Write the ``RunMetadata`` of a ``Session.run`` under ``tag`` (each tag once per writer)."""
        if tag in self._session_run_tags:
            raise ValueError("The provided tag was already used for this event type")
        self._session_run_tags[tag] = True
        tagged = event_pb2.TaggedRunMetadata(tag=tag, run_metadata=run_metadata.SerializeToString())
        self._add_event(event_pb2.Event(tagged_run_metadata=tagged), global_step)

    def add_event(self, event):
        """Write ``event`` (an ``Event`` proto) as it is."""
        self._warn_if_closed()
        self.event_writer.add_event(event)

    def _add_event(self, event, step):
        self._warn_if_closed()
        event.wall_time = time.time()
        if step is not None:
            event.step = int(step)
        self.event_writer.add_event(event)

    def _warn_if_closed(self):
        if self._closed:
            warnings.warn("Attempting to use a closed FileWriter. The operation will be a noop unless the "
                          "FileWriter is explicitly reopened.")

    # -- lifetime
    def flush(self):
        """Write every queued event to the file now."""
        self._warn_if_closed()
        self.event_writer.flush()

    def close(self):
        """Flush and close the file; later events are dropped until ``reopen``."""
        self.event_writer.close()
        self._closed = True

    def reopen(self):
        """Take events again after ``close`` (in a new events file)."""
        self.event_writer.reopen()
        self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FileWriterCache:
    """One ``FileWriter`` per log directory, shared by the hooks of a process (``SummarySaverHook`` and
    ``StepCounterHook`` write to the same file). A writer made here starts with the default graph."""

    _cache = {}
    _lock = threading.RLock()

    @staticmethod
    def get(logdir):
        """The writer of ``logdir`` (made on first use)."""
        with FileWriterCache._lock:
            if logdir not in FileWriterCache._cache:
                FileWriterCache._cache[logdir] = FileWriter(logdir, graph=get_default_graph())
            return FileWriterCache._cache[logdir]

    @staticmethod
    def clear():
        """Close every cached writer and forget them."""
        with FileWriterCache._lock:
            for writer in FileWriterCache._cache.values():
                writer.close()
            FileWriterCache._cache = {}
