"""Regenerate the protobuf and gRPC code of every .proto in this folder.

Run from anywhere: ``python -m protos.generate`` (or ``python protos/generate.py``).
The generated ``*_pb2.py``, ``*_pb2_grpc.py`` and ``*_pb2.pyi`` files are committed.
"""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def proto_files():
    """The .proto files, relative to the repository root, sorted."""
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "protos").glob("*.proto"))


def generate(out_dir=ROOT):
    """Run protoc on every proto, writing into ``out_dir`` (the repository root by default)."""
    from grpc_tools import protoc
    import importlib.resources

    include = str(importlib.resources.files("grpc_tools") / "_proto")
    args = ["protoc", f"-I{ROOT}", f"-I{include}", f"--python_out={out_dir}",
            f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}", *proto_files()]
    code = protoc.main(args)
    if code != 0:
        raise RuntimeError(f"protoc failed with exit code {code}")


if __name__ == "__main__":
    generate(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
