"""`pocnet-oracle serve|verify|report`: --json output, one-line errors, exit 2 (registry:
test_oracle_commands_registry.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from oracle_factories import assertion, keypair, witness_report

from oracle.cli import main
from oracle.ingest import Ingestor
from oracle.storage import open_repository
from pocnet.keys import Network, create_keyfile


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'oracle.db'}"
    monkeypatch.setenv("POCNET_ORACLE_ORACLE_DATABASE", db)
    open_repository(db).close()  # as `serve --create` leaves it
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
    (["verify", "--from", "9" * 23, "--to", "9" * 24], "at most 9223372036854775807"),
    (["report", "list", "--from", "9" * 23], "at most 9223372036854775807"),
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


@pytest.mark.parametrize("argv", [
    ["registry", "onboard", "ASSERTION"],
    ["registry", "show", keypair(55).public_key.address],
    ["report", "show", "00" * 32],
    ["verify"],
    ["rewards", "show", "--epoch", "1"],
    ["serve", "--listen", "127.0.0.1:0", "--key", "KEY"],
])
def test_no_command_creates_a_database_silently(tmp_path: Path, capsys, argv) -> None:  # type: ignore[no-untyped-def]
    """A mistyped path, or a command run in the wrong folder, fails instead of succeeding into
    a new empty database the server never reads."""
    (tmp_path / "a.bin").write_bytes(assertion(keypair(55), keypair(56)).SerializeToString())
    create_keyfile(tmp_path / "oracle.key")
    argv = [{"ASSERTION": str(tmp_path / "a.bin"), "KEY": str(tmp_path / "oracle.key")}.get(a, a)
            for a in argv]
    missing = tmp_path / "oracel.db"
    code, _, err = _run(capsys, *argv, "--database", f"sqlite:///{missing}")
    assert code == 2 and err == (f"pocnet-oracle: error: no database at {missing}; create it "
                                 "once with `pocnet-oracle serve --create`\n"), err
    assert not missing.exists()


def test_commands_read_the_default_settings_file_or_c(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    hotspot = keypair(57)
    served = tmp_path / "served.db"
    repo = open_repository(served)
    repo.close()
    default = tmp_path / "oracle.toml"
    default.write_text(f'[oracle]\ndatabase = "sqlite:///{served}"\n')
    monkeypatch.setattr("oracle.settings.DEFAULT_PATH", default)
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, "registry", "show", hotspot.public_key.address)
    assert code == 2 and err.endswith("hotspot is not registered\n"), err  # it read served.db
    other = tmp_path / "other.toml"
    other.write_text(f'[oracle]\ndatabase = "sqlite:///{tmp_path / "nowhere.db"}"\n')
    code, _, err = _run(capsys, "registry", "show", hotspot.public_key.address, "-c", str(other))
    assert code == 2 and "no database at" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["oracle.toml", "other.toml",
                                                          "served.db"]


def test_settings_mistakes_are_one_line_each(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    conf = tmp_path / "oracle.toml"
    conf.write_text('[sever]\ntls_cert = "c.pem"\n[oracle]\nnetwork = "moon"\n')
    code, _, err = _run(capsys, "verify", "-c", str(conf))
    lines = err.splitlines()
    assert code == 2 and len(lines) == 2, err
    assert all(line.startswith("pocnet-oracle: error: ") for line in lines)
    assert "[sever]: unknown section" in err and "oracle.network" in err


def _stored(repo, kind: str, msg, received_ms: int):  # type: ignore[no-untyped-def]
    row = Ingestor(repo, None, Network.MAINNET, lambda: received_ms).prepare(kind, msg)  # type: ignore[arg-type]
    repo.insert_reports([row])
    return row


def test_report_list_filters_and_pages(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from oracle_factories import beacon_report

    db = _env(monkeypatch, tmp_path)
    a, b = keypair(61), keypair(62)
    repo = open_repository(db)
    day = 86_400_000
    rows = {
        "a1": _stored(repo, "witness", witness_report(a), 10 * day),
        "a2": _stored(repo, "witness", witness_report(a), 11 * day),
        "a3": _stored(repo, "witness", witness_report(a), 12 * day),
        "b1": _stored(repo, "beacon", beacon_report(b, bytes(32), 1), 11 * day),
    }
    repo.close()

    def listed(*argv: str) -> tuple[list[str], int | None]:
        code, out, err = _run(capsys, "report", "list", "--json", *argv)
        assert code == 0, err
        data = json.loads(out)
        names = {r.id.hex(): n for n, r in rows.items()}
        return [names[r["id"]] for r in data["reports"]], data["next_offset"]

    assert listed()[0][0] == "a3" and sorted(listed()[0]) == ["a1", "a2", "a3", "b1"]
    assert listed("--hotspot", a.public_key.address) == (["a3", "a2", "a1"], None)
    assert listed("--kind", "beacon") == (["b1"], None)
    assert listed("--status", "pending", "--kind", "witness")[0] == ["a3", "a2", "a1"]
    # --from is inclusive, --to exclusive: exactly the reports of day 11.
    assert sorted(listed("--from", str(11 * day), "--to", str(12 * day))[0]) == ["a2", "b1"]
    assert sorted(listed("--from", "1970-01-12T00:00:00", "--to", str(11 * day + 1))[0]) == [
        "a2", "b1"]
    assert listed("--to", str(11 * day))[0] == ["a1"]
    assert listed("--from", str(11 * day + 1))[0] == ["a3"]
    # Pages of 2: the first says where the next starts; the last says there is none.
    first, nxt = listed("--limit", "2")
    assert len(first) == 2 and nxt == 2
    second, nxt = listed("--limit", "2", "--offset", "2")
    assert nxt is None and sorted(first + second) == ["a1", "a2", "a3", "b1"]
    assert listed("--limit", "3", "--offset", "1")[1] is None
    assert listed("--limit", "3")[1] == 3
    code, out, _ = _run(capsys, "report", "list", "--hotspot", a.public_key.address,
                        "--limit", "1")
    assert code == 0 and rows["a3"].id.hex() in out and "not yet verified" in out
    assert out.splitlines()[-1] == "more: --offset 1"
    with pytest.raises(SystemExit) as done:
        main(["report", "list", "--limit", "1001"])
    assert done.value.code == 2 and "must be between 1 and 1000" in capsys.readouterr().err


@pytest.mark.parametrize("hotspot_port, line", [
    (7081, "pocnet-oracle: listening on 127.0.0.1:7080, hotspots on 127.0.0.1:7081"),
    (None, "pocnet-oracle: listening on 127.0.0.1:7080, no hotspot listener"),
])
def test_serve_says_where_hotspots_are_served(  # type: ignore[no-untyped-def]
        tmp_path: Path, monkeypatch, capsys, hotspot_port, line) -> None:
    """The hotspots' address is the one an operator opens to the network: `serve` prints it
    beside the tools' (in --json too), or that there is none."""
    import logging

    _env(monkeypatch, tmp_path)
    create_keyfile(tmp_path / "oracle.key")

    async def served(settings, stop=None, ready=None):  # type: ignore[no-untyped-def]
        ready(7080, hotspot_port)

    monkeypatch.setattr("oracle.server.serve", served)
    try:
        code, out, _ = _run(capsys, "serve", "--listen", "127.0.0.1:7080",
                            "--key", str(tmp_path / "oracle.key"))
        assert code == 0 and out.splitlines() == [line]
        code, out, _ = _run(capsys, "serve", "--listen", "127.0.0.1:7080", "--json",
                            "--key", str(tmp_path / "oracle.key"))
    finally:
        logging.getLogger().handlers.clear()
    assert code == 0 and json.loads(out) == {
        "listening": "127.0.0.1:7080", "port": 7080,
        "hotspot_listening": None if hotspot_port is None else "127.0.0.1:7081",
        "hotspot_port": hotspot_port}


def test_serve_logs_one_json_object_per_line(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """Like the hotspot's: `journalctl -u pocnet-oracle -o cat | jq` reads every line."""
    import logging

    _env(monkeypatch, tmp_path)
    create_keyfile(tmp_path / "oracle.key")

    async def served(settings, stop=None, ready=None):  # type: ignore[no-untyped-def]
        logging.getLogger("oracle.ingest").warning("refused %d reports", 3,
                                                   extra={"event": "refused", "reason": "rate"})

    monkeypatch.setattr("oracle.server.serve", served)
    try:
        code, out, err = _run(capsys, "serve", "--listen", "127.0.0.1:0",
                              "--key", str(tmp_path / "oracle.key"))
    finally:
        logging.getLogger().handlers.clear()
    (line,) = err.splitlines()
    record = json.loads(line)
    assert code == 0 and out == ""
    assert record["level"] == "warning" and record["logger"] == "oracle.ingest"
    assert record["msg"] == "refused 3 reports"
    assert record["event"] == "refused" and record["reason"] == "rate"
    assert record["ts"].endswith("Z")
