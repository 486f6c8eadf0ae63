"""`config check` on both front ends: the effective settings (TOML that loads back unchanged,
or JSON), or every mistake one line each with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import pytest

import hotspot.cli
import hotspot.settings
import oracle.cli
import oracle.settings


class Role(NamedTuple):
    prog: str
    main: object
    load: object
    file: str          # a valid settings file
    env: tuple[str, str, str, str, object]  # variable, value, section, key, effective value
    bad_file: str
    bad_env: str
    problems: tuple[str, ...]  # a start of each expected error line, after "prog: error: "


ROLES = [
    Role("pocnet-oracle", oracle.cli.main, oracle.settings.load,
         '[oracle]\nlisten = "0.0.0.0:7080"\n[registry]\noperator_keys = []\n',
         ("POCNET_ORACLE_VERIFIER_BATCH", "7", "verifier", "batch", 7),
         '[sever]\ntls_cert = "c.pem"\n[oracle]\nlisten = "nowhere"\n',
         "POCNET_ORACLE_VERIFER_BATCH",
         ("[sever]: unknown section (known: oracle, server, streams, rate_limit, ingest, "
          "entropy, verifier, registry, not_onboarded, connections, retention, payout, metrics, "
          "network)",
          "POCNET_ORACLE_VERIFER_BATCH: unknown environment variable (no such setting)",
          "oracle.listen: expected HOST:PORT, got 'nowhere'")),
    Role("pocnet-hotspot", hotspot.cli.main, hotspot.settings.load,
         '[radio]\nkind = "sim"\ndevice = "n1"\n[oracle]\nendpoints = ["a:7080"]\n',
         ("POCNET_HOTSPOT_BEACON_ANTENNA_GAIN_DBI_X10", "30", "beacon",
          "antenna_gain_dbi_x10", 30),
         '[radio]\nkind = "lora"\n[log]\nlevel = "loud"\n',
         "POCNET_HOTSPOT_RADIO_KNID",
         ("radio.kind: must be one of",
          "log.level: must be one of",
          "POCNET_HOTSPOT_RADIO_KNID: unknown environment variable (no such setting)")),
]
IDS = [r.prog for r in ROLES]


@pytest.mark.parametrize("role", ROLES, ids=IDS)
def test_prints_settings_that_load_back_identical(role: Role, tmp_path: Path, monkeypatch,
                                                  capsys) -> None:  # type: ignore[no-untyped-def]
    conf = tmp_path / "settings.toml"
    conf.write_text(role.file)
    variable, value, section, key, effective_value = role.env
    monkeypatch.setenv(variable, value)
    assert role.main(["config", "check", "-c", str(conf)]) == 0  # type: ignore[operator]
    printed = tmp_path / "printed.toml"
    printed.write_text(capsys.readouterr().out)
    effective = role.load(printed, env={})  # type: ignore[operator]
    assert effective == role.load(conf, env={variable: value})  # type: ignore[operator]
    assert getattr(getattr(effective, section), key) == effective_value
    assert role.main(["config", "check", "-c", str(conf), "--json"]) == 0  # type: ignore[operator]
    assert json.loads(capsys.readouterr().out)[section][key] == effective_value


@pytest.mark.parametrize("role", ROLES, ids=IDS)
def test_each_mistake_is_one_line_exit_2(role: Role, tmp_path: Path, monkeypatch,
                                         capsys) -> None:  # type: ignore[no-untyped-def]
    conf = tmp_path / "settings.toml"
    conf.write_text(role.bad_file)
    monkeypatch.setenv(role.bad_env, "1")
    assert role.main(["config", "check", "-c", str(conf)]) == 2  # type: ignore[operator]
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == "" and len(lines) == len(role.problems), err
    prefix = f"{role.prog}: error: "
    for start in role.problems:
        assert sum(line.startswith(prefix + start) for line in lines) == 1, start


@pytest.mark.parametrize("role", ROLES, ids=IDS)
def test_a_named_file_must_exist(role: Role, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert role.main(["config", "check", "-c", str(tmp_path / "absent.toml")]) == 2  # type: ignore[operator]
    assert capsys.readouterr().err == (
        f"{role.prog}: error: {tmp_path / 'absent.toml'}: no such settings file\n")
