"""What a receiver makes of a signal: link budget, reported RSSI/SNR, collisions, and the
transmit budget (pocnet.airtime's duty cycle and dwell time, bound to a plan); whether it
decodes at all is channel.py's.

The physics (noise floor, sensitivity, demodulation floor, time on air) is `pocnet.link`'s;
this module adds what a real radio does on top: it quantises RSSI to 1 dB and SNR to 0.25 dB
(SX130x `rxpk` fields, SX127x/SX126x packet registers), measures with some noise, saturates SNR
on strong signals, and loses frames that overlap on the same channel and spreading factor
unless one is 6 dB stronger (capture).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from firmware_bridge.errors import TxRejected
from pocnet import airtime, link
from pocnet.airtime import TxDecision
from pocnet.regions import RegionPlan
from sim_radio.propagation import _splitmix, hash_normal, link_hash

Floats = NDArray[np.float64]

# Capture effect: the stronger of two overlapping frames on the same channel and SF survives
# when it is at least this much stronger (Bor et al., MSWiM 2016, §4: 6 dB; also the LoRaSim
# collision model).
CAPTURE_THRESHOLD_DB = 6.0

_RSSI_NOISE_STREAM = 0x4551
_SNR_NOISE_STREAM = 0x5352
_STAMP_NOISE_STREAM = 0x5453


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
    # When it stamps a reception: to the nearest stamp_step_ns of GPS time, after an error of
    # σ stamp_noise_ns (the time base's and the decision's), see STAMPS below.
    stamp_step_ns: float = 1_000.0
    stamp_noise_ns: float = 100.0


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
# Stamps (what a witness report's `timestamp` holds). A Helium hotspot's concentrator stamps
# each packet with `tmst`, a 1 MHz counter (Semtech packet_forwarder PROTOCOL.TXT §4; the
# SX1302's counter runs at 32 MHz, its HAL gives µs), turned into GPS time by the PPS pulse of
# the hotspot's GPS receiver; the receiver's own time accuracy (u-blox UBX-NAV-PVT `tAcc`) is
# typically 20-200 ns (helium/proto pull request 23, where the miner began attaching it). So a
# concentrator's stamp is GPS time rounded to the µs, after an error of σ 100 ns (our figure,
# inside that range). A single-channel radio (SX126x, SX127x, modules) has no such counter:
# its host stamps the receive interrupt; σ 1 µs is our assumption for a GPS-disciplined MCU.
# Hotspots on NTP time alone stamp to milliseconds (the miner's `ntp_info` jitter, same pull
# request); the simulator gives every receiver GPS time. pocnet's hotspot reports the rxpk's
# `time` (the forwarder's GPS-referenced UTC, to the µs) where there is one, and sends its
# beacon at a GPS millisecond and reports its end (firmware_bridge/semtech_udp/radio.py).
# One antenna shared by several keys (one concentrator, its packets copied to each) gives them
# one stamp: the error is drawn per (transmitter antenna, receiver antenna, event), as RSSI's is.
_MCU_STAMP_NOISE_NS = 1_000.0

RADIO_KINDS: dict[str, RadioKind] = {
    kind.name: kind
    for kind in (
        RadioKind("sx1302", link.DEFAULT_NOISE_FIGURE_DB, 1.0, 0.25, 1.0, 0.5, 14.0, 27.0),
        RadioKind("sx1301", link.DEFAULT_NOISE_FIGURE_DB, 1.0, 0.25, 1.0, 0.5, 14.0, 27.0),
        RadioKind("sx1262", link.DEFAULT_NOISE_FIGURE_DB, 1.0, 0.25, 1.5, 0.5, 14.0, 22.0,
                  stamp_noise_ns=_MCU_STAMP_NOISE_NS),
        RadioKind("sx1276", link.DEFAULT_NOISE_FIGURE_DB, 1.0, 0.25, 1.5, 0.5, 14.0, 20.0,
                  stamp_noise_ns=_MCU_STAMP_NOISE_NS),
        RadioKind("rak3172", link.DEFAULT_NOISE_FIGURE_DB, 1.0, 0.25, 1.5, 0.5, 14.0, 22.0,
                  stamp_noise_ns=_MCU_STAMP_NOISE_NS),
        RadioKind("rn2483", link.DEFAULT_NOISE_FIGURE_DB, 1.0, 0.25, 1.5, 0.5, 14.0, 14.0,
                  stamp_noise_ns=_MCU_STAMP_NOISE_NS),
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


def stamp_ns(
    true_ns: ArrayLike,
    kind: RadioKind,
    seed: int,
    tx_keys: ArrayLike,
    rx_keys: ArrayLike,
    events: ArrayLike,
) -> NDArray[np.int64]:
    """When the radio says it received the frame: the true arrival plus a seeded error of σ
    `kind.stamp_noise_ns`, rounded to `kind.stamp_step_ns` (RADIO_KINDS' comment says why);
    a pure function of (seed, transmitter, receiver, event), so a run replays."""
    t = np.asarray(true_ns, dtype=np.int64)
    noise = kind.stamp_noise_ns * _event_normal(seed, tx_keys, rx_keys, events,
                                                _STAMP_NOISE_STREAM)
    step = kind.stamp_step_ns
    # Rounded relative to a whole second (GPS time's grid), in int64 to keep the ns.
    second = t - t % 1_000_000_000
    within = (t - second).astype(np.float64) + noise
    return second + (np.round(within / step) * step).astype(np.int64)


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
    """The dwell time that binds this plan's transmissions in the simulator, in ms (0 = none):
    AS923's "where required" is taken as not required."""
    return airtime.dwell_limit_ms(plan)


class TransmitBudget:
    """One simulated transmitter's regulatory budget under its region plan: pocnet.airtime's
    rule (the daemon's own), bound to the plan, refusing as a radio driver does."""

    def __init__(self, plan: RegionPlan) -> None:
        self.plan = plan
        self.dwell_ms = dwell_limit_ms(plan)
        self._ledger = airtime.AirtimeLedger()

    def check(self, freq_hz: int, airtime_s: float, now_ns: int) -> TxDecision:
        return self._ledger.decide(self.plan, freq_hz, airtime_s, now_ns)

    def record(self, freq_hz: int, airtime_s: float, start_ns: int) -> None:
        """Account a transmission that went out at `start_ns`."""
        self._ledger.record(self.plan, freq_hz, airtime_s, start_ns)

    def transmit_now(self, freq_hz: int, airtime_s: float, now_ns: int) -> None:
        """Refuse (TxRejected, as a radio driver does) or account a transmission at `now_ns`."""
        decision = self.check(freq_hz, airtime_s, now_ns)
        if not decision.allowed:
            when = (
                ""
                if decision.earliest_ns == airtime.NEVER
                else (f"; allowed again in {(decision.earliest_ns - now_ns) / 1e9:.1f} s")
            )
            raise TxRejected(f"{decision.reason}{when}")
        self.record(freq_hz, airtime_s, now_ns)

    def schedule(self, freq_hz: int, airtime_s: float, wanted_ns: int) -> int | None:
        """Defer a transmission to the earliest allowed time, account it and return that time;
        None when it can never go out (longer than the dwell time)."""
        return self._ledger.schedule(self.plan, freq_hz, airtime_s, wanted_ns)

    def free_at_ns(self, freq_hz: int) -> int:
        """When the sub-band of `freq_hz` may transmit again (0 = never used)."""
        return self._ledger.free_at_ns(self.plan, freq_hz)
