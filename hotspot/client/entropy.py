"""EntropyService: the oracle's latest signed entropy, fetched just before each beacon."""

from __future__ import annotations

from hotspot.client.connection import CALL_ERRORS, OracleConnection, classify, status_of
from hotspot.errors import OracleUnavailable, ReportRejected
from pocnet.wire import entropy_pb2, service_grpc

ENTROPY_LEN = 32


class EntropyClient:
    def __init__(self, conn: OracleConnection) -> None:
        self._conn = conn

    async def get_entropy(self) -> entropy_pb2.Entropy:
        """The current entropy; OracleUnavailable on any failure (the beaconer retries)."""
        channel = self._conn.channel()
        stub = service_grpc.EntropyServiceStub(channel)
        try:
            entropy = await stub.GetEntropy(entropy_pb2.EntropyRequest(),
                                            timeout=self._conn.timeout_s)
        except CALL_ERRORS as exc:
            error = classify(status_of(exc), "GetEntropy")
            if isinstance(error, ReportRejected):
                raise OracleUnavailable(str(error)) from None
            await self._conn.rotate(channel)
            raise error from None
        if len(entropy.data) != ENTROPY_LEN or entropy.timestamp == 0:
            raise OracleUnavailable(f"GetEntropy: malformed entropy ({len(entropy.data)} bytes)")
        return entropy
