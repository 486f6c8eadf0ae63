"""Server configuration at the edge: TLS, the concurrent-RPC cap, PostgreSQL behind ingest,
health going NOT_SERVING on shutdown."""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from oracle_client import RunningServer, StreamClient
from oracle_factories import keypair, witness_report

from pocnet.wire import entropy_pb2, service_pb2_grpc


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def test_tls(oracle_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings, operator = oracle_settings
    cert, key = _self_signed(tmp_path)
    settings = settings.with_("server", tls_cert=str(cert), tls_key=str(key))
    running = RunningServer(settings, operator)
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(running.address, credentials) as channel:
            entropy = service_pb2_grpc.EntropyServiceStub(channel).GetEntropy(
                entropy_pb2.EntropyRequest(), timeout=5)
            assert len(entropy.data) == 32
        with grpc.insecure_channel(running.address) as plain:
            with pytest.raises(grpc.RpcError) as info:
                service_pb2_grpc.EntropyServiceStub(plain).GetEntropy(
                    entropy_pb2.EntropyRequest(), timeout=2)
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        running.close()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_tls_key_others_may_read_is_refused(oracle_settings, tmp_path: Path, mode: int) -> None:  # type: ignore[no-untyped-def]
    """Issue 10 item 8: refused like a key file group or others may read (docs/protocol.md §1)."""
    import asyncio

    from oracle.errors import OracleError
    from oracle.server import build_oracle, create_server

    settings, _ = oracle_settings
    cert, key = _self_signed(tmp_path)
    key.chmod(mode)
    settings = settings.with_("server", tls_cert=str(cert), tls_key=str(key))

    async def create() -> None:
        oracle = build_oracle(settings)
        try:
            create_server(settings, "127.0.0.1:0", oracle)
        finally:
            oracle.close()

    with pytest.raises(OracleError, match=f"TLS private key .* has mode {mode:04o}; .*chmod 600"):
        asyncio.run(create())


def test_concurrent_rpc_cap(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    settings, operator = oracle_settings
    settings = settings.with_("server", max_concurrent_rpcs=2, session_init_timeout_s=5.0)
    settings = settings.with_("streams", unary_reserve_share=0)  # grpc's own cap, no reserve
    # and no excess tier of the tarpit, whose places gRPC's cap adds (test_oracle_flood.py)
    settings = settings.with_("not_onboarded", max_held_excess=0)
    running = RunningServer(settings, operator)
    try:
        with grpc.insecure_channel(running.address) as channel:
            open_streams = [StreamClient(channel) for _ in range(2)]  # both hold a slot
            stub = service_pb2_grpc.IngestServiceStub(channel)
            with pytest.raises(grpc.RpcError) as info:
                stub.SubmitWitness(witness_report(keypair(1)), timeout=5)
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            for client in open_streams:
                client.close()
    finally:
        running.close()


def test_ingest_on_each_backend(oracle_settings, database_url: str) -> None:  # type: ignore[no-untyped-def]
    settings, operator = oracle_settings
    settings = settings.with_("oracle", database=database_url)
    running = RunningServer(settings, operator)
    try:
        assert running.oracle.repo.dialect == database_url.split(":")[0]
        with grpc.insecure_channel(running.address) as channel:
            stub = service_pb2_grpc.IngestServiceStub(channel)
            futures = [stub.SubmitWitness.future(witness_report(keypair(60 + i)), timeout=10)
                       for i in range(40)]
            acks = [f.result() for f in futures]
        assert len({a.id for a in acks}) == 40 and not any(a.duplicate for a in acks)
        assert running.oracle.repo.count_reports() == 40
    finally:
        running.close()


def test_health_not_serving_after_shutdown(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    running = RunningServer(*oracle_settings)
    running.call(running.server.health.enter_graceful_shutdown())
    with grpc.insecure_channel(running.address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING
    running.close()


def test_settings_replace_keeps_validation(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    settings, _ = oracle_settings
    from oracle.errors import SettingsError

    with pytest.raises(SettingsError):
        settings.with_("server", max_concurrent_rpcs=0)
    assert dataclasses.replace(settings) == settings
