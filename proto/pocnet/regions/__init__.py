"""Region plans by name (docs/protocol.md §3).

Each plan lives in its own data-only module; this module only indexes them. Location -> region
lookup is in `pocnet.regions.lookup` (needs shapely, so it is never imported from here).
"""

from __future__ import annotations

from types import MappingProxyType

from pocnet.errors import UnknownRegionError
from pocnet.regions import as923, au915, cn470, eu868, in865, kr920, us915
from pocnet.regions._types import WIDE_TAGGED_SPREADING, RegionPlan, SubBand

_PLANS = MappingProxyType(
    {
        plan.name: plan
        for plan in (
            eu868.PLAN,
            us915.PLAN,
            au915.PLAN,
            as923.AS923_1,
            as923.AS923_2,
            as923.AS923_3,
            as923.AS923_4,
            kr920.PLAN,
            in865.PLAN,
            cn470.PLAN,
        )
    }
)

PLAN_NAMES: tuple[str, ...] = tuple(_PLANS)


def get_plan(name: str) -> RegionPlan:
    """The plan called `name` (case-insensitive; "AS923_1" is accepted for "AS923-1")."""
    key = name.strip().upper().replace("_", "-")
    try:
        return _PLANS[key]
    except KeyError:
        raise UnknownRegionError(
            f"unknown region {name!r}; known: {', '.join(PLAN_NAMES)}"
        ) from None


__all__ = ["PLAN_NAMES", "WIDE_TAGGED_SPREADING", "RegionPlan", "SubBand", "get_plan"]
