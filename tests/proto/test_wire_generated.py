"""The committed wire modules must be exactly what `make proto` generates from the schemas."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WIRE = ROOT / "proto" / "pocnet" / "wire"
# protobuf (*_pb2.py, *_pb2.pyi), grpcio stubs (*_pb2_grpc.py) and grpclib stubs (*_grpc.py).
GENERATED = ("*_pb2*.py*", "*_grpc.py")


def _generated(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for pattern in GENERATED for p in folder.glob(pattern)}


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "generate", ROOT / "proto" / "tools" / "generate.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_generated_modules_are_fresh(tmp_path: Path) -> None:
    _load_generator().generate(tmp_path)
    fresh = _generated(tmp_path / "pocnet" / "wire")
    committed = _generated(WIRE)
    assert fresh, "protoc produced nothing"
    assert sorted(committed) == sorted(fresh), "a schema was added or removed: run `make proto`"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale generated modules (run `make proto`): {stale}"


def test_every_schema_has_generated_modules() -> None:
    for schema in WIRE.glob("*.proto"):
        for module in ("_pb2.py", "_pb2_grpc.py", "_grpc.py"):
            assert (WIRE / f"{schema.stem}{module}").exists(), schema.stem + module
