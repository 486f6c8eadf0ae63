"""A blocking client for the report stream: lets a test read the offer before answering."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterator
from typing import Any

import grpc
from oracle_factories import allow_maker

from pocnet.wire import ingest_pb2, service_pb2_grpc

_END = object()


class StreamClient:
    def __init__(self, channel: grpc.Channel, timeout_s: float = 10.0) -> None:
        self._outbox: queue.Queue[Any] = queue.Queue()
        stub = service_pb2_grpc.IngestServiceStub(channel)
        self.responses = stub.ReportStream(self._requests(), timeout=timeout_s)
        self.nonce = next(self.responses).offer.nonce

    def _requests(self) -> Iterator[ingest_pb2.StreamRequest]:
        while True:
            item = self._outbox.get()
            if item is _END:
                return
            yield item

    def send(self, **kwargs: Any) -> None:
        self._outbox.put(ingest_pb2.StreamRequest(**kwargs))

    def recv(self) -> ingest_pb2.StreamResponse:
        return next(self.responses)

    def close(self) -> None:
        self._outbox.put(_END)


class RunningServer:
    """An oracle server on 127.0.0.1:0 in a background event loop; tests use sync stubs."""

    def __init__(self, settings, operator, monotonic_s=None, extra_address=None,
                 keepalive=None, sleep=None) -> None:
        self.settings = settings
        self._keepalive = keepalive  # a pocnet.keepalive.KeepalivePolicy; None: the default
        self.operator = operator
        self._monotonic_s = monotonic_s  # injected clock of rate limits and stream guard
        self._sleep = sleep  # injected wait of the tarpit (held refusals)
        self._extra_address = extra_address  # e.g. "[::1]:0": a second peer address
        self.extra_port: int | None = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.server, self.port = self.call(self._create())
        self.oracle = self.server.oracle
        self.address = f"127.0.0.1:{self.port}"
        allow_maker(self.oracle.repo)  # the operator's allowlist holds the factories' maker

    async def _create(self):
        from oracle.server import build_oracle, create_server

        clock = {"monotonic_s": self._monotonic_s} if self._monotonic_s is not None else {}
        if self._sleep is not None:
            clock["sleep"] = self._sleep
        oracle = build_oracle(self.settings, locator=lambda: _FixedRegion(), **clock)
        policy = {"keepalive": self._keepalive} if self._keepalive is not None else {}
        server, port = create_server(self.settings, "127.0.0.1:0", oracle, **policy)
        if self._extra_address is not None:
            self.extra_port = server.grpc.add_insecure_port(self._extra_address)
        await server.start()
        return server, port

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def close(self) -> None:
        self.call(self.server.stop(0))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


class _FixedRegion:
    def region_at(self, lat: float, lon: float) -> str | None:
        return "EU868" if lat > 0 else None


