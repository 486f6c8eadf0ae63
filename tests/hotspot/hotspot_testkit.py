"""Shared pieces of the hotspot tests: settings in a temp dir, polling for network I/O."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hotspot import settings
from hotspot.keystore import KeyStore


def make_settings(tmp: Path, endpoint: str = "127.0.0.1:1", **sections: dict[str, Any]):
    """Valid settings for a sim-radio daemon in `tmp`, creating its key file once."""
    key = tmp / "hotspot.key"
    if not key.exists():
        KeyStore.create(key)
    data: dict[str, dict[str, Any]] = {
        "key": {"file": str(key)},
        "oracle": {"endpoints": [endpoint], "timeout_s": 2.0},
        "radio": {"kind": "sim"},
        "outbox": {"path": str(tmp / "outbox.sqlite")},
        "metrics": {"port": 0},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return settings.from_mapping(data, env={})


async def eventually(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Wait for real network I/O (gRPC on loopback) to make `condition` true."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


async def advance_until(clock, condition: Callable[[], bool], step_s: float = 60.0,
                        timeout_s: float = 20.0) -> None:
    """Move the fake clock in steps, letting real loopback I/O run between them."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await clock.advance(step_s)
        await asyncio.sleep(0.01)


async def quiet(probe: Callable[[], object], settle_s: float = 0.03,
                timeout_s: float = 10.0) -> None:
    """Wait (real time) until `probe()` stops changing for `settle_s`: loopback I/O is done."""
    deadline = time.monotonic() + timeout_s
    last = probe()
    stable_since = time.monotonic()
    while time.monotonic() - stable_since < settle_s:
        if time.monotonic() > deadline:
            raise AssertionError("never went quiet")
        await asyncio.sleep(0.002)
        now = probe()
        if now != last:
            last, stable_since = now, time.monotonic()


async def run_quietly(clock, seconds: float, probe: Callable[[], object],
                      hook: Callable[[int], object] | None = None) -> None:
    """Advance fake time deadline by deadline, letting real I/O finish after each wake-up.

    `hook(now_ns)` runs before each step (tests put frames on the air from it).
    """
    end = clock.now_ns() + int(seconds * 1e9)
    await quiet(probe)
    while True:
        nxt = clock.next_deadline_ns
        if hook is not None:
            hook_next = hook(clock.now_ns())
            if isinstance(hook_next, int) and (nxt is None or hook_next < nxt):
                nxt = hook_next
        if nxt is None or nxt > end:
            break
        await clock.advance(max(0, nxt - clock.now_ns()) / 1e9)
        await quiet(probe)
    await clock.advance(max(0, end - clock.now_ns()) / 1e9)
    await quiet(probe)


def fill_disk(box: Any) -> None:
    """SQLite's own "disk full" (SQLITE_FULL, as on ENOSPC): no page may be added."""
    pages = box._db.execute("PRAGMA page_count").fetchone()[0]
    box._db.execute(f"PRAGMA max_page_count = {pages}")


def frames_dropped(metrics: Any) -> dict[str, float]:
    """`pocnet_hotspot_frames_dropped_total` by reason, as a scrape would read it."""
    return {s.labels["reason"]: s.value for family in metrics.registry.collect()
            if family.name == "pocnet_hotspot_frames_dropped" for s in family.samples
            if s.name.endswith("_total")}
