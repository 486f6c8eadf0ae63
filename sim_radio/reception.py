"""What a receiver makes of a signal: link budget, decodability, reported RSSI/SNR, collisions,
and the transmit budget (duty cycle, dwell time) a transmitter must respect.

The physics (noise floor, sensitivity, demodulation floor, time on air) is `pocnet.link`'s;
this module adds what a real radio does on top: it quantises RSSI to 1 dB and SNR to 0.25 dB
(SX130x `rxpk` fields, SX127x/SX126x packet registers), measures with some noise, saturates SNR
on strong signals, and loses frames that overlap on the same channel and spreading factor
unless one is 6 dB stronger (capture).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from firmware_bridge.errors import TxRejected
from pocnet import link
from pocnet.regions import RegionPlan, SubBand
from sim_radio.propagation import _splitmix, hash_normal, link_hash

Floats = NDArray[np.float64]

# Capture effect: the stronger of two overlapping frames on the same channel and SF survives
# when it is at least this much stronger (Bor et al., MSWiM 2016, §4: 6 dB; also the LoRaSim
# collision model).
CAPTURE_THRESHOLD_DB = 6.0

# Dwell time is counted per channel over a rolling window of this length (PROTOCOL §3:
# "400 ms dwell time per channel per 20 s").
DWELL_WINDOW_NS = 20_000_000_000

_RSSI_NOISE_STREAM = 0x4551
_SNR_NOISE_STREAM = 0x5352


@dataclass(frozen=True)
class RadioKind:
    """How one family of radio measures and reports what it hears."""

    name: str
    noise_figure_db: float
    rssi_step_db: float
    snr_step_db: float
    rssi_noise_db: float  # σ of the measurement error on RSSI
    snr_noise_db: float  # σ of the measurement error on SNR
    snr_max_db: float  # reported SNR saturates here on strong signals
    max_tx_dbm: float = 27.0  # the hardware's conducted power cap


# Noise figure: pocnet.link's default (the 6 dB Semtech's sensitivity tables assume) for all.
# Steps: SX1301/SX1302 `rxpk` "rssi" whole dBm and "lsnr" in 0.25 dB (Semtech packet_forwarder
# PROTOCOL.TXT §4); SX1276 RegPktSnrValue is SNR×4, RegPktRssiValue whole dB (datasheet
# §6.4); SX1262 GetPacketStatus SnrPkt/4 dB. The 14.0 dB ceiling is the largest SNR among
# 38,537 real Helium receptions (CampusIoT dataset, sim_radio/data/helium). The measurement
# noise σ are our assumption (a receiver's RSSI is typically quoted ±1-2 dB).
# Transmit caps (conducted, datasheets): SX1301/SX1302 concentrator cards (RAK2245, RAK2287,
# the radios of Helium's hotspots) 27 dBm; SX1262 +22 dBm; SX1276 +20 dBm (PA_BOOST);
# RAK3172 (STM32WLE5, high-power PA) +22 dBm; RN2483 +14 dBm in the 868 MHz band. A plan's
# EIRP limit applies on top (US915 allows 30 dBm conducted, which no hotspot radio reaches).
RADIO_KINDS: dict[str, RadioKind] = {
    kind.name: kind
    for kind in (
        RadioKind("sx1302", link.DEFAULT_NOISE_FIGURE_DB, 1.0, 0.25, 1.0, 0.5, 14.0, 27.0),
        RadioKind("sx1301", link.DEFAULT_NOISE_FIGURE_DB, 1.0, 0.25, 1.0, 0.5, 14.0, 27.0),
        RadioKind("sx1262", link.DEFAULT_NOISE_FIGURE_DB, 1.0, 0.25, 1.5, 0.5, 14.0, 22.0),
        RadioKind("sx1276", link.DEFAULT_NOISE_FIGURE_DB, 1.0, 0.25, 1.5, 0.5, 14.0, 20.0),
        RadioKind("rak3172", link.DEFAULT_NOISE_FIGURE_DB, 1.0, 0.25, 1.5, 0.5, 14.0, 22.0),
        RadioKind("rn2483", link.DEFAULT_NOISE_FIGURE_DB, 1.0, 0.25, 1.5, 0.5, 14.0, 14.0),
    )
}


def received_power_dbm(
    tx_power_dbm: ArrayLike,
    tx_gain_dbi: ArrayLike,
    tx_cable_loss_db: ArrayLike,
    rx_gain_dbi: ArrayLike,
    rx_cable_loss_db: ArrayLike,
    path_loss_db: ArrayLike,
) -> Floats:
    """The link budget: conducted power + both antennas − both cables − the path."""
    return (
        np.asarray(tx_power_dbm, dtype=np.float64)
        + np.asarray(tx_gain_dbi)
        - np.asarray(tx_cable_loss_db)
        + np.asarray(rx_gain_dbi)
        - np.asarray(rx_cable_loss_db)
        - np.asarray(path_loss_db)
    )


def noise_floor_dbm(bw_hz: ArrayLike, noise_figure_db: ArrayLike) -> Floats:
    """pocnet.link.noise_floor_dbm over arrays: kTB (−174 dBm/Hz) + 10·log10(bw) + NF."""
    return (
        link.THERMAL_NOISE_DBM_HZ
        + 10.0 * np.log10(np.asarray(bw_hz, dtype=np.float64))
        + np.asarray(noise_figure_db, dtype=np.float64)
    )


def decodable(
    power_dbm: ArrayLike, sf: int, bw_hz: int, noise_figure_db: ArrayLike
) -> NDArray[np.bool_]:
    """True where the SNR reaches the SF's demodulation floor (= sensitivity_dbm)."""
    snr = np.asarray(power_dbm, dtype=np.float64) - noise_floor_dbm(bw_hz, noise_figure_db)
    return snr >= link.DEMOD_SNR_FLOOR_DB[sf]


def _event_normal(
    seed: int, tx_keys: ArrayLike, rx_keys: ArrayLike, events: ArrayLike, stream: int
) -> Floats:
    h = link_hash(seed, tx_keys, rx_keys, stream, symmetric=False)
    return hash_normal(_splitmix(h ^ np.asarray(events, dtype=np.uint64)))


def report(
    power_dbm: ArrayLike,
    bw_hz: int,
    kind: RadioKind,
    seed: int,
    tx_keys: ArrayLike,
    rx_keys: ArrayLike,
    events: ArrayLike,
    floor_dbm: ArrayLike | None = None,
) -> tuple[Floats, Floats]:
    """RSSI and SNR as the radio reports them: true value + seeded noise, quantised. The SNR
    is against `floor_dbm` (noise plus interference), by default the thermal floor alone.

    The noise is a pure function of (seed, transmitter, receiver, event), so a run replays.
    """
    p = np.asarray(power_dbm, dtype=np.float64)
    n_rssi = _event_normal(seed, tx_keys, rx_keys, events, _RSSI_NOISE_STREAM)
    n_snr = _event_normal(seed, tx_keys, rx_keys, events, _SNR_NOISE_STREAM)
    rssi = np.round((p + kind.rssi_noise_db * n_rssi) / kind.rssi_step_db) * kind.rssi_step_db
    if floor_dbm is None:
        floor_dbm = noise_floor_dbm(bw_hz, kind.noise_figure_db)
    snr_true = p - np.asarray(floor_dbm, dtype=np.float64)
    snr = np.round((snr_true + kind.snr_noise_db * n_snr) / kind.snr_step_db) * kind.snr_step_db
    return rssi, np.minimum(snr, kind.snr_max_db)


def resolve_collisions(
    receiver: ArrayLike,
    channel: ArrayLike,
    start_ns: ArrayLike,
    airtime_ns: ArrayLike,
    power_dbm: ArrayLike,
    capture_db: float = CAPTURE_THRESHOLD_DB,
) -> NDArray[np.bool_]:
    """Which receptions survive: a frame is lost when another frame at the same receiver, on
    the same channel (frequency and SF folded into `channel`), overlaps it in time on air and is
    not at least `capture_db` weaker.

    Sorting makes the common no-overlap case linear; only overlapping clusters (rare at
    beacon rates) are compared pair by pair.
    """
    rx = np.asarray(receiver)
    ch = np.asarray(channel)
    start = np.asarray(start_ns, dtype=np.int64)
    power = np.asarray(power_dbm)
    n = rx.size
    survives = np.ones(n, dtype=bool)
    if n < 2:
        return survives
    order = np.lexsort((start, ch, rx))
    s_rx, s_ch, s_start = rx[order], ch[order], start[order]
    s_air = np.broadcast_to(np.asarray(airtime_ns, dtype=np.int64), start.shape)[order]
    s_end = s_start + s_air
    same_group = np.empty(n, dtype=bool)
    same_group[0] = False
    same_group[1:] = (s_rx[1:] == s_rx[:-1]) & (s_ch[1:] == s_ch[:-1])
    # A frame can only overlap an earlier frame of its group that started less than the
    # group's longest airtime before it, so chaining starts that close puts every overlapping
    # pair in one cluster whatever the frame lengths (a long frame may cover several short
    # ones that do not overlap each other). With equal lengths (a beacon round) this is exactly
    # "overlaps its predecessor". The passes below check the real overlap.
    heads = np.flatnonzero(~same_group)
    longest = np.maximum.reduceat(s_air, heads)[np.cumsum(~same_group) - 1]
    chained = np.zeros(n, dtype=bool)
    chained[1:] = same_group[1:] & (s_start[1:] - s_start[:-1] < longest[1:])
    if not chained.any():
        return survives
    cluster = np.cumsum(~chained)
    sizes = np.bincount(cluster)
    s_power = power[order]
    # Pairs (by far the most common cluster): vectorised. `a` starts first, so the two
    # overlap exactly when `b` starts before `a` ends.
    first = np.flatnonzero((sizes[cluster] == 2) & ~chained)
    a, b = first, first + 1
    apart = s_start[b] >= s_end[a]
    survives[order[a]] = apart | (s_power[a] >= s_power[b] + capture_db)
    survives[order[b]] = apart | (s_power[b] >= s_power[a] + capture_db)
    # Three or more: each frame against every frame it overlaps.
    busy = np.flatnonzero(sizes[cluster] > 2)
    for members in np.split(busy, np.flatnonzero(np.diff(cluster[busy])) + 1):
        for i in members:
            for j in members:
                if i != j and s_start[i] < s_end[j] and s_start[j] < s_end[i]:
                    if s_power[i] < s_power[j] + capture_db:
                        survives[order[i]] = False
                        break
    return survives


def dwell_limit_ms(plan: RegionPlan) -> int:
    """The dwell time that binds this plan's transmissions, in ms (0 = none): US915's
    everywhere, AS923's only where required, which a plan alone cannot know (PROTOCOL §3)."""
    return plan.enforced_dwell_time_ms()


@dataclass(frozen=True)
class TxDecision:
    """Whether a transmission may start now, and if not, the earliest time it may."""

    allowed: bool
    earliest_ns: int
    reason: str = ""


class TransmitBudget:
    """One transmitter's regulatory budget under its region plan (PROTOCOL §3).

    Duty cycle (ETSI): after T seconds on air in a sub-band with duty cycle δ, that sub-band is
    silent for T·(1/δ − 1) (EU868 1 %: a 2.466 s SF12 beacon forces 244 s). Dwell time (FCC):
    one frame may not last longer than the plan's dwell time, and a channel carries no more
    than that much air time in any 20 s.
    """

    def __init__(self, plan: RegionPlan) -> None:
        self.plan = plan
        self.dwell_ms = dwell_limit_ms(plan)
        self._band_free_ns: dict[str, int] = {}
        self._channel_log: dict[int, deque[tuple[int, int]]] = {}

    def check(self, freq_hz: int, airtime_s: float, now_ns: int) -> TxDecision:
        airtime_ns = round(airtime_s * 1e9)
        dwell_ns = self.dwell_ms * 1_000_000
        if dwell_ns and airtime_ns > dwell_ns:
            return TxDecision(
                False,
                -1,
                f"{airtime_s * 1000:.0f} ms on air exceeds the {self.dwell_ms} ms "
                f"dwell time of {self.plan.name}",
            )
        earliest = now_ns
        band = self._band(freq_hz)
        if band is not None:
            earliest = max(earliest, self._band_free_ns.get(band.label, now_ns))
        if dwell_ns:
            earliest = max(earliest, self._dwell_free_ns(freq_hz, airtime_ns, dwell_ns, earliest))
        if earliest > now_ns:
            return TxDecision(False, earliest, "duty cycle" if band else "dwell time")
        return TxDecision(True, now_ns)

    def record(self, freq_hz: int, airtime_s: float, start_ns: int) -> None:
        """Account a transmission that went out at `start_ns`."""
        airtime_ns = round(airtime_s * 1e9)
        band = self._band(freq_hz)
        if band is not None:
            off_ns = round(airtime_ns / band.duty_cycle)
            self._band_free_ns[band.label] = start_ns + off_ns
        if self.dwell_ms:
            log = self._channel_log.setdefault(freq_hz, deque())
            log.append((start_ns, start_ns + airtime_ns))
            while log and log[0][1] <= start_ns - DWELL_WINDOW_NS:
                log.popleft()

    def transmit_now(self, freq_hz: int, airtime_s: float, now_ns: int) -> None:
        """Refuse (TxRejected, as a radio driver does) or account a transmission at `now_ns`."""
        decision = self.check(freq_hz, airtime_s, now_ns)
        if not decision.allowed:
            when = (
                ""
                if decision.earliest_ns < 0
                else (f"; allowed again in {(decision.earliest_ns - now_ns) / 1e9:.1f} s")
            )
            raise TxRejected(f"{decision.reason}{when}")
        self.record(freq_hz, airtime_s, now_ns)

    def schedule(self, freq_hz: int, airtime_s: float, wanted_ns: int) -> int | None:
        """Defer a transmission to the earliest allowed time, account it and return that time;
        None when it can never go out (longer than the dwell time)."""
        decision = self.check(freq_hz, airtime_s, wanted_ns)
        if decision.earliest_ns < 0:
            return None
        self.record(freq_hz, airtime_s, decision.earliest_ns)
        return decision.earliest_ns

    def _band(self, freq_hz: int) -> SubBand | None:
        for band in self.plan.sub_bands:
            if band.contains(freq_hz):
                return band
        return None

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
