"""Oracle settings: a TOML file plus `POCNET_ORACLE_<SECTION>_<FIELD>` environment overrides,
validated at load into frozen sections. Every mistake is reported, one line each, at once.

Defaults are the values docs/protocol.md and issue 6 name (16 KiB reports, 5 s session init,
30 min sessions, 45 min staleness); units are in the field names.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oracle.errors import SettingsError
from oracle.stream_guard import StreamCaps
from pocnet import settings_file

DEFAULT_PATH = Path("/etc/pocnet/oracle.toml")
ENV_PREFIX = "POCNET_ORACLE_"
DAY_S = 86_400
# The hotspot listener's default: loopback like oracle.listen's (plaintext until TLS is set), on
# the port hotspots dial by default (hotspot/settings.py). An operator opens this one to the
# network ("0.0.0.0:7081"), not oracle.listen.
DEFAULT_HOTSPOT_LISTEN = "127.0.0.1:7081"


@dataclass(frozen=True)
class OracleSection:
    network: str = "mainnet"  # "mainnet" | "testnet": keys of the other network are refused
    key: str = "/var/lib/pocnet-oracle/oracle.key"  # gateway-rs layout, mode 0600
    database: str = "sqlite:////var/lib/pocnet-oracle/oracle.db"  # or a path, postgresql://...
    listen: str = "127.0.0.1:7080"
    worker_id: str = ""  # name of this replica in verification claims; "" = host:pid


@dataclass(frozen=True)
class ServerSection:
    max_receive_bytes: int = 16 * 1024
    max_concurrent_rpcs: int = 1000
    rpc_timeout_s: float = 10.0  # server-side bound on a unary call
    session_init_timeout_s: float = 5.0
    session_max_s: float = 1800.0
    grace_s: float = 5.0  # shutdown: in-flight calls get this long
    tls_cert: str = ""  # PEM files; both set = TLS, both empty = plaintext
    tls_key: str = ""


@dataclass(frozen=True)
class StreamsSection:
    """Report-stream admission (oracle/stream_guard.py): a few clients must not hold every slot."""

    per_peer_pending: int = 8  # streams of one peer address still awaiting their session init
    per_peer: int = 128  # sessions (initialised streams) of one peer address
    per_key: int = 2  # sessions of one device key; a newer one replaces the oldest
    idle_s: float = 600.0  # a session with no report this long is ended (UNAVAILABLE)
    unary_reserve_share: float = 0.1  # share of server.max_concurrent_rpcs streams may not use
    ipv6_prefix_len: int = 64  # IPv6 peers count per prefix (a subscriber holds a whole /64)
    not_onboarded_share: float = 0.1  # share of stream slots keys with no registration may hold


@dataclass(frozen=True)
class RateLimitSection:
    per_key_rate_per_s: float = 5.0
    per_key_burst: float = 50.0


@dataclass(frozen=True)
class IngestSection:
    max_batch: int = 2048
    max_queue: int = 100_000
    # Helper processes for Ed25519 checks: "auto" = one per core, N, or 0 = check inline.
    signature_processes: int | str = "auto"


@dataclass(frozen=True)
class EntropySection:
    interval_s: int = 60


@dataclass(frozen=True)
class VerifierSection:
    interval_s: float = 5.0  # how often the loop looks for closed entropy windows
    stale_after_s: int = 45 * 60
    witness_grace_ms: int = 4000
    claim_lease_s: int = 300
    batch: int = 200


@dataclass(frozen=True)
class RegistrySection:
    operator_keys: tuple[str, ...] = ()  # addresses allowed to sign denylist updates


@dataclass(frozen=True)
class NotOnboardedSection:
    """One budget every key with no registration shares (issue 10 item 4): keys cost nothing,
    so per-key limits alone let any number of fresh keys fill the disk. Their reports can only
    get `gateway_not_found`; the budget is there so they still get that verdict."""

    reports_per_s: float = 20.0
    reports_burst: float = 200.0
    bytes_per_s: float = 8192.0  # serialised report bytes
    bytes_burst: float = 81920.0
    refresh_s: float = 30.0  # hotspots onboarded through another replica count within this
    # A refusal of this budget is held at most this long (a tarpit, oracle/ratelimit.py): a
    # flooder waiting for answers then forces at most (its calls in flight) / (mean delay)
    # refusals a second. 0 = at once; below server.rpc_timeout_s, so clients see the refusal.
    refusal_delay_s: float = 1.0
    # Each held refusal waits a time drawn uniformly from refusal_delay_s × [1 − this, 1]: held
    # together, refusals are then not answered (and sent again) together, as a burst. 0 to 1.
    refusal_delay_spread: float = 0.5
    # Refusals held at once at that delay; more wait excess_delay_s. Each holds a call slot, so
    # never more than half the slots streams leave to unary calls (`held_refusals`); 0 = none
    # at that delay.
    max_held_refusals: int = 50
    # Of those, refusals one peer address (IPv6 by streams.ipv6_prefix_len) may have held at
    # once; its further refusals wait excess_delay_s. Two connections' calls: a client on more
    # connections than that sends its extra calls' bursts once in excess_delay_s, not once a
    # second. Onboarded hotspots are never held, so a carrier NAT costs them nothing; strangers
    # behind one share it. At least connections.max_streams_per_connection; 0 = no share.
    per_peer_held: int = 32
    # Refusals past a peer's share or past max_held_refusals wait this long at most (the same
    # random part), in places of their own: call slots added to server.max_concurrent_rpcs.
    excess_delay_s: float = 30.0
    max_held_excess: int = 1024  # 64 connections of 16 calls; more are answered at once; 0 = none


@dataclass(frozen=True)
class ConnectionsSection:
    """TCP connections (issue 10 item 6): each holds a file descriptor, so idle ones are closed
    and the total stays well below the unit's LimitNOFILE (65536)."""

    max_total: int = 10_000  # further connections are refused at accept
    idle_s: float = 600.0  # a connection with no call this long is closed (GOAWAY)
    max_age_s: float = 7200.0  # any connection is closed after this long (GOAWAY) ...
    age_grace_s: float = 1900.0  # ... once its calls end, or this much later (> session_max_s)
    handshake_timeout_s: float = 10.0  # a connection that never speaks HTTP/2 is closed
    # Calls at once on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); clients queue
    # the rest until one ends (oracle/server.py counts streams as HTTP/2 does, so none is
    # refused). A hotspot needs 2-3. At most the refusals the tarpit holds (`held_refusals`), so
    # that a connection's refusals are all held: a flooder's queued calls then go out one by one
    # as held answers come back, never as a burst. 0 = no limit (gRPC's own).
    max_streams_per_connection: int = 16
    # The listener for hotspots (HOST:PORT; "" = none), with the same services and limits as
    # oracle.listen, where a call counts against max_streams_per_connection until the server
    # has finished with it, not only until its client resets it (gRPC's overload protection),
    # and a held refusal keeps its place through a reset: a client that cancels its calls and
    # sends again at once then gets no more through than one that waits, and the listener's
    # queue of calls not yet taken up is its own (docs/security.md "Flooders that cancel their
    # own calls"). Hotspots dial it by default; the address strangers reach should be this
    # one, oracle.listen staying on loopback for tools. Needs max_streams_per_connection > 0.
    # The default gives way (`hotspot_address`) on a server started on port 0, and to settings
    # from before it had one.
    hotspot_listen: str = DEFAULT_HOTSPOT_LISTEN


@dataclass(frozen=True)
class RetentionSection:
    """Raw reports whose verification is over are removed after `raw_days` (oracle/retention.py);
    verdicts, rewards and manifests are kept."""

    raw_days: float = 30.0  # at least 3 (the 60 h interactivity window and re-verification)
    archive_dir: str = ""  # "" = delete; else gzip JSON-lines files here before deleting
    interval_s: float = 3600.0
    batch: int = 10_000


@dataclass(frozen=True)
class PayoutSection:
    """Where payouts keep their state; the LiteSVM state and payer keypair lie beside the ledger."""

    ledger: str = "/var/lib/pocnet-oracle/payout-ledger.db"


@dataclass(frozen=True)
class MetricsSection:
    listen: str = ""  # HOST:PORT of the Prometheus /metrics endpoint; "" = off


@dataclass(frozen=True)
class NetworkSection:
    """How long an epoch lasts. docs/protocol.md §6's 24 h is the default; a test network shortens
    it to try rewards and payouts within minutes. Only the rewards' epoch boundaries follow it:
    beacon windows (6 h), reciprocity (48 h), interactivity (60 h) and staleness stay the
    protocol's, so hotspots need no change and the verifier's verdicts do not depend on it."""

    epoch_s: int = 86_400


@dataclass(frozen=True)
class Settings:
    oracle: OracleSection = field(default_factory=OracleSection)
    server: ServerSection = field(default_factory=ServerSection)
    streams: StreamsSection = field(default_factory=StreamsSection)
    rate_limit: RateLimitSection = field(default_factory=RateLimitSection)
    ingest: IngestSection = field(default_factory=IngestSection)
    entropy: EntropySection = field(default_factory=EntropySection)
    verifier: VerifierSection = field(default_factory=VerifierSection)
    registry: RegistrySection = field(default_factory=RegistrySection)
    not_onboarded: NotOnboardedSection = field(default_factory=NotOnboardedSection)
    connections: ConnectionsSection = field(default_factory=ConnectionsSection)
    retention: RetentionSection = field(default_factory=RetentionSection)
    payout: PayoutSection = field(default_factory=PayoutSection)
    metrics: MetricsSection = field(default_factory=MetricsSection)
    network: NetworkSection = field(default_factory=NetworkSection)

    def with_(self, section: str, **values: Any) -> Settings:
        """A copy with some fields of one section replaced (tests, command-line flags)."""
        return validate(
            dataclasses.replace(self, **{section: dataclasses.replace(getattr(self, section),
                                                                      **values)})
        )


def _check(s: Settings) -> list[str]:
    errors = []
    if s.oracle.network not in ("mainnet", "testnet"):
        errors.append(f"oracle.network: must be mainnet or testnet, got {s.oracle.network!r}")
    host, _, port = s.oracle.listen.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        errors.append(f"oracle.listen: expected HOST:PORT, got {s.oracle.listen!r}")
    for name, value in (("metrics.listen", s.metrics.listen),
                        ("connections.hotspot_listen", s.connections.hotspot_listen)):
        if value:
            m_host, _, m_port = value.rpartition(":")
            if not m_host or not m_port.isdigit() or not 0 <= int(m_port) < 65536:
                errors.append(f"{name}: expected HOST:PORT or empty, got {value!r}")
    positive = {
        "server.max_receive_bytes": s.server.max_receive_bytes,
        "server.max_concurrent_rpcs": s.server.max_concurrent_rpcs,
        "server.rpc_timeout_s": s.server.rpc_timeout_s,
        "server.session_init_timeout_s": s.server.session_init_timeout_s,
        "server.session_max_s": s.server.session_max_s,
        "streams.per_peer_pending": s.streams.per_peer_pending,
        "streams.per_peer": s.streams.per_peer,
        "streams.per_key": s.streams.per_key,
        "streams.idle_s": s.streams.idle_s,
        "rate_limit.per_key_rate_per_s": s.rate_limit.per_key_rate_per_s,
        "ingest.max_batch": s.ingest.max_batch,
        "ingest.max_queue": s.ingest.max_queue,
        "entropy.interval_s": s.entropy.interval_s,
        "verifier.interval_s": s.verifier.interval_s,
        "verifier.stale_after_s": s.verifier.stale_after_s,
        "verifier.claim_lease_s": s.verifier.claim_lease_s,
        "verifier.batch": s.verifier.batch,
    }
    errors += [f"{name}: must be > 0, got {v}" for name, v in positive.items() if v <= 0]
    processes = s.ingest.signature_processes
    if processes != "auto" and not (isinstance(processes, int) and processes >= 0):
        errors.append(f'ingest.signature_processes: must be "auto" or an integer >= 0, '
                      f"got {processes!r}")
    if not 0 <= s.streams.unary_reserve_share < 1:
        errors.append("streams.unary_reserve_share: must be >= 0 and < 1, "
                      f"got {s.streams.unary_reserve_share}")
    elif s.server.max_concurrent_rpcs > 0 and stream_caps(s).stream_limit < 1:
        errors.append("streams.unary_reserve_share: leaves no slot of "
                      f"server.max_concurrent_rpcs = {s.server.max_concurrent_rpcs} to streams")
    if not 0 < s.streams.not_onboarded_share <= 1:
        errors.append("streams.not_onboarded_share: must be > 0 and <= 1, "
                      f"got {s.streams.not_onboarded_share}")
    if not 1 <= s.streams.ipv6_prefix_len <= 128:
        errors.append("streams.ipv6_prefix_len: must be 1..128")
    if s.rate_limit.per_key_burst < 1:
        errors.append("rate_limit.per_key_burst: must be >= 1")
    if s.server.grace_s < 0 or s.verifier.witness_grace_ms < 0:
        errors.append("server.grace_s and verifier.witness_grace_ms must be >= 0")
    if bool(s.server.tls_cert) != bool(s.server.tls_key):
        errors.append("server.tls_cert and server.tls_key: set both or neither")
    for path in (s.server.tls_cert, s.server.tls_key):
        if path and not Path(path).is_file():
            errors.append(f"{path}: TLS file not found")
    errors += _check_limits(s)
    if not 0 < s.network.epoch_s <= DAY_S or DAY_S % s.network.epoch_s:
        errors.append("network.epoch_s: must divide a day (86400 s) so epochs start at "
                      f"00:00 UTC, got {s.network.epoch_s}")
    for address in s.registry.operator_keys:
        from pocnet.errors import DecodeError
        from pocnet.keys import PublicKey

        try:
            PublicKey.from_address(address)
        except DecodeError as exc:
            errors.append(f"registry.operator_keys: {exc}")
    return errors


def _check_limits(s: Settings) -> list[str]:
    """[not_onboarded], [connections] and [retention]: positive amounts (or 0 where it means
    none), retention long enough for what still reads raw reports, an archive directory that
    exists."""
    errors: list[str] = []
    values = {
        **{f"not_onboarded.{f.name}": getattr(s.not_onboarded, f.name)
           for f in dataclasses.fields(s.not_onboarded)},
        **{f"connections.{f.name}": getattr(s.connections, f.name)
           for f in dataclasses.fields(s.connections)},
    }
    values.pop("connections.hotspot_listen")
    values["retention.interval_s"] = s.retention.interval_s
    values["retention.batch"] = s.retention.batch
    # 0 means "none" for these three: at once, hold none, gRPC's own stream limit.
    delay = values.pop("not_onboarded.refusal_delay_s")
    spread = values.pop("not_onboarded.refusal_delay_spread")
    excess_delay = values.pop("not_onboarded.excess_delay_s")
    for name in ("not_onboarded.max_held_refusals", "connections.max_streams_per_connection",
                 "not_onboarded.per_peer_held", "not_onboarded.max_held_excess"):
        if (value := values.pop(name)) < 0:
            errors.append(f"{name}: must be >= 0, got {value}")
    errors += [f"{name}: must be > 0, got {v}" for name, v in values.items() if v <= 0]
    if not 0 <= delay < s.server.rpc_timeout_s:
        errors.append("not_onboarded.refusal_delay_s: must be >= 0 and below "
                      f"server.rpc_timeout_s ({s.server.rpc_timeout_s:g}), got {delay}")
    if not 0 <= spread <= 1:
        errors.append(f"not_onboarded.refusal_delay_spread: must be 0 to 1, got {spread}")
    if excess_delay < 0 or (s.not_onboarded.max_held_excess and excess_delay < delay):
        errors.append("not_onboarded.excess_delay_s: must be >= not_onboarded.refusal_delay_s "
                      f"({delay:g}), got {excess_delay}")
    streams, held = s.connections.max_streams_per_connection, held_refusals(s)
    if held and streams > held:
        errors.append(f"connections.max_streams_per_connection: must be <= the refusals the "
                      f"tarpit holds ({held}: not_onboarded.max_held_refusals, at most half the "
                      f"unary call slots) so that one connection's refusals are all held, "
                      f"got {streams}")
    per_peer = s.not_onboarded.per_peer_held
    if held and 0 < per_peer < streams:
        errors.append(f"not_onboarded.per_peer_held: must be >= "
                      f"connections.max_streams_per_connection ({streams}) so that one "
                      f"connection's refusals are all held at the short delay, or 0 for no "
                      f"share, got {per_peer}")
    hotspot_listen = hotspot_address(s)
    if hotspot_listen and streams == 0:
        errors.append("connections.hotspot_listen: needs connections.max_streams_per_connection "
                      "> 0 (the calls a connection may queue there), got 0")
    if hotspot_listen and hotspot_listen == s.oracle.listen and not hotspot_listen.endswith(":0"):
        errors.append(f"connections.hotspot_listen: must differ from oracle.listen "
                      f"({s.oracle.listen!r})")
    for name in ("reports_burst", "bytes_burst"):
        if 0 < getattr(s.not_onboarded, name) < 1:
            errors.append(f"not_onboarded.{name}: must be >= 1")
    from oracle.retention import MIN_RAW_DAYS

    if s.retention.raw_days < MIN_RAW_DAYS:
        errors.append(f"retention.raw_days: must be >= {MIN_RAW_DAYS:g}, "
                      f"got {s.retention.raw_days}")
    if s.retention.archive_dir and not Path(s.retention.archive_dir).is_dir():
        errors.append(f"{s.retention.archive_dir}: retention archive directory not found")
    return errors


def hotspot_address(s: Settings, listen: str | None = None) -> str:
    """The hotspot listener's address beside a first listener on `listen` (default
    `oracle.listen`); "" = none. `connections.hotspot_listen` as set, but its default gives way:
    - beside a first listener on port 0 (any free port: tests, the simulator, `make demo`
      start many servers at once) it takes any free port on that host too, so that they never
      collide on 7081;
    - to settings from before it was on by default that could not have it: oracle.listen on
      its port (7081), or `max_streams_per_connection = 0` (nothing to count calls against).
      These get what they had, the first listener alone (`serve` logs it)."""
    value = s.connections.hotspot_listen
    if value != DEFAULT_HOTSPOT_LISTEN:
        return value
    if s.connections.max_streams_per_connection == 0:
        return ""
    host, _, port = (s.oracle.listen if listen is None else listen).rpartition(":")
    if port == "0":
        return f"{host}:0"
    return "" if port == value.rpartition(":")[2] else value


def held_refusals(s: Settings) -> int:
    """How many refusals the tarpit may hold at once: `max_held_refusals`, but at most half the
    call slots report streams leave to unary calls, so held refusals can never take the slots
    an onboarded hotspot's unary calls need, whatever the streams hold."""
    reserve = s.server.max_concurrent_rpcs - stream_caps(s).stream_limit
    return max(0, min(s.not_onboarded.max_held_refusals, reserve // 2))


def stream_caps(s: Settings) -> StreamCaps:
    """The stream guard's caps: `max_concurrent_rpcs` minus the unary reserve, and [streams]."""
    return StreamCaps.from_share(
        s.server.max_concurrent_rpcs, s.streams.unary_reserve_share,
        s.streams.not_onboarded_share,
        per_peer_pending=s.streams.per_peer_pending, per_peer=s.streams.per_peer,
        per_key=s.streams.per_key, idle_s=s.streams.idle_s,
        ipv6_prefix_len=s.streams.ipv6_prefix_len,
    )


def validate(settings: Settings) -> Settings:
    errors = _check(settings)
    if errors:
        raise SettingsError("\n".join(errors))
    return settings


def load(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the file (default /etc/pocnet/oracle.toml, which may be absent) and the environment;
    raise SettingsError listing every mistake, one line each."""
    try:
        data = settings_file.read_toml(DEFAULT_PATH if path is None else Path(path),
                                       must_exist=path is not None)
    except settings_file.SettingsFileError as exc:
        raise SettingsError(str(exc)) from None
    settings, errors = settings_file.build(
        Settings, data, os.environ if env is None else env, ENV_PREFIX)
    errors += _check(settings)
    if errors:
        raise SettingsError("\n".join(errors))
    return settings


def for_command(
    config: str | None,
    database: str | None = None,
    key: str | None = None,
    listen: str | None = None,
) -> Settings:
    """Settings for a command: the file (if any), the environment, then command-line flags."""
    settings = load(config)
    overrides = {
        name: value
        for name, value in (("database", database), ("key", key), ("listen", listen))
        if value is not None
    }
    return settings.with_("oracle", **overrides) if overrides else settings
