"""Ed25519 per report, both ways: CPU µs of one verify and one sign with libsodium (PyNaCl),
ed25519-zebra and the network's rule (pocnet.keys.is_valid_signature: byte-level checks, then
ed25519-zebra), with OpenSSL's verify as a reference (docs/benchmarks.md, "Ed25519 checks on
ed25519-zebra").

Also what an exact libsodium answer would cost on top of ed25519-zebra: the only signatures the
rule accepts beyond libsodium's carry a small-order component on R or on the key, and seeing
one takes a scalar multiplication per point (libsodium's crypto_core_ed25519_is_valid_point
checks that a point is in the prime-order subgroup), measured here as `subgroup_check_r`.

Run: .venv/bin/python tests/bench/bench_signatures.py [--n 5000] [--rounds 5] [--json]
CPU seconds (time.process_time) of every implementation are taken in interleaved rounds on
the same keys and messages, so a shared, busy machine loads each about alike; the figure is
the median round.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from ed25519_zebra import ed_sign, ed_verify
from nacl.bindings import crypto_core_ed25519_is_valid_point, crypto_sign_open
from nacl.exceptions import CryptoError

from pocnet.keys import Keypair, is_strict_point, is_valid_signature

KEYS = 64  # distinct hotspot keys, reports cycling over them
MESSAGE_BYTES = 140  # about a witness report's canonical bytes


def _libsodium_verify(key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        crypto_sign_open(signature + message, key)
    except CryptoError:
        return False
    return True


def _cases(n: int, message_bytes: int) -> list[tuple[Keypair, bytes, bytes, bytes]]:
    keypairs = [Keypair.generate() for _ in range(KEYS)]
    out = []
    for i in range(n):
        kp = keypairs[i % KEYS]
        message = os.urandom(message_bytes)
        out.append((kp, kp.to_keyfile_bytes()[1:33], message, kp.sign(message)))
    return out


def _timed(loop: Callable[[], None], n: int) -> float:
    start = time.process_time()
    loop()
    return (time.process_time() - start) / n * 1e6


def measure(n: int, rounds: int, message_bytes: int) -> dict[str, float]:
    """Median CPU µs per call of each operation over `rounds` interleaved rounds of n calls."""
    cases = _cases(n, message_bytes)
    triples = [(kp.public_key.raw, m, s) for kp, _, m, s in cases]
    openssl = {kp.public_key.raw: Ed25519PublicKey.from_public_bytes(kp.public_key.raw)
               for kp, _, _, _ in cases}

    def check_all(check: Callable[[bytes, bytes, bytes], object]) -> Callable[[], None]:
        def loop() -> None:
            for key, message, signature in triples:
                assert check(key, message, signature) is not False
        return loop

    def openssl_loop() -> None:
        for key, message, signature in triples:
            openssl[key].verify(signature, message)

    def zebra_loop() -> None:
        for key, message, signature in triples:
            assert ed_verify(signature, message, key)

    def strict_loop() -> None:
        for key, _, signature in triples:
            assert is_strict_point(key) and is_strict_point(signature[:32])

    def subgroup_loop() -> None:
        for _, _, signature in triples:
            assert crypto_core_ed25519_is_valid_point(signature[:32])

    def sign_libsodium() -> None:
        for kp, _, message, _ in cases:
            kp.sign(message)

    def sign_zebra() -> None:
        for _, seed, message, _ in cases:
            ed_sign(seed, message)

    loops: dict[str, Callable[[], None]] = {
        "verify_libsodium": check_all(_libsodium_verify),
        "verify_zebra": zebra_loop,
        "verify_rule": check_all(is_valid_signature),
        "verify_openssl": openssl_loop,
        "byte_checks": strict_loop,
        "subgroup_check_r": subgroup_loop,
        "sign_libsodium": sign_libsodium,
        "sign_zebra": sign_zebra,
    }
    samples: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(rounds):
        for name, loop in loops.items():
            samples[name].append(_timed(loop, n))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000, help="calls per round and operation")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--message-bytes", type=int, default=MESSAGE_BYTES)
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args()
    if args.n < 1 or args.rounds < 1:
        print("bench_signatures: --n and --rounds must be at least 1", file=sys.stderr)
        sys.exit(2)
    load = os.getloadavg()
    us = measure(args.n, args.rounds, args.message_bytes)
    result = {
        "us_per_call": {k: round(v, 2) for k, v in us.items()},
        "verify_speedup_rule_vs_libsodium": round(us["verify_libsodium"] / us["verify_rule"], 3),
        "sign_ratio_zebra_vs_libsodium": round(us["sign_zebra"] / us["sign_libsodium"], 3),
        "n": args.n, "rounds": args.rounds, "message_bytes": args.message_bytes,
        "loadavg_before": [round(x, 2) for x in load],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "machine": platform.machine(), "python": platform.python_version(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name, value in result["us_per_call"].items():
        print(f"{name:18s} {value:8.2f} µs CPU")
    print(f"verify, libsodium / the rule: {result['verify_speedup_rule_vs_libsodium']:.2f}x; "
          f"sign, zebra / libsodium: {result['sign_ratio_zebra_vs_libsodium']:.2f}x; "
          f"load {load[0]:.2f} -> {result['loadavg_after'][0]:.2f}")


if __name__ == "__main__":
    main()
