"""The report stream's session rules (docs/protocol.md §1): offer, signed init within the timeout,
reports signed by the session key naming the device key; any breach closes the stream."""

from __future__ import annotations

import grpc
import pytest
from oracle_client import StreamClient
from oracle_factories import beacon_report, keypair, witness_report

from pocnet import signing
from pocnet.wire import ingest_pb2

# Both ways of checking signatures: in the helper process and inline.
pytestmark = pytest.mark.parametrize(
    "signature_processes", [0, 1], indirect=True, ids=["inline", "pool"]
)


def _open(channel: grpc.Channel, device_seed: int = 1, session_seed: int = 101):  # type: ignore[no-untyped-def]
    client = StreamClient(channel)
    device, session = keypair(device_seed), keypair(session_seed)
    client.send(session_init=signing.session_init(device, client.nonce, session))
    return client, device, session


def _closed_with(client: StreamClient) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        client.recv()
    client.close()
    return info.value


def test_session_reports_are_acked_after_store(server, channel) -> None:  # type: ignore[no-untyped-def]
    client, device, session = _open(channel)
    assert len(client.nonce) == 32
    reports = [witness_report(device, timestamp_ns=i + 1, signer=session) for i in range(5)]
    for r in reports:
        client.send(witness=r)
    entropy = server.oracle.entropy.current()
    client.send(beacon=beacon_report(device, entropy.data, entropy.timestamp, signer=session))
    acks = [client.recv().ack for _ in range(6)]
    client.close()
    assert [a.id for a in acks[:5]] == [signing.report_id(r) for r in reports]
    assert all(server.oracle.repo.report(a.id) is not None for a in acks)
    beacon = server.oracle.repo.report(acks[5].id)
    assert beacon is not None and beacon.kind == "beacon"
    with pytest.raises(StopIteration):
        client.recv()


def test_report_signed_by_wrong_key_closes_stream(server, channel) -> None:  # type: ignore[no-untyped-def]
    client, device, session = _open(channel)
    good = witness_report(device, timestamp_ns=1, signer=session)
    client.send(witness=good)
    assert client.recv().ack.id == signing.report_id(good)
    client.send(witness=witness_report(device, timestamp_ns=2))  # device key, not session key
    client.send(witness=witness_report(device, timestamp_ns=3, signer=session))
    error = _closed_with(client)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert server.oracle.repo.count_reports() == 1  # nothing after the bad report


def test_report_naming_another_device_closes_stream(server, channel) -> None:  # type: ignore[no-untyped-def]
    client, _device, session = _open(channel)
    client.send(witness=witness_report(keypair(2), signer=session))
    error = _closed_with(client)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "device key" in error.details()
    assert server.oracle.repo.count_reports() == 0


def test_bad_init_wrong_nonce(server, channel) -> None:  # type: ignore[no-untyped-def]
    client = StreamClient(channel)
    replayed = signing.session_init(keypair(1), b"\x00" * 32, keypair(101))
    client.send(session_init=replayed)
    error = _closed_with(client)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and "session init" in error.details()


def test_bad_init_forged_signature(server, channel) -> None:  # type: ignore[no-untyped-def]
    client = StreamClient(channel)
    init = signing.session_init(keypair(1), client.nonce, keypair(101))
    init.pub_key = keypair(2).public_key.to_bytes()
    client.send(session_init=init)
    assert _closed_with(client).code() == grpc.StatusCode.UNAUTHENTICATED


def test_report_before_init(server, channel) -> None:  # type: ignore[no-untyped-def]
    client = StreamClient(channel)
    client.send(witness=witness_report(keypair(1)))
    error = _closed_with(client)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and "session init" in error.details()
    assert server.oracle.repo.count_reports() == 0


def test_init_timeout(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    from oracle_client import RunningServer

    settings, operator = oracle_settings
    running = RunningServer(settings.with_("server", session_init_timeout_s=0.3), operator)
    try:
        with grpc.insecure_channel(running.address) as ch:
            client = StreamClient(ch)  # sends nothing: closed once the 0.3 s have passed
            error = _closed_with(client)
            assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert "no session init" in error.details()
    finally:
        running.close()


def test_second_init_is_refused(server, channel) -> None:  # type: ignore[no-untyped-def]
    client, device, session = _open(channel)
    client.send(session_init=signing.session_init(device, client.nonce, session))
    assert _closed_with(client).code() == grpc.StatusCode.UNAUTHENTICATED


def test_garbage_stream_message(server, channel) -> None:  # type: ignore[no-untyped-def]
    call = channel.stream_stream("/pocnet.v1.IngestService/ReportStream",
                                 request_serializer=None, response_deserializer=None)
    responses = call(iter([b"\xff\xff\xff\xff"]), timeout=5)
    offer = ingest_pb2.StreamResponse.FromString(next(responses))
    assert len(offer.offer.nonce) == 32
    with pytest.raises(grpc.RpcError) as info:
        next(responses)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_session_expires(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    from oracle_client import RunningServer

    settings, operator = oracle_settings
    settings = settings.with_("server", session_max_s=0.2)
    running = RunningServer(settings, operator)
    try:
        with grpc.insecure_channel(running.address) as ch:
            client, _device, _session = _open(ch)
            error = _closed_with(client)  # idle past the 0.2 s session lifetime
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "expired" in error.details()
    finally:
        running.close()


def _sized_witness(device, session, size: int):  # type: ignore[no-untyped-def]
    """A witness report signed by `session` whose serialised size is exactly `size` bytes."""
    pad = size - len(witness_report(device, data=b"", signer=session).SerializeToString())
    for extra in range(4):  # the data field's length prefix grows with the data
        report = witness_report(device, data=b"x" * (pad - extra), signer=session)
        if len(report.SerializeToString()) == size:
            return report
    raise AssertionError(size)


def test_16_kib_report_limit_holds_on_the_stream_too(server, channel) -> None:  # type: ignore[no-untyped-def]
    # The limit is on the report (issue 6: "16 KiB for reports"), not on the envelope around
    # it: a report a unary call accepts is accepted on the stream as well.
    # Since the size envelopes a 16 KiB witness passes the message limit and is refused for
    # its data (INVALID_ARGUMENT), as a unary call refuses it; one byte more is over the limit.
    client, device, session = _open(channel)
    client.send(witness=_sized_witness(device, session, 16 * 1024))
    error = _closed_with(client)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    client, device, session = _open(channel)
    client.send(witness=_sized_witness(device, session, 16 * 1024 + 1))
    error = _closed_with(client)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    assert server.oracle.repo.count_reports() == 0
