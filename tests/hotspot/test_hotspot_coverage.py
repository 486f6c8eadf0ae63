"""5G coverage: periodic signed CoverageReports from the modem's serving cells."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

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
        cov = Coverager(lambda: modem, 600, Watch(None), keys, outbox, clock,
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
