"""The one settings loader of both roles: file then environment, unknown names refused, each
mistake one line, values of the field's type only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pocnet import settings_file


@dataclass(frozen=True)
class Radio:
    kind: str = "sim"
    power_dbm: int = 14
    gain_dbi: float = 2.0
    enabled: bool = True
    channels: tuple[str, ...] = ()
    port: int = field(default=1680, metadata={"check": lambda v: None if 0 < v < 65536
                                              else "must be 1..65535"})


@dataclass(frozen=True)
class Conf:
    radio: Radio = field(default_factory=Radio)


PREFIX = "TEST_"


def build(data: dict, env: dict | None = None):  # type: ignore[no-untyped-def]
    return settings_file.build(Conf, data, env or {}, PREFIX)


def test_file_then_environment_wins() -> None:
    conf, problems = build({"radio": {"kind": "lora", "power_dbm": 20}},
                           {"TEST_RADIO_POWER_DBM": "27", "TEST_RADIO_CHANNELS": "a, b,,c",
                            "TEST_RADIO_ENABLED": "off", "OTHER_VAR": "x"})
    assert problems == []
    assert conf.radio == Radio(kind="lora", power_dbm=27, enabled=False,
                               channels=("a", "b", "c"))


def test_unknown_sections_keys_and_variables_are_each_one_problem() -> None:
    _, problems = build({"radoi": {}, "radio": {"colour": "red"}},
                        {"TEST_RADIO_KNID": "x", "test_radio_kind": "y"})
    assert problems == [
        "[radoi]: unknown section (known: radio)",
        "radio.colour: unknown setting (known: kind, power_dbm, gain_dbi, enabled, channels, "
        "port)",
        "TEST_RADIO_KNID: unknown environment variable (no such setting)",
        "test_radio_kind: unknown environment variable (no such setting)",
    ]


@pytest.mark.parametrize(("data", "env", "problem"), [
    ({"power_dbm": "20"}, {}, "radio.power_dbm: must be an integer, got '20'"),
    ({"power_dbm": 20.0}, {}, "radio.power_dbm: must be an integer, got 20.0"),
    ({"power_dbm": True}, {}, "radio.power_dbm: must be an integer, got True"),
    ({"gain_dbi": "2"}, {}, "radio.gain_dbi: must be a number, got '2'"),
    ({"enabled": 1}, {}, "radio.enabled: must be true or false, got 1"),
    ({"channels": "a"}, {}, "radio.channels: must be a list of strings, got 'a'"),
    ({"kind": 5}, {}, "radio.kind: must be a string, got 5"),
    ({"port": 65536}, {}, "radio.port: must be 1..65535, got 65536"),
    ({}, {"TEST_RADIO_POWER_DBM": "lots"},
     "TEST_RADIO_POWER_DBM (radio.power_dbm): must be an integer, got 'lots'"),
    ({}, {"TEST_RADIO_ENABLED": "maybe"},
     "TEST_RADIO_ENABLED (radio.enabled): must be true or false, got 'maybe'"),
])
def test_values_of_the_wrong_type_are_refused(data, env, problem) -> None:  # type: ignore[no-untyped-def]
    conf, problems = build({"radio": data}, env)
    assert problems == [problem]
    assert conf.radio == Radio()  # a field with a problem keeps its default


def test_boundaries_of_checks_and_types_pass() -> None:
    conf, problems = build({"radio": {"port": 65535, "gain_dbi": 3, "power_dbm": -5}})
    assert problems == [] and conf.radio.port == 65535 and conf.radio.gain_dbi == 3.0


def test_reading_the_file(tmp_path: Path) -> None:
    assert settings_file.read_toml(tmp_path / "absent.toml", must_exist=False) == {}
    with pytest.raises(settings_file.SettingsFileError, match="no such settings file"):
        settings_file.read_toml(tmp_path / "absent.toml", must_exist=True)
    bad = tmp_path / "bad.toml"
    bad.write_text("[radio\n")
    with pytest.raises(settings_file.SettingsFileError, match="not valid TOML"):
        settings_file.read_toml(bad, must_exist=False)


def test_effective_settings_round_trip_through_toml(tmp_path: Path) -> None:
    conf, _ = build({"radio": {"kind": 'say "hi"', "channels": ["a"], "enabled": False}})
    path = tmp_path / "out.toml"
    path.write_text(settings_file.to_toml(conf))
    again, problems = build(settings_file.read_toml(path, must_exist=True))
    assert problems == [] and again == conf
    assert settings_file.effective(conf)["radio"]["channels"] == ["a"]
