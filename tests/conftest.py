"""Shared pytest fixtures: a real local cluster (see tests/cluster.py)."""

import pytest

from tests.cluster import LocalTestCluster


@pytest.fixture
def cluster(tmp_path):
    """A started resmgr with no nodes yet (add them with ``cluster.add_node``), torn down after the test."""
    with LocalTestCluster(tmp_path / "cluster") as started:
        yield started


@pytest.fixture
def yarnflow_home(tmp_path, monkeypatch):
    """A private ``$YARNFLOW_HOME`` with no resmgr address or secret in the environment."""
    home = tmp_path / "home"
    monkeypatch.setenv("YARNFLOW_HOME", str(home))
    for name in ("YARNFLOW_RESMGR", "YARNFLOW_SECRET", "YARNFLOW_SECRET_FILE"):
        monkeypatch.delenv(name, raising=False)
    return home
