"""``tf.gfile`` (and ``tf.io.gfile``): TF1's file API, with TF's names, semantics and errors (``NotFoundError``,
``AlreadyExistsError``, ... from ``tf.errors``).

Local paths (and ``file://``) are plain files. Any other ``scheme://`` URL (``s3://``, ``gs://``, ``hdfs://``,
``memory://``) goes through `fsspec <https://filesystem-spec.readthedocs.io>`_ when it is installed (with the
package of that scheme, e.g. s3fs); without it such a URL is an ``UnimplementedError``, as in a TensorFlow built
without that file system.

>>> import tasklayer as tf, os, tempfile
>>> d = os.path.join(tempfile.mkdtemp(), "logs", "run1")
>>> tf.gfile.MakeDirs(d)
>>> with tf.gfile.GFile(os.path.join(d, "notes.txt"), "w") as f:
...     f.write("step 1\\nstep 2\\n")
>>> tf.gfile.ListDirectory(d), tf.gfile.GFile(os.path.join(d, "notes.txt")).readlines()
(['notes.txt'], ['step 1\\n', 'step 2\\n'])
>>> tf.gfile.DeleteRecursively(os.path.dirname(d)); tf.gfile.Exists(d)
False
"""

import contextlib
import glob as glob_lib
import os
import re
import shutil

from tasklayer import errors

__all__ = ["GFile", "Open", "FastGFile", "Exists", "MakeDirs", "MkDir", "Remove", "DeleteRecursively", "Glob",
           "ListDirectory", "IsDirectory", "Rename", "Copy", "Stat", "Walk", "FileStatistics"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_MODES = ("r", "w", "a", "r+", "w+", "a+")


def _path_str(path):
    return path.decode("utf-8") if isinstance(path, bytes) else os.fspath(path)


# ---------------------------------------------------------------------- file systems
class _LocalFileSystem:
    """Local files, in the shape of the part of fsspec's API that this module uses."""

    exists = staticmethod(os.path.exists)
    isdir = staticmethod(os.path.isdir)

    @staticmethod
    def makedirs(path):
        os.makedirs(path, exist_ok=True)

    mkdir = staticmethod(os.mkdir)
    rm_file = staticmethod(os.remove)
    rm_tree = staticmethod(shutil.rmtree)
    listdir = staticmethod(os.listdir)
    glob = staticmethod(glob_lib.glob)

    @staticmethod
    def mv(src, dst):
        os.replace(src, dst)

    copy = staticmethod(shutil.copyfile)

    @staticmethod
    def stat(path):
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns, os.path.isdir(path)

    @staticmethod
    def open(path, mode):
        return open(path, mode)

    @staticmethod
    def unstrip(path):
        return path


class _FsspecFileSystem:
    """A ``scheme://`` file system through fsspec; paths are fsspec's (protocol stripped), ``unstrip`` adds it
    back for the paths this module returns."""

    def __init__(self, fs):
        self._fs = fs
        self.exists, self.isdir, self.glob = fs.exists, fs.isdir, self._glob
        self.rm_file, self.mv, self.copy = fs.rm_file, fs.mv, fs.copy

    def makedirs(self, path):
        self._fs.makedirs(path, exist_ok=True)

    def mkdir(self, path):
        if self._fs.exists(path):
            raise FileExistsError(path)
        self._fs.mkdir(path, create_parents=False)

    def rm_tree(self, path):
        self._fs.rm(path, recursive=True)

    def listdir(self, path):
        return [p.rstrip("/").rsplit("/", 1)[-1] for p in self._fs.ls(path, detail=False)
                if p.rstrip("/") != path.rstrip("/")]

    def _glob(self, pattern):
        return [self.unstrip(p) for p in self._fs.glob(pattern)]

    def stat(self, path):
        info = self._fs.info(path)
        mtime = info.get("mtime", info.get("LastModified", info.get("created")))
        if hasattr(mtime, "timestamp"):
            mtime = mtime.timestamp()
        return int(info.get("size") or 0), int((mtime or 0) * 1e9), info.get("type") == "directory"

    def open(self, path, mode):
        return self._fs.open(path, mode)

    def unstrip(self, path):
        return self._fs.unstrip_protocol(path)


_LOCAL = _LocalFileSystem()


def _filesystem(path):
    """``(file system, path on it)`` for a local path or a ``scheme://`` URL."""
    path = _path_str(path)
    match = _SCHEME.match(path)
    if match is None:
        return _LOCAL, path
    scheme = match.group(1)
    if scheme == "file":
        return _LOCAL, path[len("file://"):]
    unsupported = errors.UnimplementedError(None, None, f"File system scheme '{scheme}' not implemented (file: "
                                                        f"'{path}')")
    try:
        import fsspec  # optional: only URLs need it
    except ImportError:
        unsupported.message += "; install fsspec (and its package for this scheme) to use it"
        raise unsupported from None
    try:
        fs, stripped = fsspec.core.url_to_fs(path)
    except (ValueError, ImportError) as e:
        raise errors.UnimplementedError(None, None, f"{unsupported.message}: {e}") from None
    return _FsspecFileSystem(fs), stripped


@contextlib.contextmanager
def _os_errors(path):
    """OSErrors as the ``tf.errors`` TF raises for them, naming ``path``."""
    try:
        yield
    except FileNotFoundError:
        raise errors.NotFoundError(None, None, f"{path}; No such file or directory") from None
    except IsADirectoryError:
        raise errors.FailedPreconditionError(None, None, f"{path}; Is a directory") from None
    except NotADirectoryError:
        raise errors.FailedPreconditionError(None, None, f"{path}; Not a directory") from None
    except FileExistsError:
        raise errors.AlreadyExistsError(None, None, f"{path}; File exists") from None
    except PermissionError:
        raise errors.PermissionDeniedError(None, None, f"{path}; Permission denied") from None


# ---------------------------------------------------------------------- files
class GFile:
    """A file (TF's ``tf.gfile.GFile``): opened on first use, read as ``str`` in text modes and ``bytes`` in
    binary ones (``"rb"``); ``write`` takes either."""

    def __init__(self, name, mode="r"):
        self._name = _path_str(name)
        self._mode = mode
        self._binary = "b" in mode
        if mode.replace("b", "") not in _MODES:
            raise errors.InvalidArgumentError(None, None, "mode is not 'r' or 'w' or 'a' or 'r+' or 'w+' or 'a+'")
        self._file = None

    name = property(lambda self: self._name, doc="The path this file was opened with.")
    mode = property(lambda self: self._mode, doc="The mode this file was opened with.")

    def _opened(self, for_what):
        plain = self._mode.replace("b", "")
        if for_what == "read" and plain in ("w", "a"):
            raise errors.PermissionDeniedError(None, None, "File isn't open for reading")
        if for_what == "write" and plain == "r":
            raise errors.PermissionDeniedError(None, None, "File isn't open for writing")
        if self._file is None:
            fs, path = _filesystem(self._name)
            with _os_errors(self._name):
                if plain.startswith("r") and fs.isdir(path):
                    raise IsADirectoryError(path)
                self._file = fs.open(path, plain + "b")
        return self._file

    def _out(self, data):
        return data if self._binary else data.decode("utf-8")

    def size(self):
        """The file's length in bytes."""
        return Stat(self._name).length

    def read(self, n=-1):
        """``n`` bytes (all that is left when ``n`` is -1), as ``str`` in text mode."""
        return self._out(self._opened("read").read(-1 if n is None else n))

    def readline(self):
        """The next line, with its newline ('' at the end)."""
        return self._out(self._opened("read").readline())

    def readlines(self):
        """The remaining lines."""
        return [self._out(line) for line in self._opened("read").readlines()]

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    next = __next__

    def seek(self, offset=None, whence=0, position=None):
        """Move to ``offset`` (from the start, the current position or the end, per ``whence``)."""
        if position is not None:
            offset = position
        self._opened("seek").seek(offset, whence)

    def tell(self):
        """The current position, in bytes."""
        return self._opened("tell").tell()

    def write(self, file_content):
        """Write ``file_content`` (``str`` is written as UTF-8)."""
        data = file_content.encode("utf-8") if isinstance(file_content, str) else bytes(file_content)
        self._opened("write").write(data)

    def flush(self):
        """Push what was written to the file system."""
        if self._file is not None:
            self._file.flush()

    def close(self):
        """Flush and close (a closed GFile may not be used again)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def seekable(self):
        """True: a GFile can seek."""
        return True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


Open = GFile
FastGFile = GFile  # TF1's deprecated name for the same file object


# ---------------------------------------------------------------------- file system operations
def Exists(filename):  # noqa: N802 - TF's names
    """Whether a file or directory exists at ``filename``."""
    fs, path = _filesystem(filename)
    return bool(fs.exists(path))


def IsDirectory(dirname):  # noqa: N802
    """Whether ``dirname`` is a directory."""
    fs, path = _filesystem(dirname)
    return bool(fs.isdir(path))


def MakeDirs(dirname):  # noqa: N802
    """Create ``dirname`` and its missing parents (nothing if it exists); FailedPreconditionError where a file is
    in the way."""
    fs, path = _filesystem(dirname)
    try:
        with _os_errors(dirname):
            fs.makedirs(path)
    except (errors.AlreadyExistsError, errors.FailedPreconditionError):
        blocker = _first_file_on(fs, path)
        raise errors.FailedPreconditionError(None, None, f"{blocker} is not a directory") from None


def _first_file_on(fs, path):
    """The first file (not a directory) on the way to ``path``, for MakeDirs' error."""
    parts = path.split("/")
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i]) or "/"
        if fs.exists(prefix) and not fs.isdir(prefix):
            return prefix
    return path


def MkDir(dirname):  # noqa: N802
    """Create the directory ``dirname`` (its parent must exist; nothing if it exists already, as TF 2)."""
    fs, path = _filesystem(dirname)
    if fs.isdir(path):
        return
    with _os_errors(dirname):
        fs.mkdir(path)


def Remove(filename):  # noqa: N802
    """Delete the file ``filename`` (NotFoundError if there is none; a directory needs DeleteRecursively)."""
    fs, path = _filesystem(filename)
    with _os_errors(filename):
        if fs.isdir(path):
            raise IsADirectoryError(path)
        fs.rm_file(path)


def DeleteRecursively(dirname):  # noqa: N802
    """Delete the directory ``dirname`` with everything in it (or the file ``dirname``)."""
    fs, path = _filesystem(dirname)
    if not fs.exists(path):
        raise errors.NotFoundError(None, None, f"{dirname} not found")
    with _os_errors(dirname):
        if fs.isdir(path):
            fs.rm_tree(path)
        else:
            fs.rm_file(path)


def Glob(filename):  # noqa: N802
    """The paths matching the pattern ``filename`` (``*``, ``?``, ``[...]``; a list of patterns gives the union)."""
    patterns = [filename] if isinstance(filename, (str, bytes, os.PathLike)) else list(filename)
    out = []
    for pattern in patterns:
        fs, path = _filesystem(pattern)
        out.extend(fs.glob(path))
    return out


def ListDirectory(dirname):  # noqa: N802
    """The names (not paths) of the entries of ``dirname``, in no particular order."""
    fs, path = _filesystem(dirname)
    if not fs.isdir(path):
        raise errors.NotFoundError(None, None, f"Could not find directory {dirname}")
    with _os_errors(dirname):
        return list(fs.listdir(path))


def Rename(oldname, newname, overwrite=False):  # noqa: N802
    """Move ``oldname`` to ``newname`` (AlreadyExistsError if that exists, unless ``overwrite``)."""
    _transfer("mv", oldname, newname, overwrite)


def Copy(oldpath, newpath, overwrite=False):  # noqa: N802
    """Copy the file ``oldpath`` to ``newpath`` (AlreadyExistsError if that exists, unless ``overwrite``)."""
    _transfer("copy", oldpath, newpath, overwrite)


def _transfer(how, source, target, overwrite):
    src_fs, src = _filesystem(source)
    dst_fs, dst = _filesystem(target)
    if not src_fs.exists(src):
        raise errors.NotFoundError(None, None, f"{source}; No such file or directory")
    if not overwrite and dst_fs.exists(dst):
        raise errors.AlreadyExistsError(None, None, "file already exists")
    with _os_errors(source):
        if src_fs is dst_fs or type(src_fs) is type(dst_fs) is _LocalFileSystem:
            getattr(src_fs, how)(src, dst)
            return
        # Across file systems: copy the bytes, then delete the source for a rename.
        with src_fs.open(src, "rb") as fin, dst_fs.open(dst, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        if how == "mv":
            src_fs.rm_file(src)


class FileStatistics:
    """What ``Stat`` tells of a file: ``length`` (bytes), ``mtime_nsec`` and ``is_directory``."""

    def __init__(self, length=0, mtime_nsec=0, is_directory=False):
        self.length, self.mtime_nsec, self.is_directory = length, mtime_nsec, is_directory

    def __repr__(self):
        return (f"FileStatistics(length={self.length}, mtime_nsec={self.mtime_nsec}, "
                f"is_directory={self.is_directory})")


def Stat(filename):  # noqa: N802
    """The ``FileStatistics`` of ``filename``."""
    fs, path = _filesystem(filename)
    with _os_errors(filename):
        if not fs.exists(path):
            raise FileNotFoundError(path)
        return FileStatistics(*fs.stat(path))


def Walk(top, in_order=True):  # noqa: N802
    """``(dirname, subdirectory names, file names)`` for ``top`` and every directory under it, parents first
    (``in_order``) or last; nothing for a ``top`` that is not a directory."""
    if not IsDirectory(top):
        return
    top = _path_str(top)
    entries = ListDirectory(top)
    subdirs, files = [], []
    for name in entries:
        (subdirs if IsDirectory(_join(top, name)) else files).append(name)
    here = (top, subdirs, files)
    if in_order:
        yield here
    for name in subdirs:
        yield from Walk(_join(top, name), in_order)
    if not in_order:
        yield here


def _join(directory, name):
    return f"{directory.rstrip('/')}/{name}" if _SCHEME.match(directory) else os.path.join(directory, name)
