"""The SQLite state store and the staging store, on a temp dir."""

import os
import sqlite3

import pytest

from protos import common_pb2, resmgr_pb2
from resmgr import apps as A
from resmgr.core import ClusterState, LaunchAM
from resmgr.model import Res
from resmgr.staging import StagingError, StagingStore
from resmgr.store import StateStore


def make_spec(name="job"):
    return resmgr_pb2.ApplicationSpec(name=name, entry="app.py", roles=[resmgr_pb2.RoleSpec(
        name="worker", count=2, resource=common_pb2.Resource(vcores=1, memory_mb=512))])


def test_apps_survive_a_reopen_and_unfinished_ones_start_again(tmp_path):
    store = StateStore(tmp_path / "state.db")
    m = A.AppManager()
    for i, name in enumerate(["done", "pending"]):
        spec = make_spec(name)
        app = m.submit(f"app_1_000{i + 1}", spec, spec.SerializeToString(), name, "q", now=10.0 + i)
        store.save_app(app)
    m.start_attempt("app_1_0001")
    m.fail("app_1_0001", "it broke", now=20.0)
    store.save_app(m.get("app_1_0001"))
    store.close()
    assert sqlite3.connect(tmp_path / "state.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    loaded = StateStore(tmp_path / "state.db").load_apps(resmgr_pb2.ApplicationSpec.FromString)
    assert [a.app_id for a in loaded] == ["app_1_0001", "app_1_0002"]
    assert (loaded[0].state, loaded[0].diagnostics, loaded[0].am_attempt) == (A.FAILED, "it broke", 1)
    assert loaded[1].spec.name == "pending" and loaded[1].spec.roles[0].count == 2

    cluster = ClusterState()
    for app in loaded:
        assert cluster.restore(app, now=30.0) == []  # no node yet: the AM waits
    actions = cluster.register_node("n1", "h", Res(2, 2048), 0, 0, [], now=31.0)
    (launch,) = [a for a in actions if isinstance(a, LaunchAM)]
    assert launch.app_id == "app_1_0002" and launch.attempt == 1


def stage(store, files):
    chunks = []
    for path, data in files.items():
        for k in range(0, max(len(data), 1), 4):
            chunks.append(common_pb2.FileChunk(path=path, data=data[k:k + 4], executable=k == 0 and path.endswith(".sh"),
                                               last=k + 4 >= len(data)))
    return store.stage(chunks)


def test_staging_moves_files_to_the_app_and_streams_them_back(tmp_path):
    store = StagingStore(tmp_path, chunk_size=5)
    sid, nbytes, nfiles = stage(store, {"app.py": b"print('hi')\n", "lib/run.sh": b"echo", "empty": b""})
    assert (nbytes, nfiles) == (16, 3)
    assert store.has_file(sid, "app.py") and not store.has_file(sid, "nope.py")
    files_dir = store.claim(sid, "app_1_0001")
    assert files_dir == tmp_path / "apps" / "app_1_0001" / "files"
    assert not (tmp_path / "staging" / sid).exists()
    assert os.access(files_dir / "lib" / "run.sh", os.X_OK)
    got = {}
    for chunk in store.iter_files("app_1_0001"):
        assert len(chunk.data) <= 5
        got[chunk.path] = got.get(chunk.path, b"") + chunk.data
    assert got == {"app.py": b"print('hi')\n", "lib/run.sh": b"echo", "empty": b""}


@pytest.mark.parametrize("bad", ["../evil.py", "/etc/passwd", "a/../../x", "", "a/./../../b"])
def test_staging_refuses_paths_escaping_the_dir(tmp_path, bad):
    store = StagingStore(tmp_path)
    with pytest.raises(StagingError, match="path"):
        store.stage([common_pb2.FileChunk(path=bad, data=b"x", last=True)])
    assert list((tmp_path / "staging").iterdir()) == []  # nothing half-staged is left behind


def test_staging_enforces_its_size_limit_and_single_use(tmp_path):
    store = StagingStore(tmp_path, max_bytes=10)
    with pytest.raises(StagingError, match="more than 10 bytes"):
        store.stage([common_pb2.FileChunk(path="big", data=b"x" * 11, last=True)])
    sid, _, _ = StagingStore(tmp_path).stage([common_pb2.FileChunk(path="a", data=b"1", last=True)])
    store.claim(sid, "app_1_0001")
    with pytest.raises(StagingError, match="unknown staging id"):
        store.claim(sid, "app_1_0002")
    with pytest.raises(StagingError, match="unknown staging id"):
        store.claim("../apps", "app_1_0002")
