"""Which Ed25519 signatures ingest accepts: RFC 8032's test vectors (the outside reference for
what must pass), and the edge cases where implementations differ, pinned as refused so that a
change of library cannot silently start accepting a forgery. The same answers come back from
the helper processes, whose check is the same function. The rule itself, case by case against
libsodium's and ed25519-zebra's, is tests/proto/test_keys_signatures.py."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from oracle.signature_pool import SignaturePool, verify_signature

# RFC 8032 §7.1, TEST 1-3: (public key, message, signature).
RFC8032 = [
    ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9"
     "b46bd25bf5f0595bbe24655141438e7a100b"),
    ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f1"
     "1d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984d"
     "c6594a7c15e9716ed28dc027beceea1ec40a"),
]
TEST1_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
L = 2**252 + 27742317777372353535851937790883648493  # RFC 8032 §5.1: the group order
IDENTITY = bytes([1]) + bytes(31)  # the neutral point (x = 0, y = 1): order 1


def _vectors() -> list[tuple[bytes, bytes, bytes]]:
    return [(bytes.fromhex(k), bytes.fromhex(m), bytes.fromhex(s)) for k, m, s in RFC8032]


def _non_canonical_s(key: bytes, message: bytes, signature: bytes) -> tuple[bytes, bytes, bytes]:
    """The same signature with S + L: the same point [S]B, but S is not reduced mod L."""
    s = int.from_bytes(signature[32:], "little") + L
    return key, message, signature[:32] + s.to_bytes(32, "little")


def _small_order_r_by_key_holder(message: bytes) -> tuple[bytes, bytes, bytes]:
    """R = the neutral point, S = k·a: the cofactorless equation [S]B = R + [k]A holds, made
    by TEST 1's key holder (RFC 8032 §5.1.5 derives the scalar a from the secret)."""
    key = bytes.fromhex(RFC8032[0][0])
    digest = hashlib.sha512(TEST1_SECRET).digest()
    a = int.from_bytes(digest[:32], "little") & ((1 << 254) - 8) | (1 << 254)
    k = int.from_bytes(hashlib.sha512(IDENTITY + key + message).digest(), "little") % L
    return key, message, IDENTITY + (k * a % L).to_bytes(32, "little")


# (case, why it must be refused). OpenSSL (cryptography 42+) accepts the last two.
REFUSED = [
    (_non_canonical_s(*_vectors()[0]), "S >= L (RFC 8032 §5.1.7 step 1)"),
    (_non_canonical_s(*_vectors()[2]), "S >= L (RFC 8032 §5.1.7 step 1)"),
    ((IDENTITY, b"any message", IDENTITY + bytes(32)),
     "small-order key: 'verifies' for every message and nobody holds its secret"),
    (_small_order_r_by_key_holder(b"msg"), "small-order R"),
    ((bytes.fromhex(RFC8032[1][0]), bytes.fromhex("73"), bytes.fromhex(RFC8032[1][2])),
     "another message"),
    ((bytes.fromhex(RFC8032[1][0])[:31], b"r", bytes.fromhex(RFC8032[1][2])), "short key"),
    ((bytes.fromhex(RFC8032[1][0]), bytes.fromhex("72"), bytes.fromhex(RFC8032[1][2])[:63]),
     "short signature"),
]


@pytest.mark.parametrize("case", _vectors(), ids=["rfc8032-1", "rfc8032-2", "rfc8032-3"])
def test_rfc8032_vectors_are_accepted(case: tuple[bytes, bytes, bytes]) -> None:
    assert verify_signature(*case)


@pytest.mark.parametrize("case,why", REFUSED, ids=[why for _, why in REFUSED])
def test_edge_cases_are_refused(case: tuple[bytes, bytes, bytes], why: str) -> None:
    assert not verify_signature(*case), why


def test_helpers_give_the_same_answers_in_order() -> None:
    cases = [*_vectors(), *(case for case, _ in REFUSED)] * 40
    expected = [True] * 3 + [False] * len(REFUSED)

    async def run() -> list[bool]:
        pool = SignaturePool(2)
        pool.start()
        try:
            order: list[int] = []
            futures = []
            for i, case in enumerate(cases):
                futures.append(pool.verify(*case))
                pool.submit(*case, lambda _, i=i: order.append(i))  # type: ignore[misc]
            answers = list(await asyncio.gather(*futures))
            assert order == list(range(len(cases)))  # callbacks in submit order
            return answers
        finally:
            pool.stop()

    assert asyncio.run(run()) == expected * 40
