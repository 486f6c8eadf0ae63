"""Retention of raw reports (issue 10 item 4): the database grows with the network, not with
time.

A report's raw bytes matter until its verification is over and the windows that read reports
have passed; after that only its verdict counts (reciprocity, docs/protocol.md §5, and the rewards'
interactivity window read verdicts, which are kept for good, as are rewards and manifests).
So reports whose verification is over (verified or stale; coverage reports once stored) and
that arrived more than `raw_days` ago are deleted in batches, each batch first written to a
gzip-compressed JSON-lines file in `archive_dir` when one is set. A batch is deleted only after
its archive file is on disk (written, fsynced, renamed), so a crash between the two leaves the
rows in the database and at worst an archive file that holds them twice.

`raw_days` may not be below `MIN_RAW_DAYS`: the irregular-interval check reads the last 6 h of
beacons, GPS trust reads the last fix, and an operator re-verifying the last epochs
(`verify --reset`) needs their reports; three days cover the 60 h interactivity window.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from oracle.errors import StorageError
from oracle.storage.repository import Repository, StoredReport

DAY_MS = 86_400_000
MIN_RAW_DAYS = 3.0
DEFAULT_BATCH = 10_000
PRUNER_LOCK = "retention"  # one replica prunes at a time (Repository.exclusive)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PruneResult:
    reports: int
    raw_bytes: int
    archives: tuple[str, ...]


def archive_line(report: StoredReport) -> str:
    """One report as a JSON line: enough to restore the row (the raw bytes are the record)."""
    return json.dumps({
        "id": report.id.hex(), "kind": report.kind, "hotspot_key": report.hotspot_key.hex(),
        "received_ms": report.received_ms, "status": report.status,
        "raw": base64.b64encode(report.raw).decode("ascii"),
    }, separators=(",", ":"))


def write_archive(directory: Path, reports: list[StoredReport]) -> Path:
    """Write, fsync and rename one batch's archive file; returns its path."""
    first, last = reports[0], reports[-1]
    name = f"reports-{first.received_ms}-{last.received_ms}-{first.id.hex()[:12]}.jsonl.gz"
    final = directory / name
    partial = directory / (name + ".partial")
    with open(partial, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as out:
        for report in reports:
            out.write(archive_line(report).encode("ascii") + b"\n")
        out.flush()
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(partial, final)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return final


class Pruner:
    def __init__(
        self,
        repo: Repository,
        raw_days: float,
        clock_ms: Callable[[], int],
        archive_dir: str = "",
        batch: int = DEFAULT_BATCH,
    ) -> None:
        if raw_days < MIN_RAW_DAYS:
            raise ValueError(f"raw_days must be at least {MIN_RAW_DAYS:g}")
        self._repo = repo
        self.raw_days = raw_days
        self._clock_ms = clock_ms
        self._archive = Path(archive_dir) if archive_dir else None
        self._batch = batch

    def run_once(self) -> PruneResult:
        """Archive (if configured) and delete every finished report older than `raw_days`,
        one batch at a time so no transaction or archive file grows without bound."""
        with self._repo.exclusive(PRUNER_LOCK) as ours:
            if not ours:  # another replica is pruning: it would archive the same batches
                return PruneResult(0, 0, ())
            return self._prune()

    def _prune(self) -> PruneResult:
        before_ms = self._clock_ms() - int(self.raw_days * DAY_MS)
        total = size = 0
        archives: list[str] = []
        while reports := self._repo.finished_reports(before_ms, self._batch):
            if self._archive is not None:
                try:
                    archives.append(str(write_archive(self._archive, reports)))
                except OSError as exc:
                    raise StorageError(f"cannot write archive in {self._archive}: "
                                       f"{exc.strerror}") from None
            deleted = self._repo.delete_reports([r.id for r in reports])
            total += deleted
            size += sum(len(r.raw) for r in reports)
            if len(reports) < self._batch or deleted == 0:  # 0: re-verification took them
                break
        return PruneResult(total, size, tuple(archives))

    async def run(self, stop: asyncio.Event, interval_s: float) -> None:
        """Prune every `interval_s` until `stop`; a storage error waits for the next round."""
        while not stop.is_set():
            try:
                result = await asyncio.to_thread(self.run_once)
                if result.reports:
                    log.info("retention: %d reports (%d bytes) older than %g days removed%s",
                             result.reports, result.raw_bytes, self.raw_days,
                             f", archived in {len(result.archives)} files"
                             if result.archives else "")
            except StorageError as exc:
                log.warning("retention: %s; retrying in %g s", exc, interval_s)
            try:
                await asyncio.wait_for(stop.wait(), interval_s)
            except TimeoutError:
                pass
