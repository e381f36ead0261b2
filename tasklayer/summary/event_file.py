"""Events files, the files TensorBoard reads: ``EventFileWriter`` appends ``Event`` protos to
``<logdir>/events.out.tfevents.<seconds>.<host>`` (a TFRecord file whose first event says ``brain.Event:2``) from
a thread of its own; ``summary_iterator`` reads the events of a file back.

>>> import tasklayer as tf, tempfile
>>> writer = EventFileWriter(tempfile.mkdtemp())
>>> writer.add_event(tf.Event(step=7, summary=tf.Summary(value=[tf.Summary.Value(tag="x", simple_value=1.5)])))
>>> writer.close()
>>> [(e.step, e.WhichOneof("what")) for e in summary_iterator(writer.path)]
[(0, 'file_version'), (7, 'summary')]
"""

import atexit
import logging
import os
import queue
import socket
import threading
import time
import weakref

from protos import event_pb2
from tasklayer import errors, gfile
from tasklayer.io import frame, tf_record_iterator

__all__ = ["EventFileWriter", "summary_iterator", "FILE_VERSION"]

log = logging.getLogger("tensorflow")

FILE_VERSION = "brain.Event:2"
_STOP = object()  # tells the writing thread to finish
_OPEN_WRITERS = weakref.WeakSet()  # flushed when the interpreter exits: their thread is a daemon


@atexit.register
def _flush_open_writers():
    """Write what open writers still hold before the process ends (a program that never closed its writer)."""
    for writer in list(_OPEN_WRITERS):
        try:
            writer.flush()
        except Exception as e:  # noqa: BLE001 - exiting: report and go on with the others
            log.error("Flushing events to %s at exit failed: %s", writer.path, e)


class EventFileWriter:
    """Writes Events to a new events file in ``logdir`` (created if missing). ``add_event`` queues (up to
    ``max_queue`` events; it waits when the queue is full) and a thread writes them, flushing the file every
    ``flush_secs`` seconds; ``flush`` waits until everything queued is in the file, ``close`` also ends the
    thread. After ``reopen``, events go to a new file. An error writing the file is raised by the next
    ``flush`` or ``close``. Writers still open when the interpreter exits are flushed then."""

    def __init__(self, logdir, max_queue=10, flush_secs=120, filename_suffix=None):
        self._logdir = str(logdir)
        if not gfile.IsDirectory(self._logdir):
            gfile.MakeDirs(self._logdir)
        self._queue = queue.Queue(max_queue)
        self._flush_secs = float(flush_secs)
        self._suffix = filename_suffix or ""
        self._lock = threading.Lock()  # the file: the writing thread and flush() share it
        self._file = self.path = None
        self._dirty = False
        self._error = None
        self._closed = False
        self._open_file()  # as TF: the file (with its version event) exists as soon as the writer does
        self._worker = self._start_worker()
        _OPEN_WRITERS.add(self)

    def get_logdir(self):
        """The directory the events files are written in."""
        return self._logdir

    def add_event(self, event):
        """Queue ``event`` (an ``Event`` proto) for writing; nothing once closed."""
        if not self._closed:
            self._queue.put(event)

    def flush(self):
        """Wait until every queued event is written, then push the file's buffers to the file system."""
        self._queue.join()
        with self._lock:
            self._flush_file()
        self._raise_error()

    def close(self):
        """Write what is queued, end the thread and close the file (``reopen`` starts again, in a new file)."""
        if self._closed:
            return
        self._queue.put(_STOP)
        self._queue.join()
        self._worker.join()
        with self._lock:
            if self._file is not None:
                self._flush_file()
                self._file.close()
                self._file = None
        self._closed = True
        _OPEN_WRITERS.discard(self)
        self._raise_error()

    def reopen(self):
        """Take events again after ``close``; they go to a new file."""
        if self._closed:
            self._closed = False
            self._worker = self._start_worker()
            _OPEN_WRITERS.add(self)

    # -- the file
    def _open_file(self):
        """A new events file, with the version event first."""
        host = socket.gethostname()
        seconds = int(time.time())
        path = os.path.join(self._logdir, f"events.out.tfevents.{seconds:010d}.{host}{self._suffix}")
        n = 0
        while gfile.Exists(path):  # another writer of this second and host: keep its file, make a new one
            n += 1
            path = os.path.join(self._logdir, f"events.out.tfevents.{seconds:010d}.{host}.{os.getpid()}-{n}"
                                              f"{self._suffix}")
        self._file, self.path = gfile.GFile(path, "wb"), path
        self._write(event_pb2.Event(wall_time=time.time(), file_version=FILE_VERSION))
        self._flush_file()

    def _write(self, event):
        if self._file is None:
            self._open_file()
        self._file.write(frame(event.SerializeToString()))
        self._dirty = True

    def _flush_file(self):
        if self._file is not None and self._dirty:
            self._file.flush()
            self._dirty = False

    def _raise_error(self):
        error, self._error = self._error, None
        if error is not None:
            raise errors.UnknownError(None, None, f"writing events to {self.path} failed: {error}") from error

    # -- the thread
    def _start_worker(self):
        worker = threading.Thread(target=self._run, name=f"EventFileWriter({self._logdir})", daemon=True)
        worker.start()
        return worker

    def _run(self):
        next_flush = time.monotonic() + self._flush_secs
        while True:
            try:
                event = self._queue.get(timeout=max(0.0, next_flush - time.monotonic()))
            except queue.Empty:
                event = None
            try:
                if event is _STOP:
                    return
                with self._lock:
                    if event is not None:
                        self._write(event)
                    if time.monotonic() >= next_flush:
                        self._flush_file()
                        next_flush = time.monotonic() + self._flush_secs
            except Exception as e:  # noqa: BLE001 - kept for flush()/close() to raise; the thread goes on
                log.error("Writing an event to %s failed: %s", self.path, e)
                self._error = e
            finally:
                if event is not None:
                    self._queue.task_done()


def summary_iterator(path):
    """The ``Event`` protos of the events file at ``path``, in order (``tf.train.summary_iterator``)."""
    for record in tf_record_iterator(path):
        yield event_pb2.Event.FromString(record)
