"""The documented onboarding flow end to end against a real oracle (issue 16 item 4): the
hotspot writes the request, the maker and the owner sign it on their own machines with
`pocnet-owner`, the hotspot submits it and notes it for its daemon; then a move and a
transfer the same way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from oracle_factories import MAKER, keypair

from hotspot.cli import main as hotspot
from hotspot.keystore import KeyStore
from hotspot.outbox import Outbox
from hotspot.region_watcher import REGISTRY_CHANGED
from pocnet.owner.cli import main as owner
from pocnet.owner.requests import wallet_address


def _solana_keypair(path: Path, seed: bytes) -> str:
    """A Solana CLI keypair file (JSON array: 32-byte seed then 32-byte public key)."""
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)
    path.write_text(json.dumps(list(seed + public)))
    return wallet_address(public)


def _run(capsys: pytest.CaptureFixture[str], main, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_hotspot_maker_owner_submit(server, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("POCNET_HOTSPOT_RADIO_KIND", raising=False)
    store = KeyStore.create(tmp_path / "hotspot.key")
    conf = tmp_path / "hotspot.toml"
    conf.write_text(
        f'[key]\nfile = "{tmp_path / "hotspot.key"}"\n[oracle]\nendpoints = ["{server.address}"]'
        f'\n[radio]\nkind = "sim"\n[outbox]\npath = "{tmp_path / "outbox.sqlite"}"\n')
    Outbox(tmp_path / "outbox.sqlite").close()  # the daemon's outbox
    maker_key = tmp_path / "maker.key"
    maker_key.write_bytes(MAKER.to_keyfile_bytes())
    maker_key.chmod(0o600)
    wallet = _solana_keypair(tmp_path / "owner.json", b"o" * 32)
    _solana_keypair(tmp_path / "other.json", b"x" * 32)
    request = str(tmp_path / "onboard.hex")

    code, out, _ = _run(capsys, hotspot, "onboard", "--lat", "52.37", "--lon", "4.89",
                        "--gain", "3", "--elevation", "5", "--owner-wallet", wallet,
                        "--maker", MAKER.public_key.address, "-c", str(conf), "-o", request,
                        "--json")
    assert code == 0 and json.loads(out)["nonce"] == 1  # asked of the oracle
    code, _, err = _run(capsys, hotspot, "submit", request, "-c", str(conf))
    assert code == 2 and "owner wallet signature" in err and err.count("\n") == 1
    assert _run(capsys, owner, "maker-sign", request, "--maker-key", str(maker_key))[0] == 0
    code, _, err = _run(capsys, owner, "sign", request, "--keypair",
                        str(tmp_path / "other.json"))
    assert code == 2 and "not the owner wallet" in err
    assert _run(capsys, owner, "sign", request, "--keypair", str(tmp_path / "owner.json"))[0] == 0
    code, out, _ = _run(capsys, owner, "show", request, "--json")
    assert json.loads(out)["signed"] == {"hotspot": True, "owner": True, "maker": True}
    code, out, _ = _run(capsys, hotspot, "submit", request, "-c", str(conf), "--json")
    shown = json.loads(out)
    assert code == 0 and shown["region"] == "EU868" and shown["daemon_told"] is True
    assert shown["hotspot"] == store.address and shown["owner_wallet"] == wallet
    assert Outbox(tmp_path / "outbox.sqlite").get_state(REGISTRY_CHANGED) == 1

    moved = str(tmp_path / "move.hex")  # a move: hotspot and owner, no maker
    assert _run(capsys, hotspot, "onboard", "--lat", "52.0", "--lon", "5.0", "--gain", "3",
                "--elevation", "5", "--owner-wallet", wallet, "-c", str(conf),
                "-o", moved)[0] == 0
    assert _run(capsys, owner, "sign", moved, "--keypair", str(tmp_path / "owner.json"))[0] == 0
    code, out, _ = _run(capsys, hotspot, "submit", moved, "-c", str(conf), "--json")
    assert code == 0 and json.loads(out)["nonce"] == 2

    new_owner = wallet_address(keypair(77).public_key.raw)
    handover = str(tmp_path / "transfer.hex")
    assert _run(capsys, owner, "transfer", "--hotspot", store.address, "--to", new_owner,
                "--nonce", "3", "--keypair", str(tmp_path / "other.json"), "-o", handover)[0] == 0
    code, _, err = _run(capsys, hotspot, "submit", "--transfer", handover, "-c", str(conf))
    assert code == 2 and "current owner" in err  # not the owner's keypair
    assert _run(capsys, owner, "transfer", "--hotspot", store.address, "--to", new_owner,
                "--nonce", "3", "--keypair", str(tmp_path / "owner.json"), "-o", handover)[0] == 0
    code, out, _ = _run(capsys, hotspot, "submit", "--transfer", handover, "-c", str(conf),
                        "--json")
    assert code == 0 and json.loads(out)["owner_wallet"] == new_owner
