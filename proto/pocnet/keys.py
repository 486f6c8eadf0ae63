"""Ed25519 identities: tagged public keys, Helium addresses and gateway-rs key files
(docs/protocol.md §1).

A key on the wire is 33 bytes: a tag byte (network | key type) and the raw 32-byte key, the form
helium-crypto uses, so addresses and key files move between pocnet and gateway-rs unchanged.

Signing is libsodium's (through PyNaCl): RFC 8032 Ed25519 signing is deterministic, so any
library gives the same bytes (tests/proto/test_keys_signatures.py checks ed25519-zebra's against
it), and libsodium's is the faster of the two here, since it keeps the expanded secret while
ed25519-zebra's binding derives the key again on every signature (docs/benchmarks.md).

Verification is the network's one rule, `is_valid_signature` (docs/protocol.md §1,
"Signature rule"): RFC 8032's strict decoding and S < L, no public key and no R of small
order, then the cofactored equation of ZIP-215 as ed25519-zebra (Rust, through
py-ed25519-zebra-bindings) computes it, about 1.4x libsodium's verify rate. It accepts what
libsodium accepts and, beyond, only signatures whose R or key carries a small-order component,
which nobody but the key's holder can make (docs/security.md, "The signature rule"). The
binding has wheels for the Raspberry Pi (aarch64, armv7l), so a hotspot checks the oracle's
entropy by the same rule.
"""

from __future__ import annotations

import os
import stat
from enum import IntEnum
from pathlib import Path

import base58
from ed25519_zebra import ed_verify
from nacl.bindings import crypto_sign, crypto_sign_seed_keypair

from pocnet.errors import DecodeError, KeyFileError, SignatureError

RAW_KEY_LEN = 32
PUBLIC_KEY_LEN = 33
SEED_LEN = 32
SIGNATURE_LEN = 64
# gateway-rs / helium-crypto key file: tag byte + ed25519 secret (seed || public key).
KEYFILE_LEN = 1 + SEED_LEN + RAW_KEY_LEN
KEYFILE_MODE = 0o600
# Helium's address form: base58check of this version byte + the 33-byte key.
ADDRESS_VERSION = 0x00

# RFC 8032 §5.1: the field prime. A point is encoded as y (255 bits, little-endian) with the
# sign of x in the top bit; §5.1.3 step 1 refuses y >= p.
FIELD_P = 2**255 - 19
_Y_BITS = (1 << 255) - 1
# The y coordinates of the eight points of small order (the curve's cofactor is 8): 1 the
# neutral point, p - 1 the point of order 2, 0 the two of order 4, and the two y's of the four
# points of order 8 (each y with both signs of x). Refusing a y, whatever the sign bit, also
# refuses the encodings of x = 0 with the sign bit set, which RFC 8032 §5.1.3 step 4 refuses.
# libsodium's ge25519_has_small_order refuses these same y's (and y = p, p + 1, which are >= p).
SMALL_ORDER_Y = frozenset({
    0,
    1,
    FIELD_P - 1,
    0x05FC536D880238B13933C6D305ACDFD5F098EFF289F4C345B027B2C28F95E826,
    0x7A03AC9277FDC74EC6CC392CFA53202A0F67100D760B3CBA4FD84D3D706A17C7,
})


class Network(IntEnum):
    """Key tag of an Ed25519 key: key type 0x01 with the network bit 0x10 for testnet."""

    MAINNET = 0x01
    TESTNET = 0x11


def _network_of(tag: int) -> Network:
    try:
        return Network(tag)
    except ValueError:
        raise DecodeError(f"unsupported key tag 0x{tag:02x} (want 0x01 or 0x11)") from None


class PublicKey:
    """A tagged Ed25519 public key; equal and hashable by its 33 bytes."""

    __slots__ = ("_network", "_raw", "_wire")

    def __init__(self, network: Network, raw: bytes) -> None:
        if len(raw) != RAW_KEY_LEN:
            raise DecodeError(f"Ed25519 key must be {RAW_KEY_LEN} bytes, got {len(raw)}")
        self._network = Network(network)
        self._raw = bytes(raw)
        # The wire form, made once: the oracle compares every streamed report's key with it.
        self._wire = bytes([self._network]) + self._raw

    @classmethod
    def from_bytes(cls, data: bytes) -> PublicKey:
        """Decode the 33-byte wire form (tag byte + key)."""
        if len(data) != PUBLIC_KEY_LEN:
            raise DecodeError(f"public key must be {PUBLIC_KEY_LEN} bytes, got {len(data)}")
        return cls(_network_of(data[0]), bytes(data[1:]))

    @classmethod
    def from_address(cls, address: str) -> PublicKey:
        """Decode a Helium address (base58check of 0x00 || key33)."""
        try:
            payload = base58.b58decode_check(address)
        except ValueError as exc:
            # base58 raises ValueError for bad characters and for a checksum mismatch alike.
            raise DecodeError(f"bad address {address!r}: {exc}") from None
        if len(payload) != 1 + PUBLIC_KEY_LEN or payload[0] != ADDRESS_VERSION:
            raise DecodeError(f"bad address {address!r}: not a version-0 33-byte key")
        return cls.from_bytes(payload[1:])

    @property
    def network(self) -> Network:
        return self._network

    @property
    def raw(self) -> bytes:
        """The 32-byte Ed25519 key without its tag (what Solana and RFC 8032 call the key)."""
        return self._raw

    def to_bytes(self) -> bytes:
        return self._wire

    @property
    def address(self) -> str:
        return base58.b58encode_check(bytes([ADDRESS_VERSION]) + self.to_bytes()).decode("ascii")

    def verify(self, message: bytes, signature: bytes) -> None:
        """Raise SignatureError unless `signature` is this key's Ed25519 signature of message."""
        if len(signature) != SIGNATURE_LEN:
            raise SignatureError(f"signature must be {SIGNATURE_LEN} bytes, got {len(signature)}")
        if not is_valid_signature(self._raw, message, signature):
            raise SignatureError(f"bad signature for {self.address}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __repr__(self) -> str:
        return f"PublicKey({self.address})"

    def __str__(self) -> str:
        return self.address


def is_valid_signature(raw_pubkey32: bytes, message: bytes, signature: bytes) -> bool:
    """The one Ed25519 check of the network (docs/protocol.md §1, "Signature rule"), for callers
    that want a yes or no (the oracle's signature helpers, the import) and for PublicKey.verify.

    Before ed25519-zebra, two byte-level checks make its accept set libsodium's wherever
    bytes can tell: the key and R must be canonical encodings (y < p) of points that are not of
    small order. With a small-order key a "signature" verifies for every message and nobody
    holds the key's secret; a small-order R lets a key's holder make a second signature of a
    message. ed25519-zebra refuses S >= L itself. What remains accepted beyond libsodium (an R
    or key with a small-order component, the cofactored equation's difference) costs a scalar
    multiplication to see, and only the key's holder can make it: docs/security.md.
    """
    if len(raw_pubkey32) != RAW_KEY_LEN or len(signature) != SIGNATURE_LEN:
        return False
    if not (is_strict_point(raw_pubkey32) and is_strict_point(signature[:RAW_KEY_LEN])):
        return False
    return ed_verify(bytes(signature), bytes(message), bytes(raw_pubkey32))


def is_strict_point(encoded32: bytes) -> bool:
    """Whether a 32-byte point encoding is canonical (y < p) and not one of a small-order point:
    the byte-level part of the signature rule, for a public key and for a signature's R."""
    y = int.from_bytes(encoded32, "little") & _Y_BITS
    return y < FIELD_P and y not in SMALL_ORDER_Y


def verify_ed25519(raw_pubkey32: bytes, message: bytes, signature: bytes) -> None:
    """Verify a plain (untagged) Ed25519 signature, e.g. by an owner's Solana wallet."""
    try:
        key = PublicKey(Network.MAINNET, raw_pubkey32)
    except DecodeError as exc:
        raise SignatureError(str(exc)) from None
    key.verify(message, signature)


class Keypair:
    """An Ed25519 signing key with its network tag. The secret never leaves except to a key file."""

    __slots__ = ("_public", "_secret", "_seed")

    def __init__(self, seed: bytes, network: Network) -> None:
        if len(seed) != SEED_LEN:
            raise DecodeError(f"Ed25519 seed must be {SEED_LEN} bytes, got {len(seed)}")
        self._seed = bytes(seed)
        # libsodium's secret key is seed || public key, the 64 bytes gateway-rs files hold.
        raw, self._secret = crypto_sign_seed_keypair(self._seed)
        self._public = PublicKey(Network(network), raw)

    @classmethod
    def generate(cls, network: Network = Network.MAINNET) -> Keypair:
        return cls(os.urandom(SEED_LEN), network)

    @classmethod
    def from_seed(cls, seed32: bytes, network: Network = Network.MAINNET) -> Keypair:
        return cls(seed32, network)

    @classmethod
    def from_keyfile_bytes(cls, data: bytes) -> Keypair:
        """Decode the gateway-rs layout: tag byte, 32-byte seed, 32-byte public key."""
        if len(data) != KEYFILE_LEN:
            raise KeyFileError(f"key file must be {KEYFILE_LEN} bytes, got {len(data)}")
        try:
            network = _network_of(data[0])
        except DecodeError as exc:
            raise KeyFileError(str(exc)) from None
        keypair = cls(data[1 : 1 + SEED_LEN], network)
        if keypair.public_key.raw != data[1 + SEED_LEN :]:
            raise KeyFileError("key file's public key does not match its seed")
        return keypair

    @property
    def public_key(self) -> PublicKey:
        return self._public

    @property
    def network(self) -> Network:
        return self._public.network

    def sign(self, message: bytes) -> bytes:
        """64-byte Ed25519 signature (deterministic, RFC 8032)."""
        return crypto_sign(bytes(message), self._secret)[:SIGNATURE_LEN]

    def to_keyfile_bytes(self) -> bytes:
        return bytes([self.network]) + self._seed + self._public.raw

    def __repr__(self) -> str:
        return f"Keypair({self._public.address})"


def read_private_file(
    path: str | os.PathLike[str], max_bytes: int, what: str = "key file"
) -> bytes:
    """Up to `max_bytes` of a secret file (a key file, a TLS private key), refusing one that
    group or others may read or write: the one rule for every private key we load."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise KeyFileError(f"cannot open {what} {path}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise KeyFileError(f"{what} {path} is not a regular file")
        if mode & 0o077:
            raise KeyFileError(
                f"{what} {path} has mode {stat.S_IMODE(mode):04o}; "
                f"it must not be accessible by group or others (chmod 600)"
            )
        return os.read(fd, max_bytes)
    finally:
        os.close(fd)


def load_keyfile(path: str | os.PathLike[str]) -> Keypair:
    """Load a gateway-rs key file, refusing one that group or others may read or write."""
    path = Path(path)
    # Read one byte more than a key file holds so an oversized file is noticed.
    data = read_private_file(path, KEYFILE_LEN + 1)
    try:
        return Keypair.from_keyfile_bytes(data)
    except KeyFileError as exc:
        raise KeyFileError(f"{path}: {exc}") from None


def create_keyfile(path: str | os.PathLike[str], network: Network = Network.MAINNET) -> Keypair:
    """Generate a key and write it with mode 0600; an existing file is never overwritten."""
    path = Path(path)
    keypair = Keypair.generate(network)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEYFILE_MODE)
    except FileExistsError:
        raise KeyFileError(f"key file {path} already exists; refusing to overwrite") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create key file {path}: {exc.strerror}") from None
    try:
        # The umask may have narrowed the mode further, never widened it; make it exact.
        os.fchmod(fd, KEYFILE_MODE)
        data = keypair.to_keyfile_bytes()
        written = os.write(fd, data)
        if written != len(data):
            raise KeyFileError(f"short write to key file {path}")
        os.fsync(fd)
    finally:
        os.close(fd)
    return keypair
