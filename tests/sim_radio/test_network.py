"""sim_radio.network: the virtual devices it hosts are real endpoints the production drivers
open; the configs it writes are what the daemon's settings loader accepts; the assertions it
signs verify; the processes it starts are stopped, even when they ignore SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from firmware_bridge.errors import BridgeError
from firmware_bridge.semtech_udp.radio import SemtechUdpRadio
from firmware_bridge.serial_at.rak3172 import Rak3172Radio
from firmware_bridge.types import RxPacket, TxPacket
from hotspot import settings as hotspot_settings
from pocnet import geo, signing
from pocnet.keys import Keypair, PublicKey, verify_ed25519
from sim_radio.air import LoopbackAir
from sim_radio.network import (
    Endpoints,
    ManagedProcess,
    Site,
    VirtualNetwork,
    clean_env,
    hotspot_config,
    location_assertion,
    mesh_air,
    module_argv,
)

RX_868_1 = dict(freq_hz=868_100_000, datarate="SF12BW125", power_dbm=14)


async def _first(radio, timeout_s: float = 5.0) -> RxPacket:
    async def first() -> RxPacket:
        async for frame in radio.received():
            return frame
        raise AssertionError("radio stopped")

    return await asyncio.wait_for(first(), timeout_s)


def test_devices_are_endpoints_the_real_drivers_open() -> None:
    """A RAK3172 driver on the pty and a GWMP server on the forwarder's port hear each other."""

    async def main() -> None:
        sites = [Site("rak", 52.15, 5.38, "rak3172", gps=True),
                 Site("pf", 52.16, 5.39, "packet-forwarder")]
        async with VirtualNetwork(sites, LoopbackAir(-95.0, 6.0), rak_tx_delay_s=0.05) as net:
            rak_ep, pf_ep = net.endpoints["rak"], net.endpoints["pf"]
            assert rak_ep.radio_kind == "rak3172" and Path(rak_ep.radio_device).exists()
            assert Path(rak_ep.gps_device).exists() and pf_ep.gps_device == ""
            assert pf_ep.radio_kind == "semtech-udp"
            host, _, port = pf_ep.radio_device.rpartition(":")
            rak = Rak3172Radio(rak_ep.radio_device, command_timeout_s=2.0)
            udp = SemtechUdpRadio(host, int(port))
            await udp.start()
            await rak.start()
            try:
                await rak.transmit(TxPacket(payload=b"\xe0from-rak", **RX_868_1))
                heard = await _first(udp)
                assert heard.payload == b"\xe0from-rak" and heard.freq_hz == 868_100_000
                assert round(heard.rssi_dbm) == -95
                # The forwarder pulls every 2 s; once it has, the server can send downlinks.
                for _ in range(50):
                    try:
                        await udp.transmit(TxPacket(payload=b"\xe0from-pf", **RX_868_1))
                        break
                    except BridgeError:  # no PULL_DATA yet: no gateway to send to, retry
                        await asyncio.sleep(0.1)
                frame = await _first(rak)
                assert frame.payload == b"\xe0from-pf" and frame.rssi_dbm == -95
                assert net.failed() is None
            finally:
                await rak.stop()
                await udp.stop()

    asyncio.run(main())


def test_mesh_air_delivers_by_distance() -> None:
    """On the default mesh a site 1.5 km away hears a beacon and one 300 km away does not."""

    async def main() -> None:
        sites = [Site("a", 52.150, 5.380), Site("b", 52.160, 5.395), Site("far", 54.8, 5.38)]
        air = mesh_air(sites, seed=3)
        heard: dict[str, list[RxPacket]] = {"b": [], "far": []}
        async with VirtualNetwork(sites, air, rak_tx_delay_s=0.01):
            air.detach("a")  # we transmit as "a" ourselves, without its device
            for name, frames in heard.items():
                air.attach(name, frames.append)
            air.transmit("a", TxPacket(payload=bytes(52), freq_hz=867_100_000,
                                       datarate="SF12BW125", power_dbm=13), 10**18)
        assert len(heard["b"]) == 1 and heard["far"] == []
        assert -130 < heard["b"][0].rssi_dbm < -60

    asyncio.run(main())


def test_network_refuses_bad_sites() -> None:
    with pytest.raises(ValueError, match="unique"):
        VirtualNetwork([Site("a", 0, 0), Site("a", 0, 1)], LoopbackAir())
    with pytest.raises(ValueError, match="radio must be"):
        VirtualNetwork([Site("a", 0, 0, radio="rn2483")], LoopbackAir())


def test_hotspot_config_is_accepted_by_the_daemon_settings(tmp_path: Path) -> None:
    ep = Endpoints("x", "semtech-udp", "127.0.0.1:17000", "/dev/pts/99")
    text = hotspot_config(tmp_path / "k.key", "127.0.0.1:5555", ep, tmp_path / "o.sqlite", 30,
                          first_delay_s=(2, 7))
    conf = hotspot_settings.from_mapping(tomllib.loads(text), env={})
    assert conf.radio.kind == "semtech-udp" and conf.radio.device == "127.0.0.1:17000"
    assert conf.gps.device == "/dev/pts/99" and conf.oracle.endpoints == ("127.0.0.1:5555",)
    assert conf.metrics.port == 0 and conf.beacon.antenna_gain_dbi_x10 == 30
    assert conf.key.file == str(tmp_path / "k.key")
    assert (conf.beacon.first_delay_min_s, conf.beacon.first_delay_max_s) == (2, 7)


def test_location_assertion_is_signed_by_hotspot_owner_and_maker() -> None:
    hotspot, owner, maker = Keypair.generate(), Keypair.generate(), Keypair.generate()
    msg = location_assertion(hotspot, owner, 52.1561, 5.3878, gain_dbi_x10=30, elevation_m=12,
                             maker=maker)
    canonical = signing.canonical_bytes(msg, signing.ASSERTION_SIGNATURES)
    PublicKey.from_bytes(msg.hotspot_key).verify(canonical, msg.hotspot_signature)
    verify_ed25519(msg.owner_wallet, canonical, msg.owner_signature)
    PublicKey.from_bytes(msg.maker_key).verify(canonical, msg.maker_signature)
    assert msg.maker_key == maker.public_key.to_bytes()
    assert geo.resolution(geo.Cell(msg.location)) == geo.ASSERT_RES
    lat, lon = geo.cell_to_latlng(geo.Cell(msg.location))
    assert geo.haversine_m(lat, lon, 52.1561, 5.3878) < 20
    assert msg.nonce == 1 and msg.gain == 30


def test_clean_env_drops_pocnet_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POCNET_ORACLE_BOGUS", "1")
    env = clean_env({"POCNET_HOTSPOT_BEACON_FIRST_DELAY_MIN_S": "1"})
    assert "POCNET_ORACLE_BOGUS" not in env
    assert env["POCNET_HOTSPOT_BEACON_FIRST_DELAY_MIN_S"] == "1"


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    code = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('up', flush=True); time.sleep(60)")

    async def main() -> None:
        proc = ManagedProcess("stubborn", [sys.executable, "-c", code], tmp_path / "p.log")
        await proc.start()
        for _ in range(100):
            if "up" in proc.log_tail():
                break
            await asyncio.sleep(0.05)
        assert proc.returncode is None
        assert await proc.stop(grace_s=0.3) == -9
        polite = ManagedProcess("polite", [sys.executable, "-c", "import time; time.sleep(60)"],
                                tmp_path / "q.log")
        await polite.start()
        assert await polite.stop() == -15

    asyncio.run(main())


def test_children_start_reliably_while_grpc_is_busy(tmp_path: Path) -> None:
    """gRPC's fork handlers crash forked children before exec (grpc/grpc#43055); the daemons
    are spawned without them, so none dies on start while this process talks gRPC."""
    import grpc

    from pocnet.wire import service_pb2, service_pb2_grpc

    async def main() -> list[int | None]:
        async with grpc.aio.insecure_channel("127.0.0.1:1") as channel:
            stub = service_pb2_grpc.QueryServiceStub(channel)

            async def busy() -> None:
                while True:
                    with contextlib.suppress(grpc.RpcError):
                        await stub.ListReports(service_pb2.ReportsRequest(), timeout=0.2)

            load = asyncio.create_task(busy())
            codes = []
            for i in range(30):
                proc = ManagedProcess(f"p{i}", module_argv("json.tool", "--help"),
                                      tmp_path / f"{i}.log")
                await proc.start()
                assert proc.process is not None
                codes.append(await proc.process.wait())
            load.cancel()
            return codes

    assert asyncio.run(main()) == [0] * 30


def test_a_child_dies_with_its_parent(tmp_path: Path) -> None:
    parent_code = (
        "import asyncio, sys; from pathlib import Path; "
        "from sim_radio.network import ManagedProcess, module_argv\n"
        "async def main():\n"
        "    p = ManagedProcess('srv', module_argv('http.server', '0', '--bind', '127.0.0.1'),"
        " Path(sys.argv[1]))\n"
        "    await p.start(); print(p.process.pid, flush=True); await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code, str(tmp_path / "c.log")],
                              stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())  # type: ignore[union-attr]
        assert _alive(child)
        parent.kill()
        parent.wait(5)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        parent.kill()
        parent.wait(5)


def _alive(pid: int) -> bool:
    """Running, and not a zombie nobody reaps (PID 1 in a container may not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")
