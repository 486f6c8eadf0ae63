"""The one way a pocnet daemon reads its settings: a TOML file, then `<PREFIX><SECTION>_<KEY>`
environment overrides, into frozen section dataclasses.

Both roles (hotspot, oracle) load through here so a mistake is treated the same everywhere:
unknown sections, keys and environment variables are errors (a typo'd `[server]` must not leave
TLS silently off), every mistake is found in one pass, and each is one line. A field's metadata
may carry a `check` returning a problem text; rules that involve several fields stay with the
role's own settings module.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, get_type_hints

Check = Callable[[Any], str | None]
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


class SettingsFileError(Exception):
    """The settings file cannot be read or parsed; the message is one line."""


def read_toml(path: Path, must_exist: bool) -> dict[str, Any]:
    """The parsed file; {} when it is absent and was not named explicitly (defaults + env)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if must_exist:
            raise SettingsFileError(f"{path}: no such settings file") from None
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsFileError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsFileError(f"{path}: not valid TOML: {exc}") from None


def sections(settings_cls: type) -> dict[str, type]:
    """Section name -> its dataclass, in file order."""
    hints = get_type_hints(settings_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(settings_cls)}


def env_name(prefix: str, section: str, key: str) -> str:
    return f"{prefix}{section}_{key}".upper()


def coerce(kind: Any, value: Any, from_env: bool) -> Any:
    """A TOML or environment value as the field's type, or ValueError saying what it must be.

    TOML values must already have the right type (no "5" for 5); environment values are text
    and are parsed: numbers, booleans by word, lists as comma-separated items.
    """
    if kind is bool:
        if isinstance(value, bool):
            return value
        if from_env and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
            return value.strip().lower() in TRUE_WORDS
        raise ValueError("must be true or false")
    if kind is int or kind is float:
        accepted = (int,) if kind is int else (int, float)
        if isinstance(value, accepted) and not isinstance(value, bool):
            return kind(value)
        if from_env:
            try:
                return kind(value.strip())
            except ValueError:
                pass
        raise ValueError("must be an integer" if kind is int else "must be a number")
    if kind is str:
        if isinstance(value, str):
            return value
        raise ValueError("must be a string")
    if isinstance(kind, types.UnionType):  # e.g. `int | str`: the first member that fits
        for member in kind.__args__:
            try:
                return coerce(member, value, from_env)
            except ValueError:
                continue
        raise ValueError("must be " + " or ".join(
            {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
            .get(m, m.__name__) for m in kind.__args__))
    if isinstance(kind, types.GenericAlias) and kind.__origin__ is tuple:
        if from_env:
            return tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ValueError("must be a list of strings")
    raise TypeError(f"unsupported settings type {kind!r}")  # a bug in the settings module


def build(settings_cls: type, data: Mapping[str, Any], env: Mapping[str, str],
          prefix: str) -> tuple[Any, list[str]]:
    """(settings, problems): every field from the file or its environment variable (the
    variable wins); fields with a problem keep their default so later checks still run."""
    problems: list[str] = []
    known = sections(settings_cls)
    for name in data:
        if name not in known:
            problems.append(f"[{name}]: unknown section (known: {', '.join(known)})")
    expected_env: set[str] = set()
    built: dict[str, Any] = {}
    for name, cls in known.items():
        table = data.get(name, {})
        if not isinstance(table, dict):
            problems.append(f"[{name}]: must be a table")
            table = {}
        hints = get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        for key in table:
            if key not in names:
                problems.append(f"{name}.{key}: unknown setting (known: {', '.join(names)})")
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            variable = env_name(prefix, name, f.name)
            expected_env.add(variable)
            where = f"{name}.{f.name}"
            if variable in env:
                raw, from_env, where = env[variable], True, f"{variable} ({where})"
            elif f.name in table:
                raw, from_env = table[f.name], False
            else:
                continue
            try:
                value = coerce(hints[f.name], raw, from_env)
            except ValueError as exc:
                problems.append(f"{where}: {exc}, got {raw!r}")
                continue
            check = f.metadata.get("check")
            if check is not None and (problem := check(value)) is not None:
                problems.append(f"{where}: {problem}, got {value!r}")
                continue
            values[f.name] = value
        built[name] = cls(**values)
    for variable in sorted(env):
        # Names are case-sensitive: a lower-case spelling would be silently ignored otherwise.
        if variable.upper().startswith(prefix) and variable not in expected_env:
            problems.append(f"{variable}: unknown environment variable (no such setting)")
    return settings_cls(**built), problems


def effective(settings: Any) -> dict[str, dict[str, Any]]:
    """The settings in use, section by section, as TOML/JSON-friendly values (config check)."""
    out: dict[str, dict[str, Any]] = {}
    for section in dataclasses.fields(settings):
        values = dataclasses.asdict(getattr(settings, section.name))
        out[section.name] = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
    return out


def to_toml(settings: Any) -> str:
    """The effective settings as a TOML file a daemon would load unchanged."""
    import json

    lines: list[str] = []
    for section, values in effective(settings).items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            text = ("true" if value else "false") if isinstance(value, bool) else json.dumps(value)
            lines.append(f"{key} = {text}")
        lines.append("")
    return "\n".join(lines)
