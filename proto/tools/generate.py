"""Regenerate the wire modules from the .proto schemas.

One command (`make proto`) so the generated code is reproducible; the test suite regenerates
into a temporary folder and fails when the committed modules differ.

Two kinds of gRPC stubs come from the same schemas: `*_pb2_grpc.py` for grpcio (the oracle,
the simulator, the tests' servers) and `*_grpc.py` for grpclib, the pure-Python client the
hotspot uses because grpcio's C core costs a small board 15-17 MB (issue 15).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent.parent
WIRE = PROTO_ROOT / "pocnet" / "wire"


def _grpclib_plugin() -> str:
    """grpclib's protoc plugin, installed beside this interpreter: `make proto` runs the venv's
    Python without the venv's bin folder on PATH, where protoc would look for it."""
    found = shutil.which("protoc-gen-grpclib_python", path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit("protoc-gen-grpclib_python not found: install grpclib (pocnet[test])")
    return found


def generate(out_dir: Path) -> None:
    """Write *_pb2.py, *_pb2.pyi, *_pb2_grpc.py and *_grpc.py for every schema under
    `out_dir`."""
    schemas = sorted(p.relative_to(PROTO_ROOT).as_posix() for p in WIRE.glob("*.proto"))
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--plugin=protoc-gen-grpclib_python={_grpclib_plugin()}",
        f"--grpclib_python_out={out_dir}",
        *schemas,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else PROTO_ROOT)
