"""Turns received beacons into signed witness reports (docs/protocol.md §2, §4).

A frame is witnessed when it is within the drivers' physical bounds, a candidate beacon, not
our own, and not one already witnessed (a bounded LRU remembers far more than the 15 the
protocol asks for). The drivers already drop frames outside the bounds; the witnesser applies
the same rule again (`firmware_bridge.bounds`, not a copy) because a value outside it
overflows the report's int32 fields and would end the daemon: defence in depth.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from firmware_bridge.bounds import rx_violation
from firmware_bridge.types import RxPacket
from hotspot.channels import Inbox, Watch, until
from hotspot.clock import NS_PER_S, Clock
from hotspot.gps_watcher import HeldFix, report_fix
from hotspot.keystore import KeyStore
from hotspot.metrics import HotspotMetrics
from hotspot.outbox import AsyncOutbox
from hotspot.transceiver import OwnBeacon, RxItem
from pocnet.beacon import ENTROPY_LIFETIME_S, beacon_data, is_candidate_beacon
from pocnet.wire import reports_pb2

log = logging.getLogger(__name__)

# docs/protocol.md §4 asks for at least the last 15; 64 costs nothing and covers bursts of repeats.
SEEN_CAPACITY = 64
OWN_CAPACITY = 16


class _Lru:
    """A bounded set that forgets the least recently seen entry first."""

    def __init__(self, capacity: int) -> None:
        self._items: OrderedDict[bytes, None] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, key: bytes) -> bool:
        return key in self._items

    def add(self, key: bytes) -> None:
        self._items[key] = None
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)


def deci(value: float) -> int:
    """×10, truncated toward zero (docs/protocol.md §2: SNR in deci-dB, truncated)."""
    return int(value * 10)


def build_witness(frame: RxPacket, pub_key: bytes,
                  fix: reports_pb2.GpsFix | None) -> reports_pb2.WitnessReport:
    """The unsigned witness report for a received beacon frame; ValueError for a frame outside
    the physical bounds, whose values the report's fields cannot hold."""
    if (reason := rx_violation(frame)) is not None:
        raise ValueError(f"frame outside physical bounds: {reason}")
    report = reports_pb2.WitnessReport(
        pub_key=pub_key,
        data=beacon_data(frame.payload),
        # On GPS time where the radio has it: arrival times compared across hotspots to the µs.
        timestamp=frame.received_ns if frame.gps_ns is None else frame.gps_ns,
        tmst=frame.tmst_us & 0xFFFFFFFF,
        signal=round(frame.rssi_dbm * 10),
        snr=deci(frame.snr_db),
        frequency=frame.freq_hz,
        datarate=reports_pb2.DataRate.Value(frame.datarate),
    )
    if fix is not None:
        report.gps_fix.CopyFrom(fix)
    return report


class Witnesser:
    def __init__(self, inbox: Inbox[RxItem], fixes: Watch[HeldFix | None], keystore: KeyStore,
                 outbox: AsyncOutbox, clock: Clock, metrics: HotspotMetrics) -> None:
        self.inbox = inbox
        self._fixes = fixes
        self._keys = keystore
        self._outbox = outbox
        self._clock = clock
        self._metrics = metrics
        self._seen = _Lru(SEEN_CAPACITY)
        self._own = _Lru(OWN_CAPACITY)

    async def run(self, shutdown: asyncio.Event) -> None:
        while not shutdown.is_set():
            ok, item = await until(shutdown, self.inbox.get())
            if not ok or item is None:
                return
            if isinstance(item, OwnBeacon):
                self._own.add(item.data)
            else:
                await self._handle_frame(item)

    async def _handle_frame(self, frame: RxPacket) -> None:
        if (reason := rx_violation(frame)) is not None:
            self._ignore(reason, f"frame outside physical bounds ({reason})")
            return
        if not is_candidate_beacon(frame.payload):
            return  # ordinary LoRaWAN traffic
        data = beacon_data(frame.payload)
        if data in self._own:
            self._ignore("own", "heard our own beacon")
            return
        if data in self._seen:
            self._ignore("repeat", "beacon already witnessed")
            return
        self._seen.add(data)
        now_ns = self._clock.now_ns()
        report = build_witness(frame, self._keys.key_bytes, report_fix(self._fixes.get(), now_ns))
        self._keys.sign(report)
        if await self._outbox.enqueue("witness", report, now_ns,
                                frame.received_ns + ENTROPY_LIFETIME_S * NS_PER_S) is None:
            return  # the disk refused it: the outbox logged and counted the drop
        await self._outbox.set_state("last_witness", {
            "timestamp_ns": frame.received_ns, "frequency_hz": frame.freq_hz,
            "datarate": frame.datarate, "rssi_dbm": frame.rssi_dbm, "snr_db": frame.snr_db,
            "data": data.hex(), "gps_fix": report.HasField("gps_fix"),
            "gps_time": frame.gps_ns is not None,
        })
        self._metrics.witnesses_sent.inc()
        log.info("witnessed beacon %s at %.1f dBm", data.hex()[:16], frame.rssi_dbm,
                 extra={"event": "witness", "freq_hz": frame.freq_hz})

    def _ignore(self, reason: str, why: str) -> None:
        self._metrics.frames_ignored.labels(reason=reason).inc()
        log.debug("%s", why, extra={"event": "frame_ignored", "reason": reason})
