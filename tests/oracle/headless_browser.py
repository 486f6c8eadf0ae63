"""A real headless Chromium (Debian's `chromium`) loading a local page with every host name
unresolvable, so a page that needs the network shows it. Returns the DOM after the page's
scripts ran and the console messages Chromium logged."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Chromium logs every console message (log, warning, error, uncaught exception) this way.
CONSOLE_LINE = re.compile(r":CONSOLE(?:\(\d+\))?:?\d*\] (.*)")

requires_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)


@dataclass(frozen=True)
class Loaded:
    dom: str
    console: list[str]


def load(page: Path, budget_ms: int = 20_000) -> Loaded:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="pocnet-chromium-") as profile:
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             "--host-resolver-rules=MAP * ~NOTFOUND", f"--virtual-time-budget={budget_ms}",
             "--dump-dom", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=300,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return Loaded(done.stdout, CONSOLE_LINE.findall(done.stderr))
