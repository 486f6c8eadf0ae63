"""The verifier's `VerifierContext` over the Repository (docs/storage.md): per question, and for
a batch of beacons in a few set-based queries.

`StorageContext` asks the database once per question, and a witness asks four (denied, edge
denied, last GPS fix, reciprocity): ~4 queries a report. A batch of beacons asks about a known
set of hotspots at a known span of times, so `BatchContext` reads what those questions need on
its first question (registrations, the denylist, each hotspot's reciprocity history and GPS
fixes over the batch's span) and answers from memory, exactly as the per-report reads would:

- a question outside what was read (a hotspot or a time the batch did not announce) goes to
  the per-report read of `StorageContext`;
- the runner stores the whole batch's verdicts at its end, in one transaction, and tells
  `record` each PoC's verdicts as they are decided; every read that those verdicts would
  change (a witness's reciprocity, a beaconer's, whether a beacon already used its window,
  which witnesses are still pending, whether another beacon with the same data still waits)
  adds them, so a later beacon of the batch sees its predecessors as if they were stored
  (verdicts and statuses are all that verification itself changes).

What another worker stores while this batch runs is not seen until the next batch, nor is a
witness that ingest stores meanwhile (its beacon's entropy window had closed when the beacon
was claimed, so it arrived too late to count, and is marked stale like one that arrives just
after its beacon's verification); with
several workers the order in which PoCs are verified was never fixed anyway. If this worker's
lease on a beacon ran out meanwhile, its verdicts are not stored, but later PoCs of the batch
counted them: the worker that took the beacon over computes the same verdicts from the same
history.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence

from oracle.storage.repository import Registration, Repository, StoredReport, StoredVerdict
from oracle.verifier.model import KIND_BEACON, KIND_WITNESS, HotspotRecord
from pocnet.beacon import BEACON_WINDOW_S


def hotspot_record(reg: Registration) -> HotspotRecord:
    return HotspotRecord(
        key=reg.hotspot_key,
        owner=reg.owner_wallet,
        location=reg.location,
        gain_dbi_x10=reg.gain_dbi_x10,
        elevation_m=reg.elevation_m,
        capability=reg.capability,
        region=reg.region,
    )


class StorageContext:
    """One read per question: the reference semantics, and `BatchContext`'s fallback."""

    def __init__(self, repo: Repository) -> None:
        self._repo = repo
        self._hotspots: dict[bytes, HotspotRecord | None] = {}
        # Reciprocity counts only reports received before the beacon under verification, so
        # re-verifying an old time range (`verify --from --to`) sees what the live run saw.
        self.as_of_ms: int | None = None

    def hotspot(self, key: bytes) -> HotspotRecord | None:
        if key not in self._hotspots:
            reg = self._repo.hotspot(key)
            self._hotspots[key] = None if reg is None else hotspot_record(reg)
        return self._hotspots[key]

    def is_denied(self, key: bytes) -> bool:
        return self._repo.is_denied(key, self.as_of_ms)

    def is_edge_denied(self, a: bytes, b: bytes) -> bool:
        return self._repo.is_edge_denied(a, b, self.as_of_ms)

    def beacon_in_window(self, key: bytes, window_start_s: int, exclude_id: bytes) -> bool:
        start_ms = window_start_s * 1000
        return self._repo.beacon_in_window(
            key, start_ms, start_ms + BEACON_WINDOW_S * 1000, exclude_id
        )

    def last_valid_witness_ms(self, key: bytes) -> int | None:
        return self._repo.last_valid_witness_ms(key, self.as_of_ms)

    def last_valid_beacon_ms(self, key: bytes) -> int | None:
        return self._repo.last_valid_beacon_ms(key, self.as_of_ms)

    def last_fix(self, key: bytes, before_ms: int) -> tuple[float, float, int] | None:
        return self._repo.last_fix(key, before_ms)

    # -- the runner's own reads, which verdicts not yet stored change -----------------------
    def pending_witnesses(self, data: bytes) -> list[StoredReport]:
        return self._repo.pending_witnesses(data)

    def other_unverified_beacon(self, data: bytes, exclude_id: bytes) -> bool:
        return self._repo.other_unverified_beacon(data, exclude_id)

    def record(self, stored: Iterable[StoredVerdict]) -> None:
        """Nothing to remember: the caller stores each PoC before the next is verified."""


class _Times:
    """Per hotspot, sorted receive times read for the span [lo, hi]: the latest one before
    `lo` (if any) and every one in the span. Answers "latest before t" for t in the span."""

    def __init__(self, times: dict[bytes, list[int]], lo: int, hi: int) -> None:
        self._times = times
        self._lo, self._hi = lo, hi

    def covers(self, key: bytes, at_ms: int | None) -> bool:
        return at_ms is not None and self._lo <= at_ms <= self._hi and key in self._times

    def latest_before(self, key: bytes, at_ms: int) -> int | None:
        times = self._times[key]
        i = bisect.bisect_left(times, at_ms)
        return times[i - 1] if i else None


class BatchContext(StorageContext):
    """`VerifierContext` for the claimed beacons `beacons` and the pending witnesses that share
    their data."""

    def __init__(self, repo: Repository, beacons: Sequence[StoredReport]) -> None:
        super().__init__(repo)
        self._beacons = beacons
        self._received = {b.id: b.received_ms for b in beacons}
        self._loaded = False
        # What `record` was told: decided report ids, decided beacons per hotspot
        # (received_ms, id), and receive times that count for reciprocity per hotspot.
        self._decided: set[bytes] = set()
        self._decided_beacons: dict[bytes, list[tuple[int, bytes]]] = {}
        self._recorded: dict[str, dict[bytes, list[int]]] = {KIND_WITNESS: {}, KIND_BEACON: {}}

    def _load(self) -> None:
        """Everything the batch's questions will read, in ~10 statements (more keys than a
        statement takes add one per 500)."""
        self._loaded = True
        repo, beacons = self._repo, self._beacons
        # The batch's pending witnesses, read here rather than per beacon: they also say
        # which hotspots and times the batch's questions will be about.
        self._pending = repo.pending_witnesses_of([b.data for b in beacons if b.data])
        witnesses = [(w.hotspot_key, w.received_ms)
                     for matched in self._pending.values() for w in matched]
        beacon_keys = {b.hotspot_key for b in beacons}
        witness_keys = {key for key, _ in witnesses}
        every = beacon_keys | witness_keys
        registered = repo.registrations(every)
        for key in every:
            reg = registered.get(key)
            self._hotspots[key] = None if reg is None else hotspot_record(reg)
        self._denials = repo.denial_expiries()
        self._edges = repo.edge_expiries()
        # Reciprocity is asked as of the beacon's receive time: a beaconer's witnesses
        # (rule 8) and a witness's beacons (rule 14).
        as_of = [b.received_ms for b in beacons]
        lo, hi = (min(as_of), max(as_of)) if as_of else (0, -1)
        self._reciprocity = {
            KIND_WITNESS: _Times(
                repo.regular_verdict_times(beacon_keys, KIND_WITNESS, lo, hi), lo, hi),
            KIND_BEACON: _Times(
                repo.regular_verdict_times(witness_keys, KIND_BEACON, lo, hi), lo, hi),
        }
        # The motion rule asks for the fix before each report's own receive time.
        times = as_of + [at for _, at in witnesses]
        f_lo, f_hi = (min(times), max(times)) if times else (0, -1)
        self._fixes = repo.fixes_between(every, f_lo, f_hi)
        self._fix_span = (f_lo, f_hi)

    def hotspot(self, key: bytes) -> HotspotRecord | None:
        try:  # asked once per report: the loaded answer first, without a second lookup
            return self._hotspots[key]
        except KeyError:
            pass
        if not self._loaded:
            self._load()
        return super().hotspot(key)  # a key the batch did not announce is read on demand

    def is_denied(self, key: bytes) -> bool:
        if not self._loaded:
            self._load()
        return self._in_force(self._denials.get(key))

    def is_edge_denied(self, a: bytes, b: bytes) -> bool:
        if not self._loaded:
            self._load()
        return bool(self._edges) and self._in_force(self._edges.get((a, b) if a < b else (b, a)))

    def _in_force(self, expires_ms: int | None) -> bool:
        """A listed entry counts until its expiry (0 = never), as `Repository.is_denied`'s."""
        if expires_ms is None:
            return False
        return self.as_of_ms is None or expires_ms == 0 or expires_ms > self.as_of_ms

    def last_valid_witness_ms(self, key: bytes) -> int | None:
        return self._last_valid(KIND_WITNESS, key, super().last_valid_witness_ms)

    def last_valid_beacon_ms(self, key: bytes) -> int | None:
        return self._last_valid(KIND_BEACON, key, super().last_valid_beacon_ms)

    def _last_valid(self, kind: str, key: bytes,
                    read: Callable[[bytes], int | None]) -> int | None:
        """Reciprocity from what the batch read (`read`, the per-report query, outside it),
        or this batch's recorded verdicts before as_of when later."""
        if not self._loaded:
            self._load()
        loaded = self._reciprocity[kind]
        if loaded.covers(key, self.as_of_ms):
            stored = loaded.latest_before(key, self.as_of_ms)  # type: ignore[arg-type]
        else:
            stored = read(key)
        times = self._recorded[kind].get(key)
        if times:
            i = len(times) if self.as_of_ms is None else bisect.bisect_left(times, self.as_of_ms)
            if i and (stored is None or times[i - 1] > stored):
                return times[i - 1]
        return stored

    def beacon_in_window(self, key: bytes, window_start_s: int, exclude_id: bytes) -> bool:
        start_ms = window_start_s * 1000
        end_ms = start_ms + BEACON_WINDOW_S * 1000
        for received_ms, beacon_id in self._decided_beacons.get(key, ()):
            if beacon_id != exclude_id and start_ms <= received_ms < end_ms:
                return True  # verified in this batch: it used the window, whenever received
        # A beacon of the batch: its receive time as claimed, not read again by id.
        return self._repo.beacon_in_window(key, start_ms, end_ms, exclude_id,
                                           self._received.get(exclude_id))

    def pending_witnesses(self, data: bytes) -> list[StoredReport]:
        if not self._loaded:
            self._load()
        matched = self._pending.get(data)
        if matched is None:  # not one of the batch's beacons
            matched = super().pending_witnesses(data)
        return [w for w in matched if w.id not in self._decided]

    def other_unverified_beacon(self, data: bytes, exclude_id: bytes) -> bool:
        decided = [b.id for b in self._beacons if b.data == data and b.id in self._decided]
        return self._repo.other_unverified_beacon(data, exclude_id, decided)

    def last_fix(self, key: bytes, before_ms: int) -> tuple[float, float, int] | None:
        if not self._loaded:
            self._load()
        fixes = self._fixes.get(key)
        lo, hi = self._fix_span
        if fixes is None or not lo <= before_ms <= hi:
            return super().last_fix(key, before_ms)
        # Of equal receive times the last one read; which one the per-report read returns is
        # the backend's choice too (no order beyond receive time).
        i = bisect.bisect_left(fixes, (before_ms,))
        if i == 0:
            return None
        at, lat, lon = fixes[i - 1]
        return lat, lon, at

    def record(self, stored: Iterable[StoredVerdict]) -> None:
        """One PoC's verdicts, decided and to be stored with the batch: its reports are no
        longer pending, its beacon used its window, and reciprocity counts what it counts
        (`passed_regular`; a beacon with at least one witness report)."""
        for v in stored:
            self._decided.add(v.report_id)
            if v.kind == KIND_BEACON:
                self._decided_beacons.setdefault(v.hotspot_key, []).append(
                    (v.received_ms, v.report_id))
            counts = v.passed_regular and (v.kind == KIND_WITNESS or v.witnesses >= 1)
            if counts and v.kind in self._recorded:
                bisect.insort(self._recorded[v.kind].setdefault(v.hotspot_key, []), v.received_ms)
