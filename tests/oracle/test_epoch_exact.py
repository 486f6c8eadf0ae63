"""The epoch engine against a straightforward reading of docs/protocol.md §6 on a large random
epoch: every hotspot's amounts, the rewards per share, the wallets and the unallocated rest
must agree to the base unit.

The reference below is written from the protocol text alone, one share at a time, in exact
`Fraction`s: share = beaconer's scale × HIP-15 unit × trust, with the units from the
protocol's formulas (rounded to 4 places half to even), reward per share = pool / Σ shares
rounded to 15 places half to even, amount = floor(rps × Σ shares of the hotspot). It shares
no code with oracle/rewards (only the input records).
"""

from __future__ import annotations

import math
import random
from decimal import Decimal
from fractions import Fraction

import pytest

from oracle.rewards.epoch import RewardParams, compute_epoch
from oracle.rewards.model import BeaconInput, HotspotOwner, WitnessInput, shares_from_beacons

MISSING = Fraction(1, 5)  # §6 rule 4: a hotspot missing from the map gets 0.2


def _round(value: Fraction, places: int) -> Fraction:
    """Half to even at `places` decimals."""
    scaled = value * 10**places
    low = math.floor(scaled)
    rest = scaled - low
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and low % 2 == 1):
        low += 1
    return Fraction(low, 10**places)


def _units(w: int) -> tuple[Fraction, Fraction]:
    """(beaconer unit, witness unit) by docs/protocol.md §6's formulas."""
    if w == 0:
        return Fraction(0), Fraction(0)
    if w <= 4:
        return _round(Fraction(w, 4), 4), Fraction(1)
    decay = Fraction(4, 5) ** (w - 4)
    return _round(min(Fraction(2), 2 - decay), 4), _round((4 - (1 - decay)) / w, 4)


def reference(beacons, scales, owners, emission):
    beacon_sh: dict[bytes, Fraction] = {}
    witness_sh: dict[bytes, Fraction] = {}
    for b in beacons:
        w = len(b.witnesses)
        info = owners.get(b.hotspot_key)
        if info is None or info.location is None or info.location not in scales:
            scale = MISSING
        else:
            scale = Fraction(scales[info.location])
        bu, wu = _units(w)
        share = scale * bu * Fraction(b.location_trust)
        if share:
            beacon_sh[b.hotspot_key] = beacon_sh.get(b.hotspot_key, 0) + share
        for wit in b.witnesses:
            share = scale * wu * Fraction(wit.location_trust)
            if share:
                witness_sh[wit.hotspot_key] = witness_sh.get(wit.hotspot_key, 0) + share
    # Pools with data transfer unused: beacons 6 % + 20 % of 50 %, witnesses 24 % + 80 % of 50 %.
    pools = (Fraction(emission) * 16 / 100, Fraction(emission) * 64 / 100)
    rps = []
    for pool, sh in zip(pools, (beacon_sh, witness_sh), strict=True):
        total = sum(sh.values(), Fraction(0))
        rps.append(_round(pool / total, 15) if total else Fraction(0))
    amounts = {}
    for key in beacon_sh.keys() | witness_sh.keys():
        if key in owners:
            amounts[key] = (math.floor(rps[0] * beacon_sh.get(key, 0)),
                            math.floor(rps[1] * witness_sh.get(key, 0)))
    paid = sum(a + b for a, b in amounts.values())
    unallocated = emission - paid - 2 * (emission * 7 // 100)
    return rps, amounts, paid, unallocated


def random_epoch(seed: int, hotspots: int, beacon_count: int, trusts: list[str]):
    rng = random.Random(seed)
    keys = [b"\x01" + rng.randbytes(32) for _ in range(hotspots)]
    wallets = [rng.randbytes(32) for _ in range(hotspots // 3 + 1)]
    owners = {}
    for i, k in enumerate(keys):
        if rng.random() < 0.03:
            continue  # not in the registry: earns nothing
        location = None if rng.random() < 0.05 else 0x8C00000000000000 + i
        owners[k] = HotspotOwner(k, rng.choice(wallets), location)
    scales = {
        0x8C00000000000000 + i: Decimal(rng.randrange(0, 10_001)) / 10_000
        for i in range(hotspots) if rng.random() < 0.9
    }
    trust_values = [Decimal(t) for t in trusts]
    beacons = []
    for n in range(beacon_count):
        w = rng.choice([0, 1, 2, 3, 4, 5, 7, 9, 11, 14, 14, 14])
        heard = tuple(
            WitnessInput(b"w%d.%d" % (n, j), rng.choice(keys), rng.choice(trust_values))
            for j in range(w)
        )
        beacons.append(
            BeaconInput(b"b%d" % n, rng.choice(keys), rng.choice(trust_values), heard))
    return beacons, scales, owners


def check_against_reference(beacons, scales, owners, emission, batch_beacons: int) -> None:
    # Several batches of columns: hotspots and trusts first seen in a later batch, places
    # widened as new factors appear.
    shares = shares_from_beacons(beacons, batch_beacons)
    result = compute_epoch(7, shares, scales, owners.get, RewardParams(emission=emission))
    rps, amounts, paid, unallocated = reference(beacons, scales, owners, emission)
    assert Fraction(result.beacon_reward_per_share) == rps[0]
    assert Fraction(result.witness_reward_per_share) == rps[1]
    got = {h.key: (h.beacon_amount, h.witness_amount) for h in result.hotspots}
    assert got == amounts
    assert result.total_paid == paid
    assert result.unallocated == unallocated
    wallets: dict[bytes, int] = {}
    for key, (b, w) in amounts.items():
        if b + w:
            wallets[owners[key].owner_wallet] = wallets.get(owners[key].owner_wallet, 0) + b + w
    assert dict(result.wallets) == wallets


def test_large_random_epoch_matches_the_protocol_to_the_base_unit() -> None:
    # 20,000 hotspots, ~200,000 shares: beacons with 0..14 witnesses, scales of 4 places (some
    # hotspots unlocated or off the map: 0.2), trusts of §6 (1, 0.5, 0.25, 0); an emission large
    # enough that every floor matters.
    beacons, scales, owners = random_epoch(
        1, 20_000, 26_000, ["1", "1", "1", "0.5", "0.25", "0"])
    assert sum(len(b.witnesses) + 1 for b in beacons) > 200_000
    check_against_reference(beacons, scales, owners, 10_000_000 * 10**8 + 12_345, 1_000)


@pytest.mark.parametrize("trusts", [
    ["1", "0.3", "0.125"],  # places that differ from the scale's
    ["1", "0.5", "1E-30"],  # 4 + 4 + 30 places: the sums outgrow int64 and stay exact
])
def test_random_epochs_with_unusual_trusts(trusts: list[str]) -> None:
    beacons, scales, owners = random_epoch(2, 500, 3_000, trusts)
    check_against_reference(beacons, scales, owners, 2**63 - 1, 250)
