"""`pocnet-oracle keys create|show`: the key `serve` loads, created once (0600), shown again."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from oracle.cli import main
from pocnet.keys import Network, load_keyfile


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_create_then_show_the_settings_key(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "oracle.key"
    conf = tmp_path / "oracle.toml"
    conf.write_text(f'[oracle]\nkey = "{key}"\nnetwork = "testnet"\n')
    code, out, _ = _run(capsys, "keys", "create", "-c", str(conf), "--json")
    created = json.loads(out)
    assert code == 0 and created["key_file"] == str(key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    keypair = load_keyfile(key)
    assert keypair.network is Network.TESTNET and created["network"] == "testnet"
    assert created["address"] == keypair.public_key.address
    assert created["public_key"] == keypair.public_key.to_bytes().hex()
    code, out, _ = _run(capsys, "keys", "show", "-c", str(conf), "--json")
    assert code == 0 and json.loads(out) == created
    code, out, _ = _run(capsys, "keys", "show", "-c", str(conf))
    assert f"address     {created['address']}" in out.splitlines()


def test_never_overwrites_and_never_invents(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "oracle.key"
    assert _run(capsys, "keys", "create", "--key", str(key))[0] == 0
    before = key.read_bytes()
    code, _, err = _run(capsys, "keys", "create", "--key", str(key))
    assert code == 2 and "already exists" in err and err.count("\n") == 1
    assert key.read_bytes() == before
    code, _, err = _run(capsys, "keys", "show", "--key", str(tmp_path / "absent.key"))
    assert code == 2 and err.count("\n") == 1 and not (tmp_path / "absent.key").exists()
