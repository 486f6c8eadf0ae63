"""The oracle's systemd unit (issue 10 item 6): enough file descriptors for every connection
the server accepts plus the rest, restart on failure but not on a configuration error, and a
stop timeout longer than the server's grace period."""

from __future__ import annotations

import configparser
from pathlib import Path

from oracle.cli import build_parser
from oracle.settings import Settings, hotspot_address

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "oracle" / "systemd" / "pocnet-oracle.service"
RESERVE_FDS = 1024  # database, signature helper, logs, the listening socket


def service() -> configparser.SectionProxy:
    """The [Service] section (this unit repeats no key, so an INI parser reads it)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def test_descriptors_cover_every_connection_the_server_accepts() -> None:
    """Each listener (oracle.listen and, by default, the hotspot listener) accepts
    `connections.max_total` connections of its own."""
    limit = int(service()["LimitNOFILE"])
    settings = Settings()
    listeners = 1 + bool(hotspot_address(settings))
    assert listeners == 2
    assert limit >= listeners * settings.connections.max_total + RESERVE_FDS


def test_unit_restarts_on_failure_but_not_on_bad_settings() -> None:
    d = service()
    assert d["Restart"] == "on-failure" and d["RestartPreventExitStatus"] == "2"
    assert float(d["TimeoutStopSec"]) > Settings().server.grace_s
    exec_start = d["ExecStart"].split()
    assert exec_start[0].endswith("/pocnet-oracle")
    args = build_parser().parse_args(exec_start[1:])  # the command line still parses
    assert args.config == "/etc/pocnet/oracle.toml"
