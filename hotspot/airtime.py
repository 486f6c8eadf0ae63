"""The daemon's view of the airtime rule: pocnet.airtime decides, a refusal becomes AirtimeBusy.

The rule itself (duty cycle per sub-band, dwell time per channel, docs/protocol.md §3) lives in
pocnet.airtime, shared with the simulator; this module only adapts it to the transceiver, which
accounts a frame when its transmission is confirmed, i.e. at its end.
"""

from __future__ import annotations

from hotspot.clock import NS_PER_S
from hotspot.errors import AirtimeBusy
from pocnet import airtime
from pocnet.airtime import DWELL_WINDOW_NS, dwell_limit_ms, frame_airtime_s
from pocnet.regions import RegionPlan

DWELL_WINDOW_S = DWELL_WINDOW_NS / NS_PER_S

__all__ = ["DWELL_WINDOW_S", "AirtimeLedger", "dwell_limit_ms", "frame_airtime_s"]


class AirtimeLedger:
    """What the transceiver has sent, to decide whether it may send now."""

    def __init__(self, dwell_where_required: bool = False) -> None:
        self._ledger = airtime.AirtimeLedger(dwell_where_required)

    def check(self, plan: RegionPlan, freq_hz: int, airtime_s: float, now_ns: int) -> None:
        """Raise AirtimeBusy(wait_s) when the regulations forbid sending this frame now."""
        decision = self._ledger.decide(plan, freq_hz, airtime_s, now_ns)
        if decision.allowed:
            return
        if decision.earliest_ns == airtime.NEVER:
            raise AirtimeBusy(decision.label, float("inf"))
        raise AirtimeBusy(decision.label, (decision.earliest_ns - now_ns) / NS_PER_S)

    def record(self, plan: RegionPlan, freq_hz: int, airtime_s: float, end_ns: int) -> None:
        """Account a confirmed transmission that ended at `end_ns`."""
        self._ledger.record(plan, freq_hz, airtime_s, end_ns - round(airtime_s * NS_PER_S))

    def free_at_ns(self, plan: RegionPlan, freq_hz: int) -> int:
        """When the sub-band of `freq_hz` may transmit again (0 = now)."""
        return self._ledger.free_at_ns(plan, freq_hz)
