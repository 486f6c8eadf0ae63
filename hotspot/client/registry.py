"""RegistryService: the hotspot's asserted record (its region decides the beacon plan), and
submitting the signed requests `pocnet-hotspot submit` sends."""

from __future__ import annotations

from grpclib.const import Status

from hotspot.client.connection import CALL_ERRORS, OracleConnection, classify, status_of
from hotspot.errors import OracleUnavailable
from pocnet.wire import registry_pb2, service_grpc


class RegistryClient:
    def __init__(self, conn: OracleConnection) -> None:
        self._conn = conn

    async def get_hotspot(self, key: bytes) -> registry_pb2.HotspotInfo | None:
        """The registry record, or None when the hotspot is not onboarded."""
        channel = self._conn.channel()
        stub = service_grpc.RegistryServiceStub(channel)
        try:
            return await stub.GetHotspot(registry_pb2.HotspotRequest(hotspot_key=key),
                                         timeout=self._conn.timeout_s)
        except CALL_ERRORS as exc:
            status = status_of(exc)
            if status.code is Status.NOT_FOUND:
                return None
            error = classify(status, "GetHotspot")
            if isinstance(error, OracleUnavailable):
                await self._conn.rotate(channel)
            raise OracleUnavailable(str(error)) from None

    async def submit(
        self, msg: registry_pb2.LocationAssertion | registry_pb2.OwnershipTransfer
    ) -> registry_pb2.HotspotInfo:
        """Send a signed assertion or transfer; the oracle's refusal is ReportRejected."""
        channel = self._conn.channel()
        stub = service_grpc.RegistryServiceStub(channel)
        call = (stub.AssertLocation if isinstance(msg, registry_pb2.LocationAssertion)
                else stub.TransferOwnership)
        try:
            return await call(msg, timeout=self._conn.timeout_s)
        except CALL_ERRORS as exc:
            error = classify(status_of(exc), "submit")
            if isinstance(error, OracleUnavailable):
                await self._conn.rotate(channel)
                raise OracleUnavailable(str(error)) from None
            raise error from None
