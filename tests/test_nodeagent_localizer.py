"""Localization (one fetch per app per node, safe paths, executable bits) and log reading."""

import os
import stat
import threading

import pytest

from nodeagent import logs
from nodeagent.localizer import LocalizationError, Localizer, safe_relative_path, write_chunks
from protos import common_pb2
from tests.polling import wait_until


def _chunks(files):
    """FileChunks for {path: (bytes, executable)}, each file in two pieces."""
    for path, (data, executable) in files.items():
        half = len(data) // 2
        yield common_pb2.FileChunk(path=path, data=data[:half], executable=executable)
        yield common_pb2.FileChunk(path=path, data=data[half:], last=True)


FILES = {"app.py": (b"print('hi')\n", False), "bin/run.sh": (b"#!/bin/sh\necho run\n", True)}


def test_fetches_once_for_concurrent_containers_and_copies_into_each(tmp_path):
    calls, asked = [], []

    def fetch(app_id):
        calls.append(app_id)
        # a fetch still running while every container asks for the files, so the others must wait for it
        wait_until(lambda: len(asked) == len(dirs), 10, "every container to ask for the files", 0.005)
        return _chunks(FILES)

    loc = Localizer(tmp_path, fetch)
    dirs = [tmp_path / "apps" / "app_1" / f"c{i}" for i in range(4)]
    errors = []

    def run(d):
        asked.append(d)
        try:
            loc.localize("app_1", d)
        except Exception as exc:       # surfaced by the assertion below
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(d,)) for d in dirs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors and calls == ["app_1"]
    for d in dirs:
        assert (d / "app.py").read_bytes() == b"print('hi')\n"
        assert os.stat(d / "bin/run.sh").st_mode & stat.S_IXUSR
        assert not os.stat(d / "app.py").st_mode & stat.S_IXUSR
    assert (tmp_path / "apps" / "app_1" / "files" / "bin" / "run.sh").is_file()
    loc.forget("app_1")
    assert not (tmp_path / "apps" / "app_1").exists()


@pytest.mark.parametrize("bad", ["../evil.py", "/etc/passwd", "a/../../b", "", ".."])
def test_paths_escaping_the_directory_are_rejected(tmp_path, bad):
    with pytest.raises(LocalizationError):
        safe_relative_path(tmp_path, bad)
    loc = Localizer(tmp_path, lambda app_id: _chunks({bad: (b"x", False)}))
    with pytest.raises(LocalizationError):
        loc.localize("app_2", tmp_path / "work")
    assert not (tmp_path / "apps" / "app_2" / "files").exists()   # no half-made cache
    assert not (tmp_path.parent / "evil.py").exists()


def test_a_failed_fetch_is_retried_by_the_next_container(tmp_path):
    attempts = []

    def fetch(app_id):
        attempts.append(1)
        if len(attempts) == 1:
            return iter([common_pb2.FileChunk(path="a.py", data=b"x")])   # cut off before its last chunk
        return _chunks(FILES)
    loc = Localizer(tmp_path, fetch)
    with pytest.raises(LocalizationError, match="without its last chunk"):
        loc.localize("app_3", tmp_path / "w1")
    loc.localize("app_3", tmp_path / "w2")
    assert (tmp_path / "w2" / "app.py").exists() and len(attempts) == 2


def test_write_chunks_counts_files(tmp_path):
    assert write_chunks(_chunks(FILES), tmp_path) == 2


def test_read_log_offsets_and_tail(tmp_path):
    path = tmp_path / "stdout"
    path.write_bytes(b"0123456789")
    assert b"".join(d for d, _, _ in logs.read_log(path, 0)) == b"0123456789"
    assert list(logs.read_log(path, -3)) == [(b"789", 7, False), (b"", 10, True)]
    assert list(logs.read_log(path, 4, has_ended=lambda: False)) == [(b"456789", 4, False), (b"", 10, False)]
    assert list(logs.read_log(path, -100))[0] == (b"0123456789", 0, False)
    assert list(logs.read_log(path, 100)) == [(b"", 10, True)]


def test_read_log_follow_streams_until_ended_and_drained(tmp_path):
    path = tmp_path / "stdout"
    path.write_bytes(b"first\n")
    ended, following = threading.Event(), threading.Event()

    def has_ended():
        following.set()  # the reader asks on every pass of its follow loop
        return ended.is_set()

    def writer():
        following.wait(10)  # append only once the reader follows the file
        with open(path, "ab") as f:
            f.write(b"second\n")
        ended.set()
    threading.Thread(target=writer).start()
    pieces = list(logs.read_log(path, 0, follow=True, has_ended=has_ended, poll_s=0.02))
    assert b"".join(d for d, _, _ in pieces) == b"first\nsecond\n"
    assert pieces[-1][2] is True and all(not eof for _, _, eof in pieces[:-1])
