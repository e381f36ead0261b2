"""Localization: fetch an app's staged files once per node, then copy them into each container's work dir."""

import logging
import os
import pathlib
import shutil
import tempfile
import threading

import grpc

from protos import resmgr_pb2

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 300.0


class LocalizationError(Exception):
    """The app's files could not be fetched or placed (its message is the diagnostics)."""


def safe_relative_path(root, rel):
    """``root/rel`` when ``rel`` is a plain relative path that stays inside ``root``, else LocalizationError."""
    if not rel or "\x00" in rel:
        raise LocalizationError(f"staged file has an invalid path {rel!r}")
    pure = pathlib.PurePosixPath(rel)
    if pure.is_absolute() or any(part in ("..", "") for part in pure.parts) or rel.startswith("/"):
        raise LocalizationError(f"staged file path {rel!r} escapes the app directory")
    root = pathlib.Path(root).resolve()
    target = (root / pure).resolve()
    if target != root and root not in target.parents:
        raise LocalizationError(f"staged file path {rel!r} escapes the app directory")
    if target == root:
        raise LocalizationError(f"staged file has an invalid path {rel!r}")
    return target


def write_chunks(chunks, dest):
    """Write a stream of ``FileChunk`` messages under ``dest``; returns the number of files written."""
    dest = pathlib.Path(dest)
    current, handle, executable, files = None, None, False, 0
    try:
        for chunk in chunks:
            if chunk.path != current:
                if handle is not None:
                    raise LocalizationError(f"staged file {current!r} ended without its last chunk")
                current = chunk.path
                target = safe_relative_path(dest, chunk.path)
                target.parent.mkdir(parents=True, exist_ok=True)
                handle = open(target, "wb")
                executable = chunk.executable
            handle.write(chunk.data)
            if chunk.last:
                handle.close()
                os.chmod(handle.name, 0o755 if executable else 0o644)
                handle, current, files = None, None, files + 1
        if handle is not None:
            raise LocalizationError(f"staged file {current!r} ended without its last chunk")
    finally:
        if handle is not None and not handle.closed:
            handle.close()
    return files


class Localizer:
    """Fetches each app's files from resmgr at most once (concurrent containers wait for that one fetch)
    into ``W/apps/<app_id>/files/`` and copies them into container work dirs.

    ``fetch(app_id)`` returns an iterator of ``FileChunk`` (resmgr's ResourceTracker.FetchAppFiles)."""

    def __init__(self, work_root, fetch):
        self._apps_dir = pathlib.Path(work_root) / "apps"
        self._fetch = fetch
        self._locks = {}
        self._locks_lock = threading.Lock()

    def app_cache(self, app_id):
        """Where the app's fetched files live on this node."""
        return self._apps_dir / app_id / "files"

    def ensure_app_files(self, app_id):
        """Fetch the app's files unless this node has them; return their directory."""
        cache = self.app_cache(app_id)
        with self._locks_lock:
            lock = self._locks.setdefault(app_id, threading.Lock())
        with lock:
            if cache.is_dir():
                return cache
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = pathlib.Path(tempfile.mkdtemp(prefix="files.fetching-", dir=cache.parent))
            try:
                count = write_chunks(self._fetch(app_id), tmp)
                os.replace(tmp, cache)   # atomic: a cache dir is always complete
            except grpc.RpcError as exc:
                raise LocalizationError(f"cannot fetch the files of {app_id} from resmgr: "
                                        f"{exc.details() if hasattr(exc, 'details') else exc}") from None
            except OSError as exc:
                raise LocalizationError(f"cannot write the files of {app_id}: {exc}") from None
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            log.info("localized %d files of %s", count, app_id)
            return cache

    def localize(self, app_id, work_dir):
        """Copy the app's files (fetched once per node) into ``work_dir``, keeping executable bits."""
        cache = self.ensure_app_files(app_id)
        try:
            shutil.copytree(cache, work_dir, dirs_exist_ok=True, symlinks=False)
        except (OSError, shutil.Error) as exc:
            raise LocalizationError(f"cannot copy the files of {app_id} into {work_dir}: {exc}") from None

    def forget(self, app_id):
        """Delete the app's local data (its cache and work dirs); its logs are kept elsewhere."""
        with self._locks_lock:
            self._locks.pop(app_id, None)
        shutil.rmtree(self._apps_dir / app_id, ignore_errors=True)


def resmgr_fetcher(stub, timeout=FETCH_TIMEOUT_S):
    """A ``fetch(app_id)`` for Localizer that streams from a ResourceTracker stub."""
    def fetch(app_id):
        return stub.FetchAppFiles(resmgr_pb2.FetchAppFilesRequest(app_id=app_id), timeout=timeout)
    return fetch
