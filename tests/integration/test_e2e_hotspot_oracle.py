"""End to end: `pocnet-hotspot run` daemons (subprocesses) on virtual devices, submitting to a
running `pocnet-oracle serve` (subprocess), all on 127.0.0.1.

Three sites 1.5-2 km apart in Amersfoort on one seeded mesh: a RAK3172 with a u-blox, and two
Semtech packet forwarders. The network starts once for the module; each test waits for its
own evidence at the oracle (QueryService, and `pocnet-oracle report show` once).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from e2e_harness import BEACON_WAIT_S, START_LEAD_S, Harness

from pocnet import geo, signing
from pocnet.beacon import BEACON_END_MARGIN_S
from pocnet.regions import get_plan
from pocnet.wire import reports_pb2, verdict_pb2
from sim_radio.network import Site

# The module's first test also starts the harness, which may wait out a beacon window's tail.
pytestmark = pytest.mark.timeout(BEACON_WAIT_S + 60 + BEACON_END_MARGIN_S + START_LEAD_S)

RAK = Site("rak-gps", 52.1561, 5.3878, "rak3172", gps=True)
PF = Site("forwarder", 52.1700, 5.4000, "packet-forwarder")
PF2 = Site("forwarder-2", 52.1620, 5.3650, "packet-forwarder")
EU868 = get_plan("EU868")
BEACON_POWER_DBM = EU868.max_conducted_dbm(30)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    harness = Harness(tmp_path_factory.mktemp("e2e"), [RAK, PF, PF2])
    try:
        harness.start()
        yield harness
    finally:
        harness.close()
    for proc in harness.processes:  # SIGTERM is a clean stop for the oracle and every daemon
        assert proc.returncode == 0, f"{proc.name} ended with {proc.returncode}"


def _beacon(harness: Harness, site: Site) -> reports_pb2.BeaconReport:
    summary = harness.first_beacon(site.node_id)
    report = harness.stored(bytes(summary.id)).beacon  # the payload is sealed from the public
    assert bytes(report.pub_key) == harness.keys[site.node_id].public_key.to_bytes()
    # Stored as sent (signed on the stream by the session key): its id is its content hash.
    assert len(report.signature) == 64
    assert signing.report_id(report) == bytes(summary.id)
    assert report.frequency in EU868.channels_hz
    assert reports_pb2.DataRate.Name(report.datarate) == "SF12BW125"
    assert report.tx_power == BEACON_POWER_DBM
    assert len(report.data) == 51 and len(report.remote_entropy) == 32
    return report


def test_rak3172_with_ublox_beacon_is_stored_with_its_gps_fix(network: Harness) -> None:
    report = _beacon(network, RAK)
    fix = report.gps_fix
    assert report.HasField("gps_fix") and fix.fix_type == reports_pb2.FIX_3D
    assert geo.haversine_m(fix.lat_e7 / 1e7, fix.lon_e7 / 1e7, RAK.lat, RAK.lon) < 1.0
    assert 0 < fix.h_acc_mm <= 50_000 and fix.satellites > 0
    # The operator's view of the same report, from the oracle's database.
    summary = network.reports(RAK.node_id, verdict_pb2.BEACON)[0]
    shown = subprocess.run(
        [sys.executable, "-m", "oracle.cli", "report", "show", bytes(summary.id).hex(),
         "--database", f"sqlite:///{network.oracle.db_path}", "--json"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert str(fix.lat_e7) in shown.stdout and bytes(summary.id).hex() in shown.stdout
    json.loads(shown.stdout)


def test_packet_forwarder_beacon_is_acknowledged_and_stored(network: Harness) -> None:
    report = _beacon(network, PF)
    assert not report.HasField("gps_fix")  # no GPS at this site: the field stays empty
    # Stamped after the forwarder's TX_ACK, by this machine's clock, during this run.
    assert abs(report.timestamp / 1e9 - time.time()) < BEACON_WAIT_S + 120


def test_a_beacon_is_witnessed_by_a_hotspot_in_range(network: Harness) -> None:
    names = {k.public_key.to_bytes(): n for n, k in network.keys.items()}

    def witnessed() -> tuple[str, list[reports_pb2.WitnessReport]] | None:
        for name in names.values():
            for beacon in network.reports(name, verdict_pb2.BEACON):
                poc = network.stored_poc(bytes(beacon.id))  # payloads: the operator's view
                others = [w.witness for w in poc.witnesses
                          if bytes(w.witness.pub_key) != bytes(poc.beacon.beacon.pub_key)]
                if others:
                    return name, poc.beacon.beacon.data, others
        return None

    beaconer, beacon_data, witnesses = network.wait_for("witnessed beacon", witnessed)
    assert len(beacon_data) == 51
    for w in witnesses:
        assert names[bytes(w.pub_key)] != beaconer
        assert w.data == beacon_data
        assert -140 < w.signal / 10 < -50     # the mesh's RSSI for 1.5-3 km, in deci-dBm
        assert w.frequency in EU868.channels_hz
