"""What the verifier needs to know about the world beyond one PoC, as a narrow Protocol.

The rules stay pure: storage (oracle-core's runner) implements `VerifierContext` over the
database; `MemoryContext` implements it over dicts for tests and benchmarks, and shows the
intended semantics of each question in code.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import Protocol

from oracle.verifier.model import (
    KIND_BEACON,
    KIND_WITNESS,
    BeaconCase,
    HotspotRecord,
    VerdictRecord,
    WitnessCase,
)
from oracle.verifier.trust import usable_fix
from pocnet.beacon import beacon_window


class VerifierContext(Protocol):
    """Read-only questions the rules ask; keys are the 33-byte wire keys."""

    def hotspot(self, key: bytes) -> HotspotRecord | None:
        """The registration, or None for an unknown hotspot (rule 1)."""

    def is_denied(self, key: bytes) -> bool:
        """On the operator's denylist (beacon rule 2, witness rule 1)."""

    def is_edge_denied(self, a: bytes, b: bytes) -> bool:
        """The pair is denied, in either order (witness rule 1)."""

    def beacon_in_window(self, key: bytes, window_start_s: int, exclude_id: bytes) -> bool:
        """Another beacon of this hotspot, valid or not, already verified or received earlier
        in the 6-hour window starting at `window_start_s` (beacon rule 5)."""

    def last_valid_witness_ms(self, key: bytes) -> int | None:
        """Receive time of the hotspot's latest witness that passed the regular checks
        (beacon rule 8 with the HIP-106 bootstrap)."""

    def last_valid_beacon_ms(self, key: bytes) -> int | None:
        """Receive time of the hotspot's latest beacon that passed the regular checks with at
        least one witness report (witness rule 14 with the bootstrap)."""

    def last_fix(self, key: bytes, before_ms: int) -> tuple[float, float, int] | None:
        """(lat, lon, received_ms) of the hotspot's latest usable GPS fix in a report received
        strictly before `before_ms` (pocnet's implausible-motion rule)."""


class MemoryContext:
    """`VerifierContext` over in-memory dicts. Feed it with `note_beacon` as beacons arrive
    and `record` after each `verify_poc`, as the runner does with storage."""

    def __init__(
        self,
        hotspots: Iterable[HotspotRecord] = (),
        denied: Iterable[bytes] = (),
        denied_edges: Iterable[tuple[bytes, bytes]] = (),
    ) -> None:
        self._hotspots = {h.key: h for h in hotspots}
        self._denied = set(denied)
        self._edges = {frozenset(pair) for pair in denied_edges}
        # key -> window start -> {report_id: (received_ms, verified)}
        self._beacons: dict[bytes, dict[int, dict[bytes, tuple[int, bool]]]] = {}
        self._last_witness: dict[bytes, int] = {}
        self._last_beacon: dict[bytes, int] = {}
        # key -> sorted [(received_ms, lat, lon)]
        self._fixes: dict[bytes, list[tuple[int, float, float]]] = {}

    # -- registry ---------------------------------------------------------------------------
    def add_hotspot(self, record: HotspotRecord) -> None:
        self._hotspots[record.key] = record

    def deny(self, key: bytes) -> None:
        self._denied.add(key)

    def deny_edge(self, a: bytes, b: bytes) -> None:
        self._edges.add(frozenset((a, b)))

    # -- VerifierContext --------------------------------------------------------------------
    def hotspot(self, key: bytes) -> HotspotRecord | None:
        return self._hotspots.get(key)

    def is_denied(self, key: bytes) -> bool:
        return key in self._denied

    def is_edge_denied(self, a: bytes, b: bytes) -> bool:
        return bool(self._edges) and frozenset((a, b)) in self._edges

    def beacon_in_window(self, key: bytes, window_start_s: int, exclude_id: bytes) -> bool:
        seen = self._beacons.get(key, {}).get(window_start_s)
        if not seen:
            return False
        mine = seen.get(exclude_id, (None, False))[0]
        for report_id, (received_ms, verified) in seen.items():
            if report_id == exclude_id:
                continue
            if verified or mine is None or (received_ms, report_id) < (mine, exclude_id):
                return True
        return False

    def last_valid_witness_ms(self, key: bytes) -> int | None:
        return self._last_witness.get(key)

    def last_valid_beacon_ms(self, key: bytes) -> int | None:
        return self._last_beacon.get(key)

    def last_fix(self, key: bytes, before_ms: int) -> tuple[float, float, int] | None:
        fixes = self._fixes.get(key)
        if not fixes:
            return None
        i = bisect.bisect_left(fixes, (before_ms,))
        if i == 0:
            return None
        received_ms, lat, lon = fixes[i - 1]
        return lat, lon, received_ms

    # -- feeding ----------------------------------------------------------------------------
    def note_beacon(self, case: BeaconCase, verified: bool = False) -> None:
        """A beacon report arrived (ingest): it uses up its hotspot's window."""
        key = case.report.pub_key
        window = beacon_window(case.received_ms // 1000)
        self._beacons.setdefault(key, {}).setdefault(window, {})[case.report_id] = (
            case.received_ms,
            verified,
        )

    def note_fix(self, key: bytes, lat: float, lon: float, received_ms: int) -> None:
        bisect.insort(self._fixes.setdefault(key, []), (received_ms, lat, lon))

    def note_valid_witness(self, key: bytes, received_ms: int) -> None:
        """A witness of this hotspot passed the regular checks (history before this run)."""
        self._bump(self._last_witness, key, received_ms)

    def note_valid_beacon(self, key: bytes, received_ms: int) -> None:
        """A beacon of this hotspot passed the regular checks with a witness (history)."""
        self._bump(self._last_beacon, key, received_ms)

    def record(
        self,
        beacon: BeaconCase,
        witnesses: Sequence[WitnessCase],
        verdicts: Sequence[VerdictRecord],
    ) -> None:
        """Store what one `verify_poc` decided, for the questions later PoCs ask.

        Reciprocity counts `passed_regular`, not `valid` (HIP-106 bootstrap): a beacon counts
        with at least one witness report in the output (self-witnesses are not in it).
        """
        self.note_beacon(beacon, verified=True)
        by_id = {w.report_id: w for w in witnesses}
        witness_verdicts = [v for v in verdicts if v.kind == KIND_WITNESS]
        for verdict in verdicts:
            if verdict.kind == KIND_BEACON:
                if verdict.passed_regular and witness_verdicts:
                    self._bump(self._last_beacon, beacon.report.pub_key, beacon.received_ms)
            elif verdict.passed_regular:
                case = by_id[verdict.report_id]
                self._bump(self._last_witness, case.report.pub_key, case.received_ms)
        for case in (beacon, *witnesses):
            fix = usable_fix(case.report)
            if fix is not None:
                self.note_fix(case.report.pub_key, fix[0], fix[1], case.received_ms)

    @staticmethod
    def _bump(table: dict[bytes, int], key: bytes, received_ms: int) -> None:
        previous = table.get(key)
        if previous is None or received_ms > previous:
            table[key] = received_ms
