"""A whole network on one machine: one radio medium, virtual devices on it, and the oracle and
hotspot daemons as separate processes that open those devices as if they were hardware.

`VirtualNetwork` hosts the medium (a `MeshAir` over the sites' true positions, or any `Air`)
and, per site, a RAK3172 on a pseudo-terminal or a Semtech packet forwarder on UDP, plus an
optional u-blox on its own pseudo-terminal, all in the caller's event loop. The oracle and the
hotspots never run in this process (sim_radio imports neither): `OracleProcess` and
`HotspotProcess` start `pocnet-oracle serve` and `pocnet-hotspot run -c FILE`, and they meet on
gRPC and on the virtual devices exactly as they would in the field. Every process is started in
its own session with a parent-death signal, and stopped with SIGTERM then SIGKILL, so a demo or
a test leaves no orphans even when it is interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pocnet import geo, link, signing
from pocnet.keys import Keypair
from pocnet.wire import registry_pb2
from sim_radio.air import Air

SITE_RADIOS = ("rak3172", "packet-forwarder")
# Settings `radio.kind` of the hotspot daemon for each virtual radio.
HOTSPOT_RADIO_KIND = {"rak3172": "rak3172", "packet-forwarder": "semtech-udp"}
# The RAK3172 reports TX done after the frame's real time on air (52-byte SF12 beacon: 2.47 s).
BEACON_AIRTIME_S = link.time_on_air_s(52, 12, 125_000)
FORWARDER_KEEPALIVE_S = 2.0      # PULL_DATA often, so a fresh hotspot can send downlinks soon
GPS_ACQUIRE_AFTER_S = 2.0
# SIGTERM, then SIGKILL after this: the hotspot's own shutdown bound (10 s, hotspot/app.py
# SHUTDOWN_GRACE_S) and time to exit on a busy machine; equal to it, a daemon that used its
# whole bound was killed (seen on a loaded machine: the e2e test asserts a clean exit).
STOP_GRACE_S = 30.0
READY_TIMEOUT_S = 30.0
SIM_MAKER_QUOTA = 100_000       # the simulated network's one maker onboards every hotspot
# First beacon this long after a daemon starts (its default is 30-300 s, for real deployments).
FIRST_DELAY_S = (5, 60)


@dataclass(frozen=True)
class Site:
    """One hotspot's hardware where it really is (its asserted location may differ)."""

    node_id: str
    lat: float
    lon: float
    radio: str = "rak3172"              # rak3172 | packet-forwarder
    gps: bool = False                   # a u-blox reporting the true position
    gain_dbi_x10: int = 30
    height_m: float = 12.0


@dataclass(frozen=True)
class Endpoints:
    """What a hotspot's settings need to open a site's devices."""

    node_id: str
    radio_kind: str                     # the daemon's radio.kind
    radio_device: str                   # pty path, or host:port the daemon listens on
    gps_device: str                     # pty path, "" = none


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def mesh_air(sites: Sequence[Site], preset: str = "hata-suburban", seed: int = 1) -> Air:
    """A propagation-driven medium over the sites' true positions (EU868, SX1302 receivers)."""
    from sim_radio.mesh import Hotspot, Mesh, MeshAir
    from sim_radio.propagation import preset as load_preset

    hotspots = [Hotspot(s.node_id, s.lat, s.lon, gain_dbi_x10=s.gain_dbi_x10,
                        height_m=s.height_m) for s in sites]
    return MeshAir(Mesh(hotspots, load_preset(preset), seed=seed))


class VirtualNetwork:
    """The medium and every site's devices, served in the running event loop until `stop()`."""

    def __init__(self, sites: Sequence[Site], air: Air | None = None,
                 rak_tx_delay_s: float = BEACON_AIRTIME_S) -> None:
        names = [s.node_id for s in sites]
        if len(set(names)) != len(names):
            raise ValueError("site node ids must be unique")
        for s in sites:
            if s.radio not in SITE_RADIOS:
                raise ValueError(f"{s.node_id}: radio must be one of {', '.join(SITE_RADIOS)}")
        self.sites = tuple(sites)
        self.rak_tx_delay_s = rak_tx_delay_s
        self.air: Air = air if air is not None else mesh_air(sites)
        self.endpoints: dict[str, Endpoints] = {}
        self.devices: dict[str, object] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._forwarders: list[object] = []

    async def __aenter__(self) -> VirtualNetwork:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> dict[str, Endpoints]:
        for site in self.sites:
            radio = await self._start_radio(site)
            gps = self._start_gps(site) if site.gps else ""
            self.endpoints[site.node_id] = Endpoints(
                site.node_id, HOTSPOT_RADIO_KIND[site.radio], radio, gps)
        await asyncio.sleep(0)  # let every device task register its reader
        return dict(self.endpoints)

    async def _start_radio(self, site: Site) -> str:
        if site.radio == "rak3172":
            from sim_radio.devices.rak3172 import Rak3172Device

            device = Rak3172Device(self.air, node_id=site.node_id, tx_delay_s=self.rak_tx_delay_s)
            self.devices[site.node_id] = device
            self._spawn(device.run(), site.node_id)
            return device.path
        from sim_radio.devices.packet_forwarder import ForwarderConfig, PacketForwarder

        port = free_udp_port()
        eui = (0xAA555A0000000000 + len(self._forwarders) + 1).to_bytes(8, "big")
        forwarder = PacketForwarder(ForwarderConfig(
            server_port=port, gateway_eui=eui, keepalive_s=FORWARDER_KEEPALIVE_S,
            node_id=site.node_id), self.air)
        await forwarder.start()
        self._forwarders.append(forwarder)
        self.devices[site.node_id] = forwarder
        self._spawn(forwarder.run(), site.node_id)
        return f"127.0.0.1:{port}"

    def _start_gps(self, site: Site) -> str:
        from sim_radio.devices.ublox import UbloxDevice, UbloxScript

        script = UbloxScript(lat=site.lat, lon=site.lon, height_m=site.height_m,
                             acquire_after_s=GPS_ACQUIRE_AFTER_S, start=datetime.now(UTC))
        device = UbloxDevice(script, rate_hz=1.0)
        self.devices[f"{site.node_id}/gps"] = device
        self._spawn(device.run(), f"{site.node_id}/gps")
        return device.path

    def _spawn(self, coro: object, name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))  # type: ignore[arg-type]

    def failed(self) -> str | None:
        """Why a device stopped on its own, or None while all serve."""
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                return f"{task.get_name()}: {task.exception()!r}"
        return None

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        # A device's own failure was reported by failed(); here only the stop matters.
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for forwarder in self._forwarders:
            with contextlib.suppress(OSError):
                await forwarder.stop()  # type: ignore[attr-defined]
        self._tasks.clear()
        self._forwarders.clear()


# --- the processes ------------------------------------------------------------------------


# Runs a module like `python -m`, but first asks Linux to SIGTERM it when its parent dies
# (even by SIGKILL). Done in the child after exec, not in a pre-exec hook: a hook forces
# fork() instead of vfork(), and gRPC's fork handlers in a parent with live channels crash
# such children before they exec (grpc/grpc#43055).
_LAUNCHER = """
import ctypes, os, runpy, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)  # the parent is already gone
sys.argv = sys.argv[2:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without POCNET_ variables (the oracle refuses unknown ones,
    and a stray hotspot override would silently change what a run means)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POCNET_")}
    env.update(extra or {})
    return env


class ManagedProcess:
    """A child process whose stdout and stderr go to a log file."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path,
                 env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = clean_env(env)
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = self.log_path.open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=log,
                stderr=asyncio.subprocess.STDOUT, env=self.env, start_new_session=True,
            )
        finally:
            log.close()

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    async def stop(self, grace_s: float = STOP_GRACE_S) -> int | None:
        """SIGTERM, then SIGKILL after `grace_s`; returns the exit code."""
        proc = self.process
        if proc is None or proc.returncode is not None:
            return None if proc is None else proc.returncode
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(proc.wait(), grace_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            return await proc.wait()


def module_argv(module: str, *args: str) -> list[str]:
    """`python -m module args` that dies with this process."""
    return [sys.executable, "-c", _LAUNCHER, str(os.getpid()), module, *args]


class OracleProcess(ManagedProcess):
    """`pocnet-oracle serve` on 127.0.0.1 with a free port and SQLite in `directory`."""

    def __init__(self, directory: Path, verifier_interval_s: float = 1.0,
                 config: Path | None = None) -> None:
        """`config`: a settings file (e.g. a test network's [network] epoch_s)."""
        self.directory = directory
        self.key_path = directory / "oracle.key"
        self.maker_path = directory / "maker.key"
        self.maker: Keypair | None = None  # allowlisted by start()
        self.db_path = directory / "oracle.db"
        self.port = 0
        settings = ["--config", str(config)] if config is not None else []
        super().__init__(
            "oracle",
            module_argv("oracle.cli", "serve", "--create", "--listen", "127.0.0.1:0",
                        "--database", f"sqlite:///{self.db_path}", "--key", str(self.key_path),
                        "--json", *settings),
            directory / "oracle.log",
            {
                "POCNET_ORACLE_VERIFIER_INTERVAL_S": str(verifier_interval_s),
                # Every simulated hotspot connects from 127.0.0.1: one "peer" to the oracle's
                # per-address stream limits, which are sized for the internet.
                "POCNET_ORACLE_STREAMS_PER_PEER_PENDING": "1024",
                "POCNET_ORACLE_STREAMS_PER_PEER": "4096",
            },
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        from pocnet.keys import create_keyfile, load_keyfile

        if not self.key_path.exists():
            create_keyfile(self.key_path)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        await super().start()
        self.port = await self._wait_listening(offset)
        if not self.maker_path.exists():
            create_keyfile(self.maker_path)
        self.maker = load_keyfile(self.maker_path)
        await self._allow_maker()

    async def _allow_maker(self) -> None:
        """Onboarding needs an allowlisted maker: add ours the way an operator would."""
        proc = await asyncio.create_subprocess_exec(
            *module_argv("oracle.cli", "registry", "maker", "add", self.maker.public_key.address,
                         "--quota", str(SIM_MAKER_QUOTA), "--name", "simulated maker",
                         "--database", f"sqlite:///{self.db_path}"),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, env=self.env)
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"registry maker add failed: {out.decode(errors='replace')}")

    async def _wait_listening(self, offset: int) -> int:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.returncode is not None:
                raise RuntimeError(f"oracle exited with {self.returncode}: {self.log_tail()}")
            with contextlib.suppress(OSError):
                for line in self.log_path.read_bytes()[offset:].splitlines():
                    if line.startswith(b"{") and b'"port"' in line:
                        return int(json.loads(line)["port"])
            await asyncio.sleep(0.1)
        raise RuntimeError(f"oracle not listening after {READY_TIMEOUT_S:.0f} s")


@dataclass(frozen=True)
class HotspotFiles:
    name: str
    key: Keypair
    key_path: Path
    config_path: Path
    log_path: Path


def hotspot_config(key_path: Path, oracle: str, ep: Endpoints, outbox: Path,
                   gain_dbi_x10: int = 30, first_delay_s: tuple[int, int] = FIRST_DELAY_S,
                   log_level: str = "info") -> str:
    """The settings file of one daemon on a site's devices (metrics off: many per machine)."""
    return "\n".join([
        "[key]", f"file = {json.dumps(str(key_path))}",
        "[oracle]", f"endpoints = [{json.dumps(oracle)}]", "timeout_s = 5.0",
        "[radio]", f"kind = {json.dumps(ep.radio_kind)}",
        f"device = {json.dumps(ep.radio_device)}",
        "[gps]", f"device = {json.dumps(ep.gps_device)}",
        "[beacon]", f"antenna_gain_dbi_x10 = {gain_dbi_x10}",
        f"first_delay_min_s = {first_delay_s[0]}", f"first_delay_max_s = {first_delay_s[1]}",
        "[outbox]", f"path = {json.dumps(str(outbox))}",
        "[log]", f"level = {json.dumps(log_level)}",
        "[metrics]", "port = 0",
        "",
    ])


def prepare_hotspot(directory: Path, name: str, oracle: str, ep: Endpoints,
                    gain_dbi_x10: int = 30,
                    first_delay_s: tuple[int, int] = FIRST_DELAY_S) -> HotspotFiles:
    """Key file (0600) and settings file of one hotspot under `directory/name`."""
    from pocnet.keys import create_keyfile, load_keyfile

    home = directory / name
    home.mkdir(parents=True, exist_ok=True)
    key_path = home / "hotspot.key"
    key = load_keyfile(key_path) if key_path.exists() else create_keyfile(key_path)
    config = home / "hotspot.toml"
    config.write_text(hotspot_config(key_path, oracle, ep, home / "outbox.sqlite", gain_dbi_x10,
                                     first_delay_s))
    return HotspotFiles(name, key, key_path, config, home / "hotspot.log")


class HotspotProcess(ManagedProcess):
    """`pocnet-hotspot run -c FILE`."""

    def __init__(self, files: HotspotFiles, env: Mapping[str, str] | None = None) -> None:
        self.files = files
        super().__init__(files.name, module_argv("hotspot.cli", "run", "-c",
                                                  str(files.config_path)), files.log_path, env)


async def stop_all(processes: Sequence[ManagedProcess]) -> None:
    """Stop hotspots first (they flush to the oracle), the oracle last."""
    await asyncio.gather(*(p.stop() for p in processes if not isinstance(p, OracleProcess)))
    for p in processes:
        if isinstance(p, OracleProcess):
            await p.stop()


# --- talking to the oracle ----------------------------------------------------------------


def location_assertion(hotspot: Keypair, owner: Keypair, lat: float, lon: float,
                       gain_dbi_x10: int = 30, elevation_m: int = 12,
                       nonce: int = 1, maker: Keypair | None = None,
                       timestamp_ms: int | None = None) -> registry_pb2.LocationAssertion:
    """An onboarding request signed by the hotspot key, the owner's wallet key and (to
    onboard) the maker; a move needs no maker. The one place simulated hotspots are onboarded
    (the demo's daemons and the proving ground's report files), so a new signature the
    registry requires is added here alone."""
    now_ms = time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms
    msg = registry_pb2.LocationAssertion(
        hotspot_key=hotspot.public_key.to_bytes(), owner_wallet=owner.public_key.raw,
        location=int(geo.latlng_to_cell(lat, lon, geo.ASSERT_RES)), gain=gain_dbi_x10,
        elevation=elevation_m, capability=registry_pb2.FULL, nonce=nonce, timestamp_ms=now_ms,
        maker_key=maker.public_key.to_bytes() if maker is not None else b"",
    )
    canonical = signing.canonical_bytes(msg, signing.ASSERTION_SIGNATURES)
    msg.hotspot_signature = hotspot.sign(canonical)
    msg.owner_signature = owner.sign(canonical)
    if maker is not None:
        msg.maker_signature = maker.sign(canonical)
    return msg


async def onboard(channel: object, assertion: registry_pb2.LocationAssertion,
                  timeout_s: float = 10.0) -> registry_pb2.HotspotInfo:
    """Submit the assertion over gRPC (`channel` is a grpc.aio channel)."""
    from pocnet.wire import service_pb2_grpc

    stub = service_pb2_grpc.RegistryServiceStub(channel)
    return await stub.AssertLocation(assertion, timeout=timeout_s)
