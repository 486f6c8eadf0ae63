"""The oracle client over TLS when configured (CA file), and deadlines on unary calls."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpclib.const import Status
from hotspot_sink_oracle import SinkOracle, SinkServer

from hotspot import settings
from hotspot.client.connection import CallStatus, OracleConnection, classify, rejection_reason
from hotspot.client.entropy import EntropyClient
from hotspot.client.ingest import IngestClient
from hotspot.client.registry import RegistryClient
from hotspot.clock import RealClock
from hotspot.errors import OracleUnavailable, ReportRejected
from hotspot.keystore import KeyStore
from pocnet.wire import reports_pb2, service_pb2_grpc


def _cert(subject: str, issuer_key, issuer_name, key, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(obj) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_tls_with_a_ca_file(tmp_path: Path) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pocnet test CA")])
    ca = _cert("pocnet test CA", ca_key, ca_name, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert("127.0.0.1", ca_key, ca_name, key, ca=False)
    (tmp_path / "ca.pem").write_bytes(_pem(ca))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    service_pb2_grpc.add_EntropyServiceServicer_to_server(SinkOracle(), server)
    port = server.add_secure_port(
        "127.0.0.1:0", grpc.ssl_server_credentials([(_pem(key), _pem(cert))]))
    server.start()

    async def fetch(tls: bool, ca_file: str):
        conf = settings.from_mapping({"oracle": {
            "endpoints": [f"127.0.0.1:{port}"], "tls": tls, "ca_file": ca_file,
            "timeout_s": 2.0}}, env={})
        conn = OracleConnection(conf.oracle)
        try:
            return await EntropyClient(conn).get_entropy()
        finally:
            await conn.close()

    try:
        entropy = asyncio.run(fetch(True, str(tmp_path / "ca.pem")))
        assert len(entropy.data) == 32
        with pytest.raises(OracleUnavailable):       # plaintext against a TLS server
            asyncio.run(fetch(False, ""))
    finally:
        server.stop(None)


def test_deadline_on_a_silent_oracle() -> None:
    """A listener that never answers: the call ends at its deadline, retry-later."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()

    async def fetch():
        conf = settings.from_mapping({"oracle": {
            "endpoints": [f"127.0.0.1:{sock.getsockname()[1]}"], "timeout_s": 0.5}}, env={})
        conn = OracleConnection(conf.oracle)
        try:
            await EntropyClient(conn).get_entropy()
        finally:
            await conn.close()

    try:
        with pytest.raises(OracleUnavailable, match=r"DEADLINE_EXCEEDED|UNAVAILABLE"):
            asyncio.run(asyncio.wait_for(fetch(), 5))
    finally:
        sock.close()


def test_error_classification() -> None:
    assert isinstance(classify(CallStatus(Status.UNAVAILABLE, "x"), "c"), OracleUnavailable)
    assert isinstance(classify(CallStatus(Status.RESOURCE_EXHAUSTED, "rate"), "c"),
                      OracleUnavailable)
    rejected = classify(CallStatus(Status.UNAUTHENTICATED, "bad signature"), "c")
    assert isinstance(rejected, ReportRejected)
    assert rejected.reason == "rejected_unauthenticated"
    assert rejection_reason(Status.FAILED_PRECONDITION,
                            "Entropy window expired") == "entropy_expired"


@pytest.mark.parametrize(("size", "outcome"), [
    (4 * 1024 * 1024, "malformed entropy"),            # at the limit: read, then judged
    (4 * 1024 * 1024 + 1, "RESOURCE_EXHAUSTED"),       # one byte over: refused unread
])
def test_replies_over_4_mib_are_refused(size: int, outcome: str) -> None:
    """grpcio's default receive limit (4 MiB) kept: the oracle's messages are small, and a
    reply over it is a retry-later, never parsed."""
    oracle = SinkOracle()

    def pad(entropy) -> None:
        entropy.data = b""
        empty = entropy.ByteSize()
        # A bytes field: its tag, a length varint and the bytes; find the exact total.
        n = size - empty - 1
        while len(entropy.SerializeToString()) != size:
            n -= 1
            entropy.data = b"\x01" * n
        assert entropy.ByteSize() == size

    oracle.entropy_edit = pad
    server = SinkServer(oracle).start()

    async def fetch() -> str:
        conf = settings.OracleSettings(endpoints=(server.endpoint,), timeout_s=30.0)
        conn = OracleConnection(conf)
        try:
            with pytest.raises(OracleUnavailable) as failed:
                await EntropyClient(conn).get_entropy()
            return str(failed.value)
        finally:
            await conn.close()

    try:
        assert outcome in asyncio.run(fetch())
    finally:
        server.stop()


def test_tasks_failing_together_rotate_once_and_close_nothing_in_use(tmp_path: Path) -> None:
    """The uploader, the beaconer and the region watcher share one connection. When the oracle
    fails, each of their calls fails; the first failure moves to the next endpoint, the others
    (on the channel already left) must neither skip that endpoint nor close its new channel
    (closing it would end the report stream open on it)."""
    oracle = SinkOracle()
    server = SinkServer(oracle).start()
    keys = KeyStore.create(tmp_path / "hotspot.key")

    async def go() -> None:
        conf = settings.OracleSettings(endpoints=("127.0.0.1:1", server.endpoint, "127.0.0.1:3"))
        conn = OracleConnection(conf)
        ingest = IngestClient(conn, keys, RealClock())
        failed = conn.channel()
        await conn.rotate(failed)                  # the uploader's call failed first
        fresh = conn.channel()                     # ... and it already uses the next one
        for n in range(2):
            report = reports_pb2.WitnessReport(pub_key=keys.key_bytes, data=bytes([n]))
            await ingest.submit("witness", report)  # on a stream over the fresh channel
            await conn.rotate(failed)               # the region watcher's, the beaconer's
        assert conn.endpoint == server.endpoint
        assert conn.channel() is fresh
        assert ingest.streaming and oracle.sessions == 1 and oracle.unary == 0
        await conn.rotate(fresh)                   # a later failure on it moves on again
        assert conn.endpoint == "127.0.0.1:3"
        await ingest.close()
        await conn.close()

    try:
        asyncio.run(go())
    finally:
        server.stop()


def test_the_first_call_after_the_oracle_returns_connects(tmp_path: Path) -> None:
    """gRPC keeps a reconnect backoff (1 s growing to 120 s) per subchannel, and by default
    subchannels live in a process-wide pool that outlives the channels we drop on failure. The
    daemon's calls then kept failing for seconds after the oracle was back, and the two
    backoffs together could push the outbox's next delivery far past the outage. Each channel
    owns its subchannel, so the retry after an outage is a fresh connection attempt."""
    keys = KeyStore.create(tmp_path / "hotspot.key")
    report = reports_pb2.WitnessReport(pub_key=keys.key_bytes, data=b"w", signal=-900)
    server = SinkServer(SinkOracle())
    server.start()
    server.stop()                                  # a known free port, the oracle down

    async def go() -> None:
        conf = settings.OracleSettings(endpoints=(server.endpoint,), timeout_s=2.0)
        conn = OracleConnection(conf)
        ingest, registry = IngestClient(conn, keys, RealClock()), RegistryClient(conn)
        try:
            for _ in range(3):                     # the uploader and region watcher fail
                with pytest.raises(OracleUnavailable):
                    await ingest.submit("witness", report)
                with pytest.raises(OracleUnavailable):
                    await registry.get_hotspot(keys.key_bytes)
            server.start()                         # the oracle is back on the same port
            ack = await ingest.submit("witness", report)
            assert not ack.duplicate and ingest.streaming
        finally:
            await conn.close()

    try:
        asyncio.run(go())
    finally:
        server.stop()
