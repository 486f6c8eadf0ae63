"""`pocnet-owner`: request files in, one-line errors out (the signing itself is exercised with a
real oracle in tests/oracle/test_oracle_registry_flow.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pocnet import signing
from pocnet.keys import Keypair
from pocnet.owner.cli import main
from pocnet.owner.requests import read_request, signers
from pocnet.wire import registry_pb2


def _request(tmp_path: Path, hotspot: Keypair, maker: Keypair) -> Path:
    msg = registry_pb2.LocationAssertion(
        hotspot_key=hotspot.public_key.to_bytes(), owner_wallet=bytes(32), location=0,
        nonce=1, maker_key=maker.public_key.to_bytes())
    msg.hotspot_signature = hotspot.sign(signing.canonical_bytes(msg,
                                                                 signing.ASSERTION_SIGNATURES))
    path = tmp_path / "r.bin"
    path.write_bytes(msg.SerializeToString())  # binary is read too
    return path


def test_maker_sign_and_show(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    hotspot, maker = Keypair.from_seed(b"h" * 32), Keypair.from_seed(b"m" * 32)
    path = _request(tmp_path, hotspot, maker)
    key = tmp_path / "maker.key"
    key.write_bytes(maker.to_keyfile_bytes())
    key.chmod(0o600)
    assert main(["maker-sign", str(path), "--maker-key", str(key), "-o",
                 str(tmp_path / "s.hex")]) == 0
    capsys.readouterr()
    msg = read_request(str(tmp_path / "s.hex"), registry_pb2.LocationAssertion)
    assert signers(msg) == {"hotspot": True, "owner": False, "maker": True}
    assert main(["show", str(tmp_path / "s.hex"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["maker"] == maker.public_key.address
    other = tmp_path / "other.key"
    other.write_bytes(Keypair.from_seed(b"o" * 32).to_keyfile_bytes())
    other.chmod(0o600)
    assert main(["maker-sign", str(path), "--maker-key", str(other)]) == 2
    assert f"names maker {maker.public_key.address}" in capsys.readouterr().err


def test_bad_input_is_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    junk = tmp_path / "junk"
    junk.write_bytes(b"\xff\xff\xff")
    assert main(["show", str(junk)]) == 2
    err = capsys.readouterr().err
    assert "not a LocationAssertion" in err and err.count("\n") == 1
    assert main(["show", str(tmp_path / "missing")]) == 2
    assert main(["transfer", "--hotspot", "x", "--to", "y", "--nonce", "1", "--keypair",
                 str(junk), "-o", str(tmp_path / "t")]) == 2
    assert capsys.readouterr().err.count("\n") == 2


def test_version(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("pocnet-owner ")


def test_keys_create_writes_a_solana_keypair_once(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """The file is the Solana CLI's layout (a JSON array: 32-byte seed, then the public key the
    seed derives, by RFC 8032 as `cryptography` computes it), private, and never overwritten."""
    import base58
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    path = tmp_path / "id.json"
    assert main(["keys", "create", "--keypair", str(path), "--json"]) == 0
    wallet = json.loads(capsys.readouterr().out)["wallet"]
    raw = bytes(json.loads(path.read_text()))
    assert len(raw) == 64 and path.stat().st_mode & 0o777 == 0o600
    derived = Ed25519PrivateKey.from_private_bytes(raw[:32]).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)
    assert derived == raw[32:] and base58.b58encode(raw[32:]).decode() == wallet
    before = path.read_bytes()
    assert main(["keys", "create", "--keypair", str(path)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err and path.read_bytes() == before
    assert main(["keys", "show", "--keypair", str(path)]) == 0
    assert capsys.readouterr().out.split()[:2] == ["wallet", wallet]
