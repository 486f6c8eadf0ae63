"""Settings: defaults, environment overrides, one line per mistake, the example file in sync."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from hotspot import settings
from hotspot.cli import main
from hotspot.errors import SettingsError

EXAMPLE = Path(settings.__file__).parent / "config" / "hotspot.example.toml"


def test_example_file_mirrors_settings_keys_and_defaults() -> None:
    data = tomllib.loads(EXAMPLE.read_text())
    defaults = settings.Settings()
    expected = {
        name: {f.name for f in dataclasses.fields(cls)} for name, cls in settings.sections().items()
    }
    assert {name: set(table) for name, table in data.items()} == expected
    assert settings.from_mapping(data, env={}) == defaults
    text = EXAMPLE.read_text()
    for doc in settings.field_docs().values():
        assert f"# {doc}" in text


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    conf = tmp_path / "h.toml"
    conf.write_text('[radio]\nkind = "rak3172"\ndevice = "/dev/ttyUSB0"\n')
    env = {
        "POCNET_HOTSPOT_RADIO_KIND": "sim",
        "POCNET_HOTSPOT_ORACLE_ENDPOINTS": "a.example:7080, b.example:443",
        "POCNET_HOTSPOT_BEACON_ANTENNA_GAIN_DBI_X10": "30",
        "POCNET_HOTSPOT_ORACLE_TLS": "false",
        "UNRELATED": "x",
    }
    s = settings.load(conf, env=env)
    assert s.radio.kind == "sim"
    assert s.radio.device == "/dev/ttyUSB0"
    assert s.oracle.endpoints == ("a.example:7080", "b.example:443")
    assert s.beacon.antenna_gain_dbi_x10 == 30


def test_every_mistake_is_one_line() -> None:
    bad = {
        "radio": {"kind": "lora", "colour": "red"},
        "beacon": {"region": "XX999", "antenna_gain_dbi_x10": "high"},
        "oracle": {"endpoints": ["no-port"], "timeout_s": 0},
        "nonsense": {},
    }
    with pytest.raises(SettingsError) as err:
        settings.from_mapping(bad, env={"POCNET_HOTSPOT_OUTBOX_MAX_REPORTS": "many"})
    problems = err.value.problems
    assert len(problems) == 8, problems
    assert all("\n" not in p for p in problems)
    joined = "\n".join(problems)
    for needle in ("radio.kind", "radio.colour", "beacon.region", "antenna_gain_dbi_x10",
                   "oracle.endpoints", "oracle.timeout_s", "[nonsense]",
                   "POCNET_HOTSPOT_OUTBOX_MAX_REPORTS"):
        assert needle in joined


def test_cross_field_rules() -> None:
    with pytest.raises(SettingsError) as err:
        settings.from_mapping({"radio": {"kind": "rn2483"}, "oracle": {"ca_file": "/nope.pem"}},
                              env={})
    text = str(err.value)
    assert "needs its serial port" in text
    assert "oracle.tls is false" in text
    assert "no such file" in text
    # The example file documents "latest ... (>= the earliest)": a reversed pair is a mistake.
    with pytest.raises(SettingsError) as err:
        settings.from_mapping({"beacon": {"first_delay_min_s": 600}}, env={})
    assert err.value.problems == [
        "beacon.first_delay_max_s: 300 is earlier than beacon.first_delay_min_s 600"
    ]


def test_missing_explicit_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no such settings file"):
        settings.load(tmp_path / "absent.toml", env={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[radio\nkind=")
    with pytest.raises(SettingsError, match="not valid TOML"):
        settings.load(broken, env={})


def test_run_command_reports_bad_settings_and_exits_2(tmp_path: Path, capsys) -> None:
    conf = tmp_path / "h.toml"
    conf.write_text('[radio]\nkind = "lora"\n[log]\nlevel = "loud"\n')
    assert main(["run", "-c", str(conf)]) == 2
    err = capsys.readouterr().err
    assert "radio.kind: must be one of" in err
    assert "log.level: must be one of" in err


def test_environment_names_do_not_reach_into_the_oracles() -> None:
    """One host may run both daemons: the oracle refuses unknown `POCNET_ORACLE_*` names, so no
    hotspot override may fall inside that namespace."""
    import dataclasses

    from oracle.settings import ENV_PREFIX as ORACLE_PREFIX

    names = [
        f"{settings.ENV_PREFIX}{section.name}_{field.name}".upper()
        for section in dataclasses.fields(settings.Settings)
        for field in dataclasses.fields(section.default_factory())  # type: ignore[misc]
    ]
    assert len(names) > 10
    assert all(n.startswith("POCNET_HOTSPOT_") and not n.startswith(ORACLE_PREFIX) for n in names)


def test_oracle_keys_are_addresses_from_the_file_or_the_environment() -> None:
    from pocnet.keys import Keypair

    a, b = (Keypair.from_seed(bytes([n]) * 32).public_key.address for n in (1, 2))
    assert settings.Settings().oracle.keys == ()                  # default: not authenticated
    s = settings.from_mapping({"oracle": {"keys": [a]}}, env={})
    assert s.oracle.keys == (a,)
    s = settings.from_mapping({"oracle": {"keys": [a]}},
                              env={"POCNET_HOTSPOT_ORACLE_KEYS": f"{a}, {b}"})
    assert s.oracle.keys == (a, b)
    with pytest.raises(SettingsError) as err:
        settings.from_mapping({"oracle": {"keys": [a, a[:-1] + "x"]}}, env={})
    (problem,) = err.value.problems
    assert problem.startswith("oracle.keys: not an oracle address: bad address")
    with pytest.raises(SettingsError, match="must be a list of strings"):
        settings.from_mapping({"oracle": {"keys": a}}, env={})


def test_gps_baudrate_is_a_speed_the_receiver_supports() -> None:
    assert settings.from_mapping({"gps": {"baudrate": 38400}}, env={}).gps.baudrate == 38400
    assert settings.Settings().gps.baudrate == 9600
    with pytest.raises(SettingsError) as err:
        settings.from_mapping({"gps": {"baudrate": 38000}}, env={})
    assert err.value.problems == [
        "gps.baudrate: must be one of 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, "
        "921600, got 38000"
    ]


def test_misspelled_environment_variable_is_an_error() -> None:
    with pytest.raises(SettingsError) as err:
        settings.from_mapping({}, env={"POCNET_HOTSPOT_RADIO_KNID": "sim", "PATH": "/bin"})
    assert err.value.problems == [
        "POCNET_HOTSPOT_RADIO_KNID: unknown environment variable (no such setting)"
    ]


def test_default_endpoint_is_the_oracles_hotspot_listener() -> None:
    """The hotspot dials the oracle's hotspot listener by default (`connections.hotspot_listen`,
    where a client that cancels its calls cannot crowd it out: docs/security.md), not
    `oracle.listen`, which is for tools."""
    from oracle.settings import Settings as OracleSettings
    from oracle.settings import hotspot_address

    oracle = OracleSettings()
    assert settings.Settings().oracle.endpoints == (hotspot_address(oracle),)
    assert hotspot_address(oracle) == "127.0.0.1:7081" != oracle.oracle.listen
