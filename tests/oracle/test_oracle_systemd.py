"""The oracle's systemd unit (issue 10 item 6): enough file descriptors for every connection
the server accepts plus the rest, restart on failure but not on a configuration error, and a
stop timeout longer than the server's grace period."""

from __future__ import annotations

from pathlib import Path

from oracle.cli import build_parser
from oracle.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "oracle" / "systemd" / "pocnet-oracle.service"
RESERVE_FDS = 1024  # database, signature helper, logs, the listening socket


def directives() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def test_descriptors_cover_every_connection_the_server_accepts() -> None:
    limit = int(directives()["LimitNOFILE"][0])
    assert limit >= Settings().connections.max_total + RESERVE_FDS


def test_unit_restarts_on_failure_but_not_on_bad_settings() -> None:
    d = directives()
    assert d["Restart"] == ["on-failure"] and d["RestartPreventExitStatus"] == ["2"]
    assert float(d["TimeoutStopSec"][0]) > Settings().server.grace_s
    exec_start = d["ExecStart"][0].split()
    assert exec_start[0].endswith("/pocnet-oracle")
    args = build_parser().parse_args(exec_start[1:])  # the command line still parses
    assert args.config == "/etc/pocnet/oracle.toml"
