"""QueryService: a hotspot's recent reports with verdicts, one report, the PoC of a beacon
(or only the verdicts of several PoCs), every verdict of a range of receive times in pages, and
rewards per epoch (from an injectable source the rewards engine supplies).

Who may see what: anyone may call it, so every answer is the public view (`views`, public=True):
verdicts, reasons, rewards and receive times at once, a beacon's payload only after its verdict
is written (issue 10 item 3).

What a stranger can make it do: each unary call reads a bounded answer (`views`' limits). A
verdict stream reads up to MAX_ROWS_PER_CALL rows, one page a statement (no read snapshot is
held while the client reads, so a slow reader never holds back the WAL's checkpoints), for at
most MAX_CALL_S, and at most MAX_STREAMS_PER_PEER of an address and MAX_STREAMS of a listener
run at once: a stream ties up a call slot for its length, unlike a unary call."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import grpc

from oracle.errors import QueryBusy, QueryTooSlow
from oracle.servicers._wire import server_stream, service, unary
from oracle.storage import views
from oracle.storage.repository import Repository
from oracle.stream_guard import peer_group
from pocnet.wire import service_pb2

SERVICE = "pocnet.v1.QueryService"

# StreamVerdicts' bounds. A call's rows: 16 pages of the largest size, ~0.5 s of the server's
# CPU; a range larger than that takes more calls, each resuming after the last. A call's time:
# a client reading its pages more slowly is ended (DEADLINE_EXCEEDED) and resumes. Streams at
# once, of one address and of a listener: each holds a call slot while it lasts.
MAX_ROWS_PER_CALL = 262_144
MAX_CALL_S = 60.0
MAX_STREAMS_PER_PEER = 2
MAX_STREAMS = 8


class RewardsSource(Protocol):
    def rewards_for(
        self, hotspot_key: bytes, from_epoch: int, to_epoch: int | None
    ) -> list[tuple[int, int, int]]:
        """(epoch, beacon_amount, witness_amount) per epoch, oldest first."""
        ...


class NoRewards:
    """Until the rewards engine is wired in: no epochs."""

    def rewards_for(
        self, hotspot_key: bytes, from_epoch: int, to_epoch: int | None
    ) -> list[tuple[int, int, int]]:
        return []


class StreamPlaces:
    """Long reads at once, per peer address (`peer_group`: IPv6 by prefix) and in all;
    synchronous, used from the server's event loop only."""

    def __init__(self, per_peer: int = MAX_STREAMS_PER_PEER, total: int = MAX_STREAMS) -> None:
        self.per_peer, self.total = per_peer, total
        self._open: Counter[str] = Counter()

    @contextmanager
    def held(self, peer: str) -> Iterator[None]:
        """A place for the block, or QueryBusy at once."""
        group = peer_group(peer)
        if self._open[group] >= self.per_peer:
            raise QueryBusy(f"{group} already reads {self.per_peer} verdict streams at once; "
                            "retry when one ends")
        if self._open.total() >= self.total:
            raise QueryBusy(f"all {self.total} verdict streams are busy; retry later")
        self._open[group] += 1
        try:
            yield
        finally:
            self._open[group] -= 1
            if not self._open[group]:
                del self._open[group]


class QueryServicer:
    def __init__(self, repo: Repository, rewards: RewardsSource | None = None,
                 places: StreamPlaces | None = None, rows_per_call: int = MAX_ROWS_PER_CALL,
                 call_s: float = MAX_CALL_S) -> None:
        self._repo = repo
        self._rewards = rewards or NoRewards()
        self._places = places or StreamPlaces()
        self._rows_per_call = rows_per_call
        self._call_s = call_s

    async def list_reports(
        self, msg: service_pb2.ReportsRequest, _raw: bytes, _context: Any
    ) -> service_pb2.ReportsResponse:
        return await asyncio.to_thread(views.list_reports, self._repo, msg.hotspot_key, msg.limit,
                                       True)

    async def get_report(
        self, msg: service_pb2.ReportRequest, _raw: bytes, _context: Any
    ) -> service_pb2.ReportDetail:
        return await asyncio.to_thread(views.report_detail, self._repo, msg.id, True)

    async def get_poc(
        self, msg: service_pb2.PocRequest, _raw: bytes, _context: Any
    ) -> service_pb2.PocResponse:
        return await asyncio.to_thread(views.poc, self._repo, msg.beacon_id, True)

    async def get_poc_verdicts(
        self, msg: service_pb2.PocVerdictsRequest, _raw: bytes, _context: Any
    ) -> service_pb2.PocVerdictsResponse:
        return await asyncio.to_thread(views.poc_verdicts, self._repo, list(msg.beacon_ids))

    async def stream_verdicts(
        self, msg: service_pb2.VerdictRowsRequest, _raw: bytes, context: Any
    ) -> None:
        """Pages of the range's verdicts, each read while the one before it is sent; the
        call's last page says whether the range holds more (`more`). No page for a range
        without a verdict."""
        within = views.verdict_range(msg)
        loop = asyncio.get_running_loop()
        with self._places.held(context.peer()):
            ends_at = loop.time() + self._call_s
            after, left = within.after, self._rows_per_call

            def read(after: tuple[int, bytes] | None) -> Any:
                rows = min(within.page_rows, left)
                return asyncio.to_thread(views.verdict_page, self._repo, within, after, rows)

            reading = asyncio.ensure_future(read(after))
            try:
                while True:
                    page, more = await reading
                    left -= len(page.report_ids)
                    if not page.report_ids:
                        return
                    going_on = more and left > 0
                    if going_on:
                        after = (page.received_ms[-1], page.report_ids[-1])
                        reading = asyncio.ensure_future(read(after))
                    page.more = more and not going_on
                    try:
                        await asyncio.wait_for(context.write(page),
                                               max(0.0, ends_at - loop.time()))
                    except TimeoutError:
                        raise QueryTooSlow(
                            "verdict pages read more slowly than a call may last "
                            f"({self._call_s:g} s); call again after the last page read"
                        ) from None
                    if not going_on:
                        return
            finally:
                reading.cancel()  # the next page, read ahead for a call that ended first

    async def get_rewards(
        self, msg: service_pb2.RewardsRequest, _raw: bytes, _context: Any
    ) -> service_pb2.RewardsResponse:
        rows = await asyncio.to_thread(
            self._rewards.rewards_for, bytes(msg.hotspot_key), msg.from_epoch,
            msg.to_epoch or None,
        )
        return service_pb2.RewardsResponse(
            epochs=[service_pb2.EpochReward(epoch=e, beacon_amount=b, witness_amount=w)
                    for e, b, w in rows]
        )

    def handler(self) -> grpc.GenericRpcHandler:
        return service(
            SERVICE,
            {
                "ListReports": unary(service_pb2.ReportsRequest, self.list_reports),
                "GetReport": unary(service_pb2.ReportRequest, self.get_report),
                "GetPoc": unary(service_pb2.PocRequest, self.get_poc),
                "GetPocVerdicts": unary(service_pb2.PocVerdictsRequest, self.get_poc_verdicts),
                "GetRewards": unary(service_pb2.RewardsRequest, self.get_rewards),
                "StreamVerdicts": server_stream(service_pb2.VerdictRowsRequest,
                                                self.stream_verdicts),
            },
        )
