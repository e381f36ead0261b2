"""``tf.io``: TF1's I/O names in one place (``tf.io.gfile``, ``tf.io.read_file``, ``tf.io.decode_csv``, ...), and
the TFRecord format they and the events files of ``tf.summary`` share: ``TFRecordWriter`` and
``tf_record_iterator``. A record is framed as TF frames it: its length (uint64, little-endian), the length's
masked CRC-32C, the bytes, their masked CRC-32C. Paths may be ``scheme://`` URLs (``tf.gfile``).

>>> import tasklayer as tf, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "data.tfrecord")
>>> with tf.io.TFRecordWriter(path) as writer:
...     writer.write(b"first")
...     writer.write(b"second")
>>> list(tf.io.tf_record_iterator(path))
[b'first', b'second']
"""

import os
import struct

from google.protobuf import text_format

from tasklayer import errors, gfile  # noqa: F401 - tf.io.gfile
from tasklayer.graph import Graph
from tasklayer.ops.io_ops import decode_csv, matching_files, read_file, write_file  # noqa: F401 - tf.io's names

__all__ = ["gfile", "read_file", "write_file", "decode_csv", "matching_files", "TFRecordWriter",
           "tf_record_iterator", "TFRecordOptions", "TFRecordCompressionType", "write_graph", "masked_crc32c"]



def _crc_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc32c(data):
    """CRC-32C (Castagnoli) of ``data``.

    >>> hex(crc32c(b"123456789"))
    '0xe3069283'
    """
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    """TFRecord's checksum: the CRC-32C of ``data``, rotated right by 15 bits plus 0xa282ead8."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(record):
    """``record`` (bytes) framed as one TFRecord."""
    header = struct.pack("<Q", len(record))
    return header + struct.pack("<I", masked_crc32c(header)) + record + struct.pack("<I", masked_crc32c(record))


class TFRecordCompressionType:
    """TF's compression kinds; only NONE is written and read here."""

    NONE, ZLIB, GZIP = 0, 1, 2


class TFRecordOptions:
    """TF's ``TFRecordOptions``; ``compression_type`` must be none (``""``, None or ``NONE``) here."""

    def __init__(self, compression_type=None, **_ignored):
        self.compression_type = compression_type


def _check_uncompressed(options):
    kind = getattr(options, "compression_type", options)
    if kind not in (None, "", TFRecordCompressionType.NONE):
        raise errors.UnimplementedError(None, None, f"TFRecord compression {kind!r} is not supported here: write "
                                                    "and read uncompressed records")


class TFRecordWriter:
    """Writes records (bytes) to a TFRecord file at ``path`` (``tf.io.TFRecordWriter``)."""

    def __init__(self, path, options=None):
        _check_uncompressed(options)
        self._path = path
        self._file = gfile.GFile(path, "wb")
        self._file.write(b"")  # create it now, as TF does (a bad path fails here, not at the first record)

    def write(self, record):
        """Append one record."""
        self._file.write(frame(record if isinstance(record, bytes) else str(record).encode("utf-8")))

    def flush(self):
        """Push the records written so far to the file."""
        self._file.flush()

    def close(self):
        """Flush and close the file."""
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _data_loss(message):
    return errors.DataLossError(None, None, message)


def read_records(file, name, check_crc=True):
    """The records (bytes) of an open binary TFRecord ``file``; a record cut short or failing its checksum is a
    DataLossError naming ``name`` and the offset."""
    offset = 0
    while True:
        header = file.read(12)
        if not header:
            return
        if len(header) < 12:
            raise _data_loss(f"truncated record at {offset} in {name}")
        (length,) = struct.unpack("<Q", header[:8])
        if check_crc and struct.unpack("<I", header[8:])[0] != masked_crc32c(header[:8]):
            raise _data_loss(f"corrupted record at {offset} in {name}")
        body = file.read(length + 4)
        if len(body) < length + 4:
            raise _data_loss(f"truncated record at {offset} in {name}")
        record = body[:length]
        if check_crc and struct.unpack("<I", body[length:])[0] != masked_crc32c(record):
            raise _data_loss(f"corrupted record at {offset} in {name}")
        offset += 16 + length
        yield record


def tf_record_iterator(path, options=None):
    """The records (bytes) of the TFRecord file at ``path``, checksums checked."""
    _check_uncompressed(options)
    with gfile.GFile(path, "rb") as f:
        yield from read_records(f, path)


def write_graph(graph_or_graph_def, logdir, name, as_text=True):
    """Write a graph (a ``tf.Graph`` or its GraphDef) to ``logdir/name``, as text (protobuf text format) or
    binary; the path written. ``tf.import_graph_def`` reads it back (after ``text_format.Parse`` for text)."""
    graph_def = graph_or_graph_def.as_graph_def() if isinstance(graph_or_graph_def, Graph) else graph_or_graph_def
    if not gfile.Exists(logdir):
        gfile.MakeDirs(logdir)
    path = os.path.join(logdir, name)
    data = (text_format.MessageToString(graph_def).encode("utf-8") if as_text
            else graph_def.SerializeToString(deterministic=True))
    temp = f"{path}.tmp{os.getpid()}"  # written whole, then renamed over the target (TF writes atomically too)
    with gfile.GFile(temp, "wb") as f:
        f.write(data)
    gfile.Rename(temp, path, overwrite=True)
    return path
