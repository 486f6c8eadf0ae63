"""Method-handler plumbing shared by the servicers.

Requests arrive as raw bytes (no generated deserializer) so that garbage or truncated input is
decoded here and answered INVALID_ARGUMENT with a reason, instead of grpc's generic INTERNAL.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message

from oracle.errors import BadReport
from oracle.servicers._status import MAPPED, abort

M = TypeVar("M", bound=Message)
Behavior = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Message]]


def decode(cls: type[M], raw: bytes) -> M:
    try:
        return cls.FromString(raw)
    except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
        raise BadReport(f"cannot decode {cls.DESCRIPTOR.name}: {exc}") from None


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _mapped(
    request_cls: type[M], behavior: Callable[[M, bytes, grpc.aio.ServicerContext], Awaitable[Any]]
) -> Callable[[bytes, grpc.aio.ServicerContext], Awaitable[Any]]:
    """Decode, run the domain call, and map domain errors through the status table."""

    @functools.wraps(behavior)
    async def handler(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await behavior(decode(request_cls, raw), raw, context)
        except MAPPED as exc:
            await abort(context, exc)

    return handler


def unary(
    request_cls: type[M], behavior: Callable[[M, bytes, grpc.aio.ServicerContext], Awaitable[Any]]
) -> grpc.RpcMethodHandler:
    """A call answered by the message the behaviour returns."""
    return grpc.unary_unary_rpc_method_handler(
        _mapped(request_cls, behavior), request_deserializer=None,
        response_serializer=_serialize,
    )


def server_stream(
    request_cls: type[M], behavior: Callable[[M, bytes, grpc.aio.ServicerContext], Awaitable[None]]
) -> grpc.RpcMethodHandler:
    """A call answered by the messages the behaviour writes (`context.write`)."""
    return grpc.unary_stream_rpc_method_handler(
        _mapped(request_cls, behavior), request_deserializer=None,
        response_serializer=_serialize,
    )


def stream(behavior: Callable[[Any, grpc.aio.ServicerContext], Awaitable[None]]) -> Any:
    return grpc.stream_stream_rpc_method_handler(
        behavior, request_deserializer=None, response_serializer=_serialize
    )


def service(name: str, handlers: dict[str, grpc.RpcMethodHandler]) -> grpc.GenericRpcHandler:
    return grpc.method_handlers_generic_handler(name, handlers)
