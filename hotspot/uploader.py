"""Drains the outbox through the oracle client; a report leaves the outbox only on its ack.

Reports go oldest first. When the oracle is unreachable the uploader waits with exponential
backoff and jitter and retries the same report; when the oracle refuses a report for good, or
its entropy window has closed, the report is dropped with a counted reason.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from google.protobuf.message import Message

from hotspot.channels import Watch, until
from hotspot.client.backoff import Backoff
from hotspot.clock import Clock, sleep_s
from hotspot.errors import OracleUnavailable, OutboxError, ReportRejected
from hotspot.metrics import HotspotMetrics
from hotspot.outbox import Outbox, Pending
from pocnet.wire import ingest_pb2

log = logging.getLogger(__name__)

BATCH = 16


class Submitter(Protocol):
    async def submit(self, kind: str, report: Message) -> ingest_pb2.ReportAck: ...


class Uploader:
    def __init__(self, outbox: Outbox, client: Submitter, depth: Watch[int], clock: Clock,
                 backoff: Backoff, metrics: HotspotMetrics) -> None:
        self._outbox = outbox
        self._client = client
        self._depth = depth
        self._clock = clock
        self._backoff = backoff
        self._metrics = metrics

    async def run(self, shutdown: asyncio.Event) -> None:
        while not shutdown.is_set():
            version = self._depth.version
            try:
                self._outbox.prune_expired(self._clock.now_ns())
            except OutboxError as exc:
                log.error("%s", exc, extra={"event": "outbox_error"})
            batch = self._outbox.peek(BATCH)
            if not batch:
                await until(shutdown, self._depth.changed(version))
                continue
            for item in batch:
                if shutdown.is_set():
                    return
                try:
                    delivered = await self._handle_item(item)
                except OutboxError as exc:
                    # The disk refused a delete or update (full?): the report stays queued and
                    # is sent again later, which the oracle's content-hash dedup absorbs.
                    delay = self._backoff.next_delay_s()
                    log.error("%s; retrying in %.1f s", exc, delay,
                              extra={"event": "outbox_error", "delay_s": round(delay, 1)})
                    await until(shutdown, sleep_s(self._clock, delay))
                    break
                if not delivered:
                    delay = self._backoff.next_delay_s()
                    log.info("oracle unavailable; retrying in %.1f s", delay,
                             extra={"event": "upload_backoff", "delay_s": round(delay, 1)})
                    await until(shutdown, sleep_s(self._clock, delay))
                    break

    async def _handle_item(self, item: Pending) -> bool:
        """Try one report; False means the oracle is unavailable (back off)."""
        if item.expires_ns is not None and item.expires_ns < self._clock.now_ns():
            self._outbox.drop(item.seq, "expired")
            return True
        try:
            ack = await self._client.submit(item.kind, item.report)
        except OracleUnavailable as exc:
            log.debug("submit failed: %s", exc)
            self._outbox.attempted(item.seq)
            return False
        except ReportRejected as exc:
            log.warning("oracle rejected %s report: %s", item.kind, exc,
                        extra={"event": "report_rejected", "reason": exc.reason})
            self._outbox.drop(item.seq, exc.reason)
            return True
        self._outbox.ack(item.seq)
        self._backoff.reset()
        self._metrics.reports_acknowledged.labels(kind=item.kind).inc()
        log.debug("acknowledged %s %s (duplicate=%s)", item.kind, ack.id.hex()[:16],
                  ack.duplicate)
        return True
