"""File datasets (tf.data): ``TextLineDataset`` (one string per line) and ``TFRecordDataset`` (one string per
record), reading their files in order, lazily, on the task that runs the iterator.

Paths with a protocol (``s3://``, ``hdfs://``, ...) are opened through fsspec when it is installed; plain paths
with ``open``. ``compression_type`` is ``""``, ``"ZLIB"`` or ``"GZIP"``.

Ops (inputs -> output), TF's names:
  TextLineDataset(filenames: string, compression_type: string, buffer_size: int64) -> variant
  TFRecordDataset(filenames: string, compression_type: string, buffer_size: int64) -> variant
"""

import gzip
import struct
import zlib

import numpy as np

from engine import dtypes, op_defs
from engine.errors import DataLossError, InvalidArgumentError, NotFoundError
from engine.kernels import numpy_dataset_pipeline as pipeline
from engine.kernels.numpy_dataset import VARIANT, scalar
from engine.kernels.registry import register_kernel

_CHUNK = 1 << 18  # bytes read at a time when no buffer_size is given (TF's default for text: 256 KiB)
_COMPRESSIONS = ("", "ZLIB", "GZIP")

for _op in ("TextLineDataset", "TFRecordDataset"):
    op_defs.register_op(_op, VARIANT, stateful=True, inputs=(dtypes.string, dtypes.string, dtypes.int64))


def _strings(value):
    """A string tensor's elements as ``str`` paths."""
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(value, dtype=object).reshape(-1)]


def open_file(path, compression):
    """``path`` opened for binary reading, decompressing as ``compression`` says; NotFoundError (TF's words)
    when it does not exist."""
    try:
        if "://" in path:
            try:
                import fsspec  # optional: remote file systems
            except ImportError:
                raise NotFoundError(None, None, f"{path}: no file system for this protocol (install fsspec)") \
                    from None
            raw = fsspec.open(path, "rb").open()
        else:
            raw = open(path, "rb")  # noqa: SIM115 - closed by the reader at the end of the file
    except FileNotFoundError:
        raise NotFoundError(None, None, f"{path}; No such file or directory") from None
    if compression == "GZIP":
        return gzip.GzipFile(fileobj=raw)
    if compression == "ZLIB":
        return _ZlibReader(raw)
    return raw


class _ZlibReader:
    """A file of zlib-compressed data, read as its decompressed bytes."""

    def __init__(self, raw):
        self._raw, self._z, self._buf = raw, zlib.decompressobj(), b""

    def read(self, n):
        while len(self._buf) < n:
            chunk = self._raw.read(_CHUNK)
            if not chunk:
                self._buf += self._z.flush()
                break
            self._buf += self._z.decompress(chunk)
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def close(self):
        self._raw.close()


class _FileDataset(pipeline.DatasetValue):
    def __init__(self, filenames, compression, buffer_size):
        if compression not in _COMPRESSIONS:
            raise InvalidArgumentError(None, None, f"Unsupported compression_type: {compression}.")
        self._files, self._compression = filenames, compression
        self._chunk = buffer_size if buffer_size > 0 else _CHUNK

    def iterate(self, ictx):
        return _FileIterator(self._files, lambda path: self.records(path))

    def records(self, path):
        """A generator of lists of records (bytes) read from ``path``."""
        raise NotImplementedError


class _FileIterator(pipeline.ElementIterator):
    """Records of every file in order; ``read(path)`` yields lists of them."""

    def __init__(self, files, read):
        self._files, self._read = iter(files), read
        self._records, self._pending, self._pos = None, [], 0

    def next_block(self, n):
        while self._pos >= len(self._pending):
            if self._records is None:
                path = next(self._files, None)
                if path is None:
                    return None
                self._records = self._read(path)
            batch = next(self._records, None)
            if batch is None:
                self._records = None
            else:
                self._pending, self._pos = batch, 0
        start = self._pos
        self._pos = stop = min(len(self._pending), start + n)
        block = np.empty(stop - start, dtype=object)
        block[:] = self._pending[start:stop]
        return [block]

    def close(self):
        if self._records is not None:
            self._records.close()


class TextLines(_FileDataset):
    """Lines without their ``\\n`` (or ``\\r\\n``); a last line without a newline counts."""

    def records(self, path):
        f = open_file(path, self._compression)
        try:
            carry = b""
            while True:
                chunk = f.read(self._chunk)
                if not chunk:
                    break
                lines = (carry + chunk).split(b"\n")
                carry = lines.pop()
                if lines:
                    yield [line[:-1] if line.endswith(b"\r") else line for line in lines]
            if carry:
                yield [carry[:-1] if carry.endswith(b"\r") else carry]
        finally:
            f.close()


class TFRecords(_FileDataset):
    """Records framed as TFRecord files frame them: length (uint64), its CRC, the data, its CRC (CRCs are
    not checked)."""

    def records(self, path):
        f = open_file(path, self._compression)
        try:
            offset = 0
            while True:
                header = f.read(12)
                if not header:
                    return
                if len(header) < 12:
                    raise _data_loss(f"truncated record at {offset}")
                (length,) = struct.unpack("<Q", header[:8])
                body = f.read(length + 4)
                if len(body) < length + 4:
                    raise _data_loss(f"truncated record at {offset}")
                offset += 16 + length
                yield [body[:length]]
        finally:
            f.close()


def _data_loss(message):
    return DataLossError(None, None, message)


def _reader_kernel(cls):
    def factory(node, env):
        def fn(filenames, compression_type, buffer_size):
            compression = _strings(compression_type)[0] if np.size(compression_type) else ""
            return cls(_strings(filenames), compression, scalar(buffer_size, "buffer_size"))
        return fn
    return factory


register_kernel("TextLineDataset", "CPU")(_reader_kernel(TextLines))
register_kernel("TFRecordDataset", "CPU")(_reader_kernel(TFRecords))
