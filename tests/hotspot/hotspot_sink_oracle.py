"""A small but real gRPC oracle for the hotspot's tests: it verifies and stores what it acks.

It implements the generated services (not a mock of the client): the report stream's session
handshake, signature checks as docs/protocol.md §1 says, deduplication by content-hash id, entropy,
the registry lookup and the query service. `stored` is what the oracle acknowledged.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent import futures

import grpc

from pocnet import signing
from pocnet.beacon import entropy_data
from pocnet.errors import ProtoError
from pocnet.keys import Keypair, PublicKey
from pocnet.wire import (
    STREAM_RETRY_AFTER_KEY,
    entropy_pb2,
    ingest_pb2,
    registry_pb2,
    service_pb2,
    service_pb2_grpc,
    verdict_pb2,
)

Reject = Callable[[str, object], tuple[grpc.StatusCode, str] | None]


class SinkOracle(
    service_pb2_grpc.EntropyServiceServicer,
    service_pb2_grpc.IngestServiceServicer,
    service_pb2_grpc.RegistryServiceServicer,
    service_pb2_grpc.QueryServiceServicer,
):
    def __init__(self, now_s: Callable[[], int] | None = None, region: str = "EU868") -> None:
        self.now_s = now_s or (lambda: int(time.time()))
        self.region = region
        self.denial: registry_pb2.Denial | None = None  # set: GetHotspot says denied, and why
        self.denied_edges: list[registry_pb2.DeniedEdge] = []  # pairs GetHotspot names
        self.lock = threading.Lock()
        self.stored: dict[bytes, tuple[str, object]] = {}
        self.submissions = 0
        self.sessions = 0
        self.unary = 0
        self.reject: Reject | None = None
        self.verdicts: dict[bytes, verdict_pb2.Verdict] = {}
        self.rewards: list[service_pb2.EpochReward] = []
        self.entropy_requests = 0
        # Entropy is signed like the real oracle's (docs/protocol.md §4); `entropy_edit` may then
        # tamper with it (a forger, a replayer) before it is served.
        self.entropy_key = Keypair.generate()
        self.entropy_edit: Callable[[entropy_pb2.Entropy], None] | None = None
        self.stream_enabled = True
        self.ack_delay_s = 0.0  # stored, but the ack not yet sent: the window kill -9 hits
        self.acked_new: dict[bytes, int] = {}
        # Open sessions' inboxes: `end_streams` ends them with a status between reports, as
        # the real oracle's stream guard does (idle, replaced, too many streams).
        self._streams: list[queue.Queue] = []
        # Refuse every new stream with this status (None: streams allowed), before its offer
        # or, like the real oracle's cap on keys not onboarded, at its session init (here once
        # the first report is in, so the client's write never races the refusal). With
        # RESOURCE_EXHAUSTED the refusal says when to try again, as the oracle's stream guard.
        self.stream_refusal: tuple[grpc.StatusCode, str] | None = None
        self.session_refusal: tuple[grpc.StatusCode, str] | None = None
        self.retry_after_s = 300
        self.stream_calls = 0
        # Report batches (docs/protocol.md §2): False answers one as an oracle that predates
        # them (the stream ends UNAUTHENTICATED); `batch_sizes` counts the reports of each.
        self.batches = True
        self.batch_sizes: list[int] = []
        self.batch_bytes: list[int] = []  # each batch's StreamRequest, serialised

    # EntropyService
    def GetEntropy(self, request, context):
        with self.lock:
            self.entropy_requests += 1
        ts = self.now_s()
        entropy = entropy_pb2.Entropy(data=entropy_data(ts, b"\x07" * 32), timestamp=ts,
                                      version=1, oracle_key=self.entropy_key.public_key.to_bytes())
        signing.sign(entropy, self.entropy_key)
        if self.entropy_edit is not None:
            self.entropy_edit(entropy)
        return entropy

    # IngestService
    def _store(self, kind: str, report, context) -> ingest_pb2.ReportAck:
        if self.reject is not None and (verdict := self.reject(kind, report)) is not None:
            context.abort(*verdict)
        return self._keep(kind, report)

    def _keep(self, kind: str, report) -> ingest_pb2.ReportAck:
        rid = signing.report_id(report)
        with self.lock:
            self.submissions += 1
            duplicate = rid in self.stored
            if not duplicate:
                self.stored[rid] = (kind, report)
        if self.ack_delay_s:
            time.sleep(self.ack_delay_s)
        if not duplicate:
            with self.lock:
                self.acked_new[rid] = self.acked_new.get(rid, 0) + 1
        return ingest_pb2.ReportAck(id=rid, received_ms=int(time.time() * 1000),
                                    duplicate=duplicate)

    def _unary(self, kind: str, report, context):
        try:
            signing.verify(report, PublicKey.from_bytes(report.pub_key))
        except ProtoError as exc:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, f"bad signature: {exc}")
        with self.lock:
            self.unary += 1
        return self._store(kind, report, context)

    def SubmitBeacon(self, request, context):
        return self._unary("beacon", request, context)

    def SubmitWitness(self, request, context):
        return self._unary("witness", request, context)

    def SubmitCoverage(self, request, context):
        return self._unary("coverage", request, context)

    def ReportStream(self, request_iterator, context):
        with self.lock:
            self.stream_calls += 1
        if not self.stream_enabled:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "no report stream here")
        if self.stream_refusal is not None:
            self._refuse(context, self.stream_refusal)
        nonce = os.urandom(32)
        yield ingest_pb2.StreamResponse(offer=ingest_pb2.SessionOffer(nonce=nonce))
        first = next(request_iterator, None)
        if first is None or not first.HasField("session_init"):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing session")
        try:
            device, session = signing.verify_session_init(first.session_init, nonce)
        except ProtoError as exc:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, f"bad session: {exc}")
        if self.session_refusal is not None:
            next(request_iterator, None)
            self._refuse(context, self.session_refusal)
        inbox: queue.Queue = queue.Queue()
        with self.lock:
            self.sessions += 1
            self._streams.append(inbox)

        def pump() -> None:
            try:
                for req in request_iterator:
                    inbox.put(("report", req))
            except grpc.RpcError:
                pass  # the client cancelled: the session ends like at end of stream
            finally:
                inbox.put(("eof", None))

        threading.Thread(target=pump, daemon=True).start()
        try:
            yield from self._serve_session(inbox, device, session, context)
        finally:
            with self.lock:
                self._streams.remove(inbox)

    def _refuse(self, context, refusal: tuple[grpc.StatusCode, str]) -> None:
        if refusal[0] == grpc.StatusCode.RESOURCE_EXHAUSTED:
            context.set_trailing_metadata(((STREAM_RETRY_AFTER_KEY, str(self.retry_after_s)),))
        context.abort(*refusal)

    def end_streams(self, code: grpc.StatusCode, details: str,
                    retry_after_s: int | None = None) -> int:
        """End every open session with this status, as if idle or replaced (with
        `retry_after_s`: as the stream limits refuse, saying when to try again); how many."""
        with self.lock:
            streams = list(self._streams)
        for inbox in streams:
            inbox.put(("end", (code, details, retry_after_s)))
        return len(streams)

    def _serve_session(self, inbox: queue.Queue, device, session, context):
        while True:
            what, item = inbox.get()
            if what == "eof":
                return
            if what == "end":
                code, details, retry_after_s = item
                if retry_after_s is not None:
                    context.set_trailing_metadata(((STREAM_RETRY_AFTER_KEY, str(retry_after_s)),))
                context.abort(code, details)
            req = item
            kind = req.WhichOneof("msg")
            if kind == "batch":
                if not self.batches:
                    context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                  "only reports may follow the session init")
                yield ingest_pb2.StreamResponse(batch_ack=self._batch(req.batch, device, session))
                continue
            report = getattr(req, kind)
            try:
                if report.pub_key != device.to_bytes():
                    raise ProtoError("pub_key is not the session's device")
                signing.verify(report, session)
            except ProtoError as exc:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, f"bad signature: {exc}")
            yield ingest_pb2.StreamResponse(ack=self._store(kind, report, context))

    def _batch(self, batch, device, session) -> ingest_pb2.BatchAck:
        """Each report on its own: an ack, or the refusal a single report would have met."""
        with self.lock:
            self.batch_sizes.append(len(batch.reports))
            self.batch_bytes.append(ingest_pb2.StreamRequest(batch=batch).ByteSize())
        outcomes = []
        for item in batch.reports:
            kind = item.WhichOneof("report")
            report = getattr(item, kind)
            refusal: tuple[grpc.StatusCode, str] | None = None
            try:
                if report.pub_key != device.to_bytes():
                    raise ProtoError("pub_key is not the session's device")
                signing.verify(report, session)
            except ProtoError as exc:
                refusal = (grpc.StatusCode.UNAUTHENTICATED, f"bad signature: {exc}")
            if refusal is None and self.reject is not None:
                refusal = self.reject(kind, report)
            if refusal is None:
                outcomes.append(ingest_pb2.BatchOutcome(ack=self._keep(kind, report)))
            else:
                outcomes.append(ingest_pb2.BatchOutcome(refused=ingest_pb2.ReportRefusal(
                    code=refusal[0].value[0], reason=refusal[1])))
        return ingest_pb2.BatchAck(outcomes=outcomes)

    # RegistryService
    def GetHotspot(self, request, context):
        if not self.region:
            context.abort(grpc.StatusCode.NOT_FOUND, "not onboarded")
        info = registry_pb2.HotspotInfo(hotspot_key=request.hotspot_key, region=self.region)
        if self.denial is not None:
            info.denied = True
            info.denial.CopyFrom(self.denial)
        info.denied_edges.extend(self.denied_edges)
        return info

    # QueryService
    def ListReports(self, request, context):
        out = []
        with self.lock:
            items = list(self.stored.items())
        for rid, (kind, report) in items:
            if report.pub_key != request.hotspot_key:
                continue
            summary = service_pb2.ReportSummary(
                id=rid, kind=verdict_pb2.ReportKind.Value(kind.upper()), received_ms=1)
            if rid in self.verdicts:
                summary.verdict.CopyFrom(self.verdicts[rid])
            out.append(summary)
        return service_pb2.ReportsResponse(reports=out)

    def GetRewards(self, request, context):
        return service_pb2.RewardsResponse(epochs=self.rewards)

    def beacons(self) -> list:
        return [r for kind, r in self.stored.values() if kind == "beacon"]

    def witnesses(self) -> list:
        return [r for kind, r in self.stored.values() if kind == "witness"]


class SinkServer:
    """Runs a SinkOracle on 127.0.0.1; `stop()` / `start()` again on the same port."""

    def __init__(self, oracle: SinkOracle, port: int = 0,
                 options: tuple[tuple[str, int], ...] = ()) -> None:
        self.oracle = oracle
        self.port = port
        self.options = options  # grpc server options, e.g. the oracle's keepalive policy
        self._server: grpc.Server | None = None

    def start(self) -> SinkServer:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=self.options)
        service_pb2_grpc.add_EntropyServiceServicer_to_server(self.oracle, server)
        service_pb2_grpc.add_IngestServiceServicer_to_server(self.oracle, server)
        service_pb2_grpc.add_RegistryServiceServicer_to_server(self.oracle, server)
        service_pb2_grpc.add_QueryServiceServicer_to_server(self.oracle, server)
        self.port = server.add_insecure_port(f"127.0.0.1:{self.port}")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait()
            self._server = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"
