"""Airtime budget: duty cycle per regulated sub-band and dwell time per channel (docs/protocol.md
§3).

After a transmission of `t` seconds on a sub-band with duty cycle `d`, the band stays silent
for `t·(1/d − 1)`: a 2.466 s EU868 SF12 beacon at 1 % forces 244 s of silence. Where the plan
has a dwell-time rule, the airtime on one channel within any 20 s stays below it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from hotspot.clock import NS_PER_S
from hotspot.errors import AirtimeBusy
from pocnet.link import parse_datarate, time_on_air_s
from pocnet.regions import RegionPlan

# docs/protocol.md §3 / FCC 15.247: dwell time is counted per channel over 20 s.
DWELL_WINDOW_S = 20.0


def dwell_limit_ms(plan: RegionPlan, where_required: bool = False) -> int:
    """The dwell time that binds this plan's transmissions, in ms (0 = none): US915's
    everywhere, AS923's only where required (docs/protocol.md §3) — which a plan alone cannot know,
    so the owner says so with `beacon.dwell_time_where_required`."""
    return plan.enforced_dwell_time_ms(where_required)


def frame_airtime_s(payload_len: int, datarate: str) -> float:
    """Time on air of a docs/protocol.md §4 frame (CR 4/5, 8-symbol preamble, header, CRC)."""
    sf, bw_hz = parse_datarate(datarate)
    return time_on_air_s(payload_len, sf, bw_hz)


@dataclass
class _Band:
    free_at_ns: int = 0


class AirtimeLedger:
    """What the transceiver has sent, to decide whether it may send now."""

    def __init__(self, dwell_where_required: bool = False) -> None:
        self._where_required = dwell_where_required
        self._bands: dict[tuple[int, int], _Band] = {}
        self._dwell: dict[int, deque[tuple[int, float]]] = {}

    def check(self, plan: RegionPlan, freq_hz: int, airtime_s: float, now_ns: int) -> None:
        """Raise AirtimeBusy(wait_s) when the regulations forbid sending this frame now."""
        for band in plan.sub_bands:
            if band.contains(freq_hz):
                state = self._bands.get((band.low_hz, band.high_hz))
                if state is not None and state.free_at_ns > now_ns:
                    raise AirtimeBusy(band.label, (state.free_at_ns - now_ns) / NS_PER_S)
        if limit_ms := dwell_limit_ms(plan, self._where_required):
            limit_s = limit_ms / 1000
            if airtime_s > limit_s:
                raise AirtimeBusy(f"dwell {freq_hz} Hz", float("inf"))
            used = self._recent(freq_hz, now_ns)
            total = sum(t for _, t in used)
            if total + airtime_s > limit_s:
                oldest_ns = used[0][0]
                raise AirtimeBusy(
                    f"dwell {freq_hz} Hz",
                    (oldest_ns + DWELL_WINDOW_S * NS_PER_S - now_ns) / NS_PER_S,
                )

    def record(self, plan: RegionPlan, freq_hz: int, airtime_s: float, end_ns: int) -> None:
        """Account a confirmed transmission that ended at `end_ns`."""
        for band in plan.sub_bands:
            if band.contains(freq_hz):
                silence_ns = int(airtime_s * (1 / band.duty_cycle - 1) * NS_PER_S)
                state = self._bands.setdefault((band.low_hz, band.high_hz), _Band())
                state.free_at_ns = max(state.free_at_ns, end_ns + silence_ns)
        if dwell_limit_ms(plan, self._where_required):
            self._recent(freq_hz, end_ns).append((end_ns, airtime_s))

    def free_at_ns(self, plan: RegionPlan, freq_hz: int) -> int:
        """When the sub-band of `freq_hz` may transmit again (0 = now)."""
        for band in plan.sub_bands:
            if band.contains(freq_hz):
                state = self._bands.get((band.low_hz, band.high_hz))
                return state.free_at_ns if state else 0
        return 0

    def _recent(self, freq_hz: int, now_ns: int) -> deque[tuple[int, float]]:
        used = self._dwell.setdefault(freq_hz, deque())
        while used and used[0][0] + DWELL_WINDOW_S * NS_PER_S <= now_ns:
            used.popleft()
        return used
