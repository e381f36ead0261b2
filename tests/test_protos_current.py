"""The committed generated protobuf code must match what protoc makes from the .proto files today."""

import pathlib

import pytest

from protos import generate

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_generated_code_is_current(tmp_path):
    pytest.importorskip("grpc_tools")
    generate.generate(tmp_path)
    fresh = sorted((tmp_path / "protos").glob("*_pb2*.py*"))
    assert fresh, "protoc produced nothing"
    for path in fresh:
        committed = ROOT / "protos" / path.name
        assert committed.exists(), f"{committed} is missing: run `python -m protos.generate`"
        assert committed.read_text() == path.read_text(), (
            f"{committed.name} is stale: run `python -m protos.generate` and commit the result")
    committed_names = {p.name for p in (ROOT / "protos").glob("*_pb2*.py*")}
    assert committed_names == {p.name for p in fresh}, "generated files without a .proto (or the reverse)"
