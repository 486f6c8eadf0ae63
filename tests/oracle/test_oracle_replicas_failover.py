"""Scale-out (issue 15): two `pocnet-oracle serve` processes on one PostgreSQL database behind
a round-robin TCP proxy. Hotspots stream beacons and witnesses through the proxy; one replica
is SIGKILLed mid-stream and its hotspots reconnect (through the proxy, to the survivor) and
resend what was not acknowledged, as the hotspot's outbox does. Afterwards every acknowledged
report is stored exactly once with the receive time of its first acknowledgement, and every
beacon and witness has exactly one verdict."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import grpc
import psycopg
import pytest
from oracle_factories import beacon_report, keypair, witness_report
from replica_cluster import RoundRobinProxy, listening_port, start_replica

from oracle.storage.migrate import load_migrations
from pocnet import signing
from pocnet.keys import Keypair, create_keyfile
from pocnet.wire import ingest_pb2, service_pb2_grpc

pytestmark = pytest.mark.postgres

HOTSPOTS = 8  # an even number: the proxy puts half of the first connections on each replica
REPORTS_PER_HOTSPOT = 150
BEACON_EVERY = 5  # one report in five is a beacon; the others witness other hotspots' beacons
WINDOW = 16  # reports in flight per stream
HANG_GUARD_S = 300.0  # only against a hang: every wait below is for an event
REPLICA_SETTINGS = {
    "POCNET_ORACLE_VERIFIER_INTERVAL_S": "0.2",
    "POCNET_ORACLE_VERIFIER_WITNESS_GRACE_MS": "0",
    "POCNET_ORACLE_VERIFIER_CLAIM_LEASE_S": "1",  # the killed replica's claims lapse soon
    "POCNET_ORACLE_VERIFIER_STALE_AFTER_S": "2",  # late witnesses end as `stale` soon
    "POCNET_ORACLE_SERVER_GRACE_S": "0",
}


def _plan() -> list[tuple[Keypair, list]]:  # type: ignore[type-arg]
    """Per hotspot its reports in sending order. Beacons name entropy the oracle never
    issued, so they are ready for verification at once (and found invalid, which is a
    verdict like any other)."""
    devices = [keypair(1500 + h) for h in range(HOTSPOTS)]
    beacons = [[beacon_report(d, os.urandom(32), 1_700_000_000, local_entropy=os.urandom(4),
                              timestamp_ns=j + 1)
                for j in range(REPORTS_PER_HOTSPOT // BEACON_EVERY)] for d in devices]
    plan = []
    for h, device in enumerate(devices):
        reports = []
        for i in range(REPORTS_PER_HOTSPOT):
            if i % BEACON_EVERY == 0:
                reports.append(("beacon", beacons[h][i // BEACON_EVERY]))
            else:
                heard = beacons[(h + 1) % HOTSPOTS][i // BEACON_EVERY]
                reports.append(("witness", witness_report(device, heard.data,
                                                          timestamp_ns=i + 1)))
        plan.append((device, reports))
    return plan


class StreamEnded(Exception):
    """The server closed the stream before acknowledging everything: reconnect."""


class Hotspot:
    """Sends its reports over a report stream until each is acknowledged, reconnecting and
    resending the unacknowledged ones (re-signed with the new session key; the id, a hash of
    the unsigned report, stays the same) whenever the stream breaks."""

    def __init__(self, device: Keypair, reports: list, acks: dict) -> None:  # type: ignore[type-arg]
        self.device = device
        self.unacked = {signing.report_id(msg): (kind, msg) for kind, msg in reports}
        self.acks = acks  # report id -> (received_ms, duplicate) of its first ack
        self.reconnects = 0

    async def run(self, address: str) -> None:
        while self.unacked:
            try:
                # A connection of its own, as a hotspot has (gRPC would otherwise share one
                # connection between the channels of this process).
                async with grpc.aio.insecure_channel(
                        address, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
                    await self._stream(service_pb2_grpc.IngestServiceStub(channel))
            except (grpc.aio.AioRpcError, StreamEnded):
                self.reconnects += 1

    async def _stream(self, stub: service_pb2_grpc.IngestServiceStub) -> None:
        call = stub.ReportStream()
        offer = await call.read()
        session = Keypair.generate()
        await call.write(ingest_pb2.StreamRequest(
            session_init=signing.session_init(self.device, offer.offer.nonce, session)))
        window = asyncio.Semaphore(WINDOW)
        todo = list(self.unacked.items())

        async def send() -> None:
            for _, (kind, msg) in todo:
                await window.acquire()
                copy = type(msg)()
                copy.CopyFrom(msg)
                await call.write(ingest_pb2.StreamRequest(**{kind: signing.sign(copy, session)}))
            await call.done_writing()

        sender = asyncio.create_task(send())
        try:
            for _ in todo:
                response = await call.read()
                if response is grpc.aio.EOF:
                    raise StreamEnded(f"stream ended early: {await call.code()}")
                ack = response.ack
                self.acks.setdefault(ack.id, (ack.received_ms, ack.duplicate))
                self.unacked.pop(ack.id, None)
                window.release()
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)


async def _run_and_kill(ports: list[int], replicas: list[subprocess.Popen[str]],
                        hotspots: list[Hotspot], acks: dict, total: int) -> list[int]:  # type: ignore[type-arg]
    proxy = RoundRobinProxy(ports)
    await proxy.start()
    try:
        tasks = [asyncio.create_task(h.run(f"127.0.0.1:{proxy.port}")) for h in hotspots]
        # Kill replica 0 once a third of all reports are acknowledged: half the hotspots
        # stream through it, and they cannot all be done (that would be half the reports).
        deadline = time.monotonic() + HANG_GUARD_S
        while len(acks) < total // 3:
            assert not any(t.done() for t in tasks), [t.exception() for t in tasks if t.done()]
            assert time.monotonic() < deadline, f"{len(acks)} acks, waiting for {total // 3}"
            await asyncio.sleep(0.01)
        replicas[0].send_signal(signal.SIGKILL)
        await asyncio.wait_for(asyncio.gather(*tasks), HANG_GUARD_S)
        return proxy.connections
    finally:
        await proxy.close()


def _wait_for(db: psycopg.Connection, sql: str, expected: int) -> None:
    """Poll the database until the query answers `expected` (an event, not a duration)."""
    deadline = time.monotonic() + HANG_GUARD_S
    while (value := db.execute(sql).fetchone()[0]) != expected:
        assert time.monotonic() < deadline, f"{sql!r}: {value}, waiting for {expected}"
        time.sleep(0.05)


def test_replicas_share_the_work_and_survive_one_killed(tmp_path: Path, pg_url: str) -> None:
    create_keyfile(tmp_path / "oracle.key")  # replicas share the oracle key
    plan = _plan()
    total = HOTSPOTS * REPORTS_PER_HOTSPOT
    # Both start at once on an empty database: their migrations run concurrently.
    logs = [tmp_path / f"replica-{i}.log" for i in range(2)]
    replicas = [start_replica(pg_url, tmp_path / "oracle.key", f"replica-{i}", logs[i],
                              REPLICA_SETTINGS) for i in range(2)]
    try:
        ports = [listening_port(r, log) for r, log in zip(replicas, logs, strict=True)]
        acks: dict[bytes, tuple[int, bool]] = {}
        hotspots = [Hotspot(device, reports, acks) for device, reports in plan]
        connections = asyncio.run(_run_and_kill(ports, replicas, hotspots, acks, total))
        assert replicas[0].wait(30) == -signal.SIGKILL

        assert connections[0] >= HOTSPOTS // 2 and connections[1] > HOTSPOTS // 2
        assert sum(h.reconnects for h in hotspots) >= 1  # some stream died with replica 0
        assert len(acks) == total  # every report was acknowledged (resent until it was)
        with psycopg.connect(pg_url, autocommit=True) as db:
            stored = dict(db.execute("SELECT id, received_ms FROM reports").fetchall())
            assert db.execute("SELECT count(*) FROM reports").fetchone()[0] == total
            assert {bytes(i): ms for i, ms in stored.items()} == {
                i: ms for i, (ms, _) in acks.items()}
            versions = db.execute("SELECT version FROM schema_version ORDER BY version")
            assert [v for (v,) in versions] == [m.version for m in load_migrations()]
            # The survivor takes over the killed replica's lapsed claims; every beacon and
            # witness ends with one verdict, no report is left pending or claimed (a beacon's
            # state is its row's status, a witness's its verdict: migration 0140).
            _wait_for(db, "SELECT count(*) FROM reports r WHERE (r.kind = 0 AND r.status IN "
                      "('pending', 'claimed')) OR (r.kind = 1 AND NOT EXISTS "
                      "(SELECT 1 FROM verdicts v WHERE v.report_id = r.id))", 0)
            verdicts = db.execute("SELECT report_id FROM verdicts").fetchall()
            assert sorted(bytes(r) for (r,) in verdicts) == sorted(acks)
        replicas[1].send_signal(signal.SIGTERM)
        assert replicas[1].wait(60) == 0
    finally:
        for replica in replicas:
            if replica.poll() is None:
                replica.kill()
                replica.wait()
