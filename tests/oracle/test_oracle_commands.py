"""`pocnet-oracle serve|verify|report`: --json output, one-line errors, exit 2 (registry:
test_oracle_commands_registry.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from oracle_factories import keypair, witness_report

from oracle.cli import main
from oracle.ingest import Ingestor
from oracle.storage import open_repository
from pocnet.keys import Network, create_keyfile


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'oracle.db'}"
    monkeypatch.setenv("POCNET_ORACLE_ORACLE_DATABASE", db)
    # The region locator is the real one here: Amsterdam is in EU868.
    return db


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_show_and_verify(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    db = _env(monkeypatch, tmp_path)
    repo = open_repository(db)
    ingestor = Ingestor(repo, None, Network.MAINNET, lambda: 1_000)  # type: ignore[arg-type]
    row = ingestor.prepare("witness", witness_report(keypair(53)))
    repo.insert_reports([row])
    repo.close()
    code, out, _ = _run(capsys, "report", "show", row.id.hex())
    assert code == 0 and "not yet verified" in out
    code, out, _ = _run(capsys, "verify", "--json")
    assert code == 0 and json.loads(out)["stale"] == 1  # received at t=1 s, long ago
    code, out, _ = _run(capsys, "report", "show", row.id.hex(), "--json")
    detail = json.loads(out)
    assert detail["summary"]["verdict"]["reason"] == "stale"
    assert detail["summary"]["id"] == row.id.hex()
    code, out, _ = _run(capsys, "report", "show", row.id.hex())
    assert "invalid: stale" in out
    code, out, _ = _run(capsys, "verify", "--from", "1970-01-01T00:00:00", "--to", "1970-01-02",
                        "--json")
    assert code == 0 and json.loads(out)["reset"] == 1


@pytest.mark.parametrize("argv,message", [
    (["report", "show", "abcd"], "32 bytes"),
    (["report", "show", "00" * 32], "no report"),
    (["verify", "--from", "yesterday", "--to", "1"], "ISO 8601"),
    (["verify", "--from", "5"], "both --from and --to"),
    (["serve", "--listen", "nowhere"], "oracle.listen"),
    (["serve", "--listen", "127.0.0.1:0", "--key", "/nonexistent.key"], "nonexistent"),
])
def test_one_line_errors(tmp_path: Path, monkeypatch, capsys, argv, message) -> None:  # type: ignore[no-untyped-def]
    _env(monkeypatch, tmp_path)
    code, _, err = _run(capsys, *argv)
    assert code == 2 and message in err and err.count("\n") == 1, err


@pytest.mark.parametrize("argv", [
    ["report", "show", "00" * 32],
    ["verify"],
    ["registry", "show", keypair(54).public_key.address],
    ["rewards", "show", "--epoch", "1"],
    ["payout", "run", "--epoch", "1"],
])
def test_unusable_database_is_one_line_exit_2(tmp_path: Path, capsys, argv) -> None:  # type: ignore[no-untyped-def]
    code, _, err = _run(capsys, *argv, "--database", str(tmp_path / "missing" / "oracle.db"))
    assert code == 2 and "does not exist" in err and err.count("\n") == 1, err


def test_payout_ledger_in_a_missing_folder_is_one_line(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    _env(monkeypatch, tmp_path)
    code, _, err = _run(capsys, "payout", "run", "--epoch", "1",
                        "--ledger", str(tmp_path / "missing" / "ledger.db"))
    assert code == 2 and "does not exist" in err and err.count("\n") == 1, err


def test_serve_exits_1_when_a_background_task_crashed(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    # Not a usage error (exit 2): a crash the supervisor (systemd) should restart after.
    from oracle.errors import TaskFailed

    _env(monkeypatch, tmp_path)
    create_keyfile(tmp_path / "oracle.key")

    async def crashed(settings, stop=None, ready=None):  # type: ignore[no-untyped-def]
        raise TaskFailed("verifier task failed: RuntimeError: boom")

    monkeypatch.setattr("oracle.server.serve", crashed)
    code, _, err = _run(capsys, "serve", "--listen", "127.0.0.1:0",
                        "--key", str(tmp_path / "oracle.key"))
    assert code == 1 and "boom" in err and err.count("\n") == 1, err
