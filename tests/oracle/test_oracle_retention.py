"""Retention (issue 10 item 4): raw reports whose verification is over go after `raw_days`,
exactly at the boundary, archived first when asked; verdicts stay; unverified reports stay."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import pytest
from oracle_factories import keypair, witness_report

from oracle.ingest import Ingestor
from oracle.retention import DAY_MS, MIN_RAW_DAYS, Pruner
from oracle.settings import Settings
from pocnet.keys import Network

NOW_MS = 100 * DAY_MS
RAW_DAYS = 3.0
CUTOFF_MS = NOW_MS - 3 * DAY_MS
INGEST = Ingestor(None, None, Network.MAINNET, lambda: 0)  # type: ignore[arg-type]


def _row(seed: int, received_ms: int):  # type: ignore[no-untyped-def]
    row = INGEST.prepare("witness", witness_report(keypair(seed), timestamp_ns=received_ms + 1))
    return row._replace(received_ms=received_ms)


def _stored(repo) -> set[bytes]:  # type: ignore[no-untyped-def]
    with repo.transaction() as tx:
        tx.execute("SELECT id FROM reports")
        return {bytes(r[0]) for r in tx.fetchall()}


def test_finished_reports_older_than_raw_days_go_verdicts_stay(repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old = _row(1, CUTOFF_MS - 1)  # one millisecond past the retention: removed
    edge = _row(2, CUTOFF_MS)  # exactly raw_days old: kept
    young = _row(3, NOW_MS - DAY_MS)
    unverified = _row(4, CUTOFF_MS - 5)
    repo.insert_reports([old, edge, young])
    repo.mark_stale(NOW_MS, 45 * 60_000)  # verification over: stale verdicts written
    repo.insert_reports([unverified])  # still pending: never removed
    pruner = Pruner(repo, RAW_DAYS, lambda: NOW_MS, str(tmp_path), batch=2)
    result = pruner.run_once()
    assert result.reports == 1 and result.raw_bytes == len(old.raw)
    assert _stored(repo) == {edge.id, young.id, unverified.id}
    assert repo.verdict(old.id) is not None  # reciprocity and rewards read verdicts
    [archive] = result.archives
    lines = gzip.decompress(Path(archive).read_bytes()).decode().splitlines()
    entry = json.loads(lines[0])
    assert len(lines) == 1 and bytes.fromhex(entry["id"]) == old.id
    assert base64.b64decode(entry["raw"]) == old.raw and entry["status"] == "stale"
    assert not list(tmp_path.glob("*.partial"))
    assert pruner.run_once().reports == 0  # nothing left to do


def test_batches_until_done_without_archive(repo) -> None:  # type: ignore[no-untyped-def]
    rows = [_row(10 + i, CUTOFF_MS - 1000 - i) for i in range(7)]
    repo.insert_reports(rows)
    repo.mark_stale(NOW_MS, 45 * 60_000)
    result = Pruner(repo, RAW_DAYS, lambda: NOW_MS, batch=3).run_once()
    assert result.reports == 7 and result.archives == ()
    assert _stored(repo) == set()


def test_an_archive_that_cannot_be_written_deletes_nothing(repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from oracle.errors import StorageError

    row = _row(30, CUTOFF_MS - 1)
    repo.insert_reports([row])
    repo.mark_stale(NOW_MS, 45 * 60_000)
    gone = tmp_path / "gone"
    gone.mkdir()
    pruner = Pruner(repo, RAW_DAYS, lambda: NOW_MS, str(gone))
    gone.rmdir()
    with pytest.raises(StorageError, match="cannot write archive"):
        pruner.run_once()
    assert _stored(repo) == {row.id}


def test_raw_days_below_the_minimum_is_refused() -> None:
    from oracle.errors import SettingsError

    assert MIN_RAW_DAYS * 24 > 60  # covers the rewards' 60 h interactivity window
    with pytest.raises(ValueError):
        Pruner(None, 2.99, lambda: 0)  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match=r"retention\.raw_days: must be >= 3"):
        Settings().with_("retention", raw_days=2.9)
    assert Settings().with_("retention", raw_days=3.0).retention.raw_days == 3.0


def test_re_verification_keeps_the_verdicts_of_removed_reports(repo) -> None:  # type: ignore[no-untyped-def]
    """With nothing left to verify again, resetting a removed report's verdict would lose it."""
    removed, kept = _row(40, CUTOFF_MS - 10), _row(41, CUTOFF_MS + 10)
    repo.insert_reports([removed, kept])
    repo.mark_stale(NOW_MS, 45 * 60_000)
    Pruner(repo, RAW_DAYS, lambda: NOW_MS).run_once()
    assert repo.reset_verification(CUTOFF_MS - DAY_MS, NOW_MS) == 1  # only the kept one
    assert repo.verdict(removed.id) is not None and repo.verdict(kept.id) is None
