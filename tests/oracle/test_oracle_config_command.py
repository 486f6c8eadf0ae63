"""`pocnet-oracle config check`: the effective settings, or every mistake one line each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oracle.cli import main
from oracle.settings import load


def test_prints_settings_that_load_back_identical(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    conf = tmp_path / "oracle.toml"
    conf.write_text('[oracle]\nlisten = "0.0.0.0:7080"\n[registry]\noperator_keys = []\n')
    monkeypatch.setenv("POCNET_ORACLE_VERIFIER_BATCH", "7")
    assert main(["config", "check", "-c", str(conf)]) == 0
    printed = tmp_path / "printed.toml"
    printed.write_text(capsys.readouterr().out)
    effective = load(printed, env={})
    assert effective == load(conf, env={"POCNET_ORACLE_VERIFIER_BATCH": "7"})
    assert effective.verifier.batch == 7 and effective.oracle.listen == "0.0.0.0:7080"
    assert main(["config", "check", "-c", str(conf), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["oracle"]["listen"] == "0.0.0.0:7080" and data["verifier"]["batch"] == 7


def test_each_mistake_is_one_line_exit_2(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    conf = tmp_path / "oracle.toml"
    conf.write_text('[sever]\ntls_cert = "c.pem"\n[oracle]\nlisten = "nowhere"\n')
    monkeypatch.setenv("POCNET_ORACLE_VERIFER_BATCH", "7")
    assert main(["config", "check", "-c", str(conf)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert sorted(err.splitlines()) == sorted([
        "pocnet-oracle: error: [sever]: unknown section (known: oracle, server, streams, "
        "rate_limit, ingest, entropy, verifier, registry, payout)",
        "pocnet-oracle: error: POCNET_ORACLE_VERIFER_BATCH: unknown environment variable "
        "(no such setting)",
        "pocnet-oracle: error: oracle.listen: expected HOST:PORT, got 'nowhere'",
    ])


def test_a_named_file_must_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", "-c", str(tmp_path / "absent.toml")]) == 2
    assert capsys.readouterr().err == (
        f"pocnet-oracle: error: {tmp_path / 'absent.toml'}: no such settings file\n")
