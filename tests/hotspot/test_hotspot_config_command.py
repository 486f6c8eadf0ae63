"""`pocnet-hotspot config check`: the effective settings, or every mistake one line each."""

from __future__ import annotations

import json
from pathlib import Path

from hotspot.cli import main
from hotspot.settings import load


def test_prints_settings_that_load_back_identical(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    conf = tmp_path / "hotspot.toml"
    conf.write_text('[radio]\nkind = "sim"\ndevice = "n1"\n[oracle]\nendpoints = ["a:7080"]\n')
    monkeypatch.setenv("POCNET_HOTSPOT_BEACON_ANTENNA_GAIN_DBI_X10", "30")
    assert main(["config", "check", "-c", str(conf)]) == 0
    printed = tmp_path / "printed.toml"
    printed.write_text(capsys.readouterr().out)
    effective = load(printed, env={})
    assert effective == load(conf, env={"POCNET_HOTSPOT_BEACON_ANTENNA_GAIN_DBI_X10": "30"})
    assert effective.beacon.antenna_gain_dbi_x10 == 30 and effective.radio.kind == "sim"
    assert main(["config", "check", "-c", str(conf), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["oracle"]["endpoints"] == ["a:7080"] and data["radio"]["device"] == "n1"


def test_each_mistake_is_one_line_exit_2(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    conf = tmp_path / "hotspot.toml"
    conf.write_text('[radio]\nkind = "lora"\n[log]\nlevel = "loud"\n')
    monkeypatch.setenv("POCNET_HOTSPOT_RADIO_KNID", "sim")
    assert main(["config", "check", "-c", str(conf)]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == "" and len(lines) == 3, err
    assert all(line.startswith("pocnet-hotspot: error: ") for line in lines)
    assert any("radio.kind: must be one of" in line for line in lines)
    assert any("log.level: must be one of" in line for line in lines)
    assert any("POCNET_HOTSPOT_RADIO_KNID: unknown environment variable" in line
               for line in lines)
