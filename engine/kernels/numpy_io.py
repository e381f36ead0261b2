"""File kernels of TF1's queue-based input: readers (TextLineReader, WholeFileReader) that take file names from a
queue, ReadFile, WriteFile, MatchingFiles, and DecodeCSV. Paths are local files.

A reader is a resource like a queue (``numpy_queues``): its op outputs a string handle, the ops that use it take
that handle and run in its process. A read takes the next file name from the queue when the current file is done
(waiting for one, so a cancelled step or its timeout stops it); once the queue is closed and empty, the read fails
with the queue's OutOfRangeError.

Ops (inputs -> outputs; attrs):
  TextLineReaderV2() -> handle; skip_header_lines, container, shared_name
  WholeFileReaderV2() -> handle; container, shared_name
  ReaderReadV2(reader, queue) -> key, value                                      [blocks]
  ReaderReadUpToV2(reader, queue, num_records int64) -> keys, values             [blocks]
  ReaderNumRecordsProducedV2(reader) / ReaderNumWorkUnitsCompletedV2(reader) -> int64
  ReaderResetV2(reader) -> ()
  ReadFile(filename) -> contents;  WriteFile(filename, contents) -> ();  MatchingFiles(pattern) -> filenames
  DecodeCSV(records, record_defaults...) -> one tensor per default; OUT_TYPE, field_delim, use_quote_delim,
            na_value, select_cols
"""

import glob
import os
import threading

import numpy as np

from engine import dtypes, op_defs
from engine.errors import InvalidArgumentError, NotFoundError
from engine.graph_util import get_attr
from engine.kernels.numpy_queues import lookup_queue
from engine.kernels.registry import register_kernel
from engine.kernels.resources import lookup_by_handle, node_resources
from engine.op_constants import READER_OPS
from engine.resource_mgr import PRIVATE_PREFIX

READER_CONTAINER = "_readers"


def _none(node):
    return []


for _op in READER_OPS:
    op_defs.register_op(_op, dtypes.string, stateful=True)
op_defs.register_op("ReaderReadV2", lambda node: [dtypes.string, dtypes.string], stateful=True, blocking=True)
op_defs.register_op("ReaderReadUpToV2", lambda node: [dtypes.string, dtypes.string], stateful=True, blocking=True)
op_defs.register_op("ReaderNumRecordsProducedV2", dtypes.int64, stateful=True)
op_defs.register_op("ReaderNumWorkUnitsCompletedV2", dtypes.int64, stateful=True)
op_defs.register_op("ReaderResetV2", _none, stateful=True)
op_defs.register_op("ReadFile", dtypes.string, stateful=True)
op_defs.register_op("WriteFile", _none, stateful=True)
op_defs.register_op("MatchingFiles", dtypes.string, stateful=True)
op_defs.register_op("DecodeCSV", lambda node: list(get_attr(node, "OUT_TYPE")))


def _path(name):
    return name.decode("utf-8") if isinstance(name, bytes) else str(name)


def _open(filename):
    try:
        return open(_path(filename), "rb")
    except FileNotFoundError:
        raise NotFoundError(None, None, f"{_path(filename)}; No such file or directory") from None
    except IsADirectoryError:
        raise InvalidArgumentError(None, None, f"{_path(filename)} is a directory, not a file") from None
    except PermissionError:
        raise InvalidArgumentError(None, None, f"{_path(filename)}; Permission denied") from None


class ReaderState:
    """One reader: the file it is reading (a work unit taken from a queue), where it is in it, and its counts.

    Reads of one reader are serialised, as in TF (each continues where the last one stopped).
    """

    def __init__(self, kind, skip_header_lines=0):
        self.kind = kind
        self.skip_header_lines = skip_header_lines
        self.lock = threading.Lock()
        self.records_produced = 0
        self.work_units_completed = 0
        self._work = None  # the current file name (bytes), or None between files
        self._file = None
        self._line = 0

    def read(self, queue, ctx, limit):
        """Up to ``limit`` (key, value) records, at least one: from the current file, else from the next file
        name ``queue`` gives (its error, e.g. OutOfRangeError once closed and empty, when none is left)."""
        out = []
        with self.lock:
            while True:
                if self._work is None:
                    self._start(queue.dequeue(ctx))
                at_end = self._read_from_work(out, limit)
                if at_end:
                    self._finish()
                if len(out) == limit or at_end and out:
                    self.records_produced += len(out)
                    return out

    def reset(self):
        """Back to the state of a new reader."""
        with self.lock:
            self._close()
            self._work = None
            self.records_produced = self.work_units_completed = 0

    def _start(self, element):
        name = np.asarray(element[0])
        if len(element) != 1 or name.ndim or not isinstance(name.item(), bytes):
            raise InvalidArgumentError(None, None, f"{self.kind}: a work queue must hold string scalars (file "
                                                   f"names), got {len(element)} component(s) of shape "
                                                   f"{list(name.shape)}")
        self._work = name.item()
        self._line = 0
        if self.kind == "TextLineReader":
            self._file = _open(self._work)
            while self._line < self.skip_header_lines and self._file.readline():
                self._line += 1

    def _read_from_work(self, out, limit):
        """Append records of the current file to ``out`` (until ``limit``); whether the file is done."""
        if self.kind == "WholeFileReader":
            with _open(self._work) as f:
                out.append((self._work, f.read()))
            return True
        while len(out) < limit:
            line = self._file.readline()
            if not line:
                return True
            self._line += 1
            if line.endswith(b"\n"):
                line = line[:-1]
            if line.endswith(b"\r"):
                line = line[:-1]
            out.append((b"%s:%d" % (self._work, self._line), line))
        return False

    def _finish(self):
        self._close()
        self._work = None
        self.work_units_completed += 1

    def _close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


# ---------------------------------------------------------------------- reader kernels
def _reader_factory(node, env):
    """The reader op: creates its reader on first use and outputs the handle naming it."""
    resources = node_resources(node, env)
    kind = READER_OPS[node.op]
    skip = int(get_attr(node, "skip_header_lines", 0))
    if skip < 0:
        raise InvalidArgumentError(None, None, f"skip_header_lines must be >= 0, got {skip}", node_name=node.name,
                                   op_type=node.op)
    key = get_attr(node, "shared_name", "") or PRIVATE_PREFIX + node.name
    handle = np.array(key.encode(), dtype=object)

    def reader_fn():
        resources.lookup_or_create(READER_CONTAINER, key, lambda: ReaderState(kind, skip))
        return handle
    return reader_fn


for _op in READER_OPS:
    register_kernel(_op, "CPU")(_reader_factory)


def _reader(resources, handle, node):
    return lookup_by_handle(resources, READER_CONTAINER, handle, node, "reader")


def _strings(values):
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@register_kernel("ReaderReadV2", "CPU", needs_context=True)
def reader_read(node, env):
    """The next (key, value) record, taking file names from the queue as needed."""
    resources = node_resources(node, env)

    def fn(ctx, reader, queue):
        [(key, value)] = _reader(resources, reader, node).read(lookup_queue(resources, queue, node), ctx, 1)
        return [np.array(key, dtype=object), np.array(value, dtype=object)]
    return fn


@register_kernel("ReaderReadUpToV2", "CPU", needs_context=True)
def reader_read_up_to(node, env):
    """Up to ``num_records`` records (from one file: a short batch where a file ends)."""
    resources = node_resources(node, env)

    def fn(ctx, reader, queue, num_records):
        n = int(num_records)
        if n <= 0:
            raise InvalidArgumentError(None, None, f"num_records ({n}) must be > 0")
        records = _reader(resources, reader, node).read(lookup_queue(resources, queue, node), ctx, n)
        return [_strings([k for k, _ in records]), _strings([v for _, v in records])]
    return fn


@register_kernel("ReaderNumRecordsProducedV2", "CPU")
def reader_num_records_produced(node, env):
    """How many records the reader produced."""
    resources = node_resources(node, env)
    return lambda reader: np.array(_reader(resources, reader, node).records_produced, np.int64)


@register_kernel("ReaderNumWorkUnitsCompletedV2", "CPU")
def reader_num_work_units_completed(node, env):
    """How many files the reader finished."""
    resources = node_resources(node, env)
    return lambda reader: np.array(_reader(resources, reader, node).work_units_completed, np.int64)


@register_kernel("ReaderResetV2", "CPU")
def reader_reset(node, env):
    """Forget the current file and the counts."""
    resources = node_resources(node, env)
    return lambda reader: _reader(resources, reader, node).reset()


# ---------------------------------------------------------------------- files
def _scalar_string(value, what):
    value = np.asarray(value)
    if value.ndim or not isinstance(value.item(), bytes):
        raise InvalidArgumentError(None, None, f"{what} must be a string scalar, got shape {list(value.shape)}")
    return value.item()


@register_kernel("ReadFile", "CPU")
def read_file(node, env):
    """The bytes of a file."""
    def fn(filename):
        with _open(_scalar_string(filename, "filename")) as f:
            return np.array(f.read(), dtype=object)
    return fn


@register_kernel("WriteFile", "CPU")
def write_file(node, env):
    """Write bytes to a file (its directory is created as TF does)."""
    def fn(filename, contents):
        path = _path(_scalar_string(filename, "filename"))
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(_scalar_string(contents, "contents"))
    return fn


@register_kernel("MatchingFiles", "CPU")
def matching_files(node, env):
    """The sorted file names matching a glob pattern (or any of a 1-D tensor of them)."""
    def fn(pattern):
        names = set()
        for p in np.asarray(pattern).reshape(-1).tolist():
            names.update(glob.glob(_path(p)))
        return _strings([n.encode() for n in sorted(names)])
    return fn


# ---------------------------------------------------------------------- CSV
def _split_fields(record, delim, use_quote, select):
    """The fields of one record, with TF's quoting rules (a field in ``"`` may hold the delimiter; ``""`` is a
    quote); only the columns in ``select`` when it is given."""
    if not record:
        return []
    if not (use_quote and b'"' in record) and b"\n" not in record and b"\r" not in record:
        fields = record.split(delim)
        return fields if select is None else [fields[c] for c in select if c < len(fields)]
    fields, idx, n, col = [], 0, len(record), 0
    quote, delim_c = ord('"'), delim[0]
    while idx < n:
        c = record[idx]
        if c in (10, 13):  # TF skips line breaks between fields
            idx += 1
            continue
        field = bytearray()
        if use_quote and c == quote:
            idx += 1
            while idx < n - 1 and not (record[idx] == quote and record[idx + 1] == delim_c):
                if record[idx] != quote:
                    field.append(record[idx])
                    idx += 1
                elif record[idx + 1] == quote:
                    field.append(quote)
                    idx += 2
                else:
                    raise InvalidArgumentError(None, None, "Quote inside a string has to be escaped by another "
                                                           "quote")
            if not (idx < n and record[idx] == quote and (idx == n - 1 or record[idx + 1] == delim_c)):
                raise InvalidArgumentError(None, None, "Quoted field has to end with quote followed by delim or end")
            idx += 2
        else:
            while idx < n and record[idx] != delim_c:
                if use_quote and record[idx] == quote or record[idx] in (10, 13):
                    raise InvalidArgumentError(None, None, "Unquoted fields cannot have quotes/CRLFs inside")
                field.append(record[idx])
                idx += 1
            idx += 1
        if select is None or col in select:
            fields.append(bytes(field))
        col += 1
    if record[-1] == delim_c and (select is None or col in select):
        fields.append(b"")
    return fields


def _parse_number(text, dtype, f, i):
    """``text`` as a value of ``dtype`` (int32/int64 need a whole number that fits); TF's errors otherwise."""
    s = text.strip()
    try:
        if b"_" in s:
            raise ValueError(s)
        if dtype.is_integer:
            value = int(s)
            info = np.iinfo(dtype.as_numpy_dtype)
            if not info.min <= value <= info.max:
                raise ValueError(s)
            return value
        return float(s)
    except ValueError:
        kind = {"float32": "float", "float64": "double"}.get(dtype.name, dtype.name)
        raise InvalidArgumentError(None, None, f"Field {f} in record {i} is not a valid {kind}: "
                                               f"{text.decode('utf-8', 'replace')}") from None


@register_kernel("DecodeCSV", "CPU")
def decode_csv(node, env):
    """One tensor per column of the records (any shape): fields parsed as the default's dtype; an empty field
    (or ``na_value``) takes the default, which must then be given."""
    types = list(get_attr(node, "OUT_TYPE"))
    delim = get_attr(node, "field_delim", ",").encode()
    use_quote = bool(get_attr(node, "use_quote_delim", True))
    na_value = get_attr(node, "na_value", "").encode()
    select = list(get_attr(node, "select_cols", [])) or None
    if len(delim) != 1:
        raise InvalidArgumentError(None, None, "field_delim should be only 1 char", node_name=node.name,
                                   op_type=node.op)
    if select is not None and len(select) != len(types):
        raise InvalidArgumentError(None, None, "select_cols should match record_defaults", node_name=node.name,
                                   op_type=node.op)

    def fn(records, *defaults):
        records = np.asarray(records)
        defaults = [np.asarray(d) for d in defaults]
        for f, d in enumerate(defaults):
            if d.size > 1:
                raise InvalidArgumentError(None, None, f"There should only be 1 default per field but field {f} has "
                                                       f"{d.size}")
        flat = records.reshape(-1)
        columns = [[None] * flat.size for _ in types]
        for i, record in enumerate(flat.tolist()):
            fields = _split_fields(record, delim, use_quote, select)
            if len(fields) != len(types):
                raise InvalidArgumentError(None, None, f"Expect {len(types)} fields but have {len(fields)} in "
                                                       f"record {i}")
            for f, (text, dtype) in enumerate(zip(fields, types)):
                if not text or text == na_value:
                    if defaults[f].size != 1:
                        raise InvalidArgumentError(None, None, f"Field {f} is required but missing in record {i}!")
                    columns[f][i] = defaults[f].reshape(-1)[0]
                elif dtype is dtypes.string:
                    columns[f][i] = text
                else:
                    columns[f][i] = _parse_number(text, dtype, f, i)
        out = []
        for f, dtype in enumerate(types):
            if dtype is dtypes.string:
                out.append(_strings(columns[f]).reshape(records.shape))
            else:
                out.append(np.array(columns[f], dtype=dtype.as_numpy_dtype).reshape(records.shape))
        return out if len(out) != 1 else out[0]
    return fn
