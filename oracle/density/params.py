"""Hex density tables per H3 resolution, as published.

Sources:
- HIP-104 "Hex density scaling changes" (helium/HIP 0104-...): the parameters the Helium IoT
  network used last, and pocnet's default. The same numbers sit in helium/oracles
  `iot_verifier/src/hex_density.rs` (HIP104_RES_CONFIG).
- HIP-17 "Hex density-based transmit reward scaling" (helium/HIP 0017-...): the original
  parameters, kept selectable (`--params hip17`).

Each row is (N = neighbours, target, max) for resolutions 4..10, docs/protocol.md §6's table
verbatim. Resolution 11 is where hotspots are counted and is never clipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from oracle.errors import OracleError

# docs/protocol.md §6: counting starts at res 11 (parents of asserted cells) and rolls up to res 4.
COUNT_RES = 11
TOP_RES = 4
SCALED_RES: tuple[int, ...] = (10, 9, 8, 7, 6, 5, 4)


class DensityTableError(OracleError):
    """A density table that is inconsistent (a bug in the data, not bad input)."""


@dataclass(frozen=True)
class ResParams:
    """One resolution's row: `neighbors` = N, `target`, `max` (HIP-17 naming)."""

    neighbors: int
    target: int
    max: int


@dataclass(frozen=True)
class DensityParams:
    name: str
    source: str
    by_res: Mapping[int, ResParams]

    def __post_init__(self) -> None:
        if set(self.by_res) != set(SCALED_RES):
            raise DensityTableError(f"{self.name}: rows must be resolutions {SCALED_RES}")
        for res, row in self.by_res.items():
            # scale.py relies on max >= target >= 1: then "clipped >= target" and
            # "unclipped >= target" agree, so occupancy does not depend on evaluation order.
            if not (row.max >= row.target >= 1 and row.neighbors >= 0):
                raise DensityTableError(f"{self.name}: res {res} needs max >= target >= 1")

    def at(self, res: int) -> ResParams:
        return self.by_res[res]


def _table(rows: dict[int, tuple[int, int, int]]) -> Mapping[int, ResParams]:
    return MappingProxyType({res: ResParams(*row) for res, row in rows.items()})


# res: (N, target, max) — HIP-104, docs/protocol.md §6 first row.
HIP104 = DensityParams(
    name="hip104",
    source="HIP-104 (helium/HIP 0104), helium/oracles iot_verifier hex_density.rs",
    by_res=_table(
        {
            4: (2, 500, 1000),
            5: (4, 100, 200),
            6: (4, 25, 50),
            7: (4, 5, 10),
            8: (2, 1, 1),
            9: (2, 1, 1),
            10: (2, 1, 1),
        }
    ),
)

# res: (N, target, max) — HIP-17 as first deployed, docs/protocol.md §6 second row.
HIP17 = DensityParams(
    name="hip17",
    source="HIP-17 (helium/HIP 0017)",
    by_res=_table(
        {
            4: (1, 250, 800),
            5: (1, 100, 400),
            6: (1, 25, 100),
            7: (2, 5, 20),
            8: (2, 1, 4),
            9: (2, 1, 2),
            10: (2, 1, 1),
        }
    ),
)

PARAMS: Mapping[str, DensityParams] = MappingProxyType({"hip104": HIP104, "hip17": HIP17})
DEFAULT_PARAMS = HIP104
