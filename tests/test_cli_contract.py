"""Every command of the three front ends keeps docs/architecture.md's promise: `--help`,
`--json`, and bad input answered with one line on stderr and exit status 2."""

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


def _numeric_options() -> list[tuple[str, list[str], str, str]]:
    """(front end, command path, option, kind) of every option that takes a number."""
    found = []
    for module in FRONT_ENDS:
        parser = importlib.import_module(module).build_parser()
        for path, leaf in _leaves(parser, []):
            for action in leaf._actions:
                if action.type in (int, float):
                    found.append((module, path, action.option_strings[0], action.type.__name__))
                kind = getattr(action.type, "__qualname__", "")
                if kind.startswith(("integer.", "number.")) and action.option_strings:
                    found.append((module, path, action.option_strings[0], kind.split(".")[0]))
    return found


NUMERIC = _numeric_options()


def test_numbers_use_the_shared_argument_types() -> None:
    """A bare `type=int` accepts 10**22, which overflows the database or protobuf later."""
    assert len(NUMERIC) >= 10
    assert [n for n in NUMERIC if n[3] in ("int", "float")] == []


@pytest.mark.parametrize(("module", "path", "option", "kind"), NUMERIC,
                         ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_huge_numbers_are_one_line_and_exit_2(module, path, option, kind, capsys) -> None:  # type: ignore[no-untyped-def]
    main = importlib.import_module(module).main
    huge = "99999999999999999999999" if kind == "integer" else "1e999"
    with pytest.raises(SystemExit) as done:
        main([*path, option, huge])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"argument {option}" in err and "must be between" in err, err


def test_integer_bounds_are_inclusive() -> None:
    from pocnet.cli import INT64_MAX, integer

    assert integer()(str(INT64_MAX)) == 2**63 - 1
    with pytest.raises(argparse.ArgumentTypeError):
        integer()(str(2**63))
    assert integer(0)("0") == 0
    with pytest.raises(argparse.ArgumentTypeError):
        integer(0)("-1")


def test_every_front_end_prints_the_package_version(capsys) -> None:
    from importlib.metadata import version

    printed = set()
    for module in FRONT_ENDS:
        with pytest.raises(SystemExit) as done:
            importlib.import_module(module).main(["--version"])
        assert done.value.code == 0
        prog, number = capsys.readouterr().out.split()
        assert prog.startswith("pocnet-")
        printed.add(number)
    assert printed == {version("pocnet")}


# A command that needs an extra, and a module of that extra it imports when it runs.
MISSING_EXTRA = [
    ("oracle.cli", ["serve", "--listen", "127.0.0.1:0", "--key", "k", "--create"], "grpc",
     "oracle"),
    ("sim_radio.cli", ["run", "SCENARIO"], "numpy", "sim"),
]


@pytest.mark.parametrize(("module", "argv", "blocked", "extra"), MISSING_EXTRA)
def test_missing_extra_is_named_in_one_line(module, argv, blocked, extra, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """As in an install without the extra: the module cannot be imported at all."""
    import subprocess
    import sys

    argv = [str(tmp_path / "s.toml") if a == "SCENARIO" else a for a in argv]
    (tmp_path / "s.toml").write_text("")
    code = (f"import sys; sys.modules[{blocked!r}] = None; from {module} import main; "
            f"sys.exit(main({argv!r}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"pip install 'pocnet[{extra}]'" in done.stderr


_BAR = ("import sys; {block}from pocnet.cli import progress_bar\n"
        "with progress_bar('x', 'report', hidden={hidden}) as bar:\n"
        "    bar.update(3)\n"
        "print(type(bar).__name__, sys.modules.get('tqdm') is not None)\n")


@pytest.mark.parametrize(("tty", "hidden", "installed", "shown"), [
    (False, False, True, False), (True, True, True, False), (True, False, True, True),
    (True, False, False, False)])
def test_a_progress_bar_only_on_a_terminal_and_tqdm_only_for_one(  # type: ignore[no-untyped-def]
        tty, hidden, installed, shown) -> None:
    """Commands draw their bar on stderr only while it is a terminal and not hidden (--json);
    otherwise tqdm is not even imported (~50 ms of CPU a command). Where tqdm is not
    installed (a hotspot's install: `pocnet-hotspot sdr decode` on a Pi), no bar either."""
    import os
    import pty
    import subprocess
    import sys

    main_end, other_end = pty.openpty() if tty else (None, subprocess.PIPE)
    try:
        # sys.modules["tqdm"] = None: an import of it raises ImportError, as if not installed.
        block = "" if installed else "sys.modules['tqdm'] = None; "
        done = subprocess.run([sys.executable, "-c", _BAR.format(hidden=hidden, block=block)],
                              stdout=subprocess.PIPE, stderr=other_end, text=True, timeout=60)
    finally:
        if tty:
            os.close(other_end)  # type: ignore[arg-type]
            os.close(main_end)  # type: ignore[arg-type]
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == (["tqdm", "True"] if shown else ["_NoBar", "False"])


_ORACLE_HELP = ("import sys\nfrom oracle.cli import main\ntry:\n    main({argv!r})\n"
                "except SystemExit:\n    pass\n"
                "print(sorted(m for m in sys.modules if m.startswith('oracle.commands.')\n"
                "             and not m.startswith('oracle.commands._')), "
                "'importlib.metadata' in sys.modules, file=sys.stderr)\n")


@pytest.mark.parametrize(("argv", "loaded"), [
    (["import", "--help"], ["oracle.commands.imports"]),
    (["payout", "status", "--help"], ["oracle.commands.payout"]),
    (["registry", "maker", "add", "--help"],
     ["oracle.commands.registry", "oracle.commands.registry_deny",
      "oracle.commands.registry_makers"]),
])
def test_an_oracle_command_line_loads_only_its_commands_module(argv, loaded) -> None:  # type: ignore[no-untyped-def]
    """`pocnet-oracle COMMAND ...` builds COMMAND's parser alone (every module was ~0.15 s
    of each command's start), and looks up the installed version only for --version."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _ORACLE_HELP.format(argv=argv)],
                          capture_output=True, text=True, timeout=60)
    assert done.stderr.strip() == f"{loaded!r} False", done.stderr


def test_the_oracles_version_loads_no_commands_module() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _ORACLE_HELP.format(argv=["--version"])],
                          capture_output=True, text=True, timeout=60)
    assert done.stderr.strip() == "[] True", done.stderr
    assert done.stdout.startswith("pocnet-oracle ")


@pytest.mark.parametrize("argv", [
    ["import", "-", "--workers", "0", "--json"],
    ["payout", "status", "--epoch", "3", "--json"],
    ["registry", "maker", "add", "1abc", "--quota", "5"],
    ["rewards", "compute", "--epoch", "2"],
])
def test_one_commands_parser_reads_its_line_as_the_whole_parser_does(argv) -> None:  # type: ignore[no-untyped-def]
    from oracle.cli import build_parser

    assert vars(build_parser(argv[0]).parse_args(argv)) == vars(build_parser().parse_args(argv))
