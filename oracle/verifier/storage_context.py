"""The verifier's `VerifierContext` over the Repository (docs/storage.md): per question, and for
a batch of beacons in a few set-based queries.

`StorageContext` asks the database once per question, and a witness asks four (denied, edge
denied, last GPS fix, reciprocity): ~4 queries a report. A batch of beacons asks about a known
set of hotspots at a known span of times, so `BatchContext` reads what those questions need on
its first question (registrations, the denylist, each hotspot's reciprocity history and GPS
fixes over the batch's span) and answers from memory, exactly as the per-report reads would:

- a question outside what was read (a hotspot or a time the batch did not announce) goes to
  the per-report read of `StorageContext`;
- the runner stores each PoC's verdicts before verifying the next and tells `record` what it
  stored, so a later beacon of the batch sees its predecessors' verdicts as it would in the
  database (verdicts are the only thing verification itself changes that the questions read).

What another worker stores while this batch runs is not seen until the next batch; with
several workers the order in which PoCs are verified was never fixed anyway.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

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
        return self._repo.is_edge_denied(a, b)

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

    def record(self, stored: Iterable[StoredVerdict]) -> None:
        """Nothing to remember: every question reads the database, where `stored` is."""


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

    def add(self, key: bytes, at_ms: int) -> None:
        times = self._times.get(key)
        if times is not None:
            bisect.insort(times, at_ms)


class BatchContext(StorageContext):
    """`VerifierContext` for the claimed beacons `beacons` and the pending witnesses that share
    their data."""

    def __init__(self, repo: Repository, beacons: Sequence[StoredReport]) -> None:
        super().__init__(repo)
        self._beacons = beacons
        self._loaded = False

    def _load(self) -> None:
        """Everything the batch's questions will read, in ~10 statements (more keys than a
        statement takes add one per 500)."""
        self._loaded = True
        repo, beacons = self._repo, self._beacons
        witnesses = repo.pending_witness_times([b.data for b in beacons if b.data])
        beacon_keys = {b.hotspot_key for b in beacons}
        witness_keys = {key for key, _ in witnesses}
        every = beacon_keys | witness_keys
        registered = repo.registrations(every)
        for key in every:
            reg = registered.get(key)
            self._hotspots[key] = None if reg is None else hotspot_record(reg)
        self._denials = repo.denial_expiries()
        self._edges = {tuple(sorted(pair)) for pair in repo.denied_edges()}
        # Reciprocity is asked as of the beacon's receive time: a beaconer's witnesses
        # (rule 8) and a witness's beacons (rule 14).
        as_of = [b.received_ms for b in beacons]
        lo, hi = (min(as_of), max(as_of)) if as_of else (0, -1)
        self._witness_times = _Times(
            repo.regular_verdict_times(beacon_keys, KIND_WITNESS, lo, hi), lo, hi
        )
        self._beacon_times = _Times(
            repo.regular_verdict_times(witness_keys, KIND_BEACON, lo, hi), lo, hi
        )
        # The motion rule asks for the fix before each report's own receive time.
        times = as_of + [at for _, at in witnesses]
        f_lo, f_hi = (min(times), max(times)) if times else (0, -1)
        self._fixes = repo.fixes_between(every, f_lo, f_hi)
        self._fix_span = (f_lo, f_hi)

    def hotspot(self, key: bytes) -> HotspotRecord | None:
        if not self._loaded:
            self._load()
        return super().hotspot(key)  # a key the batch did not announce is read on demand

    def is_denied(self, key: bytes) -> bool:
        if not self._loaded:
            self._load()
        expires_ms = self._denials.get(key)
        if expires_ms is None:
            return False
        return self.as_of_ms is None or expires_ms == 0 or expires_ms > self.as_of_ms

    def is_edge_denied(self, a: bytes, b: bytes) -> bool:
        if not self._loaded:
            self._load()
        return bool(self._edges) and tuple(sorted((a, b))) in self._edges

    def last_valid_witness_ms(self, key: bytes) -> int | None:
        if not self._loaded:
            self._load()
        if self._witness_times.covers(key, self.as_of_ms):
            return self._witness_times.latest_before(key, self.as_of_ms)  # type: ignore[arg-type]
        return super().last_valid_witness_ms(key)

    def last_valid_beacon_ms(self, key: bytes) -> int | None:
        if not self._loaded:
            self._load()
        if self._beacon_times.covers(key, self.as_of_ms):
            return self._beacon_times.latest_before(key, self.as_of_ms)  # type: ignore[arg-type]
        return super().last_valid_beacon_ms(key)

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
        """Verdicts the runner has just stored: what later PoCs' reciprocity counts
        (`passed_regular`; a beacon with at least one witness report)."""
        if not self._loaded:
            return  # nothing read yet: the first question will read them from the database
        for v in stored:
            if not v.passed_regular:
                continue
            if v.kind == KIND_WITNESS:
                self._witness_times.add(v.hotspot_key, v.received_ms)
            elif v.kind == KIND_BEACON and v.witnesses >= 1:
                self._beacon_times.add(v.hotspot_key, v.received_ms)
