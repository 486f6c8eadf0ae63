"""Where an epoch's inputs come from: a narrow Protocol, its adapter over the oracle's
Repository (docs/storage.md), and an in-memory implementation for tests.

The adapter reads the verdicts table with a few set queries (instead of one
`verdicts_for_beacon` call per beacon), so an epoch with millions of witnesses is three
queries, not millions; it hands the engine columns of interned hotspot ids, never a Python
record per share.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import compress, islice, repeat
from operator import itemgetter
from typing import Protocol

import numpy as np

from oracle.rewards.errors import DenylistMissing
from oracle.rewards.model import (
    BeaconInput,
    EpochShares,
    HotspotOwner,
    Interner,
    ShareColumns,
    shares_from_beacons,
)
from oracle.storage.scan import Scanner
from pocnet.wire import registry_pb2

# docs/protocol.md §6: interactive = a beacon that passed the regular checks with at least one
# witness report within the last 60 h.
INTERACTIVE_WINDOW_MS = 60 * 3600 * 1000
# docs/protocol.md §5: reports still unverified 45 min after arrival are stale, so an epoch's data
# is complete 45 min after its end.
COMPLETE_AFTER_MS = 45 * 60 * 1000

_BEACON, _WITNESS = 0, 1  # verdict_pb2.ReportKind
# Beacons per batch of columns (and witness rows per read): large enough that numpy amortises
# its calls, small enough that a batch of ~10 shares a beacon stays tens of MB.
BATCH_BEACONS = 1 << 16
_FIRST, _SECOND, _THIRD, _FOURTH = map(itemgetter, range(4))


class EpochSource(Protocol):
    def unverified_beacons(self, from_ms: int, to_ms: int) -> int:
        """Beacons received in [from, to) that have no verdict yet."""
        ...

    def interactive_cells(self, from_ms: int, to_ms: int) -> list[int]:
        """Asserted cells of hotspots interactive in [from, to), one per hotspot."""
        ...

    def shares(self, from_ms: int, to_ms: int) -> EpochShares:
        """Valid beacons received in [from, to) with their valid selected witnesses, as
        columns (streamed: the batches are read while the engine runs)."""
        ...

    def owner(self, key: bytes) -> HotspotOwner | None: ...

    def denylist(self, version: int | None) -> tuple[int, dict[bytes, int]]:
        """(version, {hotspot: expires_ms, 0 = never}) of denylist `version`, as signed; None:
        the newest (version 0 and nothing when there is none)."""
        ...


class RepositorySource:
    """EpochSource over oracle-core's Repository (SQLite or PostgreSQL).

    Large reads stream (oracle/storage/scan.py); beacons and their witnesses both ordered by
    beacon id and merged, so memory stays flat however many witnesses an epoch has.
    """

    def __init__(self, repo: object) -> None:
        self._repo = repo
        self._owners: dict[bytes, HotspotOwner] | None = None
        self._scanner = Scanner(repo)

    def close(self) -> None:
        self._scanner.close()

    def _rows(self, sql: str, params: Sequence[object]) -> Iterator[tuple]:
        return self._scanner.rows(sql, params)

    def unverified_beacons(self, from_ms: int, to_ms: int) -> int:
        # The kind written out, not bound: the queue index holds beacons only (migration 0140).
        rows = self._rows(
            f"SELECT COUNT(*) FROM reports WHERE kind = {_BEACON} AND received_ms >= ? AND "
            "received_ms < ? AND status IN ('pending', 'claimed')",
            (from_ms, to_ms),
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

    def shares(self, from_ms: int, to_ms: int) -> EpochShares:
        hotspots: Interner[bytes] = Interner()
        trusts: Interner[Decimal | str] = Interner()
        return EpochShares(hotspots, trusts, self._batches(from_ms, to_ms, hotspots, trusts))

    def _batches(self, from_ms: int, to_ms: int, hotspots: Interner[bytes],
                 trusts: Interner[Decimal | str]) -> Iterator[ShareColumns]:
        """Beacons BATCH_BEACONS at a time, each batch with the witnesses of its beacons: both
        queries are ordered by beacon id, so a batch's witnesses are the next rows up to its
        last beacon. Rows become columns with C-level maps; keys are interned once."""
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
        held: list[tuple] = []  # witness rows read past the previous batch's last beacon
        held_ids: list[bytes] = []
        drained = False
        while chunk := list(islice(beacons, BATCH_BEACONS)):
            b_reports = list(map(bytes, map(_FIRST, chunk)))
            last = b_reports[-1]
            while not drained and (not held_ids or held_ids[-1] <= last):
                more = list(islice(witnesses, BATCH_BEACONS))
                drained = not more
                held.extend(more)
                held_ids.extend(map(bytes, map(_FIRST, more)))
            cut = bisect_right(held_ids, last)
            rows, held = held[:cut], held[cut:]
            row_ids, held_ids = held_ids[:cut], held_ids[cut:]
            position = dict(zip(b_reports, range(len(b_reports)), strict=True))
            beacon_of = np.fromiter(map(position.get, row_ids, repeat(-1)), np.int64, cut)
            if (beacon_of < 0).any():  # a witness of a beacon that is not in this read
                rows = list(compress(rows, (beacon_of >= 0).tolist()))
                beacon_of = beacon_of[beacon_of >= 0]
            yield ShareColumns(
                beacon_hotspots=hotspots.ids(list(map(bytes, map(_SECOND, chunk)))),
                beacon_trusts=trusts.ids(list(map(_THIRD, chunk))),
                witness_counts=np.bincount(beacon_of, minlength=len(chunk)).astype(np.int64),
                witness_hotspots=hotspots.ids(list(map(bytes, map(_THIRD, rows)))),
                witness_trusts=trusts.ids(list(map(_FOURTH, rows))),
                beacon_reports=b_reports,
                witness_reports=list(map(bytes, map(_SECOND, rows))),
            )

    def owner(self, key: bytes) -> HotspotOwner | None:
        """The registry read once with one streamed query on first use: an epoch asks for
        every one of its hotspots, a million queries of one row each otherwise."""
        if self._owners is None:
            self._owners = {
                bytes(k): HotspotOwner(bytes(k), bytes(wallet), None if cell is None else int(cell))
                for k, wallet, cell in self._rows(
                    "SELECT hotspot_key, owner_wallet, location FROM hotspots", ())
            }
        return self._owners.get(key)

    def denylist(self, version: int | None) -> tuple[int, dict[bytes, int]]:
        """Read from the signed update as stored, so an epoch recomputed later applies the
        version its manifest names even after newer ones replaced it."""
        if version is None:
            rows = self._rows("SELECT version, raw FROM denylist_versions "
                              "ORDER BY version DESC LIMIT 1", ())
        else:
            rows = self._rows("SELECT version, raw FROM denylist_versions WHERE version = ?",
                              (version,))
        row = next(iter(list(rows)), None)
        if row is None:
            if version:
                raise DenylistMissing(f"denylist version {version}, which the stored manifest "
                                     "names, is not in this database")
            return 0, {}
        return int(row[0]), denied_until(registry_pb2.DenylistUpdate.FromString(bytes(row[1])))


@dataclass
class MemorySource:
    """EpochSource from plain lists (tests, benchmarks)."""

    owners: Mapping[bytes, HotspotOwner]
    beacon_list: Sequence[BeaconInput] = ()
    interactive: Sequence[int] | None = None  # None: every owner with a location
    pending: int = 0
    denylists: Mapping[int, Mapping[bytes, int]] = field(default_factory=dict)  # by version

    def unverified_beacons(self, from_ms: int, to_ms: int) -> int:
        return self.pending

    def interactive_cells(self, from_ms: int, to_ms: int) -> list[int]:
        if self.interactive is not None:
            return list(self.interactive)
        return [o.location for o in self.owners.values() if o.location is not None]

    def shares(self, from_ms: int, to_ms: int) -> EpochShares:
        return shares_from_beacons(self.beacon_list)

    def owner(self, key: bytes) -> HotspotOwner | None:
        return self.owners.get(key)

    def denylist(self, version: int | None) -> tuple[int, dict[bytes, int]]:
        if version is None:
            version = max(self.denylists, default=0)
        if version and version not in self.denylists:
            raise DenylistMissing(f"denylist version {version}, which the stored manifest "
                                     "names, is not in this database")
        return version, dict(self.denylists.get(version, {}))


def denied_until(update: registry_pb2.DenylistUpdate) -> dict[bytes, int]:
    """{hotspot: expires_ms} of a denylist update: a hotspot without a `Denial` never expires."""
    expiry = {bytes(d.hotspot_key): int(d.expires_at_ms) for d in update.denials}
    return {bytes(key): expiry.get(bytes(key), 0) for key in update.hotspots}
