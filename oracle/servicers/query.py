"""QueryService: a hotspot's recent reports with verdicts, one report, the PoC of a beacon
(or only the verdicts of several PoCs), and rewards per epoch (from an injectable source the
rewards engine supplies).

Who may see what: anyone may call it, so every answer is the public view (`views`, public=True):
verdicts, reasons, rewards and receive times at once, a beacon's payload only after its verdict
is written (issue 10 item 3)."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import grpc

from oracle.servicers._wire import service, unary
from oracle.storage import views
from oracle.storage.repository import Repository
from pocnet.wire import service_pb2

SERVICE = "pocnet.v1.QueryService"


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


class QueryServicer:
    def __init__(self, repo: Repository, rewards: RewardsSource | None = None) -> None:
        self._repo = repo
        self._rewards = rewards or NoRewards()

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
            },
        )
