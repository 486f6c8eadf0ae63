"""QueryService: recent reports with verdicts, one report, the PoC of a beacon, rewards."""

from __future__ import annotations

import grpc
import pytest
from oracle_factories import beacon_report, keypair, witness_report

from pocnet.wire import service_pb2, service_pb2_grpc, verdict_pb2


def _beacon_and_witness(server, channel: grpc.Channel, seed: int):  # type: ignore[no-untyped-def]
    """A beacon of keypair(seed) on the current entropy and a witness of keypair(seed + 1)."""
    ingest = service_pb2_grpc.IngestServiceStub(channel)
    entropy = server.oracle.entropy.current()
    beacon = beacon_report(keypair(seed), entropy.data, entropy.timestamp)
    witness = witness_report(keypair(seed + 1), data=beacon.data)
    return (beacon, ingest.SubmitBeacon(beacon, timeout=5), witness,
            ingest.SubmitWitness(witness, timeout=5))


def test_queries(server, channel: grpc.Channel) -> None:  # type: ignore[no-untyped-def]
    query = service_pb2_grpc.QueryServiceStub(channel)
    beacon, beacon_ack, witness, witness_ack = _beacon_and_witness(server, channel, 31)

    listed = query.ListReports(service_pb2.ReportsRequest(hotspot_key=beacon.pub_key), timeout=5)
    assert [r.id for r in listed.reports] == [beacon_ack.id]
    assert not listed.reports[0].HasField("verdict")  # not yet verified

    poc = query.GetPoc(service_pb2.PocRequest(beacon_id=beacon_ack.id), timeout=5)
    assert poc.beacon.summary.id == beacon_ack.id  # its payload is sealed: test_sealed_...
    assert [w.summary.id for w in poc.witnesses] == [witness_ack.id]

    # Verify now (entropy window long closed from the runner's point of view).
    server.oracle.runner.run_once(now_ms=beacon_ack.received_ms + 10 * 60_000)
    detail = query.GetReport(service_pb2.ReportRequest(id=witness_ack.id), timeout=5)
    assert detail.witness == witness
    v = detail.summary.verdict
    assert v.report_id == witness_ack.id and v.beacon_id == beacon_ack.id
    assert v.reason == verdict_pb2.gateway_not_found and not v.valid  # nobody is registered
    poc = query.GetPoc(service_pb2.PocRequest(beacon_id=beacon_ack.id), timeout=5)
    assert poc.beacon.summary.verdict.reason == verdict_pb2.gateway_not_found
    assert poc.beacon.beacon == beacon
    assert len(poc.witnesses) == 1

    rewards = query.GetRewards(service_pb2.RewardsRequest(hotspot_key=beacon.pub_key), timeout=5)
    assert list(rewards.epochs) == []
    from oracle.rewards.store import ManifestStore

    assert isinstance(server.oracle.rewards, ManifestStore)  # issue 7's store is wired in


def test_a_beacons_payload_is_sealed_until_its_verdict(server, channel: grpc.Channel) -> None:  # type: ignore[no-untyped-def]
    """Issue 10 item 3: a second key read a beacon's payload as soon as it arrived and had a
    copied witness acknowledged 5-110 ms later. Before the verdict no answer holds the payload
    or the local entropy that regenerates it; the verdict and receive time are not secret."""
    query = service_pb2_grpc.QueryServiceStub(channel)
    beacon, beacon_ack, witness, witness_ack = _beacon_and_witness(server, channel, 33)

    def answers() -> list[bytes]:
        """Every byte string any query returns about this beacon or its witness."""
        listed = query.ListReports(service_pb2.ReportsRequest(hotspot_key=beacon.pub_key),
                                   timeout=5)
        by_witness = query.ListReports(service_pb2.ReportsRequest(hotspot_key=witness.pub_key),
                                       timeout=5)
        poc = query.GetPoc(service_pb2.PocRequest(beacon_id=beacon_ack.id), timeout=5)
        one = query.GetReport(service_pb2.ReportRequest(id=beacon_ack.id), timeout=5)
        two = query.GetReport(service_pb2.ReportRequest(id=witness_ack.id), timeout=5)
        return [m.SerializeToString() for m in (listed, by_witness, poc, one, two)]

    before = answers()
    assert not any(beacon.data in raw or beacon.local_entropy in raw for raw in before)
    poc = query.GetPoc(service_pb2.PocRequest(beacon_id=beacon_ack.id), timeout=5)
    assert poc.beacon.beacon.pub_key == beacon.pub_key  # the rest of the report is shown
    assert poc.beacon.beacon.remote_entropy == beacon.remote_entropy

    server.oracle.runner.run_once(now_ms=beacon_ack.received_ms + 10 * 60_000)
    after = answers()
    assert all(beacon.data in raw for raw in after)  # the verdict is written: unsealed
    poc = query.GetPoc(service_pb2.PocRequest(beacon_id=beacon_ack.id), timeout=5)
    assert poc.beacon.beacon == beacon and poc.witnesses[0].witness.data == beacon.data


def test_the_operators_view_is_never_sealed(server, channel: grpc.Channel) -> None:  # type: ignore[no-untyped-def]
    from oracle.storage import views

    entropy = server.oracle.entropy.current()
    beacon = beacon_report(keypair(35), entropy.data, entropy.timestamp)
    ack = service_pb2_grpc.IngestServiceStub(channel).SubmitBeacon(beacon, timeout=5)
    assert views.report_detail(server.oracle.repo, ack.id).beacon == beacon
    assert views.report_detail(server.oracle.repo, ack.id, public=True).beacon != beacon


def test_rewards_come_from_the_injected_source() -> None:
    import asyncio

    from oracle.servicers.query import QueryServicer

    class Source:
        def rewards_for(self, key: bytes, from_epoch: int, to_epoch: int | None):  # type: ignore[no-untyped-def]
            assert (key, from_epoch, to_epoch) == (b"k", 3, None)
            return [(3, 7, 11), (4, 0, 5)]

    reply = asyncio.run(QueryServicer(None, Source()).get_rewards(  # type: ignore[arg-type]
        service_pb2.RewardsRequest(hotspot_key=b"k", from_epoch=3), b"", None))
    assert [(e.epoch, e.beacon_amount, e.witness_amount) for e in reply.epochs] == [
        (3, 7, 11), (4, 0, 5)]


def test_query_errors(server, channel: grpc.Channel) -> None:  # type: ignore[no-untyped-def]
    query = service_pb2_grpc.QueryServiceStub(channel)
    with pytest.raises(grpc.RpcError) as missing:
        query.GetReport(service_pb2.ReportRequest(id=b"\x00" * 32), timeout=5)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    witness_ack = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness(
        witness_report(keypair(33)), timeout=5)
    with pytest.raises(grpc.RpcError) as not_beacon:
        query.GetPoc(service_pb2.PocRequest(beacon_id=witness_ack.id), timeout=5)
    assert not_beacon.value.code() == grpc.StatusCode.NOT_FOUND


def test_rewards_query_with_out_of_range_epochs(server, channel: grpc.Channel) -> None:  # type: ignore[no-untyped-def]
    # uint64 epochs beyond what the database stores (BIGINT) are an empty answer, not INTERNAL.
    query = service_pb2_grpc.QueryServiceStub(channel)
    for first, last in ((2**64 - 1, 0), (0, 2**64 - 1), (2**63, 2**63 + 5)):
        reply = query.GetRewards(service_pb2.RewardsRequest(
            hotspot_key=b"\x01" * 33, from_epoch=first, to_epoch=last), timeout=5)
        assert list(reply.epochs) == []


class _CountingRepo:
    """The server's repository, counting the reads of one report or one verdict."""

    def __init__(self, repo) -> None:  # type: ignore[no-untyped-def]
        self._repo = repo
        self.single_reads = 0

    def report(self, report_id: bytes):  # type: ignore[no-untyped-def]
        self.single_reads += 1
        return self._repo.report(report_id)

    def verdict(self, report_id: bytes):  # type: ignore[no-untyped-def]
        self.single_reads += 1
        return self._repo.verdict(report_id)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._repo, name)


def test_a_verified_poc_is_its_reports_and_verdicts_read_at_once(  # type: ignore[no-untyped-def]
        server, channel: grpc.Channel) -> None:
    """GetPoc of a beacon with five verified witnesses shows each as GetReport does, and reads
    the PoC as a whole: one read of the beacon, none per witness (a simulator reading back a
    network asks it of every beacon)."""
    from oracle.storage import views

    ingest = service_pb2_grpc.IngestServiceStub(channel)
    query = service_pb2_grpc.QueryServiceStub(channel)
    entropy = server.oracle.entropy.current()
    beacon = beacon_report(keypair(61), entropy.data, entropy.timestamp)
    beacon_ack = ingest.SubmitBeacon(beacon, timeout=5)
    acks = [ingest.SubmitWitness(witness_report(keypair(70 + i), data=beacon.data), timeout=5)
            for i in range(5)]
    server.oracle.runner.run_once(now_ms=beacon_ack.received_ms + 10 * 60_000)

    poc = query.GetPoc(service_pb2.PocRequest(beacon_id=beacon_ack.id), timeout=5)
    assert sorted(w.summary.id for w in poc.witnesses) == sorted(a.id for a in acks)
    for shown in [poc.beacon, *poc.witnesses]:
        alone = query.GetReport(service_pb2.ReportRequest(id=shown.summary.id), timeout=5)
        assert shown == alone and shown.summary.HasField("verdict")

    counting = _CountingRepo(server.oracle.repo)
    assert views.poc(counting, beacon_ack.id, public=True) == poc  # type: ignore[arg-type]
    assert counting.single_reads == 1  # the beacon itself


def test_poc_verdicts_are_getpocs_verdicts_without_a_report(  # type: ignore[no-untyped-def]
        server, channel: grpc.Channel) -> None:
    """GetPocVerdicts of several beacons answers, PoC after PoC in the order asked, exactly the
    verdicts GetPoc shows for each, and nothing of any report (no payload, no signature): a
    beacon not verified yet, or not stored, has none."""
    ingest = service_pb2_grpc.IngestServiceStub(channel)
    query = service_pb2_grpc.QueryServiceStub(channel)
    entropy = server.oracle.entropy.current()
    beacons, acks = [], []
    for seed, witnesses in ((81, 3), (82, 2)):
        beacon = beacon_report(keypair(seed), entropy.data, entropy.timestamp)
        beacons.append(beacon)
        acks.append(ingest.SubmitBeacon(beacon, timeout=5))
        for i in range(witnesses):
            ingest.SubmitWitness(witness_report(keypair(90 + 10 * seed + i), data=beacon.data),
                                 timeout=5)
    server.oracle.runner.run_once(now_ms=acks[-1].received_ms + 10 * 60_000)
    pending_beacon = beacon_report(keypair(83), entropy.data, entropy.timestamp)
    pending = ingest.SubmitBeacon(pending_beacon, timeout=5)

    asked = [acks[1].id, b"\x07" * 32, pending.id, acks[0].id]
    reply = query.GetPocVerdicts(service_pb2.PocVerdictsRequest(beacon_ids=asked), timeout=5)

    expected = []
    for beacon_id in (acks[1].id, acks[0].id):
        poc = query.GetPoc(service_pb2.PocRequest(beacon_id=beacon_id), timeout=5)
        expected += [d.summary.verdict for d in (poc.beacon, *poc.witnesses)]
    assert len(expected) == 2 + 3 + 2
    assert list(reply.verdicts) == expected
    raw = reply.SerializeToString()
    for beacon in (*beacons, pending_beacon):
        assert beacon.data not in raw and beacon.signature not in raw


def test_poc_verdicts_take_at_most_32_beacons_a_call(server, channel: grpc.Channel) -> None:  # type: ignore[no-untyped-def]
    query = service_pb2_grpc.QueryServiceStub(channel)
    ids = [bytes([i]) * 32 for i in range(33)]
    reply = query.GetPocVerdicts(service_pb2.PocVerdictsRequest(beacon_ids=ids[:32]), timeout=5)
    assert list(reply.verdicts) == []
    with pytest.raises(grpc.RpcError) as too_many:
        query.GetPocVerdicts(service_pb2.PocVerdictsRequest(beacon_ids=ids), timeout=5)
    assert too_many.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "33 beacon ids, at most 32" in (too_many.value.details() or "")
