"""One epoch's rewards, docs/protocol.md §6: pools, shares, reward per share, per-hotspot and
per-wallet amounts, and what rounding leaves unallocated.

Pure: the caller hands in the epoch's beacons (valid, with valid selected witnesses), the
hex density scales and the owners; nothing here reads a clock or a database. All money is
exact: `decimal` under a context that traps any inexact operation, so a silent rounding is
an error, never a lost base unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Context, Decimal, Inexact, localcontext
from fractions import Fraction

from oracle.density.rounding import fraction_to_decimal
from oracle.density.scale import scale_of
from oracle.rewards.model import BeaconInput, HotspotOwner
from oracle.rewards.units import beaconer_unit, witness_unit

RPS_PLACES = 15  # reward per share: 15 decimal places, half to even
# The network's default emission per epoch, in token base units (8 decimals): 10,000,000
# tokens a day. A network parameter: `rewards compute --emission` overrides it, and the
# manifest records the value used.
DEFAULT_EMISSION = 10_000_000 * 10**8
# Wide enough for any sum of 4-dp × 4-dp × trust shares times a 15-dp reward per share.
_EXACT = Context(prec=120, traps=[Inexact])

BEACONER = 0  # rewards_pb2.ShareKind
WITNESSER = 1

ShareSink = Callable[[bytes, bytes, int, Decimal, Decimal, Decimal, Decimal], None]
"""(report_id, hotspot_key, kind, unit, scale, trust, share) for every non-zero share."""


@dataclass(frozen=True)
class RewardParams:
    """The network's reward parameters (docs/protocol.md §6), percentages of the emission."""

    emission: int  # token base units per epoch
    beacons_pct: Fraction = Fraction(6)
    witnesses_pct: Fraction = Fraction(24)
    data_transfer_pct: Fraction = Fraction(50)
    unused_dt_to_beacons_pct: Fraction = Fraction(20)  # the rest (80 %) goes to witnesses
    operations_pct: Fraction = Fraction(7)
    oracles_pct: Fraction = Fraction(7)
    # Token value of the epoch's data transfer (not rewarded yet): docs/protocol.md §6 rounds it up
    # at 15 dp, so it may be a fraction of a base unit.
    data_transfer_used: int | Fraction = 0

    def __post_init__(self) -> None:
        if self.emission < 0 or self.emission >= 1 << 63:
            raise ValueError("emission must fit in 0..2^63-1 base units")
        total = self.beacons_pct + self.witnesses_pct + self.data_transfer_pct
        if total + self.operations_pct + self.oracles_pct > 100:
            raise ValueError("reward percentages add up to more than 100")


@dataclass(frozen=True)
class Pools:
    """The epoch's pools. `beacons_exact` / `witnesses_exact` are what the shares divide
    (docs/protocol.md §6: never rounded first); the whole-unit fields are their floors, as the
    manifest records them, and the operations and oracles pools, which are paid whole."""

    beacons: int
    witnesses: int
    operations: int
    oracles: int
    beacons_exact: Fraction = Fraction(0)
    witnesses_exact: Fraction = Fraction(0)


def split_emission(params: RewardParams) -> Pools:
    """The epoch's pools: exact for beacons and witnesses, floored for operations and oracles
    (what they leave is unallocated)."""
    e = params.emission
    dt_pool = Fraction(e) * params.data_transfer_pct / 100
    unused = max(dt_pool - params.data_transfer_used, Fraction(0))
    to_beacons = unused * params.unused_dt_to_beacons_pct / 100
    beacons = Fraction(e) * params.beacons_pct / 100 + to_beacons
    witnesses = Fraction(e) * params.witnesses_pct / 100 + (unused - to_beacons)
    return Pools(
        beacons=int(beacons),  # Fractions here are >= 0: int() floors
        witnesses=int(witnesses),
        operations=int(Fraction(e) * params.operations_pct / 100),
        oracles=int(Fraction(e) * params.oracles_pct / 100),
        beacons_exact=beacons,
        witnesses_exact=witnesses,
    )


def reward_per_share(pool: int | Fraction, total_shares: Decimal) -> Decimal:
    """pool / total shares rounded to 15 places half to even; 0 when there are no shares.

    `pool` is the exact pool: flooring it first paid up to one base unit less than Helium
    (issue 14; Helium's `rewards_per_share` divides the exact Decimal too)."""
    if total_shares == 0:
        return fraction_to_decimal(Fraction(0), RPS_PLACES)
    return fraction_to_decimal(Fraction(pool) / Fraction(total_shares), RPS_PLACES)


@dataclass(frozen=True)
class HotspotAmount:
    key: bytes
    owner_wallet: bytes
    beacon_shares: Decimal
    witness_shares: Decimal
    beacon_amount: int
    witness_amount: int


@dataclass(frozen=True)
class EpochRewards:
    epoch: int
    emission: int
    pools: Pools
    beacon_reward_per_share: Decimal
    witness_reward_per_share: Decimal
    hotspots: tuple[HotspotAmount, ...]  # sorted by key
    wallets: tuple[tuple[bytes, int], ...]  # (wallet, amount > 0) sorted by wallet
    total_paid: int
    unallocated: int
    share_count: int = field(default=0)


def compute_epoch(
    epoch: int,
    beacons: Iterable[BeaconInput],
    scales: Mapping[int, Decimal],
    owners: Callable[[bytes], HotspotOwner | None],
    params: RewardParams,
    gps_trust: bool = True,
    share_sink: ShareSink | None = None,
) -> EpochRewards:
    """Shares → reward per share → floored amounts → per-wallet sums → unallocated.

    share = beaconer's scale × HIP-15 unit (× location trust when `gps_trust`); zero shares
    are neither counted nor passed to `share_sink`. A hotspot the registry does not know (no
    owner) earns nothing: its would-be amount stays unallocated.
    """
    with localcontext(_EXACT):
        beacon_shares: dict[bytes, Decimal] = {}
        witness_shares: dict[bytes, Decimal] = {}
        scale_cache: dict[bytes, Decimal] = {}
        ws_get = witness_shares.get
        count = 0
        one = Decimal(1)
        for beacon in beacons:
            w = len(beacon.witnesses)
            if w == 0:
                continue  # docs/protocol.md §5: valid but earns nothing
            scale = scale_cache.get(beacon.hotspot_key)
            if scale is None:
                info = owners(beacon.hotspot_key)
                scale = scale_of(scales, info.location if info else None)
                scale_cache[beacon.hotspot_key] = scale
            bu, wu = beaconer_unit(w), witness_unit(w)
            trust = beacon.location_trust if gps_trust else one
            share = scale * bu * trust
            if share:
                key = beacon.hotspot_key
                beacon_shares[key] = beacon_shares.get(key, 0) + share
                count += 1
                if share_sink:
                    share_sink(beacon.report_id, key, BEACONER, bu, scale, trust, share)
            base = scale * wu
            if not base:
                continue
            if share_sink is None and gps_trust:  # the hot path: no sink, trust applies
                for wit in beacon.witnesses:
                    share = base * wit.location_trust
                    if share:
                        key = wit.hotspot_key
                        witness_shares[key] = ws_get(key, 0) + share
                        count += 1
                continue
            for wit in beacon.witnesses:
                trust = wit.location_trust if gps_trust else one
                share = base * trust
                if not share:
                    continue
                key = wit.hotspot_key
                witness_shares[key] = ws_get(key, 0) + share
                count += 1
                if share_sink:
                    share_sink(wit.report_id, key, WITNESSER, wu, scale, trust, share)
        return amounts_from_shares(epoch, params, beacon_shares, witness_shares, owners, count)


def amounts_from_shares(
    epoch: int,
    params: RewardParams,
    beacon_shares: Mapping[bytes, Decimal],
    witness_shares: Mapping[bytes, Decimal],
    owners: Callable[[bytes], HotspotOwner | None],
    share_count: int = 0,
) -> EpochRewards:
    """Each hotspot's summed shares → reward per share → floored amounts → wallets.

    Public so Helium's published cases, which are given as summed shares per hotspot (the
    oracles' `rewarder_poc_dc` and `reward_share.rs` tests), run through the same code."""
    pools = split_emission(params)
    zero = Decimal(0)
    with localcontext(_EXACT):
        b_rps = reward_per_share(pools.beacons_exact, sum(beacon_shares.values(), zero))
        w_rps = reward_per_share(pools.witnesses_exact, sum(witness_shares.values(), zero))
        return _wallet_amounts(epoch, params, pools, b_rps, w_rps, beacon_shares,
                               witness_shares, owners, share_count)


def _wallet_amounts(
    epoch: int,
    params: RewardParams,
    pools: Pools,
    b_rps: Decimal,
    w_rps: Decimal,
    beacon_shares: Mapping[bytes, Decimal],
    witness_shares: Mapping[bytes, Decimal],
    owners: Callable[[bytes], HotspotOwner | None],
    share_count: int,
) -> EpochRewards:
    zero = Decimal(0)
    hotspots: list[HotspotAmount] = []
    wallets: dict[bytes, int] = {}
    total_paid = 0
    for key in sorted(beacon_shares.keys() | witness_shares.keys()):
        info = owners(key)
        if info is None:
            continue
        bs, ws = beacon_shares.get(key, zero), witness_shares.get(key, zero)
        b_amount, w_amount = int(b_rps * bs), int(w_rps * ws)  # >= 0: int() floors
        hotspots.append(HotspotAmount(key, info.owner_wallet, bs, ws, b_amount, w_amount))
        if b_amount + w_amount:
            wallets[info.owner_wallet] = wallets.get(info.owner_wallet, 0) + b_amount + w_amount
            total_paid += b_amount + w_amount
    unallocated = params.emission - total_paid - pools.operations - pools.oracles
    if unallocated < 0:
        raise ArithmeticError("epoch pays out more than its emission")  # a bug, never input
    return EpochRewards(
        epoch=epoch,
        emission=params.emission,
        pools=pools,
        beacon_reward_per_share=b_rps,
        witness_reward_per_share=w_rps,
        hotspots=tuple(hotspots),
        wallets=tuple(sorted(wallets.items())),
        total_paid=total_paid,
        unallocated=unallocated,
        share_count=share_count,
    )
