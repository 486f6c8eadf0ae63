"""The systemd unit and the install steps of docs/hotspot.md (issue 5 §9): a dedicated user in
the dialout group, restart on failure but not on a configuration error, SIGTERM with room for
the bounded shutdown, state where the default settings put it."""

from __future__ import annotations

from pathlib import Path

from hotspot import settings
from hotspot.app import SHUTDOWN_GRACE_S
from hotspot.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "hotspot" / "systemd" / "pocnet-hotspot.service"
DOC = ROOT / "docs" / "hotspot.md"


def directives() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def test_unit_runs_the_daemon_as_a_dedicated_user_and_restarts_on_failure() -> None:
    d = directives()
    assert d["User"] == ["pocnet"] and d["Group"] == ["pocnet"]
    assert d["SupplementaryGroups"] == ["dialout"]
    assert d["Restart"] == ["on-failure"]
    assert d["RestartPreventExitStatus"] == ["2"]           # UsageError: bad settings or key
    assert d["KillSignal"] == ["SIGTERM"]
    assert float(d["TimeoutStopSec"][0]) > SHUTDOWN_GRACE_S
    assert "GRPC_VERBOSITY=ERROR" in d["Environment"]     # journald gets JSON lines only
    exec_start = d["ExecStart"][0].split()
    assert exec_start[0].endswith("/pocnet-hotspot")
    args = build_parser().parse_args(exec_start[1:])       # the command line still parses
    assert args.config == str(settings.DEFAULT_PATH)
    # The default key file and outbox are inside the one writable state directory.
    state = Path("/var/lib") / d["StateDirectory"][0]
    assert d["ReadWritePaths"] == [str(state)]
    defaults = settings.Settings()
    for path in (defaults.key.file, defaults.outbox.path):
        assert Path(path).parent == state


def test_install_steps_for_raspberry_pi_os() -> None:
    text = DOC.read_text()
    for step in ("useradd --system", "usermod -aG dialout pocnet", "[hotspot]",
                 "keys create", "hotspot/systemd/pocnet-hotspot.service",
                 "systemctl enable --now pocnet-hotspot", "Restart=on-failure",
                 "systemd-time-wait-sync"):
        assert step in text, step


def test_unit_bounds_file_descriptors() -> None:
    assert int(directives()["LimitNOFILE"][0]) == 1024
