"""QueryService: what the oracle decided about this hotspot's reports, and its rewards."""

from __future__ import annotations

from hotspot.client.connection import CALL_ERRORS, OracleConnection, classify, status_of
from hotspot.errors import OracleUnavailable
from pocnet.wire import service_grpc, service_pb2


class QueryClient:
    def __init__(self, conn: OracleConnection) -> None:
        self._conn = conn

    def _stub(self) -> service_grpc.QueryServiceStub:
        return service_grpc.QueryServiceStub(self._conn.channel())

    async def list_reports(self, key: bytes, limit: int = 20) -> list[service_pb2.ReportSummary]:
        try:
            reply = await self._stub().ListReports(
                service_pb2.ReportsRequest(hotspot_key=key, limit=limit),
                timeout=self._conn.timeout_s,
            )
        except CALL_ERRORS as exc:
            raise OracleUnavailable(str(classify(status_of(exc), "ListReports"))) from None
        return list(reply.reports)

    async def get_rewards(self, key: bytes, from_epoch: int = 0,
                          to_epoch: int = 0) -> list[service_pb2.EpochReward]:
        try:
            reply = await self._stub().GetRewards(
                service_pb2.RewardsRequest(hotspot_key=key, from_epoch=from_epoch,
                                           to_epoch=to_epoch),
                timeout=self._conn.timeout_s,
            )
        except CALL_ERRORS as exc:
            raise OracleUnavailable(str(classify(status_of(exc), "GetRewards"))) from None
        return list(reply.epochs)
