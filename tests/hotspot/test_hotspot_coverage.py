"""5G coverage: periodic signed CoverageReports from the modem's serving cells."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from hotspot_testkit import task_outbox

from firmware_bridge.types import CellMeasurement
from hotspot.channels import Watch
from hotspot.client.backoff import Backoff
from hotspot.clock import FakeClock
from hotspot.coverage import Coverager
from hotspot.keystore import KeyStore
from hotspot.metrics import HotspotMetrics
from hotspot.outbox import Outbox
from pocnet import signing
from pocnet.wire import reports_pb2

CELL = CellMeasurement(tech="NR5G-SA", mcc=262, mnc=1, cell_id=0x1A2B3C4D, pci=101,
                       arfcn=636_666, band=78, rsrp_dbm=-95, rsrq_db=-11, sinr_db=None)


class Modem:
    def __init__(self) -> None:
        self.reads = 0

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def serving_cells(self) -> list[CellMeasurement]:
        self.reads += 1
        return [CELL]

    async def gnss_fix(self):
        return None


def test_periodic_signed_coverage_reports(tmp_path: Path) -> None:
    async def go():
        clock = FakeClock()
        keys = KeyStore.create(tmp_path / "k")
        outbox = Outbox(tmp_path / "o.sqlite")
        modem = Modem()
        cov = Coverager(lambda: modem, 600, Watch(None), keys, task_outbox(outbox), clock,
                        Backoff(random.Random(0)), HotspotMetrics())
        stop = asyncio.Event()
        task = asyncio.create_task(cov.run(stop))
        await clock.advance(3600)
        stop.set()
        await task
        return keys, outbox, modem

    keys, outbox, modem = asyncio.run(go())
    items = outbox.peek(20)
    assert len(items) == modem.reads == 7          # t = 0, 600, ..., 3600
    report = items[0].report
    assert items[0].kind == "coverage"
    signing.verify(report, keys.public_key)
    (cell,) = report.cells
    assert cell.tech == reports_pb2.NR5G_SA and cell.rsrp_dbm == -95
    assert not cell.HasField("sinr_db")
    assert not report.HasField("gps_fix")


def _first_report_through_the_virtual_modem(tmp_path: Path, uere_m: float):
    """One CoverageReport from the configured modem factory and the virtual RM520N on a pty
    (no u-blox fix held, so the modem's own GNSS is the only location source)."""
    from hotspot.coverage import modem_factory
    from sim_radio.devices.quectel import QuectelConfig, QuectelDevice

    async def go():
        device = QuectelDevice(QuectelConfig(fix_after_queries=0, hdop=0.8))
        serving = asyncio.create_task(device.run())
        outbox = Outbox(tmp_path / f"o{uere_m}.sqlite")
        cov = Coverager(modem_factory(device.path, uere_m), 600, Watch(None),
                        KeyStore.create(tmp_path / f"k{uere_m}"), task_outbox(outbox), FakeClock(),
                        Backoff(random.Random(0)), HotspotMetrics())
        stop = asyncio.Event()
        task = asyncio.create_task(cov.run(stop))
        async with asyncio.timeout(10):
            while not outbox.peek(1):
                await asyncio.sleep(0.01)
        stop.set()
        await task
        serving.cancel()
        return device.config, outbox.peek(1)[0].report

    return asyncio.run(go())


def test_the_modems_gnss_fix_is_used_when_its_range_error_is_configured(tmp_path: Path) -> None:
    config, report = _first_report_through_the_virtual_modem(tmp_path, 5.0)
    assert report.HasField("gps_fix")
    assert report.gps_fix.h_acc_mm == 4000                       # HDOP 0.8 x 5 m
    assert abs(report.gps_fix.lat_e7 - config.lat * 1e7) <= 1e2    # 5 decimals on the wire


def test_the_modems_gnss_fix_is_left_out_by_default(tmp_path: Path) -> None:
    _, report = _first_report_through_the_virtual_modem(tmp_path, 0.0)
    assert len(report.cells) == 1 and not report.HasField("gps_fix")
