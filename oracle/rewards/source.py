"""Where an epoch's inputs come from: a narrow Protocol, its adapter over the oracle's
Repository (docs/storage.md), and an in-memory implementation for tests and benchmarks.

The adapter reads the verdicts table with a few set queries over the repository's own
transaction (instead of one `verdicts_for_beacon` call per beacon), so an epoch with millions
of witnesses is three queries, not millions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from oracle.rewards.model import BeaconInput, HotspotOwner, WitnessInput
from oracle.storage.scan import Scanner

# docs/protocol.md §6: interactive = a beacon that passed the regular checks with at least one
# witness report within the last 60 h.
INTERACTIVE_WINDOW_MS = 60 * 3600 * 1000
# docs/protocol.md §5: reports still unverified 45 min after arrival are stale, so an epoch's data
# is complete 45 min after its end.
COMPLETE_AFTER_MS = 45 * 60 * 1000

_BEACON, _WITNESS = 0, 1  # verdict_pb2.ReportKind


class EpochSource(Protocol):
    def unverified_beacons(self, from_ms: int, to_ms: int) -> int:
        """Beacons received in [from, to) that have no verdict yet."""
        ...

    def interactive_cells(self, from_ms: int, to_ms: int) -> list[int]:
        """Asserted cells of hotspots interactive in [from, to), one per hotspot."""
        ...

    def beacons(self, from_ms: int, to_ms: int) -> Iterator[BeaconInput]:
        """Valid beacons received in [from, to) with their valid selected witnesses."""
        ...

    def owner(self, key: bytes) -> HotspotOwner | None: ...


class RepositorySource:
    """EpochSource over oracle-core's Repository (SQLite or PostgreSQL).

    Large reads stream (oracle/storage/scan.py); beacons and their witnesses both ordered by
    beacon id and merged, so memory stays flat however many witnesses an epoch has.
    """

    def __init__(self, repo: object) -> None:
        self._repo = repo
        self._owners: dict[bytes, HotspotOwner | None] = {}
        self._scanner = Scanner(repo)

    def close(self) -> None:
        self._scanner.close()

    def _rows(self, sql: str, params: Sequence[object]) -> Iterator[tuple]:
        return self._scanner.rows(sql, params)

    def unverified_beacons(self, from_ms: int, to_ms: int) -> int:
        rows = self._rows(
            "SELECT COUNT(*) FROM reports WHERE kind = ? AND received_ms >= ? AND "
            "received_ms < ? AND status IN ('pending', 'claimed')",
            (_BEACON, from_ms, to_ms),
        )
        return int(next(rows)[0])

    def interactive_cells(self, from_ms: int, to_ms: int) -> list[int]:
        rows = self._rows(
            "SELECT h.location FROM hotspots h JOIN (SELECT DISTINCT hotspot_key FROM verdicts "
            "WHERE kind = ? AND passed_regular = 1 AND witnesses >= 1 AND received_ms >= ? "
            "AND received_ms < ?) v ON v.hotspot_key = h.hotspot_key "
            "WHERE h.location IS NOT NULL",
            (_BEACON, from_ms, to_ms),
        )
        return [int(r[0]) for r in rows]

    def beacons(self, from_ms: int, to_ms: int) -> Iterator[BeaconInput]:
        beacons = self._rows(
            "SELECT report_id, hotspot_key, location_trust FROM verdicts WHERE kind = ? AND "
            "valid = 1 AND received_ms >= ? AND received_ms < ? ORDER BY report_id",
            (_BEACON, from_ms, to_ms),
        )
        witnesses = self._rows(
            "SELECT w.beacon_id, w.report_id, w.hotspot_key, w.location_trust FROM verdicts w "
            "JOIN verdicts b ON b.report_id = w.beacon_id WHERE b.kind = ? AND b.valid = 1 "
            "AND b.received_ms >= ? AND b.received_ms < ? AND w.kind = ? AND w.valid = 1 "
            "AND w.selected = 1 ORDER BY w.beacon_id, w.report_id",
            (_BEACON, from_ms, to_ms, _WITNESS),
        )
        trusts: dict[str, Decimal] = {}  # a handful of distinct values: share the objects

        def trust(text: str) -> Decimal:
            value = trusts.get(text)
            if value is None:
                value = trusts[text] = Decimal(text)
            return value

        pending = next(witnesses, None)
        for report_id, key, beacon_trust in beacons:
            beacon_id = bytes(report_id)
            heard: list[WitnessInput] = []
            while pending is not None and bytes(pending[0]) <= beacon_id:
                if bytes(pending[0]) == beacon_id:
                    heard.append(
                        WitnessInput(bytes(pending[1]), bytes(pending[2]), trust(pending[3]))
                    )
                pending = next(witnesses, None)
            yield BeaconInput(beacon_id, bytes(key), trust(beacon_trust), tuple(heard))

    def owner(self, key: bytes) -> HotspotOwner | None:
        if key not in self._owners:
            reg = self._repo.hotspot(key)  # type: ignore[attr-defined]
            self._owners[key] = (
                None if reg is None else HotspotOwner(key, reg.owner_wallet, reg.location)
            )
        return self._owners[key]


@dataclass
class MemorySource:
    """EpochSource from plain lists (tests, benchmarks)."""

    owners: Mapping[bytes, HotspotOwner]
    beacon_list: Sequence[BeaconInput] = ()
    interactive: Sequence[int] | None = None  # None: every owner with a location
    pending: int = 0

    def unverified_beacons(self, from_ms: int, to_ms: int) -> int:
        return self.pending

    def interactive_cells(self, from_ms: int, to_ms: int) -> list[int]:
        if self.interactive is not None:
            return list(self.interactive)
        return [o.location for o in self.owners.values() if o.location is not None]

    def beacons(self, from_ms: int, to_ms: int) -> Iterator[BeaconInput]:
        return iter(self.beacon_list)

    def owner(self, key: bytes) -> HotspotOwner | None:
        return self.owners.get(key)
