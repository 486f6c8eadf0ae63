"""The rewards engine's inputs: what one epoch's verified PoC looks like to it.

Only valid beacons matter, and of their witnesses only the valid, selected ones (HIP-83's
first 14); the source adapter filters, so the engine stays a pure function of its input.
The engine reads columns (`EpochShares`: hotspot and trust ids in numpy arrays, each key
interned once), so an epoch of 10,000,000 shares costs no Python object per share; the
records (`BeaconInput`) are the readable form tests and tools build and convert.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import count, islice
from typing import Generic, NamedTuple, TypeVar

import numpy as np

DAY_MS = 86_400_000
T = TypeVar("T")


class WitnessInput(NamedTuple):
    report_id: bytes
    hotspot_key: bytes
    location_trust: Decimal


class BeaconInput(NamedTuple):
    """A valid beacon of the epoch with its valid selected witnesses."""

    report_id: bytes
    hotspot_key: bytes
    location_trust: Decimal
    witnesses: tuple[WitnessInput, ...]


class HotspotOwner(NamedTuple):
    """Who is paid for a hotspot, and where it is asserted (for its hex density scale)."""

    key: bytes
    owner_wallet: bytes
    location: int | None


class Interner(Generic[T]):
    """Dense integer ids for hashable values (hotspot keys, trust texts), each value stored
    once: the engine then works on id arrays in numpy instead of a dict lookup per share.

    `ids` does one C-level `setdefault` per item (a counter proposes the next id); only the
    items seen for the first time are then renumbered densely, in numpy.
    """

    def __init__(self) -> None:
        self.values: list[T] = []
        self.index: dict[T, int] = {}

    def __len__(self) -> int:
        return len(self.values)

    def ids(self, items: Sequence[T]) -> np.ndarray:
        n, size = len(self.values), len(items)
        got = np.fromiter(map(self.index.setdefault, items, count(n)), np.int64, size)
        fresh = got >= n
        if not fresh.any():
            return got
        # A new item kept the id proposed at its own position: n + position.
        first = np.flatnonzero(got == np.arange(n, n + size, dtype=np.int64))
        new_items = [items[i] for i in first.tolist()]
        dense = np.arange(n, n + len(first), dtype=np.int64)
        self.index.update(zip(new_items, dense.tolist(), strict=True))
        self.values.extend(new_items)
        by_offset = np.zeros(size, np.int64)
        by_offset[first] = dense
        got[fresh] = by_offset[got[fresh] - n]
        return got


class ShareColumns(NamedTuple):
    """A batch of an epoch's valid beacons and their valid selected witnesses, in columns.

    Hotspots and trusts are ids into the epoch's `EpochShares` interners. Witness rows are
    grouped by beacon, in beacon order, `witness_counts[i]` of them for beacon i; a beacon's
    witnesses are always in its own batch. Report ids are kept for the share sink only.
    """

    beacon_hotspots: np.ndarray  # int64
    beacon_trusts: np.ndarray  # int64
    witness_counts: np.ndarray  # int64, one per beacon
    witness_hotspots: np.ndarray  # int64
    witness_trusts: np.ndarray  # int64
    beacon_reports: Sequence[bytes]
    witness_reports: Sequence[bytes]


@dataclass
class EpochShares:
    """An epoch's beacons as a stream of column batches over one pair of interners.

    `trusts` holds each distinct location trust as its exact decimal text (the database's
    column) or a Decimal: the engine reads it with `Decimal(value)`. Batches may be a generator;
    the interners grow while it runs, so read `hotspots.values` after the last batch.
    """

    hotspots: Interner[bytes]
    trusts: Interner[Decimal | str]
    batches: Iterable[ShareColumns]

    def beacons(self) -> Iterator[BeaconInput]:
        """The batches as records (tests and tools; the engine reads the columns)."""
        keys, trusts = self.hotspots.values, self.trusts.values
        for batch in self.batches:
            w_end = np.cumsum(batch.witness_counts).tolist()
            w_keys = batch.witness_hotspots.tolist()
            w_trusts = batch.witness_trusts.tolist()
            start = 0
            for i, end in enumerate(w_end):
                heard = tuple(
                    WitnessInput(batch.witness_reports[j], keys[w_keys[j]],
                                 Decimal(trusts[w_trusts[j]]))
                    for j in range(start, end)
                )
                yield BeaconInput(batch.beacon_reports[i],
                                  keys[int(batch.beacon_hotspots[i])],
                                  Decimal(trusts[int(batch.beacon_trusts[i])]), heard)
                start = end


def shares_from_beacons(beacons: Iterable[BeaconInput], batch_beacons: int = 1 << 16
                        ) -> EpochShares:
    """Records → columns, `batch_beacons` beacons a batch (tests, the in-memory source).
    Trusts are interned by their text, as the database stores them: "1" and "1.0" stay
    apart (equal Decimals would share an id and lose their exponent)."""
    hotspots: Interner[bytes] = Interner()
    trusts: Interner[Decimal | str] = Interner()

    def batches() -> Iterator[ShareColumns]:
        it = iter(beacons)
        while chunk := list(islice(it, batch_beacons)):
            witnesses = [w for b in chunk for w in b.witnesses]
            yield ShareColumns(
                beacon_hotspots=hotspots.ids([b.hotspot_key for b in chunk]),
                beacon_trusts=trusts.ids([str(b.location_trust) for b in chunk]),
                witness_counts=np.array([len(b.witnesses) for b in chunk], np.int64),
                witness_hotspots=hotspots.ids([w.hotspot_key for w in witnesses]),
                witness_trusts=trusts.ids([str(w.location_trust) for w in witnesses]),
                beacon_reports=[b.report_id for b in chunk],
                witness_reports=[w.report_id for w in witnesses],
            )

    return EpochShares(hotspots, trusts, batches())


def epoch_bounds_ms(epoch: int, epoch_ms: int = DAY_MS) -> tuple[int, int]:
    """[start, end) of an epoch: 24 h from 00:00 UTC, epoch = days since 1970-01-01; on a
    test network with shorter epochs (`[network] epoch_s`), epoch = whole epochs since then."""
    if epoch < 0:
        raise ValueError("epoch must be >= 0")
    return epoch * epoch_ms, (epoch + 1) * epoch_ms


def epoch_of_ms(ms: int, epoch_ms: int = DAY_MS) -> int:
    return ms // epoch_ms
