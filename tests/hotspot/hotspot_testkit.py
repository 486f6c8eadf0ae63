"""Shared pieces of the hotspot tests: settings in a temp dir, polling for network I/O."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

from hotspot import settings
from hotspot.keystore import KeyStore
from hotspot.outbox import AsyncOutbox, Outbox


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
                timeout_s: float = 60.0, idle: Callable[[], bool] | None = None) -> None:
    """Wait (real time) until `idle()` holds (when given) and `probe()` has not changed for
    `settle_s`: loopback I/O is done. `idle` is the event a test can name exactly (every
    queued report acknowledged, every due beacon handled); the settle time only catches what it
    cannot name, so a busy machine makes the wait longer, never the fake clock run ahead."""
    deadline = time.monotonic() + timeout_s
    last = probe()
    stable_since = time.monotonic()
    while True:
        while time.monotonic() - stable_since < settle_s or (idle is not None and not idle()):
            if time.monotonic() > deadline:
                raise AssertionError("never went quiet")
            await asyncio.sleep(0.002)
            now = probe()
            if now != last:
                last, stable_since = now, time.monotonic()
        # What the last event started takes its first step on the loop's next turns: the
        # beaconer logs a refusal, then its backoff sleep (a task of `until`) registers with
        # the fake clock a turn or two later. Let it, or the caller reads the clock's next
        # deadline without it and runs past the retry.
        for _ in range(3):
            await asyncio.sleep(0)
        if probe() == last and (idle is None or idle()):
            return
        last, stable_since = probe(), time.monotonic()


class BeaconerEvents(logging.Handler):
    """Counts the beaconer's wake-ups that are due and those it has finished handling.

    Every scheduled wake-up (`beacon_scheduled`, at `at_ns`) ends in exactly one outcome event
    (sent, skipped, deferred, impossible, failed, entropy refused), so "every due wake-up has
    its outcome" is the event that the beaconer is done with real I/O (entropy, reports)."""

    OUTCOMES = frozenset({"beacon_sent", "beacon_skipped", "beacon_deferred",
                          "beacon_impossible", "beacon_failed", "entropy_refused"})

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.scheduled_ns: list[int] = []
        self.outcomes = 0

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "event", None)
        if event == "beacon_scheduled":
            self.scheduled_ns.append(int(getattr(record, "at_ns", 0)))
        elif event in self.OUTCOMES:
            self.outcomes += 1

    def all_handled(self, now_ns: int) -> bool:
        return self.outcomes >= sum(1 for at in self.scheduled_ns if at <= now_ns)

    def __enter__(self) -> BeaconerEvents:
        logger = logging.getLogger("hotspot.beaconer")
        self._level = logger.level
        logger.setLevel(logging.INFO)
        logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger("hotspot.beaconer")
        logger.removeHandler(self)
        logger.setLevel(self._level)


async def run_quietly(clock, seconds: float, probe: Callable[[], object],
                      hook: Callable[[int], object] | None = None,
                      idle: Callable[[], bool] | None = None) -> None:
    """Advance fake time deadline by deadline, letting real I/O finish after each wake-up.

    `hook(now_ns)` runs before each step (tests put frames on the air from it); `idle()`, when
    given, must hold before time moves on (see `quiet`).
    """
    end = clock.now_ns() + int(seconds * 1e9)
    await quiet(probe, idle=idle)
    while True:
        nxt = clock.next_deadline_ns
        if hook is not None:
            hook_next = hook(clock.now_ns())
            if isinstance(hook_next, int) and (nxt is None or hook_next < nxt):
                nxt = hook_next
        if nxt is None or nxt > end:
            break
        await clock.advance(max(0, nxt - clock.now_ns()) / 1e9)
        await quiet(probe, idle=idle)
    await clock.advance(max(0, end - clock.now_ns()) / 1e9)
    await quiet(probe, idle=idle)


def fill_disk(box: Any) -> None:
    """SQLite's own "disk full" (SQLITE_FULL, as on ENOSPC): no page may be added."""
    pages = box._db.execute("PRAGMA page_count").fetchone()[0]
    box._db.execute(f"PRAGMA max_page_count = {pages}")


def frames_dropped(metrics: Any) -> dict[str, float]:
    """`pocnet_hotspot_frames_dropped_total` by reason, as a scrape would read it."""
    return scraped(metrics, "pocnet_hotspot_frames_dropped")


def scraped(metrics: Any, name: str) -> dict[str, float]:
    """One family's samples by their (single) label value ("" unlabelled), as Prometheus reads
    the daemon's scrape: parsed by prometheus_client's parser, an outside reference."""
    from prometheus_client.parser import text_string_to_metric_families

    return {next(iter(s.labels.values()), ""): s.value
            for family in text_string_to_metric_families(metrics.exposition().decode())
            for s in family.samples if s.name in (name, name + "_total")}


class InlineWorker(Executor):
    """Runs each outbox operation at once on the caller's thread, so a task's test stays
    deterministic on the fake clock (the daemon runs them on AsyncOutbox's worker thread,
    which test_hotspot_outbox and the app tests exercise)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        done: Future = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except Exception as exc:
            done.set_exception(exc)
        return done


def task_outbox(box: Outbox) -> AsyncOutbox:
    """The handle a task under test gets on `box` (which the test keeps reading directly)."""
    return AsyncOutbox(box, InlineWorker())
