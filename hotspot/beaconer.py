"""Beacon schedule, entropy fetch and beacon reports (docs/protocol.md §4).

One beacon per 6-hour UTC window at a random time inside it; after a start (or a failed
attempt) in a window that still owes its beacon, the beacon comes soon, inside that window, or,
in the window's last minutes, soon after the next one opens (an owner who starts a hotspot at
05:57 sees its first beacon minutes later, not hours).
The beacon is reported only once the radio confirmed it, with the power the radio actually
used and a timestamp taken after transmission: the end of the emission on GPS time when the
radio sent it at a GPS instant (a concentrator with a GPS reference), so that the oracle can
range it against its witnesses' GPS-stamped receptions to the µs; else the host's clock at
the radio's confirmation. Entropy that `EntropyCheck` refuses (unknown
oracle key, bad signature, provably stale) is not beaconed on: one log line, a counted reason,
and a retry after backoff.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Protocol

from hotspot.channels import Watch, until
from hotspot.client.backoff import Backoff
from hotspot.clock import NS_PER_S, Clock, sleep_s
from hotspot.entropy_check import EntropyCheck, clock_offset_s
from hotspot.errors import AirtimeBusy, EntropyRefused, OracleUnavailable, TxFailed
from hotspot.gps_watcher import HeldFix, report_fix
from hotspot.keystore import KeyStore
from hotspot.metrics import HotspotMetrics
from hotspot.outbox import AsyncOutbox
from hotspot.transceiver import TxSender
from pocnet.airtime import frame_airtime_s
from pocnet.beacon import (
    BEACON_END_MARGIN_S,
    BEACON_WINDOW_S,
    ENTROPY_LIFETIME_S,
    beacon_window,
    derive_beacon,
    on_air_frame,
)
from pocnet.regions import RegionPlan
from pocnet.wire import entropy_pb2, reports_pb2

log = logging.getLogger(__name__)

# The first beacon of a window that still owes one: between these delays after start.
FIRST_DELAY_MIN_S = 30
FIRST_DELAY_MAX_S = 300
DEFAULT_FIRST_DELAY_S = (FIRST_DELAY_MIN_S, FIRST_DELAY_MAX_S)
# When the clocks disagree, assume fetched entropy has this much life left (docs/protocol.md
# §4: 180 s).
ASSUMED_ENTROPY_LEFT_S = 120


def next_beacon_time(now_ns: int, rng: random.Random, last_window_s: int | None,
                     window_s: int = BEACON_WINDOW_S,
                     first_delay_s: tuple[int, int] = DEFAULT_FIRST_DELAY_S) -> int:
    """When to beacon next (ns), given the start of the last window we beaconed in.

    Pure: the whole schedule is this function, tested with a fake clock.
    """
    now_s = now_ns / NS_PER_S
    window = beacon_window(int(now_s))
    if last_window_s is not None and last_window_s > window:
        last_window_s = window  # the clock was stepped back; that beacon still lies in the past
    latest_s = window + window_s - BEACON_END_MARGIN_S
    first_min_s, first_max_s = first_delay_s[0], max(first_delay_s)
    start = window + window_s
    if last_window_s != window:  # this window still owes its beacon: it comes soon
        if now_s + first_min_s <= latest_s:
            low = now_s + first_min_s
            high = min(now_s + first_max_s, latest_s)
            return int(rng.uniform(low, high) * NS_PER_S)
        # Too late for this window: soon after the next one opens, not hours into it.
        return int((start + rng.uniform(first_min_s, first_max_s)) * NS_PER_S)
    return int((start + rng.uniform(0, window_s - BEACON_END_MARGIN_S)) * NS_PER_S)


def entropy_expiry_ns(entropy_timestamp_s: int, now_ns: int) -> int:
    """Until when the oracle can accept a beacon on this entropy (its 180 s lifetime)."""
    left_s = entropy_timestamp_s + ENTROPY_LIFETIME_S - now_ns / NS_PER_S
    if not 0 < left_s <= ENTROPY_LIFETIME_S:  # our clock disagrees with the oracle's
        left_s = ASSUMED_ENTROPY_LEFT_S
    return now_ns + int(left_s * NS_PER_S)


class EntropySource(Protocol):
    async def get_entropy(self) -> entropy_pb2.Entropy: ...


class Beaconer:
    def __init__(self, gain_dbi_x10: int, tx: TxSender, entropy: EntropySource,
                 region: Watch[RegionPlan | None], fixes: Watch[HeldFix | None],
                 keystore: KeyStore, outbox: AsyncOutbox, clock: Clock, rng: random.Random,
                 backoff: Backoff, metrics: HotspotMetrics,
                 asserted_gain: Watch[int | None] | None = None,
                 first_delay_s: tuple[int, int] = DEFAULT_FIRST_DELAY_S,
                 entropy_check: EntropyCheck | None = None) -> None:
        self._gain = gain_dbi_x10
        self._check = entropy_check or EntropyCheck()
        self._first_delay_s = first_delay_s
        self._asserted_gain = asserted_gain
        self._tx = tx
        self._entropy = entropy
        self._region = region
        self._fixes = fixes
        self._keys = keystore
        self._outbox = outbox
        self._clock = clock
        self._rng = rng
        self._backoff = backoff
        self._metrics = metrics
        # Read at construction, before any task runs (the worker thread is idle): the first
        # schedule is then set in the task's first step, as every other task's.
        last = outbox.box.get_state("last_beacon")
        self.last_window_s: int | None = last.get("window_s") if last else None

    def gain_dbi_x10(self) -> int:
        """The larger of the configured and the asserted gain: the oracle allows the power of
        the asserted one (docs/protocol.md §5 rule 7), the antenna adds the configured one."""
        asserted = self._asserted_gain.get() if self._asserted_gain is not None else None
        return self._gain if asserted is None else max(self._gain, asserted)

    async def run(self, shutdown: asyncio.Event) -> None:
        if not self._check.authenticated:
            log.warning("entropy is not authenticated (oracle.keys is empty): whoever answers "
                        "on the oracle's address chooses this hotspot's beacons",
                        extra={"event": "entropy_unauthenticated"})
        while not shutdown.is_set():
            at_ns = next_beacon_time(self._clock.now_ns(), self._rng, self.last_window_s,
                                     first_delay_s=self._first_delay_s)
            log.info("next beacon in %.0f s", (at_ns - self._clock.now_ns()) / NS_PER_S,
                     extra={"event": "beacon_scheduled", "at_ns": at_ns})
            ok, _ = await until(shutdown, self._clock.sleep_until(at_ns))
            if not ok:
                return
            plan = self._region.get()
            if plan is None:
                log.warning("region unknown (not onboarded?); waiting for it",
                            extra={"event": "beacon_skipped", "reason": "no_region"})
                await until(shutdown, self._region.changed(self._region.version))
                continue
            await self._handle_beacon(shutdown, plan)

    async def _handle_entropy(self, shutdown: asyncio.Event,
                              entropy: entropy_pb2.Entropy) -> bool:
        """True when the beacon may be built on `entropy`; otherwise say why, count, back off."""
        now_ns = self._clock.now_ns()
        try:
            self._check.check(entropy, now_ns, self._fixes.get())
        except EntropyRefused as exc:
            delay_s = self._backoff.next_delay_s()
            self._metrics.entropy_refused.labels(reason=exc.reason).inc()
            log.warning("entropy refused, no beacon on it (%s): %s; retrying in %.0f s",
                        exc.reason, exc.detail, delay_s,
                        extra={"event": "entropy_refused", "reason": exc.reason})
            await until(shutdown, sleep_s(self._clock, delay_s))
            return False
        offset_s = clock_offset_s(entropy, now_ns)
        if not -ENTROPY_LIFETIME_S <= offset_s <= ENTROPY_LIFETIME_S:
            log.warning("this hotspot's clock is %+.0f s off the oracle's entropy time; beaconing "
                        "anyway (the oracle judges by its own clock), but check NTP",
                        offset_s, extra={"event": "clock_skew", "offset_s": round(offset_s)})
        return True

    async def _handle_beacon(self, shutdown: asyncio.Event, plan: RegionPlan) -> None:
        gain = self.gain_dbi_x10()
        if plan.beacon_power_dbm(gain) is None:
            # docs/protocol.md §4: the antenna alone exceeds the region's max EIRP, and gateway-rs
            # sends no beacon then either. Witnessing goes on; the window counts as done (in memory
            # only), so the next window asks again rather than a retry every few minutes.
            log.warning("no beacon: antenna gain %.1f dBi exceeds %s's max EIRP %.1f dBm, so the "
                        "conducted power would be negative; this hotspot only witnesses",
                        gain / 10, plan.name, plan.max_eirp_dbm_x10 / 10,
                        extra={"event": "beacon_skipped", "reason": "gain_above_max_eirp"})
            self.last_window_s = beacon_window(self._clock.now_ns() // NS_PER_S)
            return
        try:
            entropy = await self._entropy.get_entropy()
        except OracleUnavailable as exc:
            log.warning("no entropy: %s", exc, extra={"event": "beacon_failed",
                                                      "reason": "entropy"})
            await until(shutdown, sleep_s(self._clock, self._backoff.next_delay_s()))
            return
        if not await self._handle_entropy(shutdown, entropy):
            return
        local = self._rng.randbytes(4)
        beacon = derive_beacon(entropy.data, entropy.timestamp, local, plan, gain)
        try:
            receipt = await self._tx.transmit_beacon(beacon, plan)
        except AirtimeBusy as exc:
            if exc.wait_s == float("inf"):  # e.g. an AS923 SF12 beacon where dwell time binds
                log.error("beacon impossible: %s", exc, extra={"event": "beacon_impossible"})
            else:
                log.info("beacon deferred: %s", exc, extra={"event": "beacon_deferred"})
            await until(shutdown, sleep_s(self._clock, min(exc.wait_s, BEACON_WINDOW_S)))
            return
        except TxFailed as exc:
            log.warning("beacon not sent: %s", exc, extra={"event": "beacon_failed",
                                                           "reason": "radio"})
            return
        self._backoff.reset()
        # After the radio's confirmation (docs/protocol.md §2, field 10).
        sent_ns = self._clock.now_ns()
        if receipt.emitted_ns is not None:
            airtime_s = frame_airtime_s(len(on_air_frame(beacon.data)), beacon.datarate)
            sent_ns = receipt.emitted_ns + round(airtime_s * NS_PER_S)
        report = reports_pb2.BeaconReport(
            pub_key=self._keys.key_bytes,
            local_entropy=local,
            remote_entropy=entropy.data,
            data=beacon.data,
            frequency=beacon.frequency_hz,
            channel=0,
            datarate=reports_pb2.DataRate.Value(beacon.datarate),
            tx_power=receipt.power_dbm,
            timestamp=sent_ns,
            tmst=receipt.tmst_us & 0xFFFFFFFF,
        )
        if (fix := report_fix(self._fixes.get(), sent_ns)) is not None:
            report.gps_fix.CopyFrom(fix)
        self._keys.sign(report)
        await self._outbox.enqueue("beacon", report, sent_ns,
                                   entropy_expiry_ns(entropy.timestamp, sent_ns))
        self.last_window_s = beacon_window(sent_ns // NS_PER_S)
        await self._outbox.set_state("last_beacon", {
            "window_s": self.last_window_s, "timestamp_ns": sent_ns,
            "frequency_hz": beacon.frequency_hz, "datarate": beacon.datarate,
            "tx_power_dbm": receipt.power_dbm, "data": beacon.data.hex(),
            "gps_fix": fix is not None, "gps_time": receipt.emitted_ns is not None,
        })
        self._metrics.beacons_sent.inc()
        log.info("beacon sent on %.1f MHz %s at %d dBm", beacon.frequency_hz / 1e6,
                 beacon.datarate, receipt.power_dbm,
                 extra={"event": "beacon_sent", "data": beacon.data.hex()[:16]})
