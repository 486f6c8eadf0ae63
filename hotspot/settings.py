"""The daemon's settings: a TOML file plus `POCNET_HOTSPOT_<SECTION>_<KEY>` environment overrides.

Validated once at start, all mistakes reported together, one line each, so an owner fixes the
file in one go. Each section is a frozen dataclass; a field's metadata holds its meaning (the
example file's comments) and its check. `config/hotspot.example.toml` mirrors these fields and a
test keeps the two in sync.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotspot.errors import SettingsError
from pocnet import settings_file

DEFAULT_PATH = Path("/etc/pocnet/hotspot.toml")
ENV_PREFIX = "POCNET_HOTSPOT_"
RADIO_KINDS = ("semtech-udp", "rak3172", "rn2483", "sim", "sdr")
SERIAL_RADIOS = ("rak3172", "rn2483")
LOG_LEVELS = ("debug", "info", "warning", "error")
# The UART speeds a u-blox receiver can be set to (its CFG-UART1-BAUDRATE choices).
GPS_BAUDRATES = (4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)

Check = Callable[[Any], str | None]


def _opt(default: Any, doc: str, check: Check | None = None) -> Any:
    if isinstance(default, list | tuple):
        return field(default_factory=lambda: tuple(default), metadata={"doc": doc, "check": check})
    return field(default=default, metadata={"doc": doc, "check": check})


def _range(low: float, high: float) -> Check:
    return lambda v: None if low <= v <= high else f"must be between {low} and {high}"


def _one_of(*choices: str) -> Check:
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}"


def _endpoints(values: tuple[str, ...]) -> str | None:
    if not values:
        return "needs at least one host:port"
    for value in values:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            return f"{value!r} is not host:port"
    return None


def _region(value: str) -> str | None:
    if not value:
        return None
    from pocnet.errors import UnknownRegionError
    from pocnet.regions import get_plan

    try:
        get_plan(value)
    except UnknownRegionError as exc:
        return str(exc)
    return None


def _oracle_addresses(values: tuple[str, ...]) -> str | None:
    from pocnet.errors import ProtoError
    from pocnet.keys import PublicKey

    for value in values:
        try:
            PublicKey.from_address(value)
        except ProtoError as exc:
            return f"not an oracle address: {exc}"
    return None


def _nonempty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


@dataclass(frozen=True)
class KeySettings:
    file: str = _opt("/var/lib/pocnet/hotspot.key", "device key file (65 bytes, mode 0600)",
                     _nonempty)


@dataclass(frozen=True)
class OracleSettings:
    endpoints: tuple[str, ...] = _opt(
        ["127.0.0.1:7081"], "oracle gRPC endpoints, host:port, tried in order (7081: the "
        "oracle's hotspot listener)", _endpoints
    )
    tls: bool = _opt(False, "use TLS to the oracle")
    ca_file: str = _opt("", "PEM CA bundle for TLS; empty = the system roots")
    timeout_s: float = _opt(10.0, "deadline of every oracle call, seconds", _range(0.5, 120))
    keys: tuple[str, ...] = _opt(
        [], "oracle addresses (base58) whose signed entropy is beaconed on; empty = any "
        "entropy, unauthenticated (warned at start)", _oracle_addresses
    )


@dataclass(frozen=True)
class RadioSettings:
    kind: str = _opt("semtech-udp", "radio backend: semtech-udp | rak3172 | rn2483 | sim | sdr",
                     _one_of(*RADIO_KINDS))
    device: str = _opt("", "serial port (rak3172, rn2483), host:port to listen on "
                       "(semtech-udp, default 127.0.0.1:1680), node id (sim) or "
                       "rtlsdr:0?center_hz=…, pluto:ip:…, file:….sigmf-meta (sdr)")


@dataclass(frozen=True)
class GpsSettings:
    device: str = _opt("", "u-blox serial port, e.g. /dev/ttyACM0; empty = no GPS")
    baudrate: int = _opt(9600, "UART speed (M8, M10 ship at 9600; M9, F9 at 38400); USB ignores it",
                         lambda v: None if v in GPS_BAUDRATES
                         else f"must be one of {', '.join(map(str, GPS_BAUDRATES))}")


@dataclass(frozen=True)
class BeaconSettings:
    region: str = _opt("", "region plan override (e.g. EU868); empty = the oracle's registry",
                       _region)
    antenna_gain_dbi_x10: int = _opt(0, "antenna gain in dBi x 10 (3 dBi = 30)", _range(-100, 300))
    first_delay_min_s: int = _opt(30, "earliest first beacon after start, seconds",
                                  _range(0, 21_600))
    first_delay_max_s: int = _opt(300, "latest first beacon after start, seconds (>= the earliest)",
                                  _range(0, 21_600))
    dwell_time_where_required: bool = _opt(
        False, "true where your country applies its plan's dwell time (AS923: 400 ms per "
        "channel per 20 s)")


@dataclass(frozen=True)
class OutboxSettings:
    path: str = _opt("/var/lib/pocnet/outbox.sqlite", "durable report queue (SQLite)", _nonempty)
    max_reports: int = _opt(
        10_000, "queue cap; beyond it expired reports go first, then the oldest",
        _range(10, 10_000_000))


@dataclass(frozen=True)
class LogSettings:
    level: str = _opt("info", "log level: debug | info | warning | error", _one_of(*LOG_LEVELS))


@dataclass(frozen=True)
class MetricsSettings:
    address: str = _opt("127.0.0.1", "address the Prometheus endpoint listens on", _nonempty)
    port: int = _opt(9701, "Prometheus metrics port; 0 = no metrics endpoint", _range(0, 65535))


@dataclass(frozen=True)
class CoverageSettings:
    modem_device: str = _opt("", "Quectel 5G modem AT port, e.g. /dev/ttyUSB2; empty = none")
    interval_s: int = _opt(600, "seconds between coverage reports", _range(30, 86_400))
    modem_gnss_uere_m: float = _opt(
        0.0, "user-equivalent range error in m that turns the modem's GNSS HDOP into"
        " an accuracy (about 5); 0 = never use the modem's fix", _range(0, 50))


@dataclass(frozen=True)
class Settings:
    key: KeySettings = field(default_factory=KeySettings)
    oracle: OracleSettings = field(default_factory=OracleSettings)
    radio: RadioSettings = field(default_factory=RadioSettings)
    gps: GpsSettings = field(default_factory=GpsSettings)
    beacon: BeaconSettings = field(default_factory=BeaconSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    log: LogSettings = field(default_factory=LogSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    coverage: CoverageSettings = field(default_factory=CoverageSettings)


def sections() -> dict[str, type]:
    """Section name -> dataclass, in file order."""
    return settings_file.sections(Settings)


def from_mapping(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Build validated Settings from parsed TOML and environment; SettingsError lists mistakes."""
    settings, problems = settings_file.build(
        Settings, data, os.environ if env is None else env, ENV_PREFIX)
    problems.extend(_cross_checks(settings))
    if problems:
        raise SettingsError(problems)
    return settings


def _cross_checks(s: Settings) -> list[str]:
    """Rules that involve more than one key."""
    problems = []
    if s.radio.kind in SERIAL_RADIOS and not s.radio.device:
        problems.append(f"radio.device: the {s.radio.kind} radio needs its serial port")
    if s.radio.kind == "semtech-udp" and s.radio.device:
        host, sep, port = s.radio.device.rpartition(":")
        if not sep or not host or not port.isdigit():
            problems.append(f"radio.device: semtech-udp needs host:port, got {s.radio.device!r}")
    if s.beacon.first_delay_max_s < s.beacon.first_delay_min_s:
        problems.append(f"beacon.first_delay_max_s: {s.beacon.first_delay_max_s} is earlier "
                        f"than beacon.first_delay_min_s {s.beacon.first_delay_min_s}")
    if s.oracle.ca_file and not s.oracle.tls:
        problems.append("oracle.ca_file: set but oracle.tls is false")
    if s.oracle.ca_file and not Path(s.oracle.ca_file).is_file():
        problems.append(f"oracle.ca_file: no such file {s.oracle.ca_file!r}")
    return problems


def load(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read `path` (or /etc/pocnet/hotspot.toml, which may be absent: defaults + environment)."""
    try:
        data = settings_file.read_toml(DEFAULT_PATH if path is None else Path(path),
                                       must_exist=path is not None)
    except settings_file.SettingsFileError as exc:
        raise SettingsError([str(exc)]) from None
    return from_mapping(data, env)


def field_docs() -> dict[str, str]:
    """"section.key" -> meaning; the example file's comments."""
    return {
        f"{name}.{f.name}": f.metadata["doc"]
        for name, cls in sections().items()
        for f in dataclasses.fields(cls)
    }
