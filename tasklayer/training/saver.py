"""``tf.train.Saver``: checkpoints of variables, written atomically in a documented, versioned format.

Format (version 1). A checkpoint with prefix ``P`` (e.g. ``/ckpt/model-100``) is two files:

* ``P.index.json``: ``{"format": "yarnflow-checkpoint", "version": 1, "data_file": "<basename of the data file>",
  "global_step": int | null, "tensors": [{"name": "<variable op name>", "key": "t0", "dtype": "float32",
  "shape": [...], "sha256": "<hex digest of the array's C-order bytes>"}, ...]}``.
* the data file it names, in the same directory: a numpy ``.npz`` archive holding one array per variable under
  the keys ``t0``, ``t1``, ... Each save names it ``P.data-<12 hex digits>.npz``, unique to that save; older
  checkpoints name it ``P.npz``. Readers have always found the data through ``data_file``, never by its name, so
  the index is unchanged and the version stays 1: old checkpoints restore here, and new ones with older readers.

Each file is written to a temporary name in the same directory, flushed and fsync'ed, then renamed over its
final name (``os.replace``, atomic on POSIX). The data file goes first under its new, unique name; the rename of
the index is the single commit point, so saving again to an existing prefix leaves either the old index with
the old data or the new index with the new data, whenever the writer dies. The data file the old index named
is removed only after that commit. The directory's ``checkpoint`` file, in TensorFlow's text format
(``model_checkpoint_path: "model-100"`` then one ``all_model_checkpoint_paths: "..."`` line per kept checkpoint,
paths relative to the directory), is replaced the same way after the checkpoint is complete;
``latest_checkpoint`` reads it.
"""

import glob
import hashlib
import json
import os
import re
import tempfile
import zipfile
import zlib

import numpy as np

from tasklayer import variables as variables_lib
from tasklayer.graph import get_default_graph, name_scope
from tasklayer.ops import array_ops, control_flow_ops
from tasklayer.state_ops import assign

FORMAT_NAME = "yarnflow-checkpoint"
FORMAT_VERSION = 1
STATE_FILENAME = "checkpoint"
INDEX_SUFFIX = ".index.json"
DATA_SUFFIX = ".npz"  # P.npz in checkpoints written before data files were unique to each save
DATA_INFIX = ".data-"  # P.data-<hex>.npz
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first bytes (an empty archive starts with the second)


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, corrupt, or not matching the variables to restore."""


class CorruptCheckpointError(CheckpointError):
    """A checkpoint file that cannot be read or whose contents do not match its index."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint whose variable names, shapes or dtypes differ from those being restored."""


class Saver:
    """Saves and restores variables (default: every global variable, slots included).

    >>> import tasklayer as tf, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with tf.Graph().as_default():
    ...     w = tf.Variable([1.0, 2.0], name="w")
    ...     saver = tf.train.Saver()
    ...     with tf.Session() as sess:
    ...         sess.run(w.initializer)
    ...         path = saver.save(sess, os.path.join(d, "model"), global_step=7)
    ...     with tf.Session() as sess:
    ...         saver.restore(sess, tf.train.latest_checkpoint(d))
    ...         os.path.basename(path), sess.run(w).tolist()
    ('model-7', [1.0, 2.0])
    """

    def __init__(self, var_list=None, reshape=False, sharded=False, max_to_keep=5,
                 keep_checkpoint_every_n_hours=10000.0, name=None, restore_sequentially=False, saver_def=None,
                 builder=None, defer_build=False, allow_empty=False, write_version=None, pad_step_number=False,
                 save_relative_paths=False, filename=None):
        self._vars = _named_variables(var_list)
        if not self._vars and not allow_empty:
            raise ValueError("No variables to save")
        self._max_to_keep = max_to_keep
        self._last_checkpoints = []
        self._pad_step_number = pad_step_number
        self._build_restore_ops(name)

    def _build_restore_ops(self, name):
        """One placeholder + Assign per variable, grouped: restore feeds the checkpoint's arrays to them."""
        graph = _graph_of(self._vars) or get_default_graph()
        self._placeholders = {}
        assigns = []
        with graph.as_default(), name_scope(name or "save"):
            for var_name, var in self._vars.items():
                ph = array_ops.placeholder(var.dtype, var.shape, name="restore_value")
                self._placeholders[var_name] = ph
                assigns.append(assign(var, ph, validate_shape=var.shape.is_fully_defined()).op)
            self._restore_op = control_flow_ops.group(*assigns, name="restore_all") if assigns else None

    @property
    def last_checkpoints(self):
        """The prefixes of the checkpoints this saver keeps, oldest first."""
        return list(self._last_checkpoints)

    # ------------------------------------------------------------------ save
    def save(self, sess, save_path, global_step=None, latest_filename=None, meta_graph_suffix="meta",
             write_meta_graph=True, write_state=True, strip_default_attrs=False):
        """Write a checkpoint of the variables' values in ``sess``; returns its prefix (``save_path-<step>``)."""
        if global_step is not None:
            step = int(global_step if isinstance(global_step, (int, np.integer)) else sess.run(global_step))
            prefix = f"{save_path}-{step:08d}" if self._pad_step_number else f"{save_path}-{step}"
        else:
            step, prefix = None, save_path
        directory = os.path.dirname(os.path.abspath(prefix))
        if not os.path.isdir(directory):
            raise ValueError(f"Parent directory of {save_path} doesn't exist, can't save.")
        names = list(self._vars)
        values = sess.run([self._vars[n]._ref() for n in names]) if names else []
        write_checkpoint(prefix, dict(zip(names, values)), global_step=step)
        if write_state:
            self._remember(prefix, directory, latest_filename or STATE_FILENAME)
        return prefix

    def _remember(self, prefix, directory, state_name):
        if prefix in self._last_checkpoints:
            self._last_checkpoints.remove(prefix)
        self._last_checkpoints.append(prefix)
        if self._max_to_keep:
            while len(self._last_checkpoints) > self._max_to_keep:
                delete_checkpoint(self._last_checkpoints.pop(0))
        write_state_file(directory, prefix, self._last_checkpoints, state_name)

    def set_last_checkpoints_with_time(self, last_checkpoints_with_time):
        """Adopt earlier checkpoints (e.g. after a restart), as ``[(prefix, time)]``."""
        self._last_checkpoints = [p for p, _ in last_checkpoints_with_time]

    def recover_last_checkpoints(self, checkpoint_paths):
        """Adopt earlier checkpoints (e.g. after a restart), so ``max_to_keep`` also deletes them.

        As TF1: ``checkpoint_paths`` (oldest first, e.g. a ``CheckpointState``'s ``all_model_checkpoint_paths``)
        replaces what this saver remembers, less the checkpoints that no longer exist.
        """
        kept = []
        for path in checkpoint_paths:
            if checkpoint_exists(path) and path not in kept:  # another process may have deleted it meanwhile
                kept.append(path)
        self._last_checkpoints = kept

    # ------------------------------------------------------------------ restore
    def restore(self, sess, save_path):
        """Assign every variable its value from the checkpoint ``save_path`` (a prefix).

        CheckpointMismatchError listing missing names and wrong shapes/dtypes; CorruptCheckpointError naming
        the file that cannot be read or does not match its index.
        """
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        arrays = read_checkpoint(save_path)
        missing = [n for n in self._vars if n not in arrays]
        wrong = []
        for n, var in self._vars.items():
            if n in arrays:
                a = arrays[n]
                if not var.shape.is_compatible_with(a.shape) or a.dtype != np.dtype(var.dtype.as_numpy_dtype):
                    wrong.append(f"{n}: checkpoint has {a.dtype.name}{list(a.shape)}, variable is "
                                 f"{var.dtype.name}{var.shape.as_list() if var.shape.ndims is not None else '?'}")
        if missing or wrong:
            parts = []
            if missing:
                parts.append(f"not found in the checkpoint: {', '.join(missing)}")
            if wrong:
                parts.append(f"shape or dtype mismatch: {'; '.join(wrong)}")
            raise CheckpointMismatchError(f"Restoring from checkpoint {save_path} failed: " + "; ".join(parts) +
                                          f" (the checkpoint holds: {', '.join(sorted(arrays)) or 'nothing'})")
        if self._restore_op is not None:
            sess.run(self._restore_op, {self._placeholders[n]: arrays[n] for n in self._vars})


# ---------------------------------------------------------------------- which variables
def _named_variables(var_list):
    """``{name: Variable}`` from None (global variables), a list or a dict."""
    if var_list is None:
        var_list = variables_lib.global_variables()
    if isinstance(var_list, dict):
        named = dict(var_list)
    else:
        named = {}
        for v in var_list:
            if not isinstance(v, variables_lib.Variable):
                raise TypeError(f"Saver var_list must hold Variables, got {v!r}")
            if v.op.name in named:
                raise ValueError(f"At least two variables have the same name: {v.op.name}")
            named[v.op.name] = v
    for n, v in named.items():
        if not isinstance(v, variables_lib.Variable):
            raise TypeError(f"Saver var_list[{n!r}] must be a Variable, got {v!r}")
    return dict(sorted(named.items()))


def _graph_of(named):
    for v in named.values():
        return v.graph
    return None


# ---------------------------------------------------------------------- the files
def _digest(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _atomic_write(path, write):
    """Write ``path`` by ``write(file)`` into a temp file beside it, fsync, then rename over ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        _replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _replace(src, dst):
    """``os.replace`` (a seam tests use to simulate a crash between writing and renaming)."""
    os.replace(src, dst)


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_checkpoint(prefix, arrays, global_step=None):
    """Write ``{name: ndarray}`` as checkpoint ``prefix``: a new data file, then the index (the commit point)."""
    superseded = _committed_data_file(prefix)
    entries, payload = [], {}
    for i, (name, value) in enumerate(arrays.items()):
        value = np.asarray(value)
        key = f"t{i}"
        payload[key] = value
        entries.append({"name": name, "key": key, "dtype": value.dtype.name, "shape": list(value.shape),
                        "sha256": _digest(value)})
    # A name no earlier save used: overwriting the data an existing index names would tear that checkpoint.
    data_path = f"{prefix}{DATA_INFIX}{os.urandom(6).hex()}{DATA_SUFFIX}"
    _atomic_write(data_path, lambda f: np.savez(f, **payload))
    index = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "data_file": os.path.basename(data_path),
             "global_step": global_step, "tensors": entries}
    _atomic_write(prefix + INDEX_SUFFIX, lambda f: f.write(json.dumps(index, indent=1).encode()))
    if superseded is not None and superseded != data_path:
        _unlink_quietly(superseded)


def _committed_data_file(prefix):
    """The data file the current index of ``prefix`` names, or None (no index, or one that cannot be read)."""
    try:
        return _data_path(prefix, read_index(prefix))
    except CheckpointError:
        return None  # an unreadable index names nothing; delete_checkpoint still finds its data by name


def _data_path(prefix, index):
    return os.path.join(os.path.dirname(os.path.abspath(prefix)), index["data_file"])


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def read_index(prefix):
    """The parsed index of checkpoint ``prefix``; CheckpointError/CorruptCheckpointError naming the file."""
    path = prefix + INDEX_SUFFIX
    if not os.path.exists(path):
        raise CheckpointError(f"The passed save_path is not a valid checkpoint: {prefix} ({path} does not exist)")
    try:
        with open(path, "rb") as f:
            index = json.loads(f.read().decode())
    except (ValueError, UnicodeDecodeError, OSError) as e:
        raise CorruptCheckpointError(f"checkpoint index {path} is corrupt: {e}") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT_NAME:
        raise CorruptCheckpointError(f"checkpoint index {path} is corrupt: not a yarnflow checkpoint index "
                                     f'(no "format": "{FORMAT_NAME}")')
    if index.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint index {path} has format version {index.get('version')}; this reader "
                              f"knows version {FORMAT_VERSION}")
    problem = _index_problem(index)
    if problem:
        raise CorruptCheckpointError(f"checkpoint index {path} is corrupt: {problem}")
    return index


_ENTRY_FIELDS = {"name": str, "key": str, "dtype": str, "shape": list, "sha256": str}


def _index_problem(index):
    """What makes a version-1 index unusable, in words, or None."""
    data_file = index.get("data_file")
    if not isinstance(data_file, str) or not data_file:
        return "it names no data_file"
    if os.path.basename(data_file) != data_file or data_file in (".", ".."):
        return f"data_file {data_file!r} is not a file name in the checkpoint's directory"
    tensors = index.get("tensors")
    if not isinstance(tensors, list):
        return f"tensors is {type(tensors).__name__}, not a list"
    names, keys = set(), set()
    for i, entry in enumerate(tensors):
        if not isinstance(entry, dict):
            return f"tensors[{i}] is {entry!r}, not an object"
        for field, kind in _ENTRY_FIELDS.items():
            if not isinstance(entry.get(field), kind):
                what = "has no" if field not in entry else f"has a {type(entry[field]).__name__} as its"
                return f"tensors[{i}] ({entry.get('name', '?')!r}) {what} {field}"
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in entry["shape"]):
            return f"tensors[{i}] ({entry['name']!r}) has shape {entry['shape']!r}, not a list of sizes"
        if not re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]):
            return f"tensors[{i}] ({entry['name']!r}) has sha256 {entry['sha256'][:80]!r}, not a hex sha256 digest"
        try:
            np.dtype(entry["dtype"])
        except TypeError:
            return f"tensors[{i}] ({entry['name']!r}) has an unknown dtype {entry['dtype'][:80]!r}"
        if entry["name"] in names or entry["key"] in keys:
            return f"tensors[{i}] repeats the name {entry['name']!r} or the key {entry['key']!r}"
        names.add(entry["name"])
        keys.add(entry["key"])
    return None


def read_checkpoint(prefix):
    """``{name: ndarray}`` of checkpoint ``prefix``, every array checked against the index's shape and digest."""
    index = read_index(prefix)
    data_path = _data_path(prefix, index)
    if not os.path.exists(data_path):
        raise CorruptCheckpointError(f"checkpoint data file {data_path} is missing (index {prefix + INDEX_SUFFIX})")
    try:
        with open(data_path, "rb") as f:
            head = f.read(4)
        # np.load takes anything that is not a zip (or .npy) for a pickle and says so: check the magic first.
        if not head.startswith(_ZIP_MAGIC):
            raise ValueError(f"it is not an .npz (zip) archive: it starts with {head!r}, not {_ZIP_MAGIC[0]!r}")
        out = {}
        with np.load(data_path, allow_pickle=False) as archive:
            for entry in index["tensors"]:
                out[entry["name"]] = _checked(archive, entry)
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise CorruptCheckpointError(f"checkpoint data file {data_path} is corrupt: {e}") from None
    return out


def _checked(archive, entry):
    """The array of index ``entry`` from ``archive``; ValueError saying how it differs from the entry."""
    what = f"tensor {entry['name']!r} (key {entry['key']!r})"
    if entry["key"] not in archive.files:
        raise ValueError(f"{what} is not in the archive")
    value = archive[entry["key"]]
    if list(value.shape) != entry["shape"] or value.dtype.name != entry["dtype"]:
        raise ValueError(f"{what} is {value.dtype.name}{list(value.shape)}, the index says "
                         f"{entry['dtype']}{entry['shape']}")
    if _digest(value) != entry["sha256"]:
        raise ValueError(f"{what}: the sha256 of its bytes does not match the index")
    return value


def delete_checkpoint(prefix):
    """Remove checkpoint ``prefix``'s files (index first, so a half-deleted checkpoint is never listed), with
    the data and temp files that saves to it killed before their commit left behind."""
    _unlink_quietly(prefix + INDEX_SUFFIX)
    _unlink_quietly(prefix + DATA_SUFFIX)
    pattern = glob.escape(prefix)
    for path in glob.glob(pattern + DATA_INFIX + "*") + glob.glob(pattern + INDEX_SUFFIX + ".tmp-*"):
        _unlink_quietly(path)


def checkpoint_exists(prefix):
    """Whether checkpoint ``prefix`` has its index (so it was completely written)."""
    return os.path.exists(prefix + INDEX_SUFFIX)


# ---------------------------------------------------------------------- the state file
class CheckpointState:
    """The ``checkpoint`` file's contents: the latest prefix and every kept one (absolute paths)."""

    def __init__(self, model_checkpoint_path, all_model_checkpoint_paths):
        self.model_checkpoint_path = model_checkpoint_path
        self.all_model_checkpoint_paths = list(all_model_checkpoint_paths)

    def __repr__(self):
        return f"CheckpointState({self.model_checkpoint_path!r}, {self.all_model_checkpoint_paths!r})"


def _quote(path):
    return json.dumps(path)


def write_state_file(directory, latest, all_paths, state_name=STATE_FILENAME):
    """Atomically replace ``directory/checkpoint`` with the latest prefix and the kept ones."""
    def rel(p):
        p = os.path.abspath(p)
        return os.path.relpath(p, directory) if os.path.dirname(p) == directory else p
    lines = [f"model_checkpoint_path: {_quote(rel(latest))}"]
    lines += [f"all_model_checkpoint_paths: {_quote(rel(p))}" for p in all_paths]
    _atomic_write(os.path.join(directory, state_name), lambda f: f.write(("\n".join(lines) + "\n").encode()))


_STATE_LINE = re.compile(r'^\s*(model_checkpoint_path|all_model_checkpoint_paths)\s*:\s*(".*")\s*$')


def get_checkpoint_state(checkpoint_dir, latest_filename=None):
    """The ``CheckpointState`` of ``checkpoint_dir``, or None when it has no ``checkpoint`` file."""
    path = os.path.join(checkpoint_dir, latest_filename or STATE_FILENAME)
    if not os.path.exists(path):
        return None
    latest, kept = None, []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                m = _STATE_LINE.match(line)
                if m is None:
                    raise ValueError(f"unexpected line {line.strip()!r}")
                value = json.loads(m.group(2))
                value = value if os.path.isabs(value) else os.path.join(checkpoint_dir, value)
                if m.group(1) == "model_checkpoint_path":
                    latest = value
                else:
                    kept.append(value)
    except (ValueError, UnicodeDecodeError) as e:
        raise CorruptCheckpointError(f"checkpoint state file {path} is corrupt: {e}") from None
    if latest is None:
        raise CorruptCheckpointError(f"checkpoint state file {path} names no model_checkpoint_path")
    return CheckpointState(latest, kept)


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The prefix of the newest complete checkpoint in ``checkpoint_dir``, or None."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is None or not checkpoint_exists(state.model_checkpoint_path):
        return None
    return state.model_checkpoint_path
