"""A small verified network written into a real oracle store, for the rewards tests.

Hotspots and reports go through the Repository's own methods; verdicts are written with SQL
into oracle-core's `verdicts` table (what the verification runner would store), so the
rewards adapter reads exactly the rows it reads in production.
"""

from __future__ import annotations

from decimal import Decimal

from oracle.rewards.model import epoch_bounds_ms
from oracle.storage.repository import NewReport, Registration
from pocnet import geo
from pocnet.wire import registry_pb2

EPOCH = 20_000
START_MS, END_MS = epoch_bounds_ms(EPOCH)
WALLET_1, WALLET_2 = bytes(range(32)), bytes(range(1, 33))
# Four hotspots ~10 km apart around Berlin: each alone in its hexes (scale 1).
PLACES = {"A": (52.50, 13.30), "B": (52.60, 13.40), "C": (52.40, 13.50), "D": (52.55, 13.60)}
OWNER = {"A": WALLET_1, "B": WALLET_1, "C": WALLET_2, "D": WALLET_2}
MAKER = b"\x01" + b"M" * 32


def key(name: str) -> bytes:
    return b"\x01" + name.encode() * 32


def rid(name: str) -> bytes:
    return name.encode().ljust(32, b"#")


def seed(repo, pending: int = 0) -> None:
    """A's beacon heard by B, C (valid, selected) and D (invalid); B's beacon heard by A
    (location trust 0.25). `pending` beacons stay unverified."""
    repo.put_maker(MAKER, "seed maker", len(PLACES), 0)
    for n, name in enumerate(PLACES):
        cell = geo.latlng_to_cell(*PLACES[name], 12)
        repo.apply_assertion(
            Registration(key(name), OWNER[name], cell, 0, 0, "full", "EU868", 1, START_MS - n,
                         MAKER),
            b"raw",
            START_MS - n,
        )
    t0 = START_MS + 3_600_000
    reports = [
        NewReport(rid("bA"), "beacon", key("A"), t0, b"raw", ready_ms=t0),
        NewReport(rid("bB"), "beacon", key("B"), t0 + 10, b"raw", ready_ms=t0),
    ]
    reports += [
        NewReport(rid(f"p{i}"), "beacon", key("C"), t0 + 100 + i, b"raw", ready_ms=t0)
        for i in range(pending)
    ]
    repo.insert_reports(reports)
    verdicts = [
        # report, kind, hotspot, beacon, received, valid, selected, trust, passed, witnesses
        ("bA", 0, "A", None, t0, 1, 1, "1", 1, 3),
        ("wB", 1, "B", "bA", t0 + 1, 1, 1, "1", 1, 0),
        ("wC", 1, "C", "bA", t0 + 2, 1, 1, "1", 1, 0),
        ("wD", 1, "D", "bA", t0 + 3, 0, 0, "1", 0, 0),
        ("bB", 0, "B", None, t0 + 10, 1, 1, "1", 1, 1),
        ("wA", 1, "A", "bB", t0 + 11, 1, 1, "0.25", 1, 0),
    ]
    with repo.transaction() as tx:
        for r, kind, h, b, at, valid, sel, trust, passed, wits in verdicts:
            tx.execute(
                "INSERT INTO verdicts (report_id, kind, hotspot_key, beacon_id, received_ms, "
                "valid, reason, selected, location_trust, passed_regular, witnesses, detail, "
                "verified_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rid(r), kind, key(h), rid(b) if b else None, at, valid,
                 None if valid else 11, sel, trust, passed, wits, "", at + 60_000),
            )
        tx.execute(
            "UPDATE reports SET status = 'verified' WHERE id IN (?, ?)", (rid("bA"), rid("bB"))
        )



def deny(repo, version: int, *names: str, expires_ms: int = 0) -> None:
    """Store a denylist version as the registry does, the signed update's bytes as raw (what
    the rewards read), denying `names` until `expires_ms` (0: never)."""
    keys = [key(n) for n in names]
    update = registry_pb2.DenylistUpdate(version=version, hotspots=keys)
    update.denials.extend(registry_pb2.Denial(hotspot_key=k, reason="test",
                                              expires_at_ms=expires_ms) for k in keys)
    repo.replace_denylist(version, b"\x01" + b"O" * 32, keys, [], update.SerializeToString(),
                          START_MS, [(k, "test", "", expires_ms) for k in keys])

# docs/protocol.md §6 by hand for E = 1_000_000_000 (pools: beacons 160_000_000, witnesses
# 640_000_000, operations and oracles 70_000_000 each):
#   beacon bA, w = 2 (B, C): A beacon share 1 × 0.5 × 1 = 0.5; B, C witness shares 1 each.
#   beacon bB, w = 1 (A):    B beacon share 1 × 0.25 × 1 = 0.25; A witness share 1 × 1 × 0.25.
#   beacon rps  = 160_000_000 / 0.75 = 213333333.333333333333333
#     A: floor(106666666.6666666666666665) = 106_666_666; B: floor(53333333.33..) = 53_333_333
#   witness rps = 640_000_000 / 2.25 = 284444444.444444444444444
#     B, C: 284_444_444 each; A: floor(71111111.111111111111111) = 71_111_111
EMISSION = 1_000_000_000
EXPECTED = {
    "A": (106_666_666, 71_111_111),
    "B": (53_333_333, 284_444_444),
    "C": (0, 284_444_444),
}
EXPECTED_WALLETS = {
    WALLET_1: 106_666_666 + 71_111_111 + 53_333_333 + 284_444_444,
    WALLET_2: 284_444_444,
}
EXPECTED_PAID = sum(EXPECTED_WALLETS.values())
EXPECTED_UNALLOCATED = EMISSION - EXPECTED_PAID - 140_000_000
BEACON_RPS = Decimal("213333333.333333333333333")
