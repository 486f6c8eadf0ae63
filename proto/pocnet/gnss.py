"""When a GNSS fix is good enough to vouch for a location (docs/protocol.md §5).

Shared by the hotspot (which attaches only usable fixes) and the oracle (which scores location
trust), so both apply the same threshold.
"""

from __future__ import annotations

from enum import StrEnum

# docs/protocol.md §5: a fix counts only when 3D with horizontal accuracy <= 50 m.
MAX_USABLE_H_ACC_M = 50.0


class FixKind(StrEnum):
    """Fix types as owners see them in `pocnet-hotspot gps --json`."""

    NONE = "none"
    TWO_D = "2d"
    THREE_D = "3d"
    TIME = "time"


def is_usable(kind: FixKind, h_acc_m: float | None, gnss_fix_ok: bool = True) -> bool:
    """A 3D fix flagged valid by the receiver, with horizontal accuracy within 50 m."""
    return (
        kind is FixKind.THREE_D
        and gnss_fix_ok
        and h_acc_m is not None
        and h_acc_m <= MAX_USABLE_H_ACC_M
    )
