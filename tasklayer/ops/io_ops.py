"""TF1's file readers and CSV parsing: ``tf.TextLineReader``, ``tf.WholeFileReader`` (``read(queue)`` takes file
names from a queue, e.g. ``tf.train.string_input_producer``), ``tf.decode_csv``, ``tf.read_file``,
``tf.write_file`` and ``tf.matching_files``. Paths are local files (kernels: ``engine/kernels/numpy_io.py``).

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     a, b, c = tf.decode_csv(["1,x,2.5", "2,,"], record_defaults=[[0], ["none"], [0.0]])
...     with tf.Session() as sess:
...         sess.run([a, b, c])
[array([1, 2], dtype=int32), array([b'x', b'none'], dtype=object), array([2.5, 0. ], dtype=float32)]
"""

from engine.op_constants import READER_OPS
from tasklayer import dtypes
from tasklayer.graph import Tensor, colocate_with, control_dependencies, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops._build import make_op, who
from tasklayer.ops.constant_op import convert_to_tensor

_CSV_TYPES = (dtypes.float32, dtypes.float64, dtypes.int32, dtypes.int64, dtypes.string)


def _string_scalar(op, index, what):
    t = op.inputs[index]
    if t.dtype != dtypes.string or not t.shape.is_compatible_with(()):
        raise ValueError(f"{who(op)}: {what} must be a string scalar, got {t.dtype.name} of shape {t.shape}")


def _infer_reader_use(outputs):
    def infer(op):
        _string_scalar(op, 0, "input 0 (the reader handle)")
        if op.type in ("ReaderReadV2", "ReaderReadUpToV2"):
            _string_scalar(op, 1, "input 1 (the queue handle)")
        return outputs(op)
    return infer


def _infer_decode_csv(op):
    records = op.inputs[0]
    if records.dtype != dtypes.string:
        raise TypeError(f"{who(op)}: records must be strings, got {records.dtype.name}")
    for t in op.inputs[1:]:
        if t.shape.ndims is not None and t.shape.ndims > 1:
            raise ValueError(f"Shape must be at most rank 1 but is rank {t.shape.ndims} for '{op.name}' (a "
                             "record default)")
        if t.shape.ndims == 1 and t.shape.as_list()[0] not in (None, 0, 1):
            raise ValueError("Shape of a default must be a length-0 or length-1 vector, or a scalar.")
    return [(t, records.shape) for t in op.get_attr("OUT_TYPE")]


for _op in READER_OPS:
    register_op(_op, lambda op: [(dtypes.string, ())], stateful=True)
register_op("ReaderReadV2", _infer_reader_use(lambda op: [(dtypes.string, ()), (dtypes.string, ())]), stateful=True)
register_op("ReaderReadUpToV2", _infer_reader_use(lambda op: [(dtypes.string, (None,)), (dtypes.string, (None,))]),
            stateful=True)
register_op("ReaderNumRecordsProducedV2", _infer_reader_use(lambda op: [(dtypes.int64, ())]), stateful=True)
register_op("ReaderNumWorkUnitsCompletedV2", _infer_reader_use(lambda op: [(dtypes.int64, ())]), stateful=True)
register_op("ReaderResetV2", _infer_reader_use(lambda op: []), stateful=True)
register_op("ReadFile", lambda op: _string_scalar(op, 0, "filename") or [(dtypes.string, ())], stateful=True)
register_op("WriteFile", lambda op: _string_scalar(op, 0, "filename") or _string_scalar(op, 1, "contents") or [],
            stateful=True)
register_op("MatchingFiles", lambda op: [(dtypes.string, (None,))], stateful=True)
register_op("DecodeCSV", _infer_decode_csv)
# Every op type of this module (tasklayer.grad_rules.data_flow_grad declares them not differentiable).
IO_OP_TYPES = (*READER_OPS, "ReaderReadV2", "ReaderReadUpToV2", "ReaderNumRecordsProducedV2",
               "ReaderNumWorkUnitsCompletedV2", "ReaderResetV2", "ReadFile", "WriteFile", "MatchingFiles", "DecodeCSV")


class ReaderBase:
    """A reader of records from the files named by a queue's elements; ``read(queue)`` gives ``(key, value)``."""

    def __init__(self, reader_ref, supports_serialize=False):
        self._reader_ref = reader_ref

    @property
    def reader_ref(self):
        """The reader's handle (a string scalar tensor)."""
        return self._reader_ref

    @property
    def supports_serialize(self):
        """Whether the reader can save its state (not supported here: False)."""
        return False

    def _op(self, op_type, inputs, name, attrs=None):
        attrs = dict(attrs or {}, _class=[f"loc:@{self._reader_ref.op.name}"])
        with colocate_with(self._reader_ref.op, ignore_existing=True):
            return make_op(op_type, [self._reader_ref] + inputs, attrs, name)

    def read(self, queue, name=None):
        """The next record as ``(key, value)`` string scalars; a file name is taken from ``queue`` (a queue or its
        handle) whenever the current file is done. OutOfRangeError once the queue is closed and empty."""
        return tuple(self._op("ReaderReadV2", [_queue_ref(queue)], name).outputs)

    def read_up_to(self, queue, num_records, name=None):
        """Up to ``num_records`` records as ``(keys, values)`` 1-D string tensors (fewer where a file ends)."""
        with control_dependencies(None), colocate_with(self._reader_ref.op, ignore_existing=True):
            n = convert_to_tensor(num_records, dtype=dtypes.int64, name="num_records")
        return tuple(self._op("ReaderReadUpToV2", [_queue_ref(queue), n], name).outputs)

    def num_records_produced(self, name=None):
        """An int64 scalar: how many records this reader produced."""
        return self._op("ReaderNumRecordsProducedV2", [], name).outputs[0]

    def num_work_units_completed(self, name=None):
        """An int64 scalar: how many files this reader finished."""
        return self._op("ReaderNumWorkUnitsCompletedV2", [], name).outputs[0]

    def reset(self, name=None):
        """An op putting the reader back to its initial state."""
        return self._op("ReaderResetV2", [], name)

    def serialize_state(self, name=None):
        """Not supported: a reader's position cannot be saved here."""
        raise NotImplementedError(f"{type(self).__name__}.serialize_state is not supported")

    def restore_state(self, state, name=None):
        """Not supported: a reader's position cannot be restored here."""
        raise NotImplementedError(f"{type(self).__name__}.restore_state is not supported")


def _queue_ref(queue):
    ref = queue if isinstance(queue, Tensor) else getattr(queue, "queue_ref", None)
    if ref is None:
        raise TypeError(f"read() takes a queue (e.g. tf.FIFOQueue) or its queue_ref, got {queue!r}")
    return ref


def _reader_op(op_type, name, attrs):
    with control_dependencies(None):
        return make_op(op_type, [], dict(attrs, container="", shared_name=""), name).outputs[0]


class TextLineReader(ReaderBase):
    """Reads a file line by line: the key is ``b"<file>:<line number>"``, the value the line without its line
    break; ``skip_header_lines`` lines at the top of each file are skipped (they still count in line numbers)."""

    def __init__(self, skip_header_lines=None, name=None):
        skip = 0 if skip_header_lines is None else int(skip_header_lines)
        super().__init__(_reader_op("TextLineReaderV2", name, {"skip_header_lines": skip}))


class WholeFileReader(ReaderBase):
    """Reads each file whole: the key is its name, the value its bytes."""

    def __init__(self, name=None):
        super().__init__(_reader_op("WholeFileReaderV2", name, {}))


def read_file(filename, name=None):
    """The bytes of a file (a string scalar tensor); NotFoundError at run time if it does not exist."""
    with name_scope(name, "ReadFile", [filename] if isinstance(filename, Tensor) else None) as scope:
        filename = convert_to_tensor(filename, dtype=dtypes.string, name="filename")
        return make_op("ReadFile", [filename], {}, scope).outputs[0]


def write_file(filename, contents, name=None):
    """An op writing the bytes ``contents`` to ``filename`` (creating its directory)."""
    with name_scope(name, "WriteFile", [t for t in (filename, contents) if isinstance(t, Tensor)] or None) as scope:
        filename = convert_to_tensor(filename, dtype=dtypes.string, name="filename")
        contents = convert_to_tensor(contents, dtype=dtypes.string, name="contents")
        return make_op("WriteFile", [filename, contents], {}, scope)


def matching_files(pattern, name=None):
    """The sorted names of the files matching a glob ``pattern`` (a string, or a 1-D tensor of patterns)."""
    with name_scope(name, "MatchingFiles", [pattern] if isinstance(pattern, Tensor) else None) as scope:
        pattern = convert_to_tensor(pattern, dtype=dtypes.string, name="pattern")
        return make_op("MatchingFiles", [pattern], {}, scope).outputs[0]


def decode_csv(records, record_defaults, field_delim=",", use_quote_delim=True, name=None, na_value="",
               select_cols=None):
    """One tensor per column of CSV ``records`` (a string tensor of any shape; each output has its shape).

    ``record_defaults`` gives each column's dtype (float32, float64, int32, int64 or string) and the value of an
    empty field (``[]`` for a column that must be present); ``select_cols`` picks columns (increasing indices).
    """
    if select_cols is not None:
        select_cols = [int(c) for c in select_cols]
        if any(a >= b for a, b in zip(select_cols, select_cols[1:])):
            raise ValueError("select_cols is not strictly increasing.")
        if select_cols and select_cols[0] < 0:
            raise ValueError("select_cols contains negative values.")
        if len(select_cols) != len(record_defaults):
            raise ValueError("Length of select_cols and record_defaults do not match.")
    with name_scope(name, "DecodeCSV", [records] if isinstance(records, Tensor) else None) as scope:
        records = convert_to_tensor(records, dtype=dtypes.string, name="records")
        defaults = [_default(d, i) for i, d in enumerate(record_defaults)]
        attrs = {"OUT_TYPE": [d.dtype for d in defaults], "field_delim": field_delim,
                 "use_quote_delim": bool(use_quote_delim), "na_value": na_value, "select_cols": select_cols or []}
        return list(make_op("DecodeCSV", [records] + defaults, attrs, scope).outputs)


def _default(value, index):
    t = convert_to_tensor(value, name=f"record_defaults_{index}")
    if t.dtype not in _CSV_TYPES:
        raise TypeError(f"Value passed to parameter 'record_defaults' has DataType {t.dtype.name} not in list of "
                        f"allowed values: {', '.join(d.name for d in _CSV_TYPES)}")
    if t.shape.ndims == 1 and t.shape.as_list()[0] not in (None, 0, 1) or (t.shape.ndims or 0) > 1:
        raise ValueError("Shape of a default must be a length-0 or length-1 vector, or a scalar.")
    return t
