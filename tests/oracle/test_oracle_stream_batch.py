"""Report batches on the stream (docs/protocol.md §2 "Report batches"): one outcome per report,
in order; a refused report refuses no other; limits count every report; a batch outside its
count or size limit ends the stream INVALID_ARGUMENT and stores nothing of it."""

from __future__ import annotations

import dataclasses

import grpc
import pytest
from oracle_client import RunningServer, StreamClient
from oracle_factories import keypair, witness_report

from pocnet import signing
from pocnet.wire import MAX_BATCH_BYTES, MAX_BATCH_REPORTS, ingest_pb2

# Both ways of checking signatures: in the helper process and inline.
pytestmark = pytest.mark.parametrize(
    "signature_processes", [0, 1], indirect=True, ids=["inline", "pool"]
)

# docs/protocol.md §2: the per-report refusal carries the gRPC status code a single report
# would have ended the stream with (grpc's numbering, status.proto).
INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAUTHENTICATED = 3, 8, 16


def _open(channel: grpc.Channel, device_seed: int = 1, session_seed: int = 101):  # type: ignore[no-untyped-def]
    client = StreamClient(channel)
    device, session = keypair(device_seed), keypair(session_seed)
    client.send(session_init=signing.session_init(device, client.nonce, session))
    return client, device, session


def _batch(*reports) -> ingest_pb2.ReportBatch:  # type: ignore[no-untyped-def]
    return ingest_pb2.ReportBatch(
        reports=[ingest_pb2.BatchedReport(witness=r) for r in reports])


def _outcomes(client: StreamClient) -> list[ingest_pb2.BatchOutcome]:
    reply = client.recv()
    assert reply.WhichOneof("msg") == "batch_ack", reply
    return list(reply.batch_ack.outcomes)


def _closed_with(client: StreamClient) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        client.recv()
    client.close()
    return info.value


def _lifted(oracle_settings, clock_s=lambda: 0.0, **not_onboarded):  # type: ignore[no-untyped-def]
    """A server on a frozen clock with the per-key limit out of the way (unless a test sets
    the stranger budget instead)."""
    settings, operator = oracle_settings
    settings = dataclasses.replace(
        settings,
        rate_limit=dataclasses.replace(settings.rate_limit, per_key_burst=10_000),
        not_onboarded=dataclasses.replace(settings.not_onboarded, **{
            "reports_burst": 10_000, "bytes_burst": 10_000_000, **not_onboarded}),
    )
    return RunningServer(settings, operator, monotonic_s=clock_s)


def test_one_bad_report_in_the_middle_fails_only_itself(server, channel) -> None:  # type: ignore[no-untyped-def]
    client, device, session = _open(channel)
    good = [witness_report(device, timestamp_ns=i + 1, signer=session) for i in range(4)]
    forged = witness_report(device, timestamp_ns=10)  # device key, not the session key
    short = witness_report(device, data=b"x" * 50, timestamp_ns=11, signer=session)
    other = witness_report(keypair(2), timestamp_ns=12, signer=session)  # another device
    client.send(batch=_batch(good[0], forged, good[1], short, good[2], other, good[3]))
    outcomes = _outcomes(client)
    assert [o.WhichOneof("outcome") for o in outcomes] == [
        "ack", "refused", "ack", "refused", "ack", "refused", "ack"]
    assert [o.ack.id for o in outcomes[::2]] == [signing.report_id(r) for r in good]
    assert (outcomes[1].refused.code, outcomes[3].refused.code, outcomes[5].refused.code) == (
        UNAUTHENTICATED, INVALID_ARGUMENT, UNAUTHENTICATED)
    assert "signature" in outcomes[1].refused.reason
    assert "data is 50 bytes; it must be 51" in outcomes[3].refused.reason
    assert "device key" in outcomes[5].refused.reason
    assert all(server.oracle.repo.report(o.ack.id) is not None for o in outcomes[::2])
    assert server.oracle.repo.count_reports() == 4  # nothing of the refused ones
    # The stream goes on: a later single report and batch are acked on it.
    later = witness_report(device, timestamp_ns=20, signer=session)
    client.send(witness=later)
    assert client.recv().ack.id == signing.report_id(later)
    client.send(batch=_batch(witness_report(device, timestamp_ns=21, signer=session)))
    assert _outcomes(client)[0].WhichOneof("outcome") == "ack"
    client.close()
    assert server.oracle.repo.count_reports() == 6


def test_duplicates_inside_one_batch_and_across_batches(  # type: ignore[no-untyped-def]
        oracle_settings, database_url, signature_processes) -> None:
    """On SQLite and PostgreSQL: a report twice in one batch (one group commit) is stored
    once, and the second is acked as a duplicate, as is one already stored by a batch before."""
    settings, operator = oracle_settings
    settings = dataclasses.replace(
        settings, oracle=dataclasses.replace(settings.oracle, database=database_url))
    running = RunningServer(settings, operator)
    try:
        with grpc.insecure_channel(running.address) as channel:
            client, device, session = _open(channel)
            a, b, c = (witness_report(device, timestamp_ns=i + 1, signer=session)
                       for i in range(3))
            client.send(batch=_batch(a, b, a))
            first = _outcomes(client)
            assert [o.ack.id for o in first] == [signing.report_id(r) for r in (a, b, a)]
            assert [o.ack.duplicate for o in first] == [False, False, True]
            client.send(batch=_batch(c, b))
            second = _outcomes(client)
            assert [o.ack.id for o in second] == [signing.report_id(r) for r in (c, b)]
            assert [o.ack.duplicate for o in second] == [False, True]
            client.close()
        assert running.oracle.repo.count_reports() == 3
    finally:
        running.close()


def test_count_limit_is_inclusive(oracle_settings, signature_processes) -> None:  # type: ignore[no-untyped-def]
    running = _lifted(oracle_settings)
    try:
        with grpc.insecure_channel(running.address) as channel:
            client, device, session = _open(channel)
            reports = [witness_report(device, timestamp_ns=i + 1, signer=session)
                       for i in range(MAX_BATCH_REPORTS + 1)]
            client.send(batch=_batch(*reports[:MAX_BATCH_REPORTS]))
            outcomes = _outcomes(client)
            assert [o.ack.id for o in outcomes] == [
                signing.report_id(r) for r in reports[:MAX_BATCH_REPORTS]]
            more = [witness_report(device, timestamp_ns=1000 + i, signer=session)
                    for i in range(MAX_BATCH_REPORTS + 1)]
            client.send(batch=_batch(*more))
            error = _closed_with(client)
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert error.details() == (f"report batch holds {MAX_BATCH_REPORTS + 1} reports; "
                                       f"at most {MAX_BATCH_REPORTS}")
            client, _, _ = _open(channel, session_seed=102)
            client.send(batch=ingest_pb2.ReportBatch())
            error = _closed_with(client)
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "at least one report" in error.details()
        assert running.oracle.repo.count_reports() == MAX_BATCH_REPORTS
    finally:
        running.close()


def _padded(batch: ingest_pb2.ReportBatch, size: int) -> ingest_pb2.StreamRequest:
    """A stream request carrying `batch` plus an unknown padding field, `size` bytes in all."""
    def wrapped(pad: int) -> bytes:
        filler = b"\x7a" + _varint(pad) + b"\x00" * pad  # field 15, length-delimited
        inner = batch.SerializeToString() + filler
        return b"\x2a" + _varint(len(inner)) + inner  # StreamRequest.batch = 5

    pad = size - len(wrapped(0))
    for extra in range(6):  # the length prefixes grow with the padding
        raw = wrapped(pad - extra)
        if len(raw) == size:
            request = ingest_pb2.StreamRequest.FromString(raw)
            assert len(request.SerializeToString()) == size  # unknown fields survive
            return request
    raise AssertionError(size)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def test_size_limit_is_inclusive(server, channel) -> None:  # type: ignore[no-untyped-def]
    client, device, session = _open(channel)
    reports = [witness_report(device, timestamp_ns=i + 1, signer=session) for i in range(3)]
    client._outbox.put(_padded(_batch(*reports[:2]), MAX_BATCH_BYTES))
    assert [o.ack.id for o in _outcomes(client)] == [signing.report_id(r) for r in reports[:2]]
    client._outbox.put(_padded(_batch(reports[2]), MAX_BATCH_BYTES + 1))
    error = _closed_with(client)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == (f"report batch is {MAX_BATCH_BYTES + 1} bytes; "
                               f"at most {MAX_BATCH_BYTES}")
    # docs/protocol.md §2: read and refused with the reason up to 16 KiB over; beyond, gRPC's
    # own receive limit refuses it before the oracle sees it.
    for size, code in ((MAX_BATCH_BYTES + 16 * 1024, grpc.StatusCode.INVALID_ARGUMENT),
                       (MAX_BATCH_BYTES + 16 * 1024 + 1, grpc.StatusCode.RESOURCE_EXHAUSTED)):
        client, device, session = _open(channel)
        client._outbox.put(_padded(_batch(reports[2]), size))
        assert _closed_with(client).code() == code, size
    assert server.oracle.repo.count_reports() == 2


def test_the_per_key_rate_limit_counts_each_report(oracle_settings, signature_processes) -> None:  # type: ignore[no-untyped-def]
    settings, operator = oracle_settings
    burst = int(settings.rate_limit.per_key_burst)  # 20 in these tests, on a frozen clock
    running = RunningServer(settings, operator, monotonic_s=lambda: 0.0)
    try:
        with grpc.insecure_channel(running.address) as channel:
            client, device, session = _open(channel)
            reports = [witness_report(device, timestamp_ns=i + 1, signer=session)
                       for i in range(burst + 5)]
            client.send(batch=_batch(*reports[:burst - 3]))
            assert all(o.HasField("ack") for o in _outcomes(client))
            client.send(batch=_batch(*reports[burst - 3:]))
            outcomes = _outcomes(client)
            assert [o.WhichOneof("outcome") for o in outcomes] == ["ack"] * 3 + ["refused"] * 5
            assert {o.refused.code for o in outcomes[3:]} == {RESOURCE_EXHAUSTED}
            assert all("rate limit" in o.refused.reason for o in outcomes[3:])
            client.close()
        assert running.oracle.repo.count_reports() == burst
    finally:
        running.close()


def test_the_shared_budget_of_keys_not_onboarded_counts_each_report(  # type: ignore[no-untyped-def]
        oracle_settings, signature_processes) -> None:
    running = _lifted(oracle_settings, reports_burst=30)
    try:
        with grpc.insecure_channel(running.address) as channel:
            first, device1, session1 = _open(channel, 1, 101)
            second, device2, session2 = _open(channel, 2, 102)
            first.send(batch=_batch(*(witness_report(device1, timestamp_ns=i + 1,
                                                     signer=session1) for i in range(20))))
            assert all(o.HasField("ack") for o in _outcomes(first))
            second.send(batch=_batch(*(witness_report(device2, timestamp_ns=i + 1,
                                                      signer=session2) for i in range(20))))
            outcomes = _outcomes(second)
            assert [o.WhichOneof("outcome") for o in outcomes] == (
                ["ack"] * 10 + ["refused"] * 10)
            assert {o.refused.code for o in outcomes[10:]} == {RESOURCE_EXHAUSTED}
            assert all("not onboarded" in o.refused.reason for o in outcomes[10:])
            first.close()
            second.close()
        assert running.oracle.repo.count_reports() == 30
    finally:
        running.close()


def test_the_stream_window_counts_every_report_of_a_batch(signature_processes) -> None:  # type: ignore[no-untyped-def]
    """A batch takes room for each of its reports in the window of reports in flight, and the
    reader waits until the writer has given back enough (no timer: the steps are awaited)."""
    import asyncio

    from oracle.servicers.ingest import _Window

    async def run() -> list[str]:
        window = _Window(4)
        steps: list[str] = []
        await window.take(3)  # a batch of 3: room for 1 left

        async def reader() -> None:
            await window.take(2)  # a batch of 2 must wait
            steps.append("took 2")

        task = asyncio.create_task(reader())
        for _ in range(5):
            await asyncio.sleep(0)
        steps.append(f"waiting, free {window.free}")
        window.give(1)  # 2 free now: exactly enough
        await task
        steps.append(f"free {window.free}")
        return steps

    assert asyncio.run(run()) == ["waiting, free 1", "took 2", "free 0"]
