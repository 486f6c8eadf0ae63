"""Regenerate the wire modules from the .proto schemas.

One command (`make proto`) so the generated code is reproducible; the test suite regenerates
into a temporary folder and fails when the committed modules differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent.parent
WIRE = PROTO_ROOT / "pocnet" / "wire"


def generate(out_dir: Path) -> None:
    """Write *_pb2.py, *_pb2.pyi and *_pb2_grpc.py for every schema under `out_dir`."""
    schemas = sorted(p.relative_to(PROTO_ROOT).as_posix() for p in WIRE.glob("*.proto"))
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *schemas,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else PROTO_ROOT)
