"""The one airtime rule (docs/protocol.md §3): duty cycle per regulated sub-band, dwell time per
channel.

Duty cycle (ETSI): after T seconds on air in a sub-band with duty cycle δ, that sub-band stays
silent for T·(1/δ − 1), counted from the end of the frame (EU868 1 %: a 2.466 s SF12 beacon
forces 244 s). Dwell time (FCC 15.247): one frame may not last longer than the plan's dwell
time, and the air time on one channel within any 20 s window may not exceed it.

The hotspot daemon (hotspot/airtime.py, which turns a refusal into its AirtimeBusy error) and
the simulator (sim_radio/reception.py, which defers or refuses frames) both decide with this
ledger, so the simulated network obeys exactly the rule the real daemon does.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from pocnet.link import parse_datarate, time_on_air_s
from pocnet.regions import RegionPlan, SubBand

NS_PER_S = 1_000_000_000
# docs/protocol.md §3 / FCC 15.247: "400 ms dwell time per channel per 20 s".
DWELL_WINDOW_NS = 20 * NS_PER_S
NEVER = -1  # earliest_ns of a frame that can never be sent (longer than the dwell time)


def dwell_limit_ms(plan: RegionPlan, where_required: bool = False) -> int:
    """The dwell time that binds this plan's transmissions, in ms (0 = none): US915's
    everywhere, AS923's only where required (docs/protocol.md §3), which a plan alone cannot know,
    so the owner says so (`beacon.dwell_time_where_required` on a hotspot)."""
    return plan.enforced_dwell_time_ms(where_required)


def frame_airtime_s(payload_len: int, datarate: str) -> float:
    """Time on air of a docs/protocol.md §4 frame (CR 4/5, 8-symbol preamble, header, CRC)."""
    sf, bw_hz = parse_datarate(datarate)
    return time_on_air_s(payload_len, sf, bw_hz)


@dataclass(frozen=True)
class TxDecision:
    """Whether a frame may start now; if not, the earliest time it may (NEVER: not at all),
    and which limit holds it back ("duty cycle" in sub-band `label`, or "dwell time")."""

    allowed: bool
    earliest_ns: int
    reason: str = ""
    label: str = ""


class AirtimeLedger:
    """What one transmitter has sent, to decide what it may send. The plan is passed per call
    (a hotspot's plan can change when its region does); sub-bands are remembered by their
    frequency range, channels by frequency."""

    def __init__(self, dwell_where_required: bool = False) -> None:
        self.dwell_where_required = dwell_where_required
        self._band_free_ns: dict[tuple[int, int], int] = {}
        self._channel_log: dict[int, deque[tuple[int, int]]] = {}

    def decide(self, plan: RegionPlan, freq_hz: int, airtime_s: float, now_ns: int) -> TxDecision:
        airtime_ns = round(airtime_s * NS_PER_S)
        dwell_ms = dwell_limit_ms(plan, self.dwell_where_required)
        dwell_ns = dwell_ms * 1_000_000
        if dwell_ns and airtime_ns > dwell_ns:
            return TxDecision(
                False,
                NEVER,
                f"{airtime_s * 1000:.0f} ms on air exceeds the {dwell_ms} ms "
                f"dwell time of {plan.name}",
                f"dwell {freq_hz} Hz",
            )
        earliest, reason, label = now_ns, "", ""
        band = _band(plan, freq_hz)
        if band is not None:
            free = self._band_free_ns.get((band.low_hz, band.high_hz), now_ns)
            if free > earliest:
                earliest, reason, label = free, "duty cycle", band.label
        if dwell_ns:
            free = self._dwell_free_ns(freq_hz, airtime_ns, dwell_ns, earliest)
            if free > earliest:
                earliest, reason, label = free, "dwell time", f"dwell {freq_hz} Hz"
        if earliest > now_ns:
            return TxDecision(False, earliest, reason, label)
        return TxDecision(True, now_ns)

    def record(self, plan: RegionPlan, freq_hz: int, airtime_s: float, start_ns: int) -> None:
        """Account a frame that went out at `start_ns`."""
        airtime_ns = round(airtime_s * NS_PER_S)
        band = _band(plan, freq_hz)
        if band is not None:
            key = (band.low_hz, band.high_hz)
            free = start_ns + round(airtime_ns / band.duty_cycle)
            self._band_free_ns[key] = max(self._band_free_ns.get(key, 0), free)
        if dwell_limit_ms(plan, self.dwell_where_required):
            log = self._channel_log.setdefault(freq_hz, deque())
            log.append((start_ns, start_ns + airtime_ns))
            while log and log[0][1] <= start_ns - DWELL_WINDOW_NS:
                log.popleft()

    def schedule(
        self, plan: RegionPlan, freq_hz: int, airtime_s: float, wanted_ns: int
    ) -> int | None:
        """Defer a frame to the earliest allowed time, account it and return that time; None
        when it can never go out."""
        decision = self.decide(plan, freq_hz, airtime_s, wanted_ns)
        if decision.earliest_ns == NEVER:
            return None
        self.record(plan, freq_hz, airtime_s, decision.earliest_ns)
        return decision.earliest_ns

    def free_at_ns(self, plan: RegionPlan, freq_hz: int) -> int:
        """When the sub-band of `freq_hz` may transmit again (0 = now)."""
        band = _band(plan, freq_hz)
        return 0 if band is None else self._band_free_ns.get((band.low_hz, band.high_hz), 0)

    def _dwell_free_ns(self, freq_hz: int, airtime_ns: int, dwell_ns: int, t_ns: int) -> int:
        """Earliest start ≥ t_ns at which the 20 s window ending with this frame stays within
        the dwell time. Frames are appended in time order, so scanning the log forward works."""
        log = self._channel_log.get(freq_hz)
        if not log:
            return t_ns
        for candidate in [t_ns] + [end + DWELL_WINDOW_NS - airtime_ns for _, end in log]:
            if candidate < t_ns:
                continue
            window_start = candidate + airtime_ns - DWELL_WINDOW_NS
            used = sum(max(0, min(end, candidate) - max(start, window_start)) for start, end in log)
            if used + airtime_ns <= dwell_ns:
                return candidate
        return log[-1][1] + DWELL_WINDOW_NS


def _band(plan: RegionPlan, freq_hz: int) -> SubBand | None:
    for band in plan.sub_bands:
        if band.contains(freq_hz):
            return band
    return None
