"""StreamVerdicts: every verdict of a range of receive times in pages of compact rows, on real
gRPC over 127.0.0.1; its bounds (page size, rows and time a call, streams at once) and its
refusals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from oracle_factories import beacon_report, keypair, witness_report

from oracle.servicers.query import QueryServicer, StreamPlaces
from oracle.storage.views import MAX_VERDICT_PAGE_ROWS
from pocnet.wire import service_pb2, service_pb2_grpc, verdict_pb2

ALL = {"from_ms": 0, "to_ms": 2**64 - 1}  # every receive time (past BIGINT: "no end")


def _verified_pocs(server, channel: grpc.Channel) -> list[bytes]:  # type: ignore[no-untyped-def]
    """Two verified PoCs (3 and 2 witnesses: 7 verdicts) and one beacon not verified yet;
    the verified beacons' ids."""
    ingest = service_pb2_grpc.IngestServiceStub(channel)
    entropy = server.oracle.entropy.current()
    acks = []
    for seed, witnesses in ((61, 3), (62, 2)):
        beacon = beacon_report(keypair(seed), entropy.data, entropy.timestamp)
        acks.append(ingest.SubmitBeacon(beacon, timeout=5))
        for i in range(witnesses):
            ingest.SubmitWitness(witness_report(keypair(70 + 10 * seed + i), data=beacon.data),
                                 timeout=5)
    server.oracle.runner.run_once(now_ms=acks[-1].received_ms + 10 * 60_000)
    ingest.SubmitBeacon(beacon_report(keypair(63), entropy.data, entropy.timestamp), timeout=5)
    return [a.id for a in acks]


def _rows(pages: list[service_pb2.VerdictRows]) -> list[tuple[Any, ...]]:
    return [row for p in pages for row in zip(
        p.report_ids, p.received_ms, p.kinds, p.hotspot_keys, p.beacon_ids, p.valid, p.reasons,
        strict=True)]


def _getpoc_rows(channel: grpc.Channel, beacon_ids: list[bytes]) -> list[tuple[Any, ...]]:
    """The same columns from GetPoc's verdicts (and receive times) of each PoC."""
    query = service_pb2_grpc.QueryServiceStub(channel)
    out = []
    for beacon_id in beacon_ids:
        poc = query.GetPoc(service_pb2.PocRequest(beacon_id=beacon_id), timeout=5)
        for d in (poc.beacon, *poc.witnesses):
            v = d.summary.verdict
            key = d.beacon.pub_key if d.HasField("beacon") else d.witness.pub_key
            out.append((v.report_id, d.summary.received_ms, v.kind, key, v.beacon_id, v.valid,
                        v.reason))
    return out


def _stream(channel: grpc.Channel, **request: Any) -> list[service_pb2.VerdictRows]:
    query = service_pb2_grpc.QueryServiceStub(channel)
    return list(query.StreamVerdicts(service_pb2.VerdictRowsRequest(**request), timeout=10))


def _refusal(channel: grpc.Channel, **request: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as refused:
        _stream(channel, **request)
    return refused.value


@contextmanager
def _query_address(running, **limits: Any) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A second gRPC server on the same oracle's database with only the Query service, its
    stream limits as given; its address."""

    async def start() -> tuple[grpc.aio.Server, int]:
        s = grpc.aio.server()
        s.add_generic_rpc_handlers((QueryServicer(running.oracle.repo, **limits).handler(),))
        port = s.add_insecure_port("127.0.0.1:0")
        await s.start()
        return s, port

    s, port = running.call(start())
    try:
        yield f"127.0.0.1:{port}"
    finally:
        running.call(s.stop(None))


@contextmanager
def _query_server(running, **limits: Any) -> Iterator[grpc.Channel]:  # type: ignore[no-untyped-def]
    """`_query_address`, and a channel to it."""
    with _query_address(running, **limits) as address, grpc.insecure_channel(address) as ch:
        yield ch


def test_the_stream_is_getpocs_verdicts_in_receive_order(server, channel) -> None:  # type: ignore[no-untyped-def]
    """Every verdict of the range, row for row what GetPoc shows of it (id, receive time,
    kind, reporter's key, beacon, valid, reason), in (receive time, report id) order; nothing
    for a beacon without a verdict, and nothing of any report (no payload, no signature)."""
    verified = _verified_pocs(server, channel)
    expected = _getpoc_rows(channel, verified)
    assert len(expected) == 7

    pages = _stream(channel, **ALL)
    got = _rows(pages)
    assert got == sorted(expected, key=lambda r: (r[1], r[0]))
    assert [len(p.report_ids) for p in pages] == [7]  # the default page holds them all
    assert not pages[-1].more
    assert sum(1 for r in got if r[4] == b"") == 2  # a beacon's own row names no beacon
    raw = b"".join(p.SerializeToString() for p in pages)
    for beacon_id in verified:
        beacon = server.oracle.repo.report(beacon_id)
        assert beacon.data not in raw


def test_a_range_is_its_receive_times_from_inclusive_to_exclusive(server, channel) -> None:  # type: ignore[no-untyped-def]
    verified = _verified_pocs(server, channel)
    rows = sorted(_getpoc_rows(channel, verified), key=lambda r: (r[1], r[0]))
    first, last = rows[0][1], rows[-1][1]
    assert _rows(_stream(channel, from_ms=first, to_ms=last + 1)) == rows
    assert _rows(_stream(channel, from_ms=first, to_ms=last)) == [r for r in rows
                                                                  if r[1] < last]
    assert _rows(_stream(channel, from_ms=first + 1, to_ms=last + 1)) == [r for r in rows
                                                                          if r[1] > first]
    assert _stream(channel, from_ms=last + 1, to_ms=last + 2) == []  # no verdict: no page


def test_pages_hold_page_rows_and_the_largest_page_is_accepted(server, channel) -> None:  # type: ignore[no-untyped-def]
    verified = _verified_pocs(server, channel)
    whole = _rows(_stream(channel, **ALL))
    for page_rows, sizes in ((1, [1] * 7), (2, [2, 2, 2, 1]), (6, [6, 1]), (7, [7]), (8, [7]),
                             (MAX_VERDICT_PAGE_ROWS, [7])):
        pages = _stream(channel, page_rows=page_rows, **ALL)
        assert [len(p.report_ids) for p in pages] == sizes, page_rows
        assert _rows(pages) == whole
        assert not any(p.more for p in pages)  # one call holds the whole range
    assert len(verified) == 2


def test_a_page_larger_than_the_limit_is_refused(server, channel) -> None:  # type: ignore[no-untyped-def]
    refused = _refusal(channel, page_rows=MAX_VERDICT_PAGE_ROWS + 1, **ALL)
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.details() == "page_rows 16385, at most 16384"


@pytest.mark.parametrize(("request_", "reason"), [
    ({"from_ms": 5, "to_ms": 5}, "to_ms (5) must be above from_ms (5)"),
    ({"from_ms": 6, "to_ms": 5}, "to_ms (5) must be above from_ms (6)"),
    ({**ALL, "after_report_id": b"\x01" * 31, "after_received_ms": 3},
     "after_report_id has 31 bytes, not 32"),
    ({**ALL, "after_received_ms": 3},
     "after_received_ms without after_report_id: give both (a page's last row) or neither"),
])
def test_bad_requests_are_refused_with_their_reason(server, channel, request_, reason) -> None:  # type: ignore[no-untyped-def]
    refused = _refusal(channel, **request_)
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.details() == reason


def test_undecodable_requests_are_refused(server, channel) -> None:  # type: ignore[no-untyped-def]
    call = channel.unary_stream("/pocnet.v1.QueryService/StreamVerdicts")
    with pytest.raises(grpc.RpcError) as refused:
        list(call(b"\xff\xff\xff", timeout=5))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "cannot decode VerdictRowsRequest" in (refused.value.details() or "")


def test_a_call_sends_at_most_its_rows_and_the_next_resumes_after_them(server, channel) -> None:  # type: ignore[no-untyped-def]
    """With 3 rows a call: 3, then 3 more after the last row, then the last one; `more` on
    the last page of each call but the last; together the whole range, once each."""
    _verified_pocs(server, channel)
    whole = _rows(_stream(channel, **ALL))
    with _query_server(server, rows_per_call=3) as limited:
        calls, after = [], {}
        while True:
            pages = _stream(limited, page_rows=2, **ALL, **after)
            calls.append(pages)
            if not pages[-1].more:
                break
            after = {"after_received_ms": pages[-1].received_ms[-1],
                     "after_report_id": pages[-1].report_ids[-1]}
    assert [[len(p.report_ids) for p in pages] for pages in calls] == [[2, 1], [2, 1], [1]]
    assert [[p.more for p in pages] for pages in calls] == [[False, True], [False, True],
                                                            [False]]
    assert [r for pages in calls for r in _rows(pages)] == whole


def test_a_call_ending_exactly_at_the_range_end_has_no_more(server, channel) -> None:  # type: ignore[no-untyped-def]
    _verified_pocs(server, channel)
    with _query_server(server, rows_per_call=7) as limited:
        pages = _stream(limited, page_rows=4, **ALL)
    assert [len(p.report_ids) for p in pages] == [4, 3]
    assert not pages[-1].more
    with _query_server(server, rows_per_call=6) as limited:
        pages = _stream(limited, page_rows=4, **ALL)
    assert [len(p.report_ids) for p in pages] == [4, 2]
    assert pages[-1].more


def test_streams_at_once_are_bounded_per_address_and_in_all(server, channel) -> None:  # type: ignore[no-untyped-def]
    """Places taken by streams still running: an address's last place is served, one past
    it refused RESOURCE_EXHAUSTED with its reason; the listener's alike; once they are given
    back the call is served again."""
    _verified_pocs(server, channel)
    places = StreamPlaces(per_peer=2, total=3)
    with _query_server(server, places=places) as limited:
        with places.held("ipv4:127.0.0.1:40000"):
            assert len(_rows(_stream(limited, **ALL))) == 7  # the address's second place
            with places.held("ipv4:127.0.0.1:40001"):
                refused = _refusal(limited, **ALL)
                assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert refused.details() == ("127.0.0.1 already reads 2 verdict streams at "
                                             "once; retry when one ends")
        with places.held("ipv4:192.0.2.1:5"), places.held("ipv4:192.0.2.2:5"):
            assert len(_rows(_stream(limited, **ALL))) == 7  # the listener's third place
            with places.held("ipv4:192.0.2.3:5"):
                refused = _refusal(limited, **ALL)
                assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert refused.details() == "all 3 verdict streams are busy; retry later"
        assert len(_rows(_stream(limited, **ALL))) == 7


def test_a_client_reading_more_slowly_than_a_call_lasts_is_ended(server, channel) -> None:  # type: ignore[no-untyped-def]
    _verified_pocs(server, channel)
    with _query_server(server, call_s=0.0) as limited:
        refused = _refusal(limited, **ALL)
    assert refused.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert refused.details() == ("verdict pages read more slowly than a call may last (0 s); "
                                 "call again after the last page read")


def test_stream_places_are_given_back() -> None:
    places = StreamPlaces(per_peer=2, total=3)
    with places.held("ipv4:10.0.0.1:1"), places.held("ipv4:10.0.0.1:2"):
        with places.held("ipv6:[2001:db8::1]:7"):
            pass
        with places.held("ipv6:[2001:db8::2]:7"):  # the same /64 as the last, given back
            pass
    with places.held("ipv4:10.0.0.1:1"), places.held("ipv4:10.0.0.1:2"):
        pass


def test_the_simulators_read_back_resumes_each_call_after_its_last_row(server, channel) -> None:  # type: ignore[no-untyped-def]
    """`query_verdicts` (sim_radio) reads every verdict across calls the server ends early,
    each with its valid flag and reason name, as GetPoc shows them."""
    from sim_radio.oracle_driver import query_verdicts

    verified = _verified_pocs(server, channel)
    names = {v.number: v.name for v in verdict_pb2.InvalidReason.DESCRIPTOR.values}
    expected = {r[0]: (True, "") if r[5] else (False, names[r[6]])
                for r in _getpoc_rows(channel, verified)}
    with _query_address(server, rows_per_call=2) as address:
        assert query_verdicts(address) == expected
    assert len(expected) == 7
