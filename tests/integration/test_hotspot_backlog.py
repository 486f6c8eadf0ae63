"""A hotspot back from an oracle outage uploads its outbox backlog in report batches to a real
`pocnet-oracle serve` (SQLite, signature helpers on), over gRPC on 127.0.0.1: every report is
stored and acknowledged once (docs/protocol.md §2, "Report batches")."""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from hotspot import settings as hotspot_settings
from hotspot.channels import Watch
from hotspot.client.backoff import Backoff
from hotspot.client.connection import OracleConnection
from hotspot.client.ingest import IngestClient, Outcome
from hotspot.clock import NS_PER_S, FakeClock
from hotspot.keystore import KeyStore
from hotspot.metrics import HotspotMetrics
from hotspot.outbox import AsyncOutbox, Outbox
from hotspot.uploader import BATCH, Uploader
from pocnet.keys import create_keyfile
from pocnet.wire import reports_pb2

REPORTS = 150
# One hotspot's backlog is far over the oracle's default per-key rate (5/s, burst 50): that
# limit, which paces a real backlog, is lifted here (tests/oracle covers it per report).
LIFTED = {
    "POCNET_ORACLE_RATE_LIMIT_PER_KEY_BURST": "100000",
    "POCNET_ORACLE_NOT_ONBOARDED_REPORTS_BURST": "100000",
    "POCNET_ORACLE_NOT_ONBOARDED_BYTES_BURST": "100000000",
    "POCNET_ORACLE_VERIFIER_INTERVAL_S": "3600",
}


class CountingClient(IngestClient):
    """The real client, recording the size of every batch it sent."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.batches: list[int] = []
        self.singles = 0

    async def submit_batch(self, items: Sequence[tuple[str, object]]) -> list[Outcome]:  # type: ignore[override]
        outcomes = await super().submit_batch(items)  # type: ignore[arg-type]
        self.batches.append(len(outcomes))
        return outcomes

    async def submit(self, kind, report):  # type: ignore[no-untyped-def]
        self.singles += 1
        return await super().submit(kind, report)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_oracle(tmp: Path, hotspot_port: int) -> subprocess.Popen[str]:
    """The hotspot sends to the oracle's hotspot listener, as it does by default, here on a
    port known before the oracle starts (the first listener, for tools, on any free port)."""
    create_keyfile(tmp / "oracle.key")
    proc = subprocess.Popen(
        [sys.executable, "-m", "oracle.cli", "serve", "--create", "--json",
         "--listen", "127.0.0.1:0", "--database", f"sqlite:///{tmp / 'oracle.db'}",
         "--key", str(tmp / "oracle.key")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, **LIFTED,
             "POCNET_ORACLE_CONNECTIONS_HOTSPOT_LISTEN": f"127.0.0.1:{hotspot_port}"},
    )
    assert proc.stdout is not None
    ready = json.loads(proc.stdout.readline())  # listening, on both
    assert ready["port"] and ready["hotspot_port"] == hotspot_port
    assert ready["hotspot_listening"] == f"127.0.0.1:{hotspot_port}"
    return proc


async def _advance_until(clock: FakeClock, condition, step_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Move the hotspot's fake clock while real loopback I/O runs (no timed assertion: the
    test's own timeout is the hang guard)."""
    while not condition():
        await clock.advance(step_s)
        await asyncio.sleep(0.05)


@pytest.mark.timeout(300)
def test_a_backlog_after_an_outage_is_uploaded_in_batches_each_acked_once(tmp_path: Path) -> None:
    port = _free_port()
    key = tmp_path / "hotspot.key"
    KeyStore.create(key)
    settings = hotspot_settings.from_mapping({
        "key": {"file": str(key)},
        "oracle": {"endpoints": [f"127.0.0.1:{port}"], "timeout_s": 10.0},
        "radio": {"kind": "sim"},
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
        "metrics": {"port": 0},
    }, env={})
    keys = KeyStore.load(key)
    depth: Watch[int] = Watch(0)
    box = Outbox(settings.outbox.path, on_change=depth.set)
    ids = []
    for n in range(REPORTS):
        report = reports_pb2.WitnessReport(pub_key=keys.key_bytes, data=n.to_bytes(51, "big"),
                                           signal=-900, timestamp=n + 1, frequency=867_100_000)
        keys.sign(report)
        ids.append(box.enqueue("witness", report, created_ns=n, expires_ns=None))
    oracle_dir = tmp_path / "oracle"
    oracle_dir.mkdir()
    oracle: subprocess.Popen[str] | None = None
    metrics = HotspotMetrics()

    async def run() -> CountingClient:
        nonlocal oracle
        clock = FakeClock()
        conn = OracleConnection(settings.oracle)
        client = CountingClient(conn, keys, clock)
        uploader = Uploader(AsyncOutbox(box), client, depth, clock,
                            Backoff(random.Random(5)), metrics)
        stop = asyncio.Event()
        task = asyncio.create_task(uploader.run(stop))
        try:
            # The oracle is down: the uploader backs off, the backlog stays.
            await _advance_until(clock, lambda: box.peek(1, clock.now_ns() + 3600 * NS_PER_S)
                                 [0].attempts >= 2)
            assert box.depth() == REPORTS
            oracle = await asyncio.to_thread(_start_oracle, oracle_dir, port)
            await _advance_until(clock, lambda: box.depth() == 0)
        finally:
            stop.set()
            await task
            await client.close()
            await conn.close()
        return client

    try:
        client = asyncio.run(run())
    finally:
        if oracle is not None:
            oracle.terminate()
            assert oracle.wait(30) == 0
        box.close()
    with sqlite3.connect(oracle_dir / "oracle.db") as db:
        stored = [bytes(row[0]) for row in db.execute("SELECT id FROM reports")]
    assert sorted(stored) == sorted(ids)  # every report stored, none twice (the id is unique)
    assert metrics.reports_acknowledged.labels(kind="witness").get() == REPORTS  # acked once
    assert max(client.batches) == BATCH  # a backlog goes in full batches ...
    assert sum(client.batches) + client.singles >= REPORTS
    assert sum(client.batches) >= REPORTS - 2 * BATCH  # ... nearly all of it
