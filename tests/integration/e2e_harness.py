"""A running network for end-to-end tests: `pocnet-oracle serve` and `pocnet-hotspot run`
subprocesses on virtual devices served by a `VirtualNetwork` in a background event loop.

The devices must keep serving between tests (the daemons talk to them all the time), so the
network's event loop runs in its own thread; tests call into it with `call()`. Every process
is stopped in `close()`, and dies with its parent if the test run itself is killed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from pocnet.beacon import beacon_tail_wait_s
from pocnet.keys import Keypair
from pocnet.wire import service_pb2, service_pb2_grpc, verdict_pb2
from sim_radio import network as net

T = TypeVar("T")

# The daemons' first beacon 1-3 s after start ([beacon] first_delay_*; 30-300 s by default).
FIRST_DELAY_S = (1, 3)
START_LEAD_S = 60.0  # oracle, onboarding and daemons up on a busy machine
BEACON_WAIT_S = 90.0  # an event wait: generous for a busy machine


class Harness:
    """Oracle + sites + one daemon per site, all started by `start()`."""

    def __init__(self, directory: Path, sites: Sequence[net.Site]) -> None:
        self.directory = directory
        self.sites = tuple(sites)
        self.keys: dict[str, Keypair] = {}
        self.processes: list[net.ManagedProcess] = []
        self.oracle = net.OracleProcess(directory)
        self.network = net.VirtualNetwork(sites, net.mesh_air(sites, seed=7))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._channel: Any = None

    def call(self, make: Callable[[], Awaitable[T]], timeout_s: float = 30.0) -> T:
        async def run() -> T:
            return await make()

        future: Future[T] = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return future.result(timeout_s)

    def start(self) -> None:
        # Daemons started in a beacon window's last minutes would beacon only after it.
        time.sleep(beacon_tail_wait_s(time.time(), START_LEAD_S))
        self._thread.start()
        self.call(self._start, START_LEAD_S)

    async def _start(self) -> None:
        import grpc

        await self.network.start()
        self.processes.append(self.oracle)
        await self.oracle.start()
        self._channel = grpc.aio.insecure_channel(self.oracle.address)
        daemons = []
        for site in self.sites:
            files = net.prepare_hotspot(self.directory, site.node_id, self.oracle.address,
                                        self.network.endpoints[site.node_id],
                                        first_delay_s=FIRST_DELAY_S)
            self.keys[site.node_id] = files.key
            info = await net.onboard(self._channel, net.location_assertion(
                files.key, Keypair.generate(), site.lat, site.lon, maker=self.oracle.maker))
            assert info.region == "EU868", info
            daemons.append(net.HotspotProcess(files))
        self.processes += daemons
        for proc in daemons:
            await proc.start()

    def close(self) -> None:
        async def stop() -> None:
            try:
                await net.stop_all(self.processes)
            finally:
                if self._channel is not None:
                    await self._channel.close()
                await self.network.stop()

        try:
            if self._thread.is_alive():
                self.call(stop, 120.0)  # each process: STOP_GRACE_S at worst, hotspots together
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    # --- queries --------------------------------------------------------------------------

    def query(self) -> Any:
        return service_pb2_grpc.QueryServiceStub(self._channel)

    def reports(self, name: str, kind: int) -> list[Any]:
        key = self.keys[name].public_key.to_bytes()

        async def ask() -> Any:
            return await self.query().ListReports(service_pb2.ReportsRequest(hotspot_key=key),
                                                  timeout=10)

        return [r for r in self.call(ask).reports if r.kind == kind]

    def stored(self, report_id: bytes) -> Any:
        """The operator's view of a report, read from the oracle's database: unlike the public
        QueryService it shows a beacon's payload before its verdict (docs/security.md)."""
        from oracle.storage import open_repository, views

        repo = open_repository(f"sqlite:///{self.oracle.db_path}")
        try:
            return views.report_detail(repo, report_id)
        finally:
            repo.close()

    def stored_poc(self, beacon_id: bytes) -> Any:
        """The operator's view of a beacon's PoC (see `stored`)."""
        from oracle.storage import open_repository, views

        repo = open_repository(f"sqlite:///{self.oracle.db_path}")
        try:
            return views.poc(repo, beacon_id)
        finally:
            repo.close()

    def wait_for(self, what: str, probe: Callable[[], T | None],
                 timeout_s: float = BEACON_WAIT_S) -> T:
        """Poll `probe` until it returns something; fail with the daemons' logs otherwise."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for proc in self.processes:
                assert proc.returncode is None, f"{proc.name} exited: {proc.log_tail()}"
            assert self.network.failed() is None, self.network.failed()
            if (found := probe()) is not None:
                return found
            time.sleep(0.5)
        logs = "\n".join(f"--- {p.name}\n{p.log_tail(8)}" for p in self.processes)
        raise AssertionError(f"no {what} after {timeout_s:.0f} s\n{logs}")

    def first_beacon(self, name: str) -> Any:
        return self.wait_for(f"beacon from {name}",
                             lambda: next(iter(self.reports(name, verdict_pb2.BEACON)), None))
