"""The gRPC edge, in-process on 127.0.0.1: health, reflection, entropy, unary ingest and the
rejections docs/protocol.md §5 lists "at ingest" — each an explicit status, nothing stored."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from oracle_factories import keypair, witness_report

from pocnet import signing
from pocnet.keys import Network, PublicKey
from pocnet.wire import entropy_pb2, service_pb2_grpc

WITNESS_METHOD = "/pocnet.v1.IngestService/SubmitWitness"

# Both ways of checking signatures: in the helper process and inline.
pytestmark = pytest.mark.parametrize(
    "signature_processes", [0, 1], indirect=True, ids=["inline", "pool"]
)


def _raw_call(channel: grpc.Channel, payload: bytes) -> grpc.RpcError:
    call = channel.unary_unary(WITNESS_METHOD, request_serializer=None,
                               response_deserializer=None)
    with pytest.raises(grpc.RpcError) as info:
        call(payload, timeout=5)
    return info.value


def test_health_and_reflection(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", "pocnet.v1.IngestService", "pocnet.v1.QueryService"):
        reply = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    reply = next(stub.ServerReflectionInfo(iter([request]), timeout=5))
    names = {s.name for s in reply.list_services_response.service}
    assert {"pocnet.v1.EntropyService", "pocnet.v1.IngestService",
            "pocnet.v1.RegistryService", "grpc.health.v1.Health"} <= names


def test_entropy_is_signed_and_stored(server, channel: grpc.Channel) -> None:  # type: ignore[no-untyped-def]
    entropy = service_pb2_grpc.EntropyServiceStub(channel).GetEntropy(
        entropy_pb2.EntropyRequest(), timeout=5)
    assert len(entropy.data) == 32 and entropy.timestamp > 1_600_000_000
    signing.verify(entropy, PublicKey.from_bytes(entropy.oracle_key))
    stored = server.oracle.repo.entropy(entropy.data)
    assert stored is not None and stored.timestamp_s == entropy.timestamp


def test_ack_after_store_and_duplicates(server, channel: grpc.Channel) -> None:  # type: ignore[no-untyped-def]
    stub = service_pb2_grpc.IngestServiceStub(channel)
    report = witness_report(keypair(1))
    ack = stub.SubmitWitness(report, timeout=5)
    assert ack.id == signing.report_id(report) and not ack.duplicate
    stored = server.oracle.repo.report(ack.id)
    assert stored is not None and stored.received_ms == ack.received_ms
    again = stub.SubmitWitness(report, timeout=5)
    assert again.id == ack.id and again.duplicate and again.received_ms == ack.received_ms
    assert server.oracle.repo.count_reports() == 1


@pytest.mark.parametrize("payload", [b"\xff\xff\xff", b"\x12\x21\x01", b"\x0a"])
def test_garbage_and_truncated_protobufs(server, channel, payload: bytes) -> None:  # type: ignore[no-untyped-def]
    error = _raw_call(channel, payload)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "decode" in error.details()
    assert server.oracle.repo.count_reports() == 0


def test_truncated_valid_report(server, channel) -> None:  # type: ignore[no-untyped-def]
    raw = witness_report(keypair(1)).SerializeToString()
    error = _raw_call(channel, raw[:-10])
    assert error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNAUTHENTICATED)
    assert server.oracle.repo.count_reports() == 0


def test_oversized_message(server, channel) -> None:  # type: ignore[no-untyped-def]
    report = witness_report(keypair(1), data=b"x" * (17 * 1024))
    error = _raw_call(channel, report.SerializeToString())
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert server.oracle.repo.count_reports() == 0


def test_forged_signature(server, channel) -> None:  # type: ignore[no-untyped-def]
    forged = witness_report(keypair(1), signer=keypair(2))  # names key 1, signed by key 2
    error = _raw_call(channel, forged.SerializeToString())
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "signature" in error.details()
    unsigned = witness_report(keypair(1))
    unsigned.signature = b""
    assert _raw_call(channel, unsigned.SerializeToString()).code() == (
        grpc.StatusCode.UNAUTHENTICATED)
    assert server.oracle.repo.count_reports() == 0


def test_malformed_and_foreign_network_keys(server, channel) -> None:  # type: ignore[no-untyped-def]
    testnet = witness_report(keypair(1, Network.TESTNET))
    error = _raw_call(channel, testnet.SerializeToString())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "TESTNET" in error.details()
    short = witness_report(keypair(1))
    short.pub_key = short.pub_key[:20]
    error = _raw_call(channel, short.SerializeToString())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "key" in error.details()
    bad_tag = witness_report(keypair(1))
    bad_tag.pub_key = b"\x07" + bad_tag.pub_key[1:]
    assert _raw_call(channel, bad_tag.SerializeToString()).code() == (
        grpc.StatusCode.INVALID_ARGUMENT)
    assert server.oracle.repo.count_reports() == 0


def test_flood_from_one_key_is_refused_others_unaffected(server, channel) -> None:  # type: ignore[no-untyped-def]
    stub = service_pb2_grpc.IngestServiceStub(channel)
    flooder = keypair(5)
    accepted, refused = 0, 0
    for i in range(40):
        try:
            stub.SubmitWitness(witness_report(flooder, timestamp_ns=i + 1), timeout=5)
            accepted += 1
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "rate limit" in exc.details()
            refused += 1
    assert accepted <= 21 and refused >= 19  # burst 20 (+1 token refilled at most)
    ack = stub.SubmitWitness(witness_report(keypair(6)), timeout=5)
    assert not ack.duplicate
    assert server.oracle.repo.count_reports() == accepted + 1


def test_16_kib_boundary(server, channel) -> None:  # type: ignore[no-untyped-def]
    base = len(witness_report(keypair(1), data=b"").SerializeToString())
    sizes = {}
    for n in range(16 * 1024 - base - 4, 16 * 1024 - base + 4):
        report = witness_report(keypair(1), data=b"x" * n)
        sizes[len(report.SerializeToString())] = report
    # 16 KiB passes the message limit and meets the witness's envelope (51-byte data) instead
    error = _raw_call(channel, sizes[16 * 1024].SerializeToString())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "data is" in error.details() and "must be 51" in error.details()
    error = _raw_call(channel, sizes[16 * 1024 + 1].SerializeToString())
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert server.oracle.repo.count_reports() == 0
