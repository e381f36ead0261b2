"""Unit tests of the shared helpers in yarnflow/: sizes, tokens, addresses."""

import grpc
import pytest

from yarnflow import auth, config, resources
from yarnflow.errors import YarnflowError


@pytest.mark.parametrize("text,mb", [("2g", 2048), ("512m", 512), ("1.5G", 1536), ("1024", 1024),
                                     ("1t", 1024 * 1024), ("512k", 1), (300, 300)])
def test_parse_memory(text, mb):
    assert resources.parse_memory_mb(text) == mb


@pytest.mark.parametrize("bad", ["", "g", "2x", "-1g", "1.2.3g", "two gigs"])
def test_parse_memory_rejects_malformed(bad):
    with pytest.raises(YarnflowError, match="malformed memory size"):
        resources.parse_memory_mb(bad)


def test_secret_created_once_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv(auth.SECRET_ENV, raising=False)
    first = auth.load_or_create_secret(tmp_path)
    assert len(first) == 64
    assert auth.load_or_create_secret(tmp_path) == first
    assert (tmp_path / auth.SECRET_FILE_NAME).stat().st_mode & 0o077 == 0


def test_secret_env_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(auth.SECRET_ENV, "from-env")
    assert auth.load_or_create_secret(tmp_path) == "from-env"
    assert auth.read_secret() == "from-env"


def test_read_secret_missing_file_is_clear(tmp_path):
    with pytest.raises(YarnflowError, match="does not exist"):
        auth.read_secret(tmp_path / "nope")


def test_tokens_bind_their_subject():
    assert auth.app_token("s", "app_1") != auth.app_token("s", "app_2")
    assert auth.app_token("s", "app_1") != auth.app_token("t", "app_1")
    tok = auth.container_token("s", "c1", "app_1", "n:1", 20000)
    assert auth.check(tok, auth.container_token("s", "c1", "app_1", "n:1", 20000))
    assert not auth.check(tok, auth.container_token("s", "c1", "app_1", "n:1", 20001))
    assert not auth.check(tok, "")


class _Context:
    def __init__(self, md):
        self._md = md
        self.aborted = None

    def invocation_metadata(self):
        return self._md

    def abort(self, code, details):
        self.aborted = (code, details)
        raise RuntimeError(details)


def test_authenticate_member_app_and_stranger():
    assert auth.authenticate(_Context(auth.member_metadata("s")), "s").is_member
    caller = auth.authenticate(_Context(auth.app_metadata("app_1", auth.app_token("s", "app_1"))), "s")
    assert caller.app_id == "app_1" and caller.may_act_for("app_1") and not caller.may_act_for("app_2")
    ctx = _Context(())
    with pytest.raises(RuntimeError, match="no cluster secret"):
        auth.authenticate(ctx, "s")
    assert ctx.aborted[0] == grpc.StatusCode.UNAUTHENTICATED
    forged = _Context(auth.app_metadata("app_2", auth.app_token("s", "app_1")))
    with pytest.raises(RuntimeError, match="wrong cluster secret or app token"):
        auth.authenticate(forged, "s")


def test_resolve_resmgr_order(monkeypatch, tmp_path):
    monkeypatch.setenv(config.HOME_ENV, str(tmp_path))
    monkeypatch.delenv(config.RESMGR_ENV, raising=False)
    with pytest.raises(YarnflowError, match="no resmgr address"):
        config.resolve_resmgr()
    monkeypatch.setenv(config.RESMGR_ENV, "10.0.0.1:8030")
    assert config.resolve_resmgr() == "10.0.0.1:8030"
    assert config.resolve_resmgr("h:1") == "h:1"
    with pytest.raises(YarnflowError, match="malformed address"):
        config.resolve_resmgr("nohost")
