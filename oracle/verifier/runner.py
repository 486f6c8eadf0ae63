"""The verification runner: claims beacons whose entropy window has closed, matches their
witnesses by identical data, runs the verifier's pure pipeline and stores the verdicts.

Exactly once, even with several workers or replicas: a beacon is claimed atomically (BEGIN
IMMEDIATE on SQLite, FOR UPDATE SKIP LOCKED on PostgreSQL) with a lease, and verdicts are
stored only while the claim is still ours; a report keeps its first verdict. Reports still
unverified 45 min after arrival are then marked `stale`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from oracle.errors import StorageError
from oracle.storage.repository import Repository, StoredReport, StoredVerdict
from oracle.verifier.model import (
    KIND_BEACON,
    KIND_WITNESS,
    BeaconCase,
    VerdictRecord,
    WitnessCase,
)
from oracle.verifier.params import VerifierParams
from oracle.verifier.pipeline import SiteCache, regenerate_payloads, verify_poc
from oracle.verifier.reasons import Reason
from oracle.verifier.storage_context import BatchContext, StorageContext
from pocnet.wire import reports_pb2

DEFAULT_LEASE_MS = 300_000
DEFAULT_BATCH = 200
# Young objects the garbage collector lets pile up before a collection while verifying.
# Python's default (700) runs a collection every few reports: each report makes half a dozen
# tuples and lists, nearly none of them in a cycle, and every tenth young collection also
# scans the middle generation, every hundredth the old one (the SiteCache, a batch's reads).
# ~6 % of `verify`'s CPU over a week of 400 city hotspots (docs/benchmarks.md); cycles are
# still collected, later.
GC_YOUNG_THRESHOLD = 50_000

VerifyFn = Callable[..., list[VerdictRecord]]
_parse_witness = reports_pb2.WitnessReport.FromString
log = logging.getLogger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class RunStats:
    beacons: int
    verdicts: int
    stale: int
    lost_claims: int


@contextmanager
def fewer_collections(young: int = GC_YOUNG_THRESHOLD) -> Iterator[None]:
    """Collect garbage after `young` new objects rather than Python's 700 while the block
    runs, then restore the thresholds it found. The thresholds are the process's: a second
    block overlapping this one (two runners in one process) may restore the raised value,
    which changes only how often cycles are collected."""
    before = gc.get_threshold()
    gc.set_threshold(max(young, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _stored(
    record: VerdictRecord, hotspot_key: bytes, received_ms: int, witnesses: int, now_ms: int
) -> StoredVerdict:
    """The verdict row of `record` (positional: one a report, StoredVerdict's field order)."""
    reason = record.reason
    return StoredVerdict(
        record.report_id, record.kind, hotspot_key, record.beacon_id, received_ms,
        record.valid, None if reason is None else int(reason), record.selected,
        record.location_trust, record.passed_regular, witnesses, record.detail, now_ms,
    )


class VerificationRunner:
    def __init__(
        self,
        repo: Repository,
        params: VerifierParams,
        clock_ms: Callable[[], int],
        worker: str | None = None,
        lease_ms: int = DEFAULT_LEASE_MS,
        batch: int = DEFAULT_BATCH,
        verify: VerifyFn = verify_poc,
    ) -> None:
        self._repo = repo
        self._params = params
        self._clock_ms = clock_ms
        self.worker = worker or default_worker_id()
        self._lease_ms = lease_ms
        self._batch = batch
        self._verify = verify
        self._sites = SiteCache()

    def run_once(
        self,
        now_ms: int | None = None,
        stop: Callable[[], bool] | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> RunStats:
        """Verify every beacon that is ready now, then sweep stale reports.

        `stop` is asked before each batch: a backlog must not hold up a shutdown (whatever is
        left stays pending for the next run, claims of this run were all settled).
        `progress` is told after each batch how many beacons it settled (a progress bar)."""
        with fewer_collections():
            return self._run_once(self._clock_ms() if now_ms is None else now_ms, stop, progress)

    def _run_once(
        self, now: int, stop: Callable[[], bool] | None, progress: Callable[[int], object] | None
    ) -> RunStats:
        beacons = verdicts = lost = 0
        while stop is None or not stop():
            claimed = self._repo.claim_beacons(self.worker, now, self._lease_ms, self._batch)
            if not claimed:
                break
            # The batch's questions in a few set-based reads, not ~4 a report.
            ctx = BatchContext(self._repo, claimed)
            cases = [self._case(beacon) for beacon in claimed]
            # The batch's expected payloads in one vectorised ChaCha12 pass, not one per beacon.
            payloads = regenerate_payloads(cases)
            pocs: list[tuple[bytes, list[StoredVerdict]]] = []
            for beacon, case in zip(claimed, cases, strict=True):
                stored = self.verify_beacon(beacon, ctx, now, case, payloads)
                ctx.record(stored)  # later PoCs of the batch see it as if stored
                pocs.append((beacon.id, stored))
            # The batch's verdicts in one transaction (sql_verification.store_verdict_batch).
            saved = self._repo.store_verdict_batch(self.worker, pocs)
            for (_, stored), ok in zip(pocs, saved, strict=True):
                if ok:
                    beacons += 1
                    verdicts += len(stored)
                else:
                    lost += 1
            if progress is not None:
                progress(len(claimed))
        stale = self._repo.mark_stale(now, self._params.stale_after_ms)
        return RunStats(beacons, verdicts, stale, lost)

    def _case(self, beacon: StoredReport) -> BeaconCase:
        report = beacon.message()
        entropy = self._repo.entropy(bytes(report.remote_entropy))
        return BeaconCase(
            beacon.id, report, beacon.received_ms, None if entropy is None else entropy.timestamp_s
        )

    def verify_beacon(
        self,
        beacon: StoredReport,
        ctx: StorageContext,
        now_ms: int,
        case: BeaconCase | None = None,
        payloads: Mapping[bytes, bytes] | None = None,
    ) -> list[StoredVerdict]:
        """`case` and `payloads` come from run_once's batch; alone, the beacon is read here
        and its payload derived by the pipeline."""
        case = case if case is not None else self._case(beacon)
        ctx.as_of_ms = beacon.received_ms
        matched = ctx.pending_witnesses(beacon.data) if beacon.data else []
        # Every matched report is a witness (pending_witnesses reads no other kind).
        cases = [WitnessCase(w.id, _parse_witness(w.raw), w.received_ms) for w in matched]
        records = self._verify(case, cases, ctx, self._params, now_ms, sites=self._sites,
                               payloads=payloads)
        if matched and self._yields_witnesses(beacon, records, ctx):
            records = [r for r in records if r.kind == KIND_BEACON]
            matched = []
        return self._to_stored(beacon, matched, records, now_ms)

    def _yields_witnesses(
        self, beacon: StoredReport, records: Sequence[VerdictRecord], ctx: StorageContext
    ) -> bool:
        """Witnesses are matched by data alone, and the 51 bytes are heard on air by anyone:
        a beacon that failed a regular check (e.g. a copy whose payload does not follow from
        its entropies) leaves them pending when another beacon with that data still waits,
        instead of pinning its own invalidity on them."""
        own = next(r for r in records if r.kind == KIND_BEACON)
        if own.valid or own.passed_regular:
            return False
        return ctx.other_unverified_beacon(beacon.data or b"", beacon.id)

    @staticmethod
    def _to_stored(
        beacon: StoredReport,
        matched: Sequence[StoredReport],
        records: Sequence[VerdictRecord],
        now_ms: int,
    ) -> list[StoredVerdict]:
        by_id = {w.id: w for w in matched}
        witness_count = sum(1 for r in records if r.kind == KIND_WITNESS)
        out: list[StoredVerdict] = []
        for record in records:
            if record.kind == KIND_BEACON:
                out.append(
                    _stored(record, beacon.hotspot_key, beacon.received_ms, witness_count, now_ms)
                )
            else:
                w = by_id[record.report_id]
                out.append(_stored(record, w.hotspot_key, w.received_ms, 0, now_ms))
        decided = {r.report_id for r in records}
        for w in matched:  # self-witnesses are left out of the PoC but still get a verdict
            if w.id not in decided:
                out.append(
                    StoredVerdict(
                        w.id,
                        KIND_WITNESS,
                        w.hotspot_key,
                        beacon.id,
                        w.received_ms,
                        False,
                        int(Reason.self_witness),
                        False,
                        Decimal(0),
                        False,
                        0,
                        "the beaconer cannot witness its own beacon",
                        now_ms,
                    )
                )
        return out

    async def run(self, stop: asyncio.Event, interval_s: float) -> None:
        """Verify on a schedule until `stop` is set. A storage error (database locked or
        unreachable) is logged and retried next round; anything else ends the task."""
        while not stop.is_set():
            try:
                stats = await asyncio.to_thread(self.run_once, None, stop.is_set)
            except StorageError as exc:
                log.warning("verification round failed, retrying in %g s: %s", interval_s, exc)
            else:
                if stats.beacons or stats.stale or stats.lost_claims:
                    log.info("verified %d beacons (%d verdicts), %d stale, %d claims lost",
                             stats.beacons, stats.verdicts, stats.stale, stats.lost_claims)
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval_s)
            except TimeoutError:
                pass
