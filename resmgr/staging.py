"""The staging store: app files uploaded by ``submit``, kept for node agents to localize.

Uploads land in ``D/staging/<staging_id>/``; submitting moves them to ``D/apps/<app_id>/files/``,
from where FetchAppFiles streams them back in chunks of at most ``chunk_size`` bytes.
"""

import os
import pathlib
import re
import shutil
import uuid

from protos import common_pb2

DEFAULT_MAX_BYTES = 2 * 1024 ** 3
DEFAULT_CHUNK_SIZE = 1024 * 1024
_STAGING_ID = re.compile(r"^[0-9a-f]{32}$")


class StagingError(Exception):
    """A staging request that cannot be honoured; the message says why."""


def safe_relative_path(path):
    """``path`` as a relative path that stays inside its directory, or raise StagingError."""
    if not path or "\x00" in path:
        raise StagingError(f"bad file path {path!r}: empty or with a NUL byte")
    rel = pathlib.PurePosixPath(path.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or str(rel) in ("", "."):
        raise StagingError(f"file path {path!r} escapes the app's directory")
    return pathlib.Path(*[p for p in rel.parts if p != "."])


class StagingStore:
    """Staged uploads and the files of submitted apps under a data dir."""

    def __init__(self, data_dir, max_bytes=DEFAULT_MAX_BYTES, chunk_size=DEFAULT_CHUNK_SIZE):
        self.root = pathlib.Path(data_dir)
        self.staging = self.root / "staging"
        self.max_bytes = max_bytes
        self.chunk_size = chunk_size
        self.staging.mkdir(parents=True, exist_ok=True)

    def stage(self, chunks):
        """Write a stream of FileChunk into a new staging dir; returns (staging_id, bytes, files)."""
        staging_id = uuid.uuid4().hex
        base = self.staging / staging_id
        base.mkdir()
        open_files, done, executable, total = {}, set(), set(), 0
        try:
            for chunk in chunks:
                rel = safe_relative_path(chunk.path)
                if rel in done:
                    raise StagingError(f"file {chunk.path!r} was sent twice")
                total += len(chunk.data)
                if total > self.max_bytes:
                    raise StagingError(f"the upload is more than {self.max_bytes} bytes, the staging limit")
                f = open_files.get(rel)
                if f is None:
                    (base / rel).parent.mkdir(parents=True, exist_ok=True)
                    f = open_files[rel] = open(base / rel, "wb")
                if chunk.executable:
                    executable.add(rel)
                f.write(chunk.data)
                if chunk.last:
                    open_files.pop(rel).close()
                    done.add(rel)
        except BaseException:
            for f in open_files.values():
                f.close()
            shutil.rmtree(base, ignore_errors=True)
            raise
        for rel, f in open_files.items():  # a file whose last chunk never came is kept as sent
            f.close()
            done.add(rel)
        for rel in executable:
            os.chmod(base / rel, 0o755)
        return staging_id, total, len(done)

    def _staged_dir(self, staging_id):
        if not _STAGING_ID.match(staging_id or "") or not (self.staging / staging_id).is_dir():
            raise StagingError(f"unknown staging id {staging_id!r}: upload the files with StageFiles first")
        return self.staging / staging_id

    def has_file(self, staging_id, path):
        """True when the staged upload holds a regular file at ``path``."""
        try:
            return (self._staged_dir(staging_id) / safe_relative_path(path)).is_file()
        except StagingError:
            return False

    def claim(self, staging_id, app_id):
        """Move a staged upload to be the files of ``app_id``; returns that directory."""
        source = self._staged_dir(staging_id)
        target = self.files_dir(app_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        return target

    def files_dir(self, app_id):
        """Where the files of ``app_id`` live."""
        return self.root / "apps" / app_id / "files"

    def iter_files(self, app_id):
        """Yield FileChunk messages of every file of ``app_id`` (at least one chunk per file, even empty)."""
        base = self.files_dir(app_id)
        if not base.is_dir():
            return
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = path.relative_to(base).as_posix()
            executable = os.access(path, os.X_OK)
            with open(path, "rb") as f:
                data = f.read(self.chunk_size)
                while True:
                    following = f.read(self.chunk_size)
                    yield common_pb2.FileChunk(path=rel, data=data, executable=executable,
                                               last=not following)
                    if not following:
                        break
                    data, executable = following, False
