"""Layering of docs/architecture.md: who may import whom, checked on the source, and no import
cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
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


def test_no_import_cycles() -> None:
    """Import each module in a fresh interpreter: a cycle shows up as an ImportError."""
    modules = []
    for package, root in PACKAGES.items():
        for path in _sources(package):
            rel = path.relative_to(root).with_suffix("")
            parts = [package, *rel.parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts[-1] == "__main__":
                continue
            modules.append(".".join(parts))
    def import_alone(module: str) -> tuple[str, str] | None:
        done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
        return None if done.returncode == 0 else (module, done.stderr.decode()[-300:])

    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = [result for result in pool.map(import_alone, modules) if result]
    assert not failures, failures
