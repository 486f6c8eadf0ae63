"""Device key: created once with mode 0600, shown as address + 33-byte key, refused when open."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from hotspot.cli import main
from hotspot.errors import KeyStoreError
from hotspot.keystore import KeyStore
from pocnet import signing
from pocnet.keys import PublicKey
from pocnet.wire import reports_pb2


def test_keys_create_then_show(tmp_path: Path, capsys) -> None:
    key = tmp_path / "sub" / "hotspot.key"
    assert main(["keys", "create", "--key-file", str(key), "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.stat().st_size == 65
    assert main(["keys", "show", "--key-file", str(key), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["address"] == created["address"]
    assert len(bytes.fromhex(shown["public_key"])) == 33
    assert PublicKey.from_bytes(bytes.fromhex(shown["public_key"])).address == shown["address"]
    assert shown["address"].startswith("1")


def test_create_never_overwrites(tmp_path: Path, capsys) -> None:
    key = tmp_path / "hotspot.key"
    KeyStore.create(key)
    before = key.read_bytes()
    assert main(["keys", "create", "--key-file", str(key)]) == 2
    assert "never overwritten" in capsys.readouterr().err
    assert key.read_bytes() == before


def test_key_readable_by_others_is_refused(tmp_path: Path, capsys) -> None:
    key = tmp_path / "hotspot.key"
    KeyStore.create(key)
    os.chmod(key, 0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        KeyStore.load(key)
    assert main(["keys", "show", "--key-file", str(key)]) == 2
    assert "lets others read it" in capsys.readouterr().err


def test_missing_key_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="keys create"):
        KeyStore.load(tmp_path / "none.key")


def test_signs_reports_with_the_device_key(tmp_path: Path) -> None:
    store = KeyStore.create(tmp_path / "k")
    report = reports_pb2.WitnessReport(pub_key=store.key_bytes, data=b"x" * 51)
    store.sign(report)
    signing.verify(report, store.public_key)
    assert KeyStore.load(tmp_path / "k").address == store.address


def test_keys_uses_settings_key_file(tmp_path: Path, capsys, monkeypatch) -> None:
    conf = tmp_path / "h.toml"
    conf.write_text(f'[key]\nfile = "{tmp_path / "from-settings.key"}"\n')
    monkeypatch.delenv("POCNET_HOTSPOT_KEY_FILE", raising=False)
    assert main(["keys", "create", "-c", str(conf)]) == 0
    assert (tmp_path / "from-settings.key").exists()
    assert "address" in capsys.readouterr().out


def test_daemon_refuses_an_open_key(tmp_path: Path, capsys) -> None:
    key = tmp_path / "hotspot.key"
    KeyStore.create(key)
    os.chmod(key, 0o640)
    conf = tmp_path / "h.toml"
    conf.write_text(f'[key]\nfile = "{key}"\n[radio]\nkind = "sim"\n'
                    f'[outbox]\npath = "{tmp_path / "o.sqlite"}"\n[metrics]\nport = 0\n')
    assert main(["run", "-c", str(conf)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "0640" in err
