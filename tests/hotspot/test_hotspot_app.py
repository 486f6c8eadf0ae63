"""The wired daemon end to end in one process: two hotspots on a shared simulated air, one
real gRPC oracle, a day of fake time. Also `info` and `onboard`."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
from pathlib import Path

from hotspot_sink_oracle import SinkOracle, SinkServer
from hotspot_testkit import BeaconerEvents, make_settings, run_quietly, scraped

from hotspot.app import run_daemon
from hotspot.cli import main
from hotspot.clock import NS_PER_S, FakeClock
from hotspot.keystore import KeyStore
from hotspot.outbox import Outbox
from pocnet import signing
from pocnet.beacon import beacon_window
from pocnet.keys import Keypair
from pocnet.wire import verdict_pb2
from sim_radio.air import LoopbackAir

DAY_S = 86_400


def test_two_hotspots_beacon_and_witness_each_other_for_a_day(tmp_path: Path) -> None:
    clock = FakeClock(start_ns=(1_767_225_600 + 4000) * NS_PER_S)
    oracle = SinkOracle(now_s=lambda: clock.now_ns() // NS_PER_S)
    server = SinkServer(oracle).start()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    confs = [make_settings(tmp_path / n, server.endpoint) for n in ("a", "b")]
    keys = [KeyStore.load(c.key.file).key_bytes for c in confs]
    metrics = []

    def queued_reports_acknowledged() -> bool:
        if len(metrics) < 2:
            return False  # the daemons are still starting
        queued = sum(m.beacons_sent.get() + m.witnesses_sent.get()
                     for m in metrics)
        acked = sum(sum(scraped(m, "pocnet_hotspot_reports_acknowledged").values())
                    for m in metrics)
        return acked >= queued

    async def go(events: BeaconerEvents) -> None:
        air = LoopbackAir(rssi_dbm=-101.26, snr_db=-3.25)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(run_daemon(c, clock=clock, rng=random.Random(i), air=air,
                                                shutdown=stop, on_ready=metrics.append))
                 for i, c in enumerate(confs)]
        # Time moves on only once every due beacon is handled and every queued report is
        # acknowledged (real gRPC): on a busy machine the fake clock must not run ahead of
        # them until witnesses expire.
        await run_quietly(clock, DAY_S, lambda: (len(oracle.stored), oracle.entropy_requests),
                          idle=lambda: events.all_handled(clock.now_ns())
                          and queued_reports_acknowledged())
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)

    try:
        with BeaconerEvents() as events:
            asyncio.run(go(events))
    finally:
        server.stop()
    beacons = oracle.beacons()
    witnesses = oracle.witnesses()
    for key in keys:
        mine = [b for b in beacons if b.pub_key == key]
        windows = {beacon_window(b.timestamp // NS_PER_S) for b in mine}
        assert len(mine) == len(windows) >= 4          # one per window, a whole day
    by_data = {b.data: b for b in beacons}
    assert len(witnesses) == len(beacons)              # each heard by the other, once
    for w in witnesses:
        beacon = by_data[w.data]
        assert w.pub_key != beacon.pub_key             # never a self-witness
        assert w.signal == -1013 and w.snr == -32
        assert w.frequency == beacon.frequency
        assert 0 <= w.timestamp - beacon.timestamp < NS_PER_S
    assert len(metrics) == 2
    assert sum(m.beacons_sent.get() for m in metrics) == len(beacons)
    for conf in confs:
        box = Outbox(conf.outbox.path)
        assert box.depth() == 0 and box.drops() == {}
        assert box.get_state("region") == "EU868"


def write_conf(tmp: Path, endpoint: str) -> Path:
    make_settings(tmp, endpoint)  # creates the key
    conf = tmp / "hotspot.toml"
    conf.write_text(
        f'[key]\nfile = "{tmp / "hotspot.key"}"\n[oracle]\nendpoints = ["{endpoint}"]\n'
        f'timeout_s = 1.0\n[radio]\nkind = "sim"\n[outbox]\npath = "{tmp / "o.sqlite"}"\n'
    )
    return conf


def test_info_when_the_oracle_is_unreachable(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("POCNET_HOTSPOT_RADIO_KIND", raising=False)
    conf = write_conf(tmp_path, "127.0.0.1:1")
    assert main(["info", "-c", str(conf), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["oracle"]["reachable"] is False
    assert out["outbox"]["depth"] == 0
    assert out["entropy_authenticated_by"] == []
    assert main(["info", "-c", str(conf)]) == 0
    text = capsys.readouterr().out
    assert "oracle       unreachable" in text
    assert "entropy      not authenticated (set oracle.keys)" in text
    oracle_address = Keypair.generate().public_key.address
    conf.write_text(conf.read_text().replace(
        "timeout_s = 1.0\n", f'timeout_s = 1.0\nkeys = ["{oracle_address}"]\n'))
    assert main(["info", "-c", str(conf)]) == 0
    assert f"entropy      accepted only from {oracle_address}" in capsys.readouterr().out


def test_info_shows_verdicts_reasons_and_rewards(tmp_path: Path, capsys) -> None:
    conf = write_conf(tmp_path, "127.0.0.1:1")
    keys = KeyStore.load(tmp_path / "hotspot.key")
    from pocnet.wire import reports_pb2, service_pb2

    report = reports_pb2.WitnessReport(pub_key=keys.key_bytes, data=b"\x01" * 51)
    rid = signing.report_id(report)
    oracle = SinkOracle()
    oracle.stored[rid] = ("witness", report)
    oracle.verdicts[rid] = verdict_pb2.Verdict(
        report_id=rid, valid=False, reason=verdict_pb2.too_late,
        detail="received 5200 ms after the beacon")
    oracle.rewards = [service_pb2.EpochReward(epoch=20454, beacon_amount=7, witness_amount=11)]
    box = Outbox(tmp_path / "o.sqlite")
    box.set_state("last_witness", {"timestamp_ns": 1_767_225_600 * NS_PER_S,
                                   "frequency_hz": 867_100_000})
    box.close()
    server = SinkServer(oracle).start()
    try:
        conf.write_text(conf.read_text().replace("127.0.0.1:1", server.endpoint))
        assert main(["info", "-c", str(conf), "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert main(["info", "-c", str(conf)]) == 0
        text = capsys.readouterr().out
    finally:
        server.stop()
    assert out["address"] == keys.address
    assert out["oracle"]["asserted_region"] == "EU868"
    (entry,) = out["oracle"]["recent_reports"]
    assert entry["verdict"] == "invalid" and entry["reason"] == "too_late"
    assert out["oracle"]["rewards"] == [{"epoch": 20454, "beacon": 7, "witness": 11}]
    assert "too_late: received 5200 ms after the beacon" in text
    assert "867.1 MHz" in text


def test_onboard_builds_a_request_signed_by_hotspot_and_owner(tmp_path: Path, capsys) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from pocnet import geo
    from pocnet.keys import verify_ed25519
    from pocnet.owner.requests import read_request
    from pocnet.wire import registry_pb2

    keys = KeyStore.create(tmp_path / "hotspot.key")
    seed = bytes(range(32))
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)
    wallet = tmp_path / "owner.json"
    wallet.write_text(json.dumps(list(seed + pub)))
    maker = Keypair.from_seed(b"m" * 32).public_key
    out_file = tmp_path / "assert.hex"
    assert main(["onboard", "--lat", "52.37", "--lon", "4.89", "--gain", "3.5",
                 "--elevation", "12", "--owner-key", str(wallet), "--maker", maker.address,
                 "--nonce", "1", "--key-file", str(tmp_path / "hotspot.key"),
                 "-o", str(out_file), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    msg = read_request(str(out_file), registry_pb2.LocationAssertion)
    assert shown["request_hex"] == out_file.read_text().strip()
    assert shown["signed"] == {"hotspot": True, "owner": True, "maker": False}
    assert msg.hotspot_key == keys.key_bytes and msg.owner_wallet == pub
    assert msg.maker_key == maker.to_bytes() and msg.nonce == 1
    assert msg.gain == 35 and msg.elevation == 12
    assert geo.resolution(geo.Cell(msg.location)) == 12
    canonical = signing.canonical_bytes(msg, fields=signing.ASSERTION_SIGNATURES)
    keys.public_key.verify(canonical, msg.hotspot_signature)
    verify_ed25519(pub, canonical, msg.owner_signature)
    wallet.write_text("[1, 2, 3]")
    assert main(["onboard", "--lat", "52.37", "--lon", "4.89", "--gain", "3",
                 "--elevation", "1", "--owner-key", str(wallet), "--nonce", "1", "--key-file",
                 str(tmp_path / "hotspot.key")]) == 2
    assert "64 bytes" in capsys.readouterr().err


def test_the_daemon_loads_no_heavy_module_its_configuration_does_not_use() -> None:
    """Issue 15: a small board's memory. A fresh interpreter loads the daemon and its `run`
    command: OpenSSL's Ed25519 (cryptography), prometheus_client with http.server and email,
    the drivers' libraries (u-blox GPS, serial, the SDR's numpy) and grpcio (the oracle client is
    grpclib, a tenth of its memory) are not among its modules;
    the registry imports a driver only when the settings name it."""
    heavy = ("cryptography", "prometheus_client", "pyubx2", "pynmeagps", "serial", "numpy",
             "http.server", "email", "grpc")  # grpcio's C core: the client is grpclib
    out = subprocess.run(
        [sys.executable, "-c", "import sys, hotspot.app, hotspot.commands.run; "
         "print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2])
    loaded = set(out.stdout.split())
    assert "nacl" in loaded and "grpclib" in loaded       # the probe sees real imports
    assert sorted(m for m in heavy if m in loaded) == []
