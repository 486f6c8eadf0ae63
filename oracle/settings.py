"""Oracle settings: a TOML file plus `POCNET_ORACLE_<SECTION>_<FIELD>` environment overrides,
validated at load into frozen sections. Every mistake is reported, one line each, at once.

Defaults are the values PROTOCOL.md and issue 6 name (16 KiB reports, 5 s session init,
30 min sessions, 45 min staleness); units are in the field names.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oracle.errors import SettingsError
from oracle.stream_guard import StreamCaps

ENV_PREFIX = "POCNET_ORACLE_"
DAY_S = 86_400


@dataclass(frozen=True)
class OracleSection:
    network: str = "mainnet"  # "mainnet" | "testnet": keys of the other network are refused
    key: str = "oracle.key"  # oracle key file (gateway-rs layout, mode 0600)
    database: str = "sqlite:///oracle.db"  # sqlite:///path, a path, or postgresql://...
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
    signature_processes: int = 1  # helper process for Ed25519 checks; 0 = check inline


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
class NetworkSection:
    """How long an epoch lasts. PROTOCOL §6's 24 h is the default; a test network shortens it
    to try rewards and payouts within minutes. Only the rewards' epoch boundaries follow it:
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
    network: NetworkSection = field(default_factory=NetworkSection)

    def with_(self, section: str, **values: Any) -> Settings:
        """A copy with some fields of one section replaced (tests, command-line flags)."""
        return validate(
            dataclasses.replace(self, **{section: dataclasses.replace(getattr(self, section),
                                                                      **values)})
        )


def _coerce(value: Any, kind: Any, where: str, errors: list[str]) -> Any:
    kind_name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind_name in ("int",):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind_name == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind_name == "str":
            if not isinstance(value, str):
                raise ValueError
            return value
        if kind_name.startswith("tuple"):
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
                raise ValueError
            return tuple(i.strip() for i in items if i.strip())
    except (TypeError, ValueError):
        pass
    errors.append(f"{where}: expected {kind_name}, got {value!r}")
    return None


def _build(data: Mapping[str, Any], env: Mapping[str, str], errors: list[str]) -> Settings:
    sections: dict[str, Any] = {}
    for sec in dataclasses.fields(Settings):
        cls = sec.default_factory()  # type: ignore[misc]
        given = data.get(sec.name, {})
        if not isinstance(given, dict):
            errors.append(f"[{sec.name}]: expected a table")
            given = {}
        names = {f.name: f for f in dataclasses.fields(cls)}
        for unknown in sorted(set(given) - set(names)):
            errors.append(f"{sec.name}.{unknown}: unknown setting")
        values: dict[str, Any] = {}
        for name, f in names.items():
            env_name = f"{ENV_PREFIX}{sec.name}_{name}".upper()
            where = f"{sec.name}.{name}"
            if env_name in env:
                raw, where = env[env_name], env_name
            elif name in given:
                raw = given[name]
            else:
                continue
            coerced = _coerce(raw, f.type, where, errors)
            if coerced is not None:
                values[name] = coerced
        sections[sec.name] = dataclasses.replace(cls, **values)
    for name in sorted(k for k in env if k.startswith(ENV_PREFIX)):
        if not any(
            name == f"{ENV_PREFIX}{s.name}_{f.name}".upper()
            for s in dataclasses.fields(Settings)
            for f in dataclasses.fields(s.default_factory())  # type: ignore[misc]
        ):
            errors.append(f"{name}: unknown setting")
    return Settings(**sections)


def _check(s: Settings) -> list[str]:
    errors = []
    if s.oracle.network not in ("mainnet", "testnet"):
        errors.append(f"oracle.network: must be mainnet or testnet, got {s.oracle.network!r}")
    host, _, port = s.oracle.listen.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        errors.append(f"oracle.listen: expected HOST:PORT, got {s.oracle.listen!r}")
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
    if s.ingest.signature_processes not in (0, 1):
        errors.append("ingest.signature_processes: must be 0 or 1")
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
    """Read the file (optional) and the environment; raise SettingsError listing every mistake."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"{path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    errors: list[str] = []
    settings = _build(data, os.environ if env is None else env, errors)
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
