"""Witness reports as a round's hotspots submit them, and the flags that say which cheat
produced or altered each one (the proving ground's ground truth; sim_radio/adversaries.py sets
them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FLAG_FABRICATED = 1
FLAG_RELAYED = 2
FLAG_REPLAYED = 4
FLAG_INFLATED = 8
FLAG_CLOCK_OFFSET = 16
FLAG_CONSTANT = 32
FLAG_WIRED = 64
FLAG_NAMES = {
    FLAG_FABRICATED: "fabricated",
    FLAG_RELAYED: "relayed",
    FLAG_REPLAYED: "replayed",
    FLAG_INFLATED: "inflated",
    FLAG_CLOCK_OFFSET: "clock_offset",
    FLAG_CONSTANT: "constant",
    FLAG_WIRED: "wired",
}


@dataclass(frozen=True)
class WitnessReports:
    """Witness reports as hotspots would submit them, one row each."""

    beacon_event: NDArray[np.int64]  # the beacon the report claims (the original, for replays)
    beaconer: NDArray[np.int32]
    witness: NDArray[np.int32]
    rssi_dbm: NDArray[np.float32]
    snr_db: NDArray[np.float32]
    reported_ns: NDArray[np.int64]  # the witness's clock
    flags: NDArray[np.uint8]
    # Who transmitted what the witness heard: the beaconer, but for a replayed copy the
    # replayer. Ground truth only (no report says it): the proving ground counts a replayer
    # as on air when a copy of its own was reported.
    sender: NDArray[np.int32] | None = None

    def __post_init__(self) -> None:
        if self.sender is None:
            object.__setattr__(self, "sender", self.beaconer)

    def __len__(self) -> int:
        return int(self.witness.size)


_FIELDS = ("beacon_event", "beaconer", "witness", "rssi_dbm", "snr_db", "reported_ns", "flags",
           "sender")


def concat(parts: Sequence[WitnessReports]) -> WitnessReports:
    return WitnessReports(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))


def select(r: WitnessReports, mask: NDArray[np.bool_]) -> WitnessReports:
    return WitnessReports(*(getattr(r, f)[mask] for f in _FIELDS))
