"""RegistryService: location assertions, ownership transfers, denylist updates and lookups."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from oracle.registry import Registry
from oracle.servicers._wire import service, unary
from pocnet.wire import registry_pb2

SERVICE = "pocnet.v1.RegistryService"


class RegistryServicer:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    async def assert_location(
        self, msg: registry_pb2.LocationAssertion, _raw: bytes, _context: Any
    ) -> registry_pb2.HotspotInfo:
        return await asyncio.to_thread(self._registry.assert_location, msg)

    async def update_denylist(
        self, msg: registry_pb2.DenylistUpdate, _raw: bytes, _context: Any
    ) -> registry_pb2.DenylistAck:
        version = await asyncio.to_thread(self._registry.update_denylist, msg)
        return registry_pb2.DenylistAck(version=version)

    async def get_hotspot(
        self, msg: registry_pb2.HotspotRequest, _raw: bytes, _context: Any
    ) -> registry_pb2.HotspotInfo:
        return await asyncio.to_thread(self._registry.info, bytes(msg.hotspot_key))

    async def transfer_ownership(
        self, msg: registry_pb2.OwnershipTransfer, _raw: bytes, _context: Any
    ) -> registry_pb2.HotspotInfo:
        return await asyncio.to_thread(self._registry.transfer, msg)

    def handler(self) -> grpc.GenericRpcHandler:
        return service(
            SERVICE,
            {
                "AssertLocation": unary(registry_pb2.LocationAssertion, self.assert_location),
                "UpdateDenylist": unary(registry_pb2.DenylistUpdate, self.update_denylist),
                "GetHotspot": unary(registry_pb2.HotspotRequest, self.get_hotspot),
                "TransferOwnership": unary(registry_pb2.OwnershipTransfer,
                                           self.transfer_ownership),
            },
        )
