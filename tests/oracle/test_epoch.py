"""Epoch rewards (docs/protocol.md §6): the split, shares, reward per share, floors and the
unallocated remainder, with amounts worked out by hand in each test."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest

from oracle.rewards.epoch import (
    BEACONER,
    WITNESSER,
    RewardParams,
    amounts_from_shares,
    compute_epoch,
    reward_per_share,
    split_emission,
    withheld_hotspots,
)
from oracle.rewards.model import (
    BeaconInput,
    HotspotOwner,
    WitnessInput,
    epoch_bounds_ms,
    shares_from_beacons,
)

ONE = Decimal(1)
W1, W2 = b"\x01" * 32, b"\x02" * 32


def key(name: str) -> bytes:
    return b"\x01" + name.encode().ljust(32, b".")


def owners(**locations: int | None):
    table = {
        key("A"): HotspotOwner(key("A"), W1, locations.get("A", 1)),
        key("B"): HotspotOwner(key("B"), W1, 2),
        key("C"): HotspotOwner(key("C"), W2, 3),
        key("D"): HotspotOwner(key("D"), W2, 4),
    }
    return table.get


def wit(name: str, trust: str = "1") -> WitnessInput:
    return WitnessInput(b"w" + name.encode(), key(name), Decimal(trust))


def test_epoch_is_24h_from_midnight_utc() -> None:
    assert epoch_bounds_ms(20_000) == (1_728_000_000_000, 1_728_086_400_000)


def test_split_of_the_emission() -> None:
    # E = 1_000_000_003: beacons 6 % + 20 % of the unused 50 % = 16 % -> exactly 160_000_000.48,
    # divided as it is (docs/protocol.md §6: never rounded first); the manifest's whole-unit field
    # is its floor. Witnesses 24 % + 80 % of 50 % = 64 % -> 640_000_001.92; operations and oracles
    # 7 % -> 70_000_000.21, paid whole (70_000_000); the rest is unallocated.
    pools = split_emission(RewardParams(emission=1_000_000_003))
    assert (pools.beacons_exact, pools.witnesses_exact) == (
        Fraction("160000000.48"), Fraction("640000001.92"))
    assert (pools.beacons, pools.witnesses) == (160_000_000, 640_000_001)
    assert (pools.operations, pools.oracles) == (70_000_000, 70_000_000)
    # With data transfer paid 100 of its 500 (E=1000), 400 unused: beacons 60 + 80, witnesses
    # 240 + 320.
    pools = split_emission(RewardParams(emission=1000, data_transfer_used=100))
    assert (pools.beacons_exact, pools.witnesses_exact) == (140, 560)
    assert (pools.beacons, pools.witnesses) == (140, 560)


def test_reward_per_share_rounds_to_15_places_half_even() -> None:
    assert str(reward_per_share(640, Decimal(3))) == "213.333333333333333"
    assert str(reward_per_share(2, Decimal(3))) == "0.666666666666667"
    assert reward_per_share(5, Decimal(0)) == 0
    # 1/(2·10^15) = 0.0000000000000005: a tie at the 15th place rounds to even (0).
    assert reward_per_share(1, Decimal("2E15")) == Decimal("0E-15")


def test_one_beacon_three_witnesses_exact_amounts() -> None:
    # E = 1001: beacon pool exactly 160.16, witness pool 640.64, operations 70 (of 70.07),
    # oracles 70. Beacon by A (scale 1, trust 1) with w = 3 witnesses B, C, D (trust 1):
    #   beaconer unit 3/4 = 0.75 -> A share 0.75; witness unit 1 -> shares 1, 1, 1.
    #   beacon rps = 160.16 / 0.75 = 213.5466… -> 213.546666666666667 (15 dp), A gets
    #     floor(213.546666666666667 × 0.75) = floor(160.16000000000000025) = 160;
    #   witness rps = 640.64 / 3 = 213.546666666666667, each witness floor(...) = 213.
    # Paid 160 + 3 × 213 = 799; unallocated = 1001 − 799 − 70 − 70 = 62.
    # Wallets: W1 owns A, B: 160 + 213 = 373; W2 owns C, D: 426.
    # (Flooring the pools first, as pocnet once did, paid A 159.)
    scales = {1: Decimal("1.0000")}
    beacon = BeaconInput(b"bA", key("A"), ONE, (wit("B"), wit("C"), wit("D")))
    shares: list[tuple] = []
    result = compute_epoch(
        5, shares_from_beacons([beacon]), scales, owners(), RewardParams(emission=1001),
        share_sink=lambda *row: shares.append(row),
    )
    assert str(result.beacon_reward_per_share) == "213.546666666666667"
    assert str(result.witness_reward_per_share) == "213.546666666666667"
    amounts = {h.key: (h.beacon_amount, h.witness_amount) for h in result.hotspots}
    assert amounts == {key("A"): (160, 0), key("B"): (0, 213), key("C"): (0, 213),
                       key("D"): (0, 213)}
    assert result.wallets == ((W1, 373), (W2, 426))
    assert (result.total_paid, result.unallocated) == (799, 62)
    assert result.total_paid + result.pools.operations + result.pools.oracles \
        + result.unallocated == result.emission
    kinds = sorted((r[2], r[1]) for r in shares)
    assert kinds == [(BEACONER, key("A")), (WITNESSER, key("B")), (WITNESSER, key("C")),
                     (WITNESSER, key("D"))]


def test_scale_trust_and_missing_scale() -> None:
    # A's cell has no scale (not interactive): 0.2. Beacon w = 2: units beaconer 0.5,
    # witness 1. Shares: A 0.2 × 0.5 × trust 0.5 = 0.05; B 0.2 × 1 × 1 = 0.2;
    # C 0.2 × 1 × 0.25 = 0.05.
    # E = 1000: beacon pool 160 -> rps 160/0.05 = 3200 -> A 160.
    # Witness pool 640 / 0.25 = 2560 -> B 512, C 128. Paid 800, unallocated 1000-800-140 = 60.
    beacon = BeaconInput(b"bA", key("A"), Decimal("0.5"), (wit("B"), wit("C", "0.25")))
    shares: list[tuple] = []
    result = compute_epoch(1, shares_from_beacons([beacon]), {}, owners(),
                           RewardParams(emission=1000), share_sink=lambda *row: shares.append(row))
    by_key = {h.key: h for h in result.hotspots}
    assert by_key[key("A")].beacon_shares == Decimal("0.05")
    assert by_key[key("C")].witness_shares == Decimal("0.05")
    assert (by_key[key("A")].beacon_amount, by_key[key("B")].witness_amount,
            by_key[key("C")].witness_amount) == (160, 512, 128)
    assert result.unallocated == 60
    assert [r[4] for r in shares] == [Decimal("0.2")] * 3  # scale passed along


def test_withheld_are_those_denied_through_the_epochs_last_millisecond() -> None:
    _, end = epoch_bounds_ms(5)
    denied = {key("A"): 0, key("B"): end, key("C"): end - 1, key("D"): end + 1}
    # never expires, expires at the end (still denied at end - 1), lapsed at end - 1, later
    assert withheld_hotspots(denied, end) == {key("A"), key("B"), key("D")}
    assert withheld_hotspots({}, end) == frozenset()


def test_a_withheld_hotspot_earns_nothing_and_its_pool_goes_to_the_rest() -> None:
    # The case above (E = 1001, A beacons, B, C, D witness) with B denied: B's witness share is
    # 0; the units stay as verified (w = 3: beaconer 0.75, witness 1). Beacon pool 160.16 to A
    # as before (160). Witness pool 640.64 over C and D's 2 shares: rps 320.32, 320 each.
    # Paid 160 + 640 = 800; unallocated 1001 - 800 - 140 = 61. W1 (A, B) 160, W2 (C, D) 640.
    beacon = BeaconInput(b"bA", key("A"), ONE, (wit("B"), wit("C"), wit("D")))
    shares: list[tuple] = []
    result = compute_epoch(
        5, shares_from_beacons([beacon]), {1: Decimal("1.0000")}, owners(),
        RewardParams(emission=1001), share_sink=lambda *row: shares.append(row),
        withheld=frozenset({key("B"), key("D") + b"x"}),
    )
    assert str(result.witness_reward_per_share) == "320.320000000000000"
    amounts = {h.key: (h.beacon_amount, h.witness_amount) for h in result.hotspots}
    assert amounts == {key("A"): (160, 0), key("C"): (0, 320), key("D"): (0, 320)}
    assert result.wallets == ((W1, 160), (W2, 640))
    assert (result.total_paid, result.unallocated) == (800, 61)
    assert result.withheld == (key("B"),)  # a denied key with no share is not listed
    assert key("B") not in {r[1] for r in shares}  # nor is its share stored


def test_a_withheld_beaconer_keeps_its_witnesses_paid_even_without_gps_trust() -> None:
    # A denied: its beacon share is 0 (the beacon pool, with no other share, is unallocated),
    # B, C and D witnessed a real beacon and keep 213 each, as in the case above; with
    # gps_trust off (every trust 1) the withheld share stays 0.
    beacon = BeaconInput(b"bA", key("A"), ONE, (wit("B"), wit("C"), wit("D")))
    for gps_trust in (True, False):
        result = compute_epoch(5, shares_from_beacons([beacon]), {1: Decimal("1.0000")},
                               owners(), RewardParams(emission=1001), gps_trust=gps_trust,
                               withheld=frozenset({key("A")}))
        amounts = {h.key: (h.beacon_amount, h.witness_amount) for h in result.hotspots}
        assert amounts == {key("B"): (0, 213), key("C"): (0, 213), key("D"): (0, 213)}
        assert result.beacon_reward_per_share == 0 and result.withheld == (key("A"),)
        assert result.unallocated == 1001 - 3 * 213 - 140


def test_a_denylist_version_not_stored_is_one_clear_error() -> None:
    from oracle.rewards.errors import DenylistMissing
    from oracle.rewards.source import MemorySource

    source = MemorySource(owners={}, denylists={2: {key("A"): 0}})
    assert source.denylist(None) == (2, {key("A"): 0})
    assert MemorySource(owners={}).denylist(None) == (0, {})
    with pytest.raises(DenylistMissing, match="denylist version 3"):
        source.denylist(3)


def test_gps_trust_off_ignores_trust() -> None:
    beacon = BeaconInput(b"bA", key("A"), Decimal("0.25"), (wit("B", "0.25"),))
    result = compute_epoch(1, shares_from_beacons([beacon]), {1: Decimal("1.0000")}, owners(),
                           RewardParams(emission=1000), gps_trust=False)
    assert {h.key: h.beacon_shares + h.witness_shares for h in result.hotspots} == {
        key("A"): Decimal("0.25"), key("B"): Decimal("1")}


def test_zero_shares_are_not_stored_and_no_witness_earns_nothing() -> None:
    # B's trust is 0: its share is 0, neither counted nor stored; the beacon still has w = 2.
    # A second beacon without witnesses earns nothing.
    beacons = [
        BeaconInput(b"b1", key("A"), ONE, (wit("B", "0"), wit("C"))),
        BeaconInput(b"b2", key("D"), ONE, ()),
    ]
    shares: list[tuple] = []
    result = compute_epoch(1, shares_from_beacons(beacons), {}, owners(),
                           RewardParams(emission=1000), share_sink=lambda *row: shares.append(row))
    assert sorted(r[1] for r in shares) == [key("A"), key("C")]
    assert result.share_count == 2
    assert key("B") not in {h.key for h in result.hotspots}
    assert key("D") not in {h.key for h in result.hotspots}


def test_no_shares_leaves_everything_unallocated_but_operations() -> None:
    result = compute_epoch(1, shares_from_beacons([]), {}, owners(), RewardParams(emission=1000))
    assert result.beacon_reward_per_share == 0 and result.wallets == ()
    assert result.unallocated == 1000 - 70 - 70


def test_unknown_hotspot_is_paid_nothing_and_reported_unallocated() -> None:
    stranger = WitnessInput(b"wx", b"\x01" + b"x" * 32, ONE)
    beacon = BeaconInput(b"bA", key("A"), ONE, (wit("B"), stranger))
    result = compute_epoch(1, shares_from_beacons([beacon]), {}, owners(),
                           RewardParams(emission=1000))
    # witness pool 640 over 2 × 0.2 shares: B 320, the stranger's 320 stay unallocated.
    assert {h.key for h in result.hotspots} == {key("A"), key("B")}
    assert result.total_paid + 140 + result.unallocated == 1000
    assert result.unallocated >= 320


def test_bad_params_are_refused() -> None:
    with pytest.raises(ValueError):
        RewardParams(emission=-1)
    with pytest.raises(ValueError):
        RewardParams(emission=10, operations_pct=Fraction(50))


def test_nothing_is_lost_for_any_input() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    names = "ABCD"
    trusts = st.sampled_from(["0", "0.25", "0.5", "1"])
    witness = st.builds(lambda n, t: wit(n, t), st.sampled_from(names), trusts)
    beacon = st.builds(
        lambda n, t, ws: BeaconInput(b"b", key(n), Decimal(t), tuple(ws)),
        st.sampled_from(names), trusts, st.lists(witness, max_size=14),
    )

    @settings(max_examples=60, deadline=None)
    @given(st.lists(beacon, max_size=8), st.integers(0, 10**15),
           st.dictionaries(st.integers(1, 4), st.sampled_from(["0.0312", "0.5000", "1.0000"])))
    def check(beacons, emission, scales) -> None:
        result = compute_epoch(1, shares_from_beacons(beacons, 3),
                               {k: Decimal(v) for k, v in scales.items()},
                               owners(), RewardParams(emission=emission))
        pools = result.pools
        assert result.total_paid + pools.operations + pools.oracles + result.unallocated \
            == emission
        assert sum(a for _, a in result.wallets) == result.total_paid
        assert sum(h.beacon_amount for h in result.hotspots) <= pools.beacons
        assert sum(h.witness_amount for h in result.hotspots) <= pools.witnesses

    check()


def test_runner_over_a_memory_source() -> None:
    from oracle.density.scale import density_scales
    from oracle.rewards.runner import compute_manifest
    from oracle.rewards.source import MemorySource
    from pocnet import geo

    cells = {n: geo.latlng_to_cell(52.5 + i / 10, 13.4, 12) for i, n in enumerate("ABCD")}
    table = {key(n): HotspotOwner(key(n), W1 if n in "AB" else W2, c) for n, c in cells.items()}
    beacon = BeaconInput(b"bA", key("A"), ONE, (wit("B"), wit("C"), wit("D")))
    source = MemorySource(owners=table, beacon_list=[beacon])
    manifest = compute_manifest(source, 5, RewardParams(emission=1001))
    # Every hotspot alone in its hexes: scale 1, the same amounts as by hand above.
    assert density_scales(list(cells.values()))[cells["A"]] == Decimal("1.0000")
    assert {w.wallet: w.amount for w in manifest.wallets} == {W1: 373, W2: 426}
    assert manifest.unallocated == 62


# --- Helium's published cases -------------------------------------------------------------
# Shares are given per hotspot (scale x unit already multiplied), as Helium's tests seed them;
# `amounts_from_shares` is what compute_epoch hands its summed shares to.

def _helium_case(emission: int, dt_used: int | Fraction,
                 shares: dict[str, tuple[str, str]]) -> dict[str, tuple[int, int]]:
    table = {key(n): HotspotOwner(key(n), W1, 1) for n in shares}
    result = amounts_from_shares(
        1, RewardParams(emission=emission, data_transfer_used=dt_used),
        {key(n): Decimal(b) for n, (b, _) in shares.items() if Decimal(b)},
        {key(n): Decimal(w) for n, (_, w) in shares.items() if Decimal(w)},
        table.get,
    )
    by_key = {h.key: (h.beacon_amount, h.witness_amount) for h in result.hotspots}
    return {n: by_key[key(n)] for n in shares if key(n) in by_key}


# helium/oracles iot_verifier/tests/integrations/rewarder_poc_dc.rs, `test_poc_and_dc_rewards`:
# E = 89_041_095_890_411 bones (`rewards_info_24_hours`); the DC shares' token value exceeds the
# 50 % data-transfer pool, so none of it is unused; PoC shares (hex scale 1.0 x reward unit)
# beacon/witness 1/0, 0/1, 2/0, 0/1.5.
POC_DC_EMISSION = 89_041_095_890_411
POC_DC_SHARES = {"1": ("1.0", "0"), "2": ("0", "1.0"), "3": ("2.0", "0"), "4": ("0", "1.5")}


def test_helium_rewarder_poc_dc_amounts() -> None:
    amounts = _helium_case(POC_DC_EMISSION, POC_DC_EMISSION, POC_DC_SHARES)
    assert amounts == {
        "1": (1_780_821_917_808, 0),
        "2": (0, 8_547_945_205_479),
        "3": (3_561_643_835_616, 0),
        "4": (0, 12_821_917_808_219),  # flooring the pool first gave ...218
    }


def test_helium_rewarder_poc_dc_shares_with_data_transfer_unused() -> None:
    """PROTOCOL's case (no data transfer rewarded): the same shares, pools 16 % and 64 % of E.
    By hand: beacon pool 14_246_575_342_465.76 / 3 shares = 4_748_858_447_488.586…, so
    hotspot 3 gets floor(2 x that) = 9_497_716_894_977 (…976 from a floored pool); witness
    pool 56_986_301_369_863.04 / 2.5 = 22_794_520_547_945.216, hotspot 4 gets
    floor(1.5 x that) = 34_191_780_821_917."""
    amounts = _helium_case(POC_DC_EMISSION, 0, POC_DC_SHARES)
    assert amounts == {
        "1": (4_748_858_447_488, 0),
        "2": (0, 22_794_520_547_945),
        "3": (9_497_716_894_977, 0),
        "4": (0, 34_191_780_821_917),
    }


# helium/oracles iot_verifier/src/reward_share.rs unit tests: E = 618_340_943_683 bones
# (`EMISSIONS_POOL_IN_BONES_10_MINUTES`), shares (beacon, witness) per gateway; gw4 has none.
REWARD_SHARE_EMISSION = 618_340_943_683
REWARD_SHARE_SHARES = {"gw1": ("10", "300"), "gw2": ("200", "550"), "gw3": ("75", "400"),
                       "gw4": ("0", "0"), "gw5": ("20", "700"), "gw6": ("150", "350")}


def test_helium_reward_share_without_data_transfer_distribution() -> None:
    """`test_reward_share_calculation_without_data_transfer_distribution`: DC spent is worth
    more than the data-transfer pool, so none of it is unused."""
    amounts = _helium_case(REWARD_SHARE_EMISSION, REWARD_SHARE_EMISSION, REWARD_SHARE_SHARES)
    assert amounts == {
        "gw1": (815_394_651, 19_356_759_976),
        "gw2": (16_307_893_020, 35_487_393_289),
        "gw3": (6_115_459_882, 25_809_013_301),
        "gw5": (1_630_789_302, 45_165_773_277),
        "gw6": (12_230_919_765, 22_582_886_638),
    }


# The price of both data-transfer cases: 3_590_000 with 8 decimals ($0.0359 per token).
PRICE_PER_BASE_UNIT = Fraction(3_590_000, 10**8) / 10**8


def _dc_token_value(dc: Fraction) -> Fraction:
    """docs/protocol.md §6: DC x $0.00001 / price per base unit, rounded up at 15 dp."""
    return Fraction(math.ceil(dc * Fraction(1, 100_000) / PRICE_PER_BASE_UNIT * 10**15), 10**15)


@pytest.mark.parametrize(
    ("dc_spent", "expected"),
    [
        # `test_reward_share_calculation_fixed_dc_spend_with_transfer_distribution`:
        # 502 + 5000 + 5000 + 50000 DC.
        (Fraction(60_502), {
            "gw1": (2_166_977_856, 51_442_169_996),
            "gw2": (43_339_557_139, 94_310_644_993),
            "gw3": (16_252_333_927, 68_589_559_995),
            "gw5": (4_333_955_713, 120_031_729_992),
            "gw6": (32_504_667_854, 60_015_864_996),
        }),
        # `test_reward_share_calculation_with_data_transfer_distribution`: 55 % of the DC the
        # whole pool is worth (floor(pool x price / $0.00001) = 11_099_219 DC), spent as
        # 10 + 20 + 5 + 20 %.
        (Fraction(11_099_219) * Fraction(55, 100), {
            "gw1": (1_426_940_702, 33_874_331_459),
            "gw2": (28_538_814_050, 62_102_941_009),
            "gw3": (10_702_055_268, 45_165_775_279),
            "gw5": (2_853_881_405, 79_040_106_739),
            "gw6": (21_404_110_537, 39_520_053_369),
        }),
    ],
    ids=["fixed_dc_spend", "with_data_transfer_distribution"],
)
def test_helium_reward_share_with_unused_data_transfer(
    dc_spent: Fraction, expected: dict[str, tuple[int, int]]
) -> None:
    """The unused rest of the data-transfer pool goes 20 % to beacons, 80 % to witnesses."""
    dc_pool = Fraction(REWARD_SHARE_EMISSION, 2)
    assert math.floor(dc_pool * PRICE_PER_BASE_UNIT * 100_000) == 11_099_219
    used = _dc_token_value(dc_spent)
    assert _helium_case(REWARD_SHARE_EMISSION, used, REWARD_SHARE_SHARES) == expected


def test_interner_gives_dense_ids_in_first_seen_order() -> None:
    from oracle.rewards.model import Interner

    table: Interner[bytes] = Interner()
    assert table.ids([b"x", b"y", b"x", b"z", b"y"]).tolist() == [0, 1, 0, 2, 1]
    assert table.ids([b"w", b"z", b"w", b"v"]).tolist() == [3, 2, 3, 4]
    assert table.ids([b"v", b"x"]).tolist() == [4, 0]
    assert table.values == [b"x", b"y", b"z", b"w", b"v"]
    assert len(table) == 5 and table.ids([]).tolist() == []


def test_columns_round_trip_to_the_records() -> None:
    beacons = [
        BeaconInput(b"b1", key("A"), ONE, (wit("B"), wit("C", "0.25"))),
        BeaconInput(b"b2", key("B"), Decimal("0.5"), ()),
        BeaconInput(b"b3", key("C"), ONE, (wit("A", "0.5"),)),
    ]
    assert list(shares_from_beacons(beacons, 2).beacons()) == beacons


def test_the_share_sink_records_each_factor_as_given() -> None:
    # A's cell is in the map at 0.2000, C is off the map (0.2, docs/protocol.md §6 rule 4):
    # equal scales, yet each stored share keeps its own scale and trust text, as the density
    # map and the verdicts gave them ("1" and "1.0" trusts alike).
    beacons = [
        BeaconInput(b"bA", key("A"), ONE, (wit("B", "1.0"),)),
        BeaconInput(b"bC", key("C"), Decimal("1.0"), (wit("D"),)),
    ]
    shares: list[tuple] = []
    compute_epoch(1, shares_from_beacons(beacons), {1: Decimal("0.2000")}, owners(),
                  RewardParams(emission=1000), share_sink=lambda *row: shares.append(row))
    assert [(r[1], str(r[4]), str(r[5]), str(r[6])) for r in shares] == [
        (key("A"), "0.2000", "1", "0.05000000"),  # 0.2000 × 0.2500 × 1
        (key("B"), "0.2000", "1.0", "0.200000000"),  # 0.2000 × 1.0000 × 1.0
        (key("C"), "0.2", "1.0", "0.050000"),
        (key("D"), "0.2", "1", "0.20000"),
    ]
