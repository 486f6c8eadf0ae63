"""The hotspot's pings on an idle report stream keep the agreement with the oracle
(pocnet.keepalive): the oracle's server options let the stream live, where gRPC's default
server policy ends it with GOAWAY "too_many_pings" (issue 10 item 6).

The agreement is scaled down to 1 s pings, so that a few seconds of silence are several pings;
the client is the daemon's own (grpclib), the server a real grpcio one as the oracle runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hotspot_sink_oracle import SinkOracle, SinkServer

from hotspot import settings
from hotspot.client.connection import OracleConnection
from hotspot.client.ingest import IngestClient
from hotspot.clock import RealClock
from hotspot.keystore import KeyStore
from pocnet.keepalive import KeepalivePolicy
from pocnet.wire import reports_pb2

POLICY = KeepalivePolicy(client_ping_interval_ms=1000, client_ping_timeout_ms=5000)
IDLE_S = 10  # ten of the client's pings; gRPC's default policy ends the stream at the third,
# so a busy machine that delays a few pings still sends enough


@pytest.mark.parametrize(("server_options", "sessions"), [
    (POLICY.server_options(), 1),   # the oracle's side of the agreement: one session throughout
    ((), 2),                        # gRPC's default: the pings end it (so they are being sent)
])
def test_an_idle_stream_survives_the_keepalive_pings(
        tmp_path: Path, server_options: tuple[tuple[str, int], ...], sessions: int) -> None:
    oracle = SinkOracle()
    server = SinkServer(oracle, options=server_options).start()
    keys = KeyStore.create(tmp_path / "hotspot.key")

    async def go() -> None:
        conf = settings.OracleSettings(endpoints=(server.endpoint,), timeout_s=10.0)
        conn = OracleConnection(conf, keepalive=POLICY)
        ingest = IngestClient(conn, keys, RealClock())
        try:
            for n in range(2):
                report = reports_pb2.WitnessReport(pub_key=keys.key_bytes, data=bytes([n]))
                ack = await ingest.submit("witness", report)
                assert not ack.duplicate
                if n == 0:
                    await asyncio.sleep(IDLE_S)      # silence on the open stream: pings only
        finally:
            await ingest.close()
            await conn.close()

    try:
        asyncio.run(go())
    finally:
        server.stop()
    assert oracle.sessions == sessions and oracle.unary == 0 and len(oracle.stored) == 2
