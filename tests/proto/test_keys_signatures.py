"""The network's Ed25519 rule (pocnet.keys.is_valid_signature, docs/protocol.md §1 "Signature
rule") beside libsodium's and ed25519-zebra's bare answers, case by case.

What must pass comes from RFC 8032 §7.1's test vectors. The edge cases are built here with a
small Edwards-curve arithmetic of our own (RFC 8032 §5.1's formulas), so no expected value
comes from the code under test: S >= L, non-canonical encodings (y >= p) of R and of the key,
all eight points of small order as key and as R with every encoding a lenient decoder takes,
and R or key with a small-order component, made with a key whose secret we hold.

Each case pins three answers: libsodium's (PyNaCl, the rule before), ed25519-zebra's alone
(ZIP-215: why the byte-level checks in front of it exist), and the network's. The network's
differs from libsodium's only where the cofactored equation does (a small-order component on
R or on the key), which only the key's holder can produce (docs/security.md).
"""

from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass

import pytest
from ed25519_zebra import ed_public_from_secret, ed_sign, ed_verify
from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

from pocnet.keys import SMALL_ORDER_Y, Keypair, is_strict_point, is_valid_signature

# RFC 8032 §5.1: field prime, curve constant d, group order L, base point's y = 4/5.
P = 2**255 - 19
D = -121665 * pow(121666, P - 2, P) % P
L = 2**252 + 27742317777372353535851937790883648493
SQRT_M1 = pow(2, (P - 1) // 4, P)
Point = tuple[int, int]
IDENTITY: Point = (0, 1)

# RFC 8032 §7.1: (SECRET KEY, PUBLIC KEY, MESSAGE, SIGNATURE) of TEST 1, 2, 3 and SHA(abc).
RFC8032 = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9"
     "b46bd25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f1"
     "1d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984d"
     "c6594a7c15e9716ed28dc027beceea1ec40a"),
    ("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     hashlib.sha512(b"abc").hexdigest(),
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431"
     "e0303dca179c138ac17ad9bef1177331a704"),
]


def _add(p1: Point, p2: Point) -> Point:
    """RFC 8032 §5.1.4's addition law, in affine coordinates (complete on this curve)."""
    (x1, y1), (x2, y2) = p1, p2
    t = D * x1 * x2 * y1 * y2 % P
    return ((x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P,
            (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P)


def _mul(k: int, point: Point) -> Point:
    out = IDENTITY
    while k:
        if k & 1:
            out = _add(out, point)
        point, k = _add(point, point), k >> 1
    return out


def _x_of(y: int, sign: int) -> int | None:
    """RFC 8032 §5.1.3 steps 2-4: x from y (already reduced mod p) and its sign, or None."""
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    return P - x if (x & 1) != sign else x


def _encode(point: Point, y_plus: int = 0, sign: int | None = None) -> bytes:
    """RFC 8032 §5.1.2's encoding; `y_plus` = p writes y + p (a non-canonical encoding, for y <
    19), `sign` forces the sign bit (1 on x = 0: the "negative zero" encoding)."""
    x, y = point
    bit = x & 1 if sign is None else sign
    return ((y + y_plus) | bit << 255).to_bytes(32, "little")


BASE: Point = (_x_of(4 * pow(5, P - 2, P) % P, 0) or 0, 4 * pow(5, P - 2, P) % P)


def _torsion() -> list[Point]:
    """The eight points of small order: [L]Q for a point Q of full order generates them."""
    for y in range(2, 100):
        x = _x_of(y, 0)
        if x is None:
            continue
        t = _mul(L, (x, y))
        if _mul(4, t) != IDENTITY:  # of order 8
            return [_mul(i, t) for i in range(8)]
    raise AssertionError("no point of order 8 found")


TORSION = _torsion()


def _small_order_encodings() -> list[bytes]:
    """Every 32-byte string a lenient decoder reads as one of the eight small-order points:
    the canonical ones, x = 0 with the sign bit set, and y + p where y + p < 2^255."""
    found = set()
    for point in TORSION:
        found.add(_encode(point))
        if point[0] == 0:
            found.add(_encode(point, sign=1))
        if point[1] < 19:
            found |= {_encode(point, P, 0), _encode(point, P, 1)}
    return sorted(found)


SMALL_ORDER_ENCODINGS = _small_order_encodings()


@dataclass(frozen=True)
class Holder:
    """A key whose secret scalar we hold (RFC 8032 §5.1.5), to sign by hand."""

    a: int
    prefix: bytes
    key: bytes

    @classmethod
    def from_seed(cls, seed: bytes) -> Holder:
        digest = hashlib.sha512(seed).digest()
        a = int.from_bytes(digest[:32], "little") & ((1 << 254) - 8) | (1 << 254)
        return cls(a, digest[32:], _encode(_mul(a, BASE)))

    def sign(self, message: bytes, r_torsion: Point = IDENTITY, key: bytes | None = None,
             r_encoding: bytes | None = None) -> bytes:
        """RFC 8032 §5.1.6 with R = r·B + r_torsion, over `key` (default: ours)."""
        key = self.key if key is None else key
        r = int.from_bytes(hashlib.sha512(self.prefix + message).digest(), "little") % L
        big_r = r_encoding or _encode(_add(_mul(r, BASE), r_torsion))
        k = int.from_bytes(hashlib.sha512(big_r + key + message).digest(), "little") % L
        return big_r + ((r + k * self.a) % L).to_bytes(32, "little")


HOLDER = Holder.from_seed(bytes.fromhex(RFC8032[0][0]))
MESSAGE = b"a witness report's canonical bytes"


def _libsodium(key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        crypto_sign_open(signature + message, key)
    except CryptoError:
        return False
    return True


def _plus_l(signature: bytes, times: int = 1) -> bytes:
    s = int.from_bytes(signature[32:], "little") + times * L
    return signature[:32] + s.to_bytes(32, "little")


def _small_order_r(encoding: bytes) -> tuple[bytes, bytes, bytes]:
    """R of small order, S = k·a: [S]B = R + [k]A holds up to R's order, made by the holder."""
    k = int.from_bytes(hashlib.sha512(encoding + HOLDER.key + MESSAGE).digest(), "little") % L
    return HOLDER.key, MESSAGE, encoding + (k * HOLDER.a % L).to_bytes(32, "little")


def _mixed_order_key(torsion: Point, k_divisible: bool) -> tuple[bytes, bytes, bytes]:
    """Key A' = a·B + T, signed by the holder of a: libsodium's cofactorless check passes only
    when [k]T is the identity, that is when k is a multiple of T's order."""
    key = _encode(_add(_mul(HOLDER.a, BASE), torsion))
    order = next(n for n in (1, 2, 4, 8) if _mul(n, torsion) == IDENTITY)
    for n in range(1000):
        message = MESSAGE + n.to_bytes(2, "little")
        signature = HOLDER.sign(message, key=key)
        k = int.from_bytes(hashlib.sha512(signature[:32] + key + message).digest(),
                           "little") % L
        if (k % order == 0) == k_divisible:
            return key, message, signature
    raise AssertionError("no message found")


def _on_curve_small_y() -> Point:
    """A point of full order whose y < 19, so that y + p is a non-canonical encoding of it."""
    y = next(y for y in range(2, 19) if _x_of(y, 0) is not None and
             _mul(8, (_x_of(y, 0) or 0, y)) != IDENTITY)
    return (_x_of(y, 0) or 0, y)


ACCEPT, REFUSE = True, False
# (name, (key, message, signature), libsodium, ed25519-zebra alone, the network's rule)
CASES: list[tuple[str, tuple[bytes, bytes, bytes], bool, bool, bool]] = [
    *((f"rfc8032 {name}", (bytes.fromhex(k), bytes.fromhex(m), bytes.fromhex(s)),
       ACCEPT, ACCEPT, ACCEPT)
      for name, (_, k, m, s) in zip(["TEST 1", "TEST 2", "TEST 3", "SHA(abc)"], RFC8032,
                                    strict=True)),
    ("signed by hand", (HOLDER.key, MESSAGE, HOLDER.sign(MESSAGE)), ACCEPT, ACCEPT, ACCEPT),
    ("another message", (HOLDER.key, MESSAGE + b"!", HOLDER.sign(MESSAGE)),
     REFUSE, REFUSE, REFUSE),
    # RFC 8032 §5.1.7 step 1: S must be below L.
    ("S + L", (HOLDER.key, MESSAGE, _plus_l(HOLDER.sign(MESSAGE))), REFUSE, REFUSE, REFUSE),
    ("S + 2L", (HOLDER.key, MESSAGE, _plus_l(HOLDER.sign(MESSAGE), 2)), REFUSE, REFUSE, REFUSE),
    ("rfc8032 TEST 1, S + L", (bytes.fromhex(RFC8032[0][1]), b"",
                               _plus_l(bytes.fromhex(RFC8032[0][3]))), REFUSE, REFUSE, REFUSE),
    # Every encoding of every small-order point as R, "signed" by the holder: zebra alone
    # accepts them all (cofactored: [8]R vanishes); the rule refuses them, as libsodium does.
    *((f"small-order R {e.hex()}", _small_order_r(e), REFUSE, ACCEPT, REFUSE)
      for e in SMALL_ORDER_ENCODINGS),
    # Every encoding of every small-order point as the key, R = identity and S = 0: verifies
    # for any message under the cofactored equation, and nobody holds such a key's secret.
    *((f"small-order key {e.hex()}", (e, MESSAGE, _encode(IDENTITY) + bytes(32)),
       REFUSE, ACCEPT, REFUSE) for e in SMALL_ORDER_ENCODINGS),
    # R = r·B + T, T of order 2, 4 or 8, S = r + k·a: the cofactorless check sees [S]B - [k]A =
    # r·B != R; the cofactored one multiplies T away. Only the holder of a can make it.
    *((f"mixed-order R, T = {i}·T8", (HOLDER.key, MESSAGE, HOLDER.sign(MESSAGE, TORSION[i])),
       REFUSE, ACCEPT, ACCEPT) for i in range(1, 8)),
    # A key with a small-order component, signed by the holder of its prime-order part:
    # libsodium accepts it when k happens to kill T and refuses it otherwise.
    ("mixed-order key (T of order 8), k not a multiple of 8", _mixed_order_key(TORSION[1], False),
     REFUSE, ACCEPT, ACCEPT),
    ("mixed-order key (T of order 8), k a multiple of 8", _mixed_order_key(TORSION[1], True),
     ACCEPT, ACCEPT, ACCEPT),
    ("mixed-order key (T of order 2), k odd", _mixed_order_key(TORSION[4], False),
     REFUSE, ACCEPT, ACCEPT),
    # Non-canonical encodings (y + p) of a point of full order: nobody knows its discrete log,
    # so nobody can sign with it as R or as key; refused by bytes alone.
    ("non-canonical R of a full-order point",
     (HOLDER.key, MESSAGE, HOLDER.sign(MESSAGE, r_encoding=_encode(_on_curve_small_y(), P))),
     REFUSE, REFUSE, REFUSE),
    ("non-canonical key of a full-order point",
     (_encode(_on_curve_small_y(), P), MESSAGE, HOLDER.sign(MESSAGE)), REFUSE, REFUSE, REFUSE),
    ("key not on the curve", (_encode((0, 2)), MESSAGE, HOLDER.sign(MESSAGE)),
     REFUSE, REFUSE, REFUSE),
    ("short key", (HOLDER.key[:31], MESSAGE, HOLDER.sign(MESSAGE)), REFUSE, REFUSE, REFUSE),
    ("short signature", (HOLDER.key, MESSAGE, HOLDER.sign(MESSAGE)[:63]), REFUSE, REFUSE, REFUSE),
]


def test_the_edge_cases_are_what_they_claim() -> None:
    """The arithmetic above is right: RFC 8032's public keys come out of it, the torsion points
    are eight distinct points of order dividing 8, and the code's table holds their y's."""
    for secret, public, _, _ in RFC8032:
        assert Holder.from_seed(bytes.fromhex(secret)).key.hex() == public
    assert len(set(TORSION)) == 8 and all(_mul(8, t) == IDENTITY for t in TORSION)
    assert {y for _, y in TORSION} == SMALL_ORDER_Y
    assert len(SMALL_ORDER_ENCODINGS) == 14  # 8 canonical, 2 "negative zero", 4 y + p


@pytest.mark.parametrize("name,case,libsodium,zebra,network", CASES, ids=[c[0] for c in CASES])
def test_accept_and_refuse_as_pinned(name: str, case: tuple[bytes, bytes, bytes],
                                     libsodium: bool, zebra: bool, network: bool) -> None:
    assert _libsodium(*case) is libsodium, name
    key, message, signature = case
    assert ed_verify(signature, message, key) is zebra, name
    assert is_valid_signature(*case) is network, name


def test_the_rule_differs_from_libsodium_only_by_the_cofactor() -> None:
    """Every case where the network's answer is not libsodium's is one with a small-order
    component on R or on the key (docs/security.md, "Signature rule")."""
    differ = [name for name, case, libsodium, _, network in CASES if libsodium != network]
    assert differ and all(name.startswith("mixed-order") for name in differ)


def test_strict_point_encodings() -> None:
    """The byte-level part of the rule, at the boundary: y = p - 2 (the largest y that is not a
    small-order one) passes the byte check, y = p and above do not."""
    assert is_strict_point(_encode(_mul(12345, BASE)))
    assert is_strict_point((P - 2).to_bytes(32, "little"))
    for y in (P, P + 1, P + 18, 2**255 - 1):
        assert not is_strict_point(y.to_bytes(32, "little"))
    for encoding in SMALL_ORDER_ENCODINGS:
        assert not is_strict_point(encoding)


def test_signatures_are_the_rfc_vectors() -> None:
    """Keypair.sign (libsodium) and ed25519-zebra's sign give RFC 8032's bytes."""
    for secret, public, message, signature in RFC8032:
        seed, msg = bytes.fromhex(secret), bytes.fromhex(message)
        keypair = Keypair.from_seed(seed)
        assert keypair.public_key.raw.hex() == public == ed_public_from_secret(seed).hex()
        assert keypair.sign(msg).hex() == signature == bytes(ed_sign(seed, msg)).hex()


def test_signatures_are_byte_identical_across_libraries() -> None:
    """RFC 8032 signing is deterministic: over many random keys and messages, libsodium's
    signature (what the project signs with) is ed25519-zebra's, and each verifies."""
    rng = random.Random(11)
    for i in range(500):
        seed = os.urandom(32)
        message = rng.randbytes(rng.choice([0, 1, 31, 32, 33, 64, 120, 200, 1000, i]))
        keypair = Keypair.from_seed(seed)
        signature = keypair.sign(message)
        assert signature == bytes(ed_sign(seed, message))
        assert is_valid_signature(keypair.public_key.raw, message, signature)


def test_random_corruptions_get_libsodiums_answer() -> None:
    """Away from the constructed edge cases the rule is libsodium's: signatures, keys and
    messages with one bit flipped or one byte replaced, and the originals, get the same answer
    from both."""
    rng = random.Random(215)
    keypair = Keypair.from_seed(bytes(range(32)))
    for i in range(2000):
        message = rng.randbytes(rng.randrange(0, 200))
        parts = [keypair.public_key.raw, message, keypair.sign(message)]
        if i % 4:  # three in four corrupted, in the key, the message or the signature
            which = rng.choice([0, 2] if not message else [0, 1, 2])
            data = bytearray(parts[which])
            at = rng.randrange(len(data))
            if rng.random() < 0.5:
                data[at] ^= 1 << rng.randrange(8)
            else:
                data[at] = rng.randrange(256)
            parts[which] = bytes(data)
        key, msg, signature = parts
        assert is_valid_signature(key, msg, signature) is _libsodium(key, msg, signature), i
