"""EntropyService: hands out the oracle's newest signed entropy (docs/protocol.md §4)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from oracle.entropy import EntropyIssuer
from oracle.servicers._wire import service, unary
from pocnet.wire import entropy_pb2

SERVICE = "pocnet.v1.EntropyService"


class EntropyServicer:
    def __init__(self, issuer: EntropyIssuer) -> None:
        self._issuer = issuer

    async def get_entropy(
        self, _request: entropy_pb2.EntropyRequest, _raw: bytes, _context: Any
    ) -> entropy_pb2.Entropy:
        return await asyncio.to_thread(self._issuer.current)

    def handler(self) -> grpc.GenericRpcHandler:
        return service(SERVICE, {"GetEntropy": unary(entropy_pb2.EntropyRequest,
                                                     self.get_entropy)})
