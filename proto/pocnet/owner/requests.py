"""Request files and who has signed them: the two-party (three with the maker) registry flow.

A request file holds one serialised LocationAssertion or OwnershipTransfer, as binary protobuf
or as its hex text (easy to paste into a chat or an e-mail). Every party signs the same
canonical bytes (registry.proto), so the fields must all be set before the first signature
and the signatures may then be added in any order; `signers` says which are present and valid.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TypeVar

from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message

from pocnet import signing
from pocnet.cli import UsageError
from pocnet.errors import DecodeError, SignatureError
from pocnet.keys import Keypair, PublicKey, verify_ed25519
from pocnet.wire import registry_pb2

SOLANA_KEYPAIR_LEN = 64
WALLET_KEY_LEN = 32
M = TypeVar("M", bound=Message)


def read_request(path: str, cls: type[M]) -> M:
    """A request file (binary protobuf or its hex text) decoded as `cls`."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None
    try:
        raw = bytes.fromhex(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        pass  # binary protobuf
    try:
        return cls.FromString(raw)
    except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
        raise UsageError(f"{path}: not a {cls.DESCRIPTOR.name}: {exc}") from None


def write_request(path: str, msg: Message) -> None:
    """Hex text: survives copy and paste and mail; `read_request` also takes binary."""
    try:
        Path(path).write_text(msg.SerializeToString().hex() + "\n")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None


def load_solana_keypair(path: str) -> tuple[bytes, bytes]:
    """(seed32, pubkey32) from a Solana CLI keypair file, checked for consistency."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    try:
        values = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read Solana keypair: {exc}") from None
    if (not isinstance(values, list) or len(values) != SOLANA_KEYPAIR_LEN
            or not all(isinstance(v, int) and 0 <= v < 256 for v in values)):
        raise UsageError(f"{path}: a Solana keypair is a JSON array of 64 bytes")
    raw = bytes(values)
    seed, public = raw[:32], raw[32:]
    derived = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)
    if derived != public:
        raise UsageError(f"{path}: public half does not match the secret half")
    return seed, public


def create_solana_keypair(path: str) -> bytes:
    """Write a new Solana CLI keypair file (JSON array: 32-byte seed then 32-byte public key,
    mode 0600), never over an existing file, and return the wallet's public key. For an owner
    with no Solana tooling at hand (a first try); `solana-keygen new` writes the same file."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"{path} already exists; refusing to overwrite a keypair") from None
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)  # the umask may narrow the mode, never widen it
        out.write(json.dumps(list(seed + public)) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return public


def _wallet_signature(seed: bytes, canonical: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(seed).sign(canonical)


def sign_as_owner(msg: registry_pb2.LocationAssertion, keypair_path: str) -> None:
    """Add the owner's signature; the keypair must be the wallet the request names."""
    seed, wallet = load_solana_keypair(keypair_path)
    if wallet != bytes(msg.owner_wallet):
        raise UsageError(f"{keypair_path} is not the owner wallet this request names "
                         f"({wallet_address(bytes(msg.owner_wallet))})")
    canonical = signing.canonical_bytes(msg, signing.ASSERTION_SIGNATURES)
    msg.owner_signature = _wallet_signature(seed, canonical)


def sign_as_maker(msg: registry_pb2.LocationAssertion, maker: Keypair) -> None:
    """Add the maker's signature; the request must name this maker (set before any signing)."""
    if bytes(msg.maker_key) != maker.public_key.to_bytes():
        named = PublicKey.from_bytes(bytes(msg.maker_key)).address if msg.maker_key else "none"
        raise UsageError(f"the request names maker {named}, not {maker.public_key.address}")
    canonical = signing.canonical_bytes(msg, signing.ASSERTION_SIGNATURES)
    msg.maker_signature = maker.sign(canonical)


def build_transfer(hotspot_key: bytes, new_wallet: bytes, nonce: int, keypair_path: str,
                   now_ms: int) -> registry_pb2.OwnershipTransfer:
    """A transfer to `new_wallet`, signed by the current owner's Solana keypair file."""
    seed, _ = load_solana_keypair(keypair_path)
    msg = registry_pb2.OwnershipTransfer(hotspot_key=hotspot_key, new_owner_wallet=new_wallet,
                                         nonce=nonce, timestamp_ms=now_ms)
    msg.owner_signature = _wallet_signature(
        seed, signing.canonical_bytes(msg, signing.TRANSFER_SIGNATURES))
    return msg


def signers(msg: registry_pb2.LocationAssertion) -> dict[str, bool]:
    """Which of the three signatures are present and valid over the request as it stands."""
    canonical = signing.canonical_bytes(msg, signing.ASSERTION_SIGNATURES)
    valid = {}
    for party in ("hotspot", "owner", "maker"):
        signature = bytes(getattr(msg, f"{party}_signature"))
        try:
            if party == "owner":
                verify_ed25519(bytes(msg.owner_wallet), canonical, signature)
            else:
                PublicKey.from_bytes(bytes(getattr(msg, f"{party}_key"))).verify(
                    canonical, signature)
            valid[party] = True
        except (SignatureError, DecodeError):
            valid[party] = False
    return valid


def wallet_address(wallet: bytes) -> str:
    import base58

    return base58.b58encode(wallet).decode()


def parse_wallet(text: str, option: str) -> bytes:
    """A Solana address (base58 of 32 bytes)."""
    import base58

    try:
        wallet = base58.b58decode(text)
    except ValueError:
        wallet = b""
    if len(wallet) != WALLET_KEY_LEN:
        raise UsageError(f"{option} {text!r} is not a Solana address")
    return wallet
