"""Layering of docs/architecture.md: who may import whom, checked on the source, and no import
cycles."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PACKAGES = {
    "pocnet": ROOT / "proto" / "pocnet",
    "firmware_bridge": ROOT / "firmware_bridge",
    "sim_radio": ROOT / "sim_radio",
    "hotspot": ROOT / "hotspot",
    "oracle": ROOT / "oracle",
}

# docs/architecture.md, "Layout": the folders each package may import from (besides itself).
ALLOWED = {
    "pocnet": set(),
    "firmware_bridge": {"pocnet"},
    "sim_radio": {"pocnet", "firmware_bridge"},
    "hotspot": {"pocnet", "firmware_bridge", "sim_radio"},
    "oracle": {"pocnet"},
}

# Heavy or role-specific libraries a Raspberry Pi hotspot must never import (docs/architecture.md).
# grpcio ("grpc") is the oracle's: its C core alone cost a hotspot 15-17 MB, so the hotspot's
# oracle client is grpclib (issue 15); the daemon's loaded modules are checked in
# tests/hotspot/test_hotspot_app.py.
HOTSPOT_FORBIDDEN = {"solders", "shapely", "shapefile", "psycopg", "numpy", "grpc"}
# ... except in a backend behind an extra the owner opts into: the SDR radio's modem is numpy
# (the `sdr` extra), imported only when `radio.kind = "sdr"` (firmware_bridge/registry.py).
EXTRA_ALLOWED = {ROOT / "firmware_bridge" / "sdr": {"numpy"}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _sources(package: str) -> list[Path]:
    return [p for p in PACKAGES[package].rglob("*.py") if "_pb2" not in p.name]


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_layering(package: str) -> None:
    ours = set(PACKAGES)
    for path in _sources(package):
        wrong = (_imports(path) & ours) - ALLOWED[package] - {package}
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_hotspot_pulls_in_no_oracle_libraries() -> None:
    for package in ("hotspot", "firmware_bridge"):
        for path in _sources(package):
            allowed = set().union(*(v for k, v in EXTRA_ALLOWED.items() if k in path.parents))
            bad = _imports(path) & HOTSPOT_FORBIDDEN - allowed
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


# Run in one fresh interpreter: import the third-party libraries the sources name (they cannot
# be part of a cycle of ours), then fork a child per module of ours, which imports it alone.
# The same check as a fresh interpreter per module, without paying numpy's, grpc's and
# protobuf's import in each of them (that took about a minute of the suite).
_IMPORT_EACH_ALONE = """
import importlib, json, os, sys
libraries, modules = json.loads(sys.stdin.read())
for library in libraries:
    try:
        importlib.import_module(library)
    except Exception:
        pass  # an optional extra that is not installed: the child will say so if it matters
failures = []
for module in modules:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            os._exit(0)
        except BaseException as exc:
            os.write(write, f"{type(exc).__name__}: {exc}"[-300:].encode())
            os._exit(1)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        failures.append([module, message or f"exit status {status}"])
print(json.dumps(failures))
"""


def test_no_import_cycles() -> None:
    """Import each module alone in a fresh interpreter: a cycle shows up as an ImportError."""
    modules = []
    libraries: set[str] = set()
    for package, root in PACKAGES.items():
        for path in _sources(package):
            libraries |= _imports(path) - set(PACKAGES)
            rel = path.relative_to(root).with_suffix("")
            parts = [package, *rel.parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts[-1] == "__main__":
                continue
            modules.append(".".join(parts))
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH_ALONE], input=json.dumps([sorted(libraries), modules]),
        capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
