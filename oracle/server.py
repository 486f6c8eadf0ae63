"""The oracle's one wiring point: storage, group commit, ingest, registry, entropy and the
verification runner assembled from settings, behind one grpc.aio server with health checking,
reflection, TLS when configured, a 16 KiB message limit and `maximum_concurrent_rpcs` (report
streams may take only part of it: `oracle.stream_guard`), connection limits ([connections])
and the keepalive agreement with hotspots (`pocnet.keepalive`); docs/security.md has the whole
list of doors and guards. Beside it, by default, a second listener for hotspots
(`connections.hotspot_listen`, `oracle.settings.hotspot_address`): the same services on a gRPC
server object of its own, whose queue a flooder that cancels its calls cannot fill
(`create_server`).

`create_server(settings, address) -> (server, port)` for tests (port 0) and `serve(settings)`
for the command: SIGTERM stops accepting calls, in-flight calls get the grace period, queued
commits finish, then the database closes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from oracle.entropy import EntropyIssuer
from oracle.envelope import receive_limit
from oracle.errors import OracleError, StorageError, TaskFailed
from oracle.ingest import Ingestor
from oracle.metrics import OracleMetrics
from oracle.onboarded import OnboardedKeys
from oracle.ratelimit import HeldThroughResets, RateLimiter, SharedBudget, Tarpit
from oracle.registry import Locator, Registry
from oracle.retention import Pruner
from oracle.servicers import entropy as entropy_servicer
from oracle.servicers import ingest as ingest_servicer
from oracle.servicers import query as query_servicer
from oracle.servicers import registry as registry_servicer
from oracle.settings import Settings, held_refusals, hotspot_address, stream_caps
from oracle.signature_pool import SignaturePool, resolve_processes
from oracle.storage import open_repository
from oracle.storage.group_commit import GroupCommitter
from oracle.storage.repository import Repository
from oracle.stream_guard import StreamGuard
from oracle.verifier.params import VerifierParams
from oracle.verifier.runner import VerificationRunner
from pocnet.errors import KeyFileError
from pocnet.keepalive import KEEPALIVE, KeepalivePolicy
from pocnet.keys import Keypair, Network, PublicKey, load_keyfile, read_private_file

MAX_SEND_BYTES = 4 * 1024 * 1024  # query answers (a PoC with its witnesses) exceed 16 KiB
MAX_PEM_BYTES = 1024 * 1024  # a PEM private key is a few KiB; a chain file larger still fits
log = logging.getLogger(__name__)

SERVICES = (
    entropy_servicer.SERVICE,
    ingest_servicer.SERVICE,
    registry_servicer.SERVICE,
    query_servicer.SERVICE,
)


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Oracle:
    """The assembled domain objects one server (and its background tasks) share."""

    settings: Settings
    repo: Repository
    committer: GroupCommitter
    ingestor: Ingestor
    registry: Registry
    entropy: EntropyIssuer
    runner: VerificationRunner
    rewards: query_servicer.RewardsSource | None = None
    pool: SignaturePool | None = None
    streams: StreamGuard | None = None
    onboarded: OnboardedKeys | None = None
    metrics: OracleMetrics | None = None
    tarpit: Tarpit | None = None

    def close(self) -> None:
        self.committer.stop()
        self.repo.close()


def build_oracle(
    settings: Settings,
    keypair: Keypair | None = None,
    clock_ms: Callable[[], int] = wall_ms,
    repo: Repository | None = None,
    locator: Callable[[], Locator] | None = None,
    monotonic_s: Callable[[], float] = time.monotonic,
    metrics: OracleMetrics | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> Oracle:
    """`monotonic_s` is the clock of the rate limits and the stream guard, `sleep` the tarpit's
    wait (tests drive both)."""
    network = Network[settings.oracle.network.upper()]
    keypair = keypair or load_keyfile(settings.oracle.key)
    repo = repo or open_repository(settings.oracle.database)
    committer = GroupCommitter(repo, settings.ingest.max_batch, settings.ingest.max_queue,
                               on_commit=metrics.observe_commit if metrics else None)
    limiter = RateLimiter(
        settings.rate_limit.per_key_rate_per_s, settings.rate_limit.per_key_burst,
        monotonic_s,
    )
    processes = resolve_processes(settings.ingest.signature_processes, os.cpu_count())
    pool = SignaturePool(processes) if processes else None
    n = settings.not_onboarded
    onboarded = OnboardedKeys(repo, n.refresh_s)
    strangers = SharedBudget(n.reports_per_s, n.reports_burst, n.bytes_per_s, n.bytes_burst,
                             monotonic_s)
    ingestor = Ingestor(repo, committer, network, clock_ms, limiter,
                        settings.verifier.witness_grace_ms, pool,
                        settings.server.max_receive_bytes, strangers, onboarded)
    operators = [PublicKey.from_address(a).to_bytes() for a in settings.registry.operator_keys]
    registry_kwargs = {"locator": locator} if locator is not None else {}
    registry = Registry(repo, ingestor.public_key, clock_ms, operators, **registry_kwargs,
                        on_asserted=onboarded.add)
    issuer = EntropyIssuer(repo, keypair, lambda: clock_ms() / 1000,
                           interval_s=settings.entropy.interval_s,
                           on_issue=ingestor.remember_entropy)
    params = VerifierParams(stale_after_ms=settings.verifier.stale_after_s * 1000)
    runner = VerificationRunner(repo, params, clock_ms, settings.oracle.worker_id or None,
                                settings.verifier.claim_lease_s * 1000, settings.verifier.batch)
    from oracle.rewards.store import ManifestStore  # rewards per epoch (issue 7's tables)

    return Oracle(settings, repo, committer, ingestor, registry, issuer, runner,
                  ManifestStore(repo), pool, StreamGuard(stream_caps(settings), monotonic_s),
                  onboarded, metrics, build_tarpit(settings, sleep))


def build_tarpit(settings: Settings, sleep: Callable[[float], Awaitable[object]]) -> Tarpit:
    """The tarpit of [not_onboarded]: `held_refusals` at the short delay, a peer address's
    share of them, and the excess tier (whose places `create_server` adds to gRPC's slots)."""
    n = settings.not_onboarded
    return Tarpit(n.refusal_delay_s, held_refusals(settings), sleep, n.refusal_delay_spread,
                  per_peer=n.per_peer_held, excess_delay_s=n.excess_delay_s,
                  max_excess=n.max_held_excess,
                  ipv6_prefix_len=settings.streams.ipv6_prefix_len)


class OracleServer:
    def __init__(self, server: grpc.aio.Server, oracle: Oracle) -> None:
        self.grpc = server
        self.oracle = oracle
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        self.hotspot_grpc: grpc.aio.Server | None = None  # connections.hotspot_listen
        self.hotspot_port: int | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._refresher: asyncio.Task[None] | None = None

    def add_hotspot_listener(self, server: grpc.aio.Server, port: int) -> None:
        """The second listener (`create_server`), started, stopped and health-checked with
        the first."""
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        self.hotspot_grpc, self.hotspot_port = server, port

    def _servers(self) -> list[grpc.aio.Server]:
        return [self.grpc] + ([self.hotspot_grpc] if self.hotspot_grpc is not None else [])

    async def start(self) -> None:
        if self.oracle.pool is not None:
            self.oracle.pool.start()
        self.oracle.committer.start()
        if self.oracle.streams is not None:
            self._sweeper = asyncio.create_task(self.oracle.streams.run(), name="stream-sweeper")
        if self.oracle.onboarded is not None:  # known before the first report is taken
            try:
                await asyncio.to_thread(self.oracle.onboarded.refresh)
            except StorageError as exc:  # serve anyway (UNAVAILABLE until the database is
                log.warning("onboarded keys not loaded yet: %s", exc)  # back); retried
            self._refresher = asyncio.create_task(self.oracle.onboarded.run(),
                                                  name="onboarded-refresh")
        for server in self._servers():
            await server.start()
        for name in ("", *SERVICES):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop_serving(self, grace_s: float | None = None) -> None:
        """Refuse new calls and let in-flight ones finish within the grace period."""
        await self.health.enter_graceful_shutdown()
        if self.oracle.tarpit is not None:  # refusals held through resets end now
            self.oracle.tarpit.close()
        grace = self.oracle.settings.server.grace_s if grace_s is None else grace_s
        await asyncio.gather(*(server.stop(grace) for server in self._servers()))
        for task in (self._sweeper, self._refresher):
            if task is not None:
                task.cancel()
        if self.oracle.pool is not None:
            self.oracle.pool.stop()

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop serving, commit what is queued, close the database."""
        await self.stop_serving(grace_s)
        await asyncio.to_thread(self.oracle.close)

    async def wait_for_termination(self) -> None:
        await asyncio.gather(*(server.wait_for_termination() for server in self._servers()))


def _credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS from PEM files; the private key is refused when group or others may read it, like
    the oracle's own key file (issue 10 item 8)."""
    if not settings.server.tls_cert:
        return None
    try:
        key = read_private_file(settings.server.tls_key, MAX_PEM_BYTES, "TLS private key")
    except KeyFileError as exc:
        raise OracleError(str(exc)) from None
    cert = Path(settings.server.tls_cert).read_bytes()
    return grpc.ssl_server_credentials([(key, cert)])


def connection_options(settings: Settings,
                       count_until_freed: bool = False) -> list[tuple[str, int]]:
    """gRPC's connection limits from [connections] (issue 10 item 6): a total below the file
    descriptor limit, idle and age limits, and a deadline for the HTTP/2 handshake, so idle or
    silent connections cannot use up the descriptors calls need; and calls at once on one
    connection (HTTP/2 streams), so that one connection cannot keep more refusals in flight
    than the tarpit holds. gRPC has no limit per peer address; docs/security.md shows the
    firewall rule that adds one.

    The streams are counted as HTTP/2 counts them (`grpc.http.overload_protection` off). By
    default gRPC's server counts a stream until its call is freed, some time after the client
    saw it end: a client that kept to the limit then had calls refused (`RST_STREAM`
    REFUSED_STREAM: grpcio 1.85 failed 20-53 of 64 calls at a limit of 8 with `UNAVAILABLE`
    whatever its retry setting, grpclib 1-14). Counted as HTTP/2 does, grpcio and grpclib
    clients queue their calls past the limit and every call succeeds. gRPC's count guards
    against streams reset as soon as opened by comparing with this same limit, so with no
    limit (the old default) it never applied.

    `count_until_freed` (the hotspot listener, `connections.hotspot_listen`) turns gRPC's count
    back on: there a call a client resets still counts until the server has finished with it,
    so a client that cancels its calls and sends again at once cannot queue more than the
    limit (and one) a connection in gRPC's queue of calls the server has not taken up yet. A
    hotspot keeps 2-3 calls open, far from the limit, so it loses nothing by it."""
    c = settings.connections
    streams = [("grpc.max_concurrent_streams", c.max_streams_per_connection),
               ("grpc.http.overload_protection", int(count_until_freed))]
    return [
        ("grpc.max_allowed_incoming_connections", c.max_total),
        ("grpc.max_connection_idle_ms", int(c.idle_s * 1000)),
        ("grpc.max_connection_age_ms", int(c.max_age_s * 1000)),
        ("grpc.max_connection_age_grace_ms", int(c.age_grace_s * 1000)),
        ("grpc.server_handshake_timeout_ms", int(c.handshake_timeout_s * 1000)),
        *(streams if c.max_streams_per_connection else []),
    ]


def create_server(
    settings: Settings, address: str, oracle: Oracle | None = None,
    keepalive: KeepalivePolicy = KEEPALIVE,
) -> tuple[OracleServer, int]:
    """Build (not start) the server bound to `address` ("127.0.0.1:0" picks a free port), and
    the hotspot listener on `connections.hotspot_listen` unless it is "" (its port:
    `OracleServer.hotspot_port`; beside port 0 the default takes a free port too:
    `oracle.settings.hotspot_address`). Call from inside the event loop that will run it.
    `keepalive` is the policy hotspots ping by (pocnet.keepalive); tests shorten it.

    The hotspot listener is a second gRPC server object in this process, on this event loop,
    with the same servicers (so the same domain objects, limits and tarpit): what it has of
    its own is gRPC's queue of calls not yet taken up by the application, which a flooder that
    cancels its calls fills on the first listener until gRPC cancels queued calls, whoever's
    (docs/security.md), and gRPC's count of a connection's calls until freed, with the tarpit
    holding its refusals through resets (`HeldThroughResets`). Its call slots
    (`maximum_concurrent_rpcs`) are its own too; the stream guard's caps apply to both."""
    oracle = oracle or build_oracle(settings)
    s = settings.server
    limits = ingest_servicer.StreamLimits(
        s.session_init_timeout_s, s.session_max_s, s.rpc_timeout_s
    )

    def handlers(tarpit: Tarpit | HeldThroughResets | None) -> tuple[grpc.GenericRpcHandler, ...]:
        return (
            entropy_servicer.EntropyServicer(oracle.entropy).handler(),
            ingest_servicer.IngestServicer(oracle.ingestor, limits, guard=oracle.streams,
                                           onboarded=oracle.registry.is_onboarded,
                                           tarpit=tarpit).handler(),
            registry_servicer.RegistryServicer(oracle.registry).handler(),
            query_servicer.QueryServicer(oracle.repo, oracle.rewards).handler(),
        )

    credentials = _credentials(settings)
    server, port = _listener(settings, address, oracle, keepalive, handlers(oracle.tarpit),
                             credentials, count_until_freed=False)
    wrapped = OracleServer(server, oracle)
    hotspot_at = hotspot_address(settings, address)
    if hotspot_at:
        # Its held refusals keep their place through a reset: with calls counted until freed,
        # a client that cancels them then gets no more through than one that waits.
        tarpit = HeldThroughResets(oracle.tarpit) if oracle.tarpit is not None else None
        wrapped.add_hotspot_listener(*_listener(settings, hotspot_at, oracle, keepalive,
                                                handlers(tarpit), credentials,
                                                count_until_freed=True))
    return wrapped, port


def _listener(
    settings: Settings, address: str, oracle: Oracle, keepalive: KeepalivePolicy,
    handlers: tuple[grpc.GenericRpcHandler, ...], credentials: grpc.ServerCredentials | None,
    count_until_freed: bool,
) -> tuple[grpc.aio.Server, int]:
    """One gRPC server object with the oracle's services, bound to `address`."""
    s = settings.server
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", receive_limit(s.max_receive_bytes)),
            ("grpc.max_send_message_length", MAX_SEND_BYTES),
            ("grpc.so_reuseport", 0),
            *connection_options(settings, count_until_freed),
            *keepalive.server_options(),
        ],
        # Refusals held in the tarpit's excess tier have slots of their own, so that they take
        # none of those streams and unary calls share (`oracle.settings.held_refusals`).
        maximum_concurrent_rpcs=s.max_concurrent_rpcs + settings.not_onboarded.max_held_excess,
        interceptors=[oracle.metrics.interceptor()] if oracle.metrics else None,
    )
    server.add_generic_rpc_handlers(handlers)
    reflection.enable_server_reflection((*SERVICES, reflection.SERVICE_NAME,
                                         health.SERVICE_NAME), server)
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError as exc:
        raise OracleError(f"cannot listen on {address}: {exc}") from None
    if port == 0:
        raise OracleError(f"cannot listen on {address}")
    return server, port


async def serve(
    settings: Settings,
    stop: asyncio.Event | None = None,
    ready: Callable[[int, int | None], None] | None = None,
) -> None:
    """Run the server, the entropy issuer, the verification loop and retention (raw reports
    pruned after `retention.raw_days`) until SIGTERM/SIGINT. `ready` is called once both
    listeners accept calls, with their ports (the hotspot listener's None when it is off).

    The background tasks are supervised: if one ends with an error the server shuts down the
    same way and `TaskFailed` is raised, so the process exits non-zero and its supervisor
    restarts it (ingest must not go on acknowledging reports that nobody verifies)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    metrics = OracleMetrics() if settings.metrics.listen else None
    server, port = create_server(settings, settings.oracle.listen,
                                 build_oracle(settings, metrics=metrics))
    await server.start()
    if metrics is not None:
        metrics.watch(server.oracle.committer, server.oracle.repo, settings.payout.ledger,
                      server.oracle.tarpit)
        metrics_port = metrics.start(settings.metrics.listen)
        log.info("metrics on port %d", metrics_port, extra={"metrics_port": metrics_port})
    log.info("listening on port %d, database %s", port, server.oracle.repo.dialect)
    if server.hotspot_port is not None:
        log.info("hotspot listener on port %d", server.hotspot_port,
                 extra={"hotspot_port": server.hotspot_port})
    else:  # off, or its default gave way to older settings (oracle.settings.hotspot_address)
        log.warning("no hotspot listener (connections.hotspot_listen): hotspots are served on "
                    "port %d, where a client that cancels its calls can crowd them out "
                    "(docs/security.md)", port)
    if ready is not None:
        ready(port, server.hotspot_port)
    oracle = server.oracle
    r = settings.retention
    pruner = Pruner(oracle.repo, r.raw_days, wall_ms, r.archive_dir, r.batch)
    tasks = {
        asyncio.create_task(oracle.entropy.run(stop), name="entropy"),
        asyncio.create_task(oracle.runner.run(stop, settings.verifier.interval_s),
                            name="verifier"),
        asyncio.create_task(pruner.run(stop, r.interval_s), name="retention"),
    }
    stopped = asyncio.create_task(stop.wait())
    failed: list[tuple[str, BaseException]] = []
    try:
        done, _ = await asyncio.wait({stopped, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks & done:
            exc = None if task.cancelled() else task.exception()
            if exc is not None:
                log.error("%s task crashed; shutting down", task.get_name(), exc_info=exc)
                failed.append((task.get_name(), exc))
    finally:
        log.info("shutting down: refusing new calls, %g s grace", settings.server.grace_s)
        stop.set()
        await server.stop_serving()
        await asyncio.gather(stopped, *tasks, return_exceptions=True)
        await asyncio.to_thread(oracle.close)
        if metrics is not None:
            metrics.stop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        log.info("stopped")
    if failed:
        name, exc = failed[0]
        raise TaskFailed(f"{name} task failed: {type(exc).__name__}: {exc}")
