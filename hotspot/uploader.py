"""Drains the outbox through the oracle client; a report leaves the outbox only on its ack.

Reports go soonest-expiry first (beacons and witnesses, 180 s to live, before coverage, a day).
A report that fails transiently gets its own next-attempt time, stored with it in the outbox
and growing with its own failure count, and the uploader waits its shared backoff before
trying the next due report: an oracle that is down sees one call per backoff step, while one
report the oracle keeps failing (INTERNAL, UNKNOWN) waits on its own and no longer holds up
the witnesses behind it until they expire. When the oracle refuses a report for good, or its
entropy window has closed, the report is dropped with a counted reason.

When more than one report is due (a backlog: the oracle was out of reach, or reports came
faster than one round trip), they go as one report batch (docs/protocol.md §2), at most BATCH
and as many as fit one message (the client's bound, pocnet.wire): each report has its own
outcome and is acked, dropped or given its next attempt exactly as alone. A batch that got no
answer as a whole is sent one report at a time, which finds out whose fault it was.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from google.protobuf.message import Message

from hotspot.channels import Watch, until
from hotspot.client.backoff import Backoff, backoff_delay_s
from hotspot.clock import NS_PER_S, Clock, sleep_s
from hotspot.errors import OracleUnavailable, OutboxError, ReportRejected
from hotspot.metrics import HotspotMetrics
from hotspot.outbox import AsyncOutbox, Pending
from pocnet.wire import MAX_BATCH_REPORTS, ingest_pb2

log = logging.getLogger(__name__)

# Due reports read from the outbox at a time, and so the most in one report batch: 32 already
# cuts gRPC's per-message cost 32-fold, and bounds what a crash between the oracle's store and
# our ack sends again (the oracle deduplicates it) to one batch.
BATCH = 32
assert BATCH <= MAX_BATCH_REPORTS

Outcome = ingest_pb2.ReportAck | OracleUnavailable | ReportRejected


class Submitter(Protocol):
    async def submit(self, kind: str, report: Message) -> ingest_pb2.ReportAck: ...

    @property
    def batching(self) -> bool: ...

    async def submit_batch(self, items: Sequence[tuple[str, Message]]) -> list[Outcome]: ...


class Uploader:
    def __init__(self, outbox: AsyncOutbox, client: Submitter, depth: Watch[int], clock: Clock,
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
                await self._outbox.prune_expired(self._clock.now_ns())
            except OutboxError as exc:
                log.error("%s", exc, extra={"event": "outbox_error"})
            batch = await self._outbox.peek(BATCH, self._clock.now_ns())
            if not batch:
                await until(shutdown, self._handle_idle(version))
                continue
            if len(batch) > 1 and self._client.batching:
                try:
                    failed = await self._handle_batch(batch)
                except OutboxError as exc:
                    await self._outbox_failed(shutdown, exc)
                    continue
                if failed is None:
                    continue
                failure, failed_item = failed
                if failure.whole:  # nothing known of them: one at a time finds out
                    log.info("report batch not delivered (%s); sending one at a time", failure)
                else:
                    await self._back_off(shutdown, failure, failed_item)
                    continue
            for item in batch:
                if shutdown.is_set():
                    return
                try:
                    failure = await self._handle_item(item)
                except OutboxError as exc:
                    await self._outbox_failed(shutdown, exc)
                    break
                if failure is not None:
                    await self._back_off(shutdown, failure, item)
                    break

    async def _outbox_failed(self, shutdown: asyncio.Event, exc: OutboxError) -> None:
        """The disk refused a delete or update (full?): the report stays queued and is sent
        again later, which the oracle's content-hash dedup absorbs."""
        delay = self._backoff.next_delay_s()
        log.error("%s; retrying in %.1f s", exc, delay,
                  extra={"event": "outbox_error", "delay_s": round(delay, 1)})
        await until(shutdown, sleep_s(self._clock, delay))

    async def _back_off(self, shutdown: asyncio.Event, failure: _Failed, item: Pending) -> None:
        delay = self._backoff.next_delay_s()
        log.info("%s report not delivered (%s); next upload in %.1f s, this one "
                 "again in %.1f s", item.kind, failure, delay, failure.retry_s,
                 extra={"event": "upload_backoff", "delay_s": round(delay, 1),
                        "seq": item.seq})
        # A report queued meanwhile is tried at once: when only one poisoned report
        # keeps failing, this backoff grows, and a witness must not wait it out.
        deadline_ns = self._clock.now_ns() + int(delay * NS_PER_S)
        await until(shutdown, self._wait(self._depth.version, deadline_ns))

    async def _handle_idle(self, version: int) -> None:
        """Nothing due: wait for a new report, or for the earliest backed-off one's turn."""
        await self._wait(version, await self._outbox.next_due_ns(self._clock.now_ns()))

    async def _wait(self, version: int, deadline_ns: int | None) -> None:
        """Until the outbox changes after `version` or the clock reaches `deadline_ns`."""
        waits = [asyncio.ensure_future(self._depth.changed(version))]
        if deadline_ns is not None:
            waits.append(asyncio.ensure_future(self._clock.sleep_until(deadline_ns)))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def _handle_batch(self, batch: list[Pending]) -> tuple[_Failed, Pending] | None:
        """Send the due reports as one batch (those that fit); settle each by its own outcome.
        A _Failed: the first transient failure among them and its report (back off), or
        `whole`: the batch got no answer and nothing of it changed."""
        live = []
        for item in batch:
            if item.expires_ns is not None and item.expires_ns < self._clock.now_ns():
                await self._outbox.drop(item.seq, "expired")
            else:
                live.append(item)
        if not live:
            return None
        try:
            outcomes = await self._client.submit_batch([(i.kind, i.report) for i in live])
        except OracleUnavailable as exc:
            return _Failed(str(exc), 0.0, whole=True), live[0]
        settled = list(zip(live, outcomes, strict=False))  # those that fit were sent
        acked = [(i, o) for i, o in settled if isinstance(o, ingest_pb2.ReportAck)]
        if acked:
            await self._outbox.ack_many([item.seq for item, _ in acked])  # one commit
            for item, ack in acked:
                self._acknowledged(item, ack)
        first: tuple[_Failed, Pending] | None = None
        for item, outcome in settled:
            if not isinstance(outcome, ingest_pb2.ReportAck):
                failure = await self._settle(item, outcome)
                if failure is not None and first is None:
                    first = failure, item
        return first

    async def _handle_item(self, item: Pending) -> _Failed | None:
        """Try one report; a _Failed means it is worth retrying later (back off)."""
        if item.expires_ns is not None and item.expires_ns < self._clock.now_ns():
            await self._outbox.drop(item.seq, "expired")
            return None
        outcome: Outcome
        try:
            outcome = await self._client.submit(item.kind, item.report)
        except (OracleUnavailable, ReportRejected) as exc:
            outcome = exc
        return await self._settle(item, outcome)

    async def _settle(self, item: Pending, outcome: Outcome) -> _Failed | None:
        """Ack, drop or reschedule one report by what the oracle said of it."""
        if isinstance(outcome, OracleUnavailable):
            # This report waits its own turn, growing with its own failures; the others go on.
            retry_s = backoff_delay_s(item.attempts, self._backoff.rng)
            await self._outbox.attempted(item.seq, self._clock.now_ns() + int(retry_s * NS_PER_S))
            return _Failed(str(outcome), retry_s)
        if isinstance(outcome, ReportRejected):
            log.warning("oracle rejected %s report: %s", item.kind, outcome,
                        extra={"event": "report_rejected", "reason": outcome.reason})
            await self._outbox.drop(item.seq, outcome.reason)
            return None
        await self._outbox.ack(item.seq)
        self._acknowledged(item, outcome)
        return None

    def _acknowledged(self, item: Pending, ack: ingest_pb2.ReportAck) -> None:
        self._backoff.reset()
        self._metrics.reports_acknowledged.labels(kind=item.kind).inc()
        log.debug("acknowledged %s %s (duplicate=%s)", item.kind, ack.id.hex()[:16],
                  ack.duplicate)


@dataclass(frozen=True)
class _Failed:
    """A transient delivery failure: why, and when this report is tried again."""

    error: str
    retry_s: float
    whole: bool = False  # a batch got no answer at all: nothing of it was settled

    def __str__(self) -> str:
        return self.error
