"""`pocnet-sim epochs`: arguments refused in one line with exit status 2, before any oracle
starts. The run itself is tests/integration/test_proving_ground.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim_radio.cli import COMMANDS, main

SMALL_TOWN = Path(__file__).resolve().parents[2] / "sim_radio" / "scenarios" / "small_town.toml"


def test_registered() -> None:
    assert "epochs" in COMMANDS


@pytest.mark.parametrize(("argv", "message"), [
    (["--epochs", "0"], "--epochs: must be between 1 and 366"),
    (["--epochs", "367"], "--epochs: must be between 1 and 366"),
    (["--epochs", "1", "--seed", "-1"], "--seed must not be negative"),
    (["--epochs", "1", "--links", "/nonexistent/links.csv"], "does not exist"),
])
def test_bad_arguments(capsys, argv: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    try:
        code = main(["epochs", str(SMALL_TOWN), *argv])
    except SystemExit as done:  # argparse's own errors
        code = int(done.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_future_start_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Every simulated epoch must be complete by the oracle's rules when the run ends."""
    scenario = tmp_path / "future.toml"
    scenario.write_text(SMALL_TOWN.read_text().replace('start = "2026-01-05T00:00:00Z"',
                                                       'start = "2999-01-01T00:00:00Z"'))
    assert main(["epochs", str(scenario), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "in the past" in err and err.count("\n") == 1


def test_a_used_out_folder_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "oracle.db").write_text("")
    assert main(["epochs", str(SMALL_TOWN), "--epochs", "1", "--out", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
