"""`oracle.server.serve` supervising its background tasks: a crashed verification or entropy
task stops the process with an error (systemd restarts it) instead of leaving ingest running
with nothing verified; a storage hiccup is logged and retried; stop ends the loop between
batches."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest

from oracle.errors import StorageError, TaskFailed
from oracle.server import serve
from oracle.verifier.model import BeaconCase
from oracle.verifier.runner import RunStats, VerificationRunner

EMPTY = RunStats(0, 0, 0, 0)


def _fast(settings):  # type: ignore[no-untyped-def]
    return settings.with_("verifier", interval_s=0.01).with_("oracle", listen="127.0.0.1:0")


def test_a_crashed_verifier_stops_serve(oracle_settings, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    settings, _ = oracle_settings

    def boom(self, now_ms=None, stop=None):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(VerificationRunner, "run_once", boom)
    with caplog.at_level(logging.ERROR, logger="oracle"), pytest.raises(TaskFailed) as info:
        asyncio.run(asyncio.wait_for(serve(_fast(settings)), 20))
    assert "verifier" in str(info.value) and "disk on fire" in str(info.value)
    assert "disk on fire" in caplog.text


def test_storage_errors_are_logged_and_retried(oracle_settings, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    settings, _ = oracle_settings
    calls: list[int] = []

    async def main() -> None:
        stop = asyncio.Event()

        def flaky(self, now_ms=None, stop=None):  # type: ignore[no-untyped-def]
            calls.append(1)
            if len(calls) >= 3:
                loop.call_soon_threadsafe(stop_event.set)
                return EMPTY
            raise StorageError("database is locked")

        loop = asyncio.get_running_loop()
        stop_event = stop
        monkeypatch.setattr(VerificationRunner, "run_once", flaky)
        await asyncio.wait_for(serve(_fast(settings), stop=stop), 20)

    with caplog.at_level(logging.WARNING, logger="oracle"):
        asyncio.run(main())
    assert len(calls) >= 3
    assert caplog.text.count("database is locked") == 2


@pytest.mark.timeout(10)
def test_run_once_stops_between_batches() -> None:
    """A backlog that never ends (claims always find work) still lets SIGTERM through."""
    from oracle.verifier.params import VerifierParams

    claims: list[int] = []

    class Backlog:
        def claim_beacons(self, worker, now_ms, lease_ms, limit):  # type: ignore[no-untyped-def]
            claims.append(1)
            return [SimpleNamespace(id=b"b", received_ms=0)]

        def store_verdicts(self, worker, beacon_id, verdicts):  # type: ignore[no-untyped-def]
            return True

        def store_verdict_batch(self, worker, pocs):  # type: ignore[no-untyped-def]
            return [True] * len(pocs)

        def mark_stale(self, now_ms, stale_after_ms):  # type: ignore[no-untyped-def]
            return 0

    runner = VerificationRunner(Backlog(), VerifierParams(), lambda: 0)  # type: ignore[arg-type]
    # No entropy known: the batch derives no payload, and verification itself is stubbed.
    runner._case = lambda beacon: BeaconCase(beacon.id, None, 0, None)  # type: ignore[method-assign,arg-type]
    runner.verify_beacon = lambda beacon, ctx, now, *batch: []  # type: ignore[method-assign]
    stats = runner.run_once(stop=lambda: len(claims) >= 2)
    assert len(claims) == 2 and stats.beacons == 2
