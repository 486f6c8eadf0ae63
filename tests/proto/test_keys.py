"""Keys, addresses and key files (docs/protocol.md §1), including Helium's own test vectors."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import base58
import pytest

from pocnet.errors import DecodeError, KeyFileError, SignatureError
from pocnet.keys import (
    KEYFILE_LEN,
    Keypair,
    Network,
    PublicKey,
    create_keyfile,
    load_keyfile,
    verify_ed25519,
)

# helium/helium-crypto-rs src/ed25519/mod.rs, test `seed`: these 64 bytes are seed || pubkey,
# and the mainnet address of the seed is the string below.
HELIUM_SECRET = bytes(
    [
        248, 55, 78, 168, 99, 123, 22, 203, 36, 250, 136, 86, 110, 119, 198, 170, 248, 55, 78,
        168, 99, 123, 22, 203, 36, 250, 136, 86, 110, 119, 198, 170, 185, 118, 86, 186, 8, 131,
        178, 232, 103, 147, 246, 193, 186, 72, 71, 232, 25, 244, 178, 49, 35, 157, 89, 72, 28, 17,
        212, 63, 72, 54, 42, 9,
    ]
)
HELIUM_ADDRESS = "14MRZY2jc2ABDq1faCCMmXrkm2PXY9UBRTP1j9PWnFTKnCb7Hyn"
# helium-crypto-rs src/ed25519/mod.rs, test `verify`: a signature made by Erlang libp2p_crypto.
HELIUM_VERIFY_ADDRESS = "13WvV82S7QN3VMzMSieiGxvuaPKknMtf213E5JwPnboDkUfesKw"
HELIUM_VERIFY_SIG = bytes.fromhex(
    "ef3e85dc7ea338c6b67399873131ea7b2265c516222e105fc39a59dda71f668a"
    "3b95fe27457d941a3cf5c422c9efbf0da112171d2997d74bc68f7b8118c6930e"
)


def test_helium_seed_vector_gives_helium_address() -> None:
    keypair = Keypair.from_seed(HELIUM_SECRET[:32], Network.MAINNET)
    assert keypair.public_key.address == HELIUM_ADDRESS
    assert keypair.public_key.raw == HELIUM_SECRET[32:]
    assert keypair.public_key.to_bytes() == b"\x01" + HELIUM_SECRET[32:]
    # The gateway-rs key file of this key is the tag byte followed by the 64 secret bytes.
    assert keypair.to_keyfile_bytes() == b"\x01" + HELIUM_SECRET


def test_helium_signature_vector_verifies() -> None:
    key = PublicKey.from_address(HELIUM_VERIFY_ADDRESS)
    key.verify(b"hello world", HELIUM_VERIFY_SIG)
    with pytest.raises(SignatureError):
        key.verify(b"hello world!", HELIUM_VERIFY_SIG)
    with pytest.raises(SignatureError):
        key.verify(b"hello world", HELIUM_VERIFY_SIG[:21])  # truncated, as in helium-crypto


def test_addresses_start_with_1_and_round_trip() -> None:
    for network in Network:
        key = Keypair.generate(network).public_key
        assert key.address.startswith("1")
        back = PublicKey.from_address(key.address)
        assert back == key and back.network is network
        assert PublicKey.from_bytes(key.to_bytes()) == key


def test_tags() -> None:
    assert Keypair.generate(Network.MAINNET).public_key.to_bytes()[0] == 0x01
    assert Keypair.generate(Network.TESTNET).public_key.to_bytes()[0] == 0x11


def test_public_keys_are_hashable_and_network_sensitive() -> None:
    seed = os.urandom(32)
    main = Keypair.from_seed(seed, Network.MAINNET).public_key
    test = Keypair.from_seed(seed, Network.TESTNET).public_key
    assert main.raw == test.raw
    assert main != test
    assert len({main, test, Keypair.from_seed(seed).public_key}) == 2


@pytest.mark.parametrize("tag", [0x00, 0x02, 0x10, 0x12, 0x21, 0xFF])
def test_wrong_tag_byte_is_refused(tag: int) -> None:
    raw = Keypair.generate().public_key.raw
    with pytest.raises(DecodeError, match="tag"):
        PublicKey.from_bytes(bytes([tag]) + raw)


@pytest.mark.parametrize("length", [0, 1, 32, 34, 65])
def test_wrong_public_key_length_is_refused(length: int) -> None:
    with pytest.raises(DecodeError):
        PublicKey.from_bytes(b"\x01" * length)


def test_bad_base58_checksum_is_refused() -> None:
    payload = base58.b58decode_check(HELIUM_ADDRESS)
    raw = base58.b58decode(HELIUM_ADDRESS)
    corrupted = raw[:-1] + bytes([raw[-1] ^ 0x01])
    with pytest.raises(DecodeError):
        PublicKey.from_address(base58.b58encode(corrupted).decode())
    # One changed character in the text.
    replacement = "2" if HELIUM_ADDRESS[10] != "2" else "3"
    swapped = HELIUM_ADDRESS[:10] + replacement + HELIUM_ADDRESS[11:]
    with pytest.raises(DecodeError):
        PublicKey.from_address(swapped)
    # Characters outside the alphabet, and an empty string.
    for bad in ("0OIl" + HELIUM_ADDRESS[4:], ""):
        with pytest.raises(DecodeError):
            PublicKey.from_address(bad)
    # A valid checksum over the wrong version byte or the wrong length.
    with pytest.raises(DecodeError):
        PublicKey.from_address(base58.b58encode_check(b"\x01" + payload[1:]).decode())
    with pytest.raises(DecodeError):
        PublicKey.from_address(base58.b58encode_check(payload[:-1]).decode())


def test_verify_ed25519_raw_key() -> None:
    keypair = Keypair.generate()
    sig = keypair.sign(b"owner says yes")
    verify_ed25519(keypair.public_key.raw, b"owner says yes", sig)
    with pytest.raises(SignatureError):
        verify_ed25519(keypair.public_key.raw, b"owner says no", sig)
    with pytest.raises(SignatureError):
        verify_ed25519(keypair.public_key.raw[:31], b"owner says yes", sig)


def test_signatures_are_64_bytes_and_deterministic() -> None:
    keypair = Keypair.generate()
    assert len(keypair.sign(b"m")) == 64
    assert keypair.sign(b"m") == keypair.sign(b"m")


# --- key files -------------------------------------------------------------------------------


def test_create_and_load_keyfile(tmp_path: Path) -> None:
    path = tmp_path / "gateway_key.bin"
    created = create_keyfile(path, Network.TESTNET)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = path.read_bytes()
    assert len(data) == KEYFILE_LEN == 65
    assert data[0] == 0x11
    loaded = load_keyfile(path)
    assert loaded.public_key == created.public_key
    assert loaded.sign(b"x") == created.sign(b"x")


def test_create_keyfile_is_0600_even_with_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        create_keyfile(tmp_path / "k")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


def test_create_keyfile_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_bytes(b"precious")
    with pytest.raises(KeyFileError, match="exists"):
        create_keyfile(path)
    assert path.read_bytes() == b"precious"


def test_load_helium_keyfile(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\x01" + HELIUM_SECRET)
    assert load_keyfile(path).public_key.address == HELIUM_ADDRESS


def _write(tmp_path: Path, data: bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "key.bin"
    path.write_bytes(data)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_keyfile_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = _write(tmp_path, b"\x01" + HELIUM_SECRET, mode)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_keyfile(path)


@pytest.mark.parametrize("length", [0, 1, 33, 64])
def test_truncated_keyfile_is_refused(tmp_path: Path, length: int) -> None:
    path = _write(tmp_path, (b"\x01" + HELIUM_SECRET)[:length])
    with pytest.raises(KeyFileError, match="65 bytes"):
        load_keyfile(path)


@pytest.mark.parametrize("extra", [b"\x00", b"\n", bytes(100)])
def test_oversized_keyfile_is_refused(tmp_path: Path, extra: bytes) -> None:
    path = _write(tmp_path, b"\x01" + HELIUM_SECRET + extra)
    with pytest.raises(KeyFileError, match="65 bytes"):
        load_keyfile(path)


@pytest.mark.parametrize("tag", [0x00, 0x10, 0x02, 0x80])
def test_keyfile_with_wrong_tag_is_refused(tmp_path: Path, tag: int) -> None:
    # 0x00 is an ECC-compact mainnet key in helium-crypto: not an Ed25519 key file.
    path = _write(tmp_path, bytes([tag]) + HELIUM_SECRET)
    with pytest.raises(KeyFileError, match="tag"):
        load_keyfile(path)


def test_keyfile_whose_pubkey_does_not_match_seed_is_refused(tmp_path: Path) -> None:
    other = Keypair.generate().public_key.raw
    path = _write(tmp_path, b"\x01" + HELIUM_SECRET[:32] + other)
    with pytest.raises(KeyFileError, match="does not match"):
        load_keyfile(path)


def test_missing_keyfile_and_directory(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError):
        load_keyfile(tmp_path / "absent")
    (tmp_path / "dir").mkdir(mode=0o700)
    with pytest.raises(KeyFileError):
        load_keyfile(tmp_path / "dir")
