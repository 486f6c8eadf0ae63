"""Witnessing (docs/protocol.md §2, §4): candidates only, own and repeated beacons dropped,
conversions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hotspot_testkit import scraped, task_outbox

from firmware_bridge.types import Fix, RxPacket
from hotspot.channels import Inbox, Watch
from hotspot.clock import FakeClock
from hotspot.gps_watcher import HeldFix
from hotspot.keystore import KeyStore
from hotspot.metrics import HotspotMetrics
from hotspot.outbox import Outbox
from hotspot.transceiver import OwnBeacon
from hotspot.witnesser import SEEN_CAPACITY, Witnesser, build_witness
from pocnet import signing
from pocnet.beacon import on_air_frame
from pocnet.gnss import FixKind
from pocnet.wire import reports_pb2


def frame(n: int, rssi: float = -112.37, snr: float = -7.56, **kw) -> RxPacket:
    args = dict(payload=on_air_frame(n.to_bytes(51, "big")), freq_hz=867_300_000,
                datarate="SF12BW125", rssi_dbm=rssi, snr_db=snr,
                received_ns=1_767_225_700_123_456_789, tmst_us=4_000_000_123)
    args.update(kw)
    return RxPacket(**args)


def run_witnesser(tmp: Path, items: list, held: HeldFix | None = None):
    async def go():
        clock = FakeClock()
        keys = KeyStore.create(tmp / "k") if not (tmp / "k").exists() else KeyStore.load(tmp / "k")
        outbox = Outbox(tmp / "o.sqlite")
        metrics = HotspotMetrics()
        inbox: Inbox = Inbox(512)
        fresh = None if held is None else HeldFix(held.fix, clock.now_ns())
        w = Witnesser(inbox, Watch(fresh), keys, task_outbox(outbox), clock, metrics)
        for item in items:
            inbox.offer(item)
        stop = asyncio.Event()
        task = asyncio.create_task(w.run(stop))
        await clock.settle(len(items) * 10 + 20)  # each item: two outbox operations
        stop.set()
        await task
        return keys, outbox, metrics
    return asyncio.run(go())


def test_conversions() -> None:
    report = build_witness(frame(1), b"\x01" * 33, None)
    assert report.signal == -1124          # RSSI deci-dBm, rounded
    assert report.snr == -75               # deci-dB, truncated toward zero
    assert build_witness(frame(1, snr=7.59), b"", None).snr == 75
    assert report.frequency == 867_300_000
    assert report.datarate == reports_pb2.SF12BW125
    assert report.timestamp == 1_767_225_700_123_456_789
    assert report.tmst == 4_000_000_123 & 0xFFFFFFFF
    assert report.data == (1).to_bytes(51, "big")
    assert not report.HasField("gps_fix")
    # sint32 on the wire: a negative RSSI round-trips
    assert reports_pb2.WitnessReport.FromString(report.SerializeToString()).signal == -1124


def test_a_reception_on_gps_time_is_stamped_with_it() -> None:
    """A concentrator's GPS reference stamps the reception to the µs; the host's clock at the
    datagram's arrival, milliseconds later, is not the report's timestamp then."""
    gps = 1_767_225_700_118_204_000
    report = build_witness(frame(1, gps_ns=gps), b"\x01" * 33, None)
    assert report.timestamp == gps
    assert report.tmst == 4_000_000_123 & 0xFFFFFFFF


def test_own_repeats_and_non_beacons_are_dropped(tmp_path: Path) -> None:
    lora_uplink = RxPacket(b"\x40" + b"\x00" * 20, 868_100_000, "SF7BW125", -80, 9, 1)
    items = [
        OwnBeacon((7).to_bytes(51, "big")),
        frame(7),              # our own beacon, heard back
        frame(1), frame(1),    # a repeat
        frame(2),
        lora_uplink,
        frame(3, datarate="LRFHSS9"),
    ]
    keys, outbox, metrics = run_witnesser(tmp_path, items)
    reports = [p.report for p in outbox.peek(10)]
    assert [r.data[-1] for r in reports] == [1, 2]
    for r in reports:
        signing.verify(r, keys.public_key)
        assert r.pub_key == keys.key_bytes
    assert metrics.witnesses_sent.get() == 2
    ignored = scraped(metrics, "pocnet_hotspot_frames_ignored")
    assert ignored == {"own": 1, "repeat": 1, "datarate_unknown": 1}
    assert outbox.get_state("last_witness")["data"] == (2).to_bytes(51, "big").hex()


def test_a_frame_outside_physical_bounds_is_refused_before_any_report(tmp_path: Path) -> None:
    """Issue 10: an rssi of 1e12 overflowed the int32 `signal` and ended the daemon. The
    drivers drop such frames; the witnesser refuses them again, by the same rule."""
    items = [frame(1, rssi=1e12), frame(2, rssi=float("nan")), frame(3, snr=-1e12),
             frame(4, freq_hz=2**70), frame(5, tmst_us=-1), frame(6, rssi=10.0)]
    _, outbox, metrics = run_witnesser(tmp_path, items)
    assert [p.report.data[-1] for p in outbox.peek(10)] == [6]     # +10 dBm is the edge
    ignored = scraped(metrics, "pocnet_hotspot_frames_ignored")
    assert ignored == {"rssi_out_of_range": 2, "snr_out_of_range": 1, "freq_out_of_range": 1,
                       "tmst_out_of_range": 1}
    with pytest.raises(ValueError, match="rssi_out_of_range"):
        build_witness(frame(1, rssi=1e12), b"", None)


def test_remembers_at_least_the_last_15(tmp_path: Path) -> None:
    first = [frame(n) for n in range(SEEN_CAPACITY)]
    again = [frame(n) for n in range(SEEN_CAPACITY - 15, SEEN_CAPACITY)]
    _, outbox, _ = run_witnesser(tmp_path, first + again)
    assert outbox.depth() == SEEN_CAPACITY
    assert SEEN_CAPACITY >= 15


def test_gps_fix_attached_when_usable(tmp_path: Path) -> None:
    fix = Fix(kind=FixKind.THREE_D, lat=52.3702157, lon=4.8951679, height_m=12.3456,
              h_acc_m=2.5, satellites=11, time=datetime(2026, 1, 1, 0, 1, 40, 250000, tzinfo=UTC),
              gnss_fix_ok=True)
    _, outbox, _ = run_witnesser(tmp_path, [frame(9)], held=HeldFix(fix, 0))
    g = outbox.peek(1)[0].report.gps_fix
    assert (g.lat_e7, g.lon_e7, g.height_mm, g.h_acc_mm) == (523702157, 48951679, 12346, 2500)
    assert g.fix_type == reports_pb2.FIX_3D and g.satellites == 11
    assert g.gnss_time_ns == 1_767_225_700_250_000_000


def test_missing_or_poor_gps_leaves_the_fix_empty(tmp_path: Path) -> None:
    poor = Fix(kind=FixKind.THREE_D, lat=1.0, lon=2.0, h_acc_m=80.0, gnss_fix_ok=True)
    _, outbox, _ = run_witnesser(tmp_path, [frame(4)], held=HeldFix(poor, 0))
    (tmp_path / "none").mkdir()
    _, outbox2, _ = run_witnesser(tmp_path / "none", [frame(5)])
    assert not outbox.peek(1)[0].report.HasField("gps_fix")
    assert not outbox2.peek(1)[0].report.HasField("gps_fix")


def test_a_full_disk_drops_the_witness_and_keeps_witnessing(tmp_path: Path) -> None:
    from hotspot_testkit import fill_disk

    metrics = HotspotMetrics()
    outbox = Outbox(tmp_path / "o.sqlite",
                    on_drop=lambda r, n: metrics.reports_dropped.labels(reason=r).inc(n))
    fill_disk(outbox)
    w = Witnesser(Inbox(4), Watch(None), KeyStore.create(tmp_path / "k"), task_outbox(outbox),
                  FakeClock(), metrics)

    async def go() -> None:
        for n in range(100):
            await w._handle_frame(frame(n))     # must not raise: the task would crash

    asyncio.run(go())
    refused = metrics.reports_dropped.labels(reason="disk_full").get()
    assert refused >= 1
    assert metrics.witnesses_sent.get() == outbox.depth() == 100 - refused
