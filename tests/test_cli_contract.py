"""Every command of the three front ends keeps DESIGN.md's promise: `--help`, `--json`, and
bad input answered with one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import importlib

import pytest

FRONT_ENDS = ("oracle.cli", "hotspot.cli", "sim_radio.cli", "pocnet.owner.cli")


def _leaves(parser: argparse.ArgumentParser, path: list[str]):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, child in subs[0].choices.items():
        yield from _leaves(child, [*path, name])


def _commands() -> list[tuple[str, list[str]]]:
    found = []
    for module in FRONT_ENDS:
        parser = importlib.import_module(module).build_parser()
        found.extend((module, path) for path, _ in _leaves(parser, []))
    return found


COMMANDS = _commands()


def test_every_front_end_has_commands() -> None:
    assert {module for module, _ in COMMANDS} == set(FRONT_ENDS)
    assert len(COMMANDS) >= 20


@pytest.mark.parametrize(
    ("module", "path"), COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_help_offers_json(module: str, path: list[str], capsys) -> None:
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as done:
        main([*path, "--help"])
    assert done.value.code == 0
    assert "--json" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("module", "path"), COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_bad_option_is_one_line_and_exit_2(module: str, path: list[str], capsys) -> None:
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as done:
        main([*path, "--no-such-option"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err, err
