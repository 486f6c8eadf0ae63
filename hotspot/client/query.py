"""QueryService: what the oracle decided about this hotspot's reports, and its rewards."""

from __future__ import annotations

import grpc.aio

from hotspot.client.connection import OracleConnection, classify
from hotspot.errors import OracleUnavailable
from pocnet.wire import service_pb2, service_pb2_grpc


class QueryClient:
    def __init__(self, conn: OracleConnection) -> None:
        self._conn = conn

    def _stub(self) -> service_pb2_grpc.QueryServiceStub:
        return service_pb2_grpc.QueryServiceStub(self._conn.channel())

    async def list_reports(self, key: bytes, limit: int = 20) -> list[service_pb2.ReportSummary]:
        try:
            reply = await self._stub().ListReports(
                service_pb2.ReportsRequest(hotspot_key=key, limit=limit),
                timeout=self._conn.timeout_s,
            )
        except grpc.aio.AioRpcError as exc:
            raise OracleUnavailable(str(classify(exc, "ListReports"))) from None
        return list(reply.reports)

    async def get_rewards(self, key: bytes, from_epoch: int = 0,
                          to_epoch: int = 0) -> list[service_pb2.EpochReward]:
        try:
            reply = await self._stub().GetRewards(
                service_pb2.RewardsRequest(hotspot_key=key, from_epoch=from_epoch,
                                           to_epoch=to_epoch),
                timeout=self._conn.timeout_s,
            )
        except grpc.aio.AioRpcError as exc:
            raise OracleUnavailable(str(classify(exc, "GetRewards"))) from None
        return list(reply.epochs)
