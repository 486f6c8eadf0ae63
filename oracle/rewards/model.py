"""The rewards engine's in-memory records: what one epoch's verified PoC looks like to it.

Only valid beacons matter, and of their witnesses only the valid, selected ones (HIP-83's
first 14); the source adapter filters, so the engine stays a pure function of these records.
They are NamedTuples, immutable like frozen dataclasses but several times cheaper to build:
an epoch's source builds one per share, 10,000,000 of them for a million hotspots.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

DAY_MS = 86_400_000


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


def epoch_bounds_ms(epoch: int, epoch_ms: int = DAY_MS) -> tuple[int, int]:
    """[start, end) of an epoch: 24 h from 00:00 UTC, epoch = days since 1970-01-01; on a
    test network with shorter epochs (`[network] epoch_s`), epoch = whole epochs since then."""
    if epoch < 0:
        raise ValueError("epoch must be >= 0")
    return epoch * epoch_ms, (epoch + 1) * epoch_ms


def epoch_of_ms(ms: int, epoch_ms: int = DAY_MS) -> int:
    return ms // epoch_ms
