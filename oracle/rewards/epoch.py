"""One epoch's rewards, docs/protocol.md §6: pools, shares, reward per share, per-hotspot and
per-wallet amounts, and what rounding leaves unallocated.

Pure: the caller hands in the epoch's beacons (valid, with valid selected witnesses), the
hex density scales and the owners; nothing here reads a clock or a database. All money is
exact: shares are summed as integers of 10^-places (every factor is a finite decimal) and
divided as Fractions; the Decimals it reports are built from those integers without rounding,
so a silent rounding cannot happen and no base unit is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Context, Decimal, Inexact, localcontext
from fractions import Fraction
from functools import partial
from itertools import compress, count, repeat
from operator import add, attrgetter
from typing import NamedTuple

import numpy as np

from oracle.density.rounding import fraction_to_decimal, scaled_decimal
from oracle.density.scale import scale_of
from oracle.rewards.model import BeaconInput, HotspotOwner
from oracle.rewards.units import UNIT_PLACES, beaconer_unit, witness_unit

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


def reward_per_share(pool: int | Fraction, total_shares: Decimal | Fraction) -> Decimal:
    """pool / total shares rounded to 15 places half to even; 0 when there are no shares.

    `pool` is the exact pool: flooring it first paid up to one base unit less than Helium
    (issue 14; Helium's `rewards_per_share` divides the exact Decimal too)."""
    if total_shares == 0:
        return fraction_to_decimal(Fraction(0), RPS_PLACES)
    return fraction_to_decimal(Fraction(pool) / Fraction(total_shares), RPS_PLACES)


class HotspotAmount(NamedTuple):
    """One hotspot's amounts. Its summed shares are kept as the exact integer count of
    10^-share_places (a tuple, not a frozen dataclass: an epoch builds a million of them)."""

    key: bytes
    owner_wallet: bytes
    beacon_amount: int
    witness_amount: int
    beacon_units: int
    witness_units: int
    share_places: int

    @property
    def beacon_shares(self) -> Decimal:
        return scaled_decimal(self.beacon_units, self.share_places)

    @property
    def witness_shares(self) -> Decimal:
        return scaled_decimal(self.witness_units, self.share_places)


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

    Speed (1,000,000 hotspots / 10,000,000 shares in seconds): the per-witness work is two
    attribute reads done by `map` in C; shares are multiplied and summed per hotspot by
    `ShareSums` in numpy batches, as exact integers.
    """
    sums = ShareSums()
    scale_cache: dict[bytes, Decimal] = {}
    unit_cache: dict[int, tuple[Decimal, Decimal, int, int]] = {}
    one = Decimal(1)
    batch = _Batch()
    b_keys, b_scales, b_units, b_trusts = (
        batch.b_keys, batch.b_scales, batch.b_units, batch.b_trusts)
    w_counts, w_units, w_keys, w_trusts = (
        batch.w_counts, batch.w_units, batch.w_keys, batch.w_trusts)
    for beacon in beacons:
        witnesses = beacon.witnesses
        w = len(witnesses)
        if w == 0:
            continue  # docs/protocol.md §5: valid but earns nothing
        key = beacon.hotspot_key
        scale = scale_cache.get(key)
        if scale is None:
            info = owners(key)
            scale = scale_cache[key] = scale_of(scales, info.location if info else None)
        units = unit_cache.get(w)
        if units is None:
            bu, wu = beaconer_unit(w), witness_unit(w)
            units = unit_cache[w] = (bu, wu, _unit_int(bu), _unit_int(wu))
        b_keys.append(key)
        b_scales.append(scale)
        b_units.append(units[2])
        b_trusts.append(beacon.location_trust if gps_trust else one)
        w_counts.append(w)
        w_units.append(units[3])
        w_keys.extend(map(_WITNESS_KEY, witnesses))
        w_trusts.extend(map(_WITNESS_TRUST, witnesses) if gps_trust else repeat(one, w))
        if share_sink:
            _sink_shares(share_sink, beacon, scale, units[0], units[1], gps_trust)
        if len(w_keys) >= _BATCH:
            sums.add_batch(batch)
            batch.clear()
    sums.add_batch(batch)
    return _wallet_amounts(epoch, params, sums, owners)


_WITNESS_KEY = attrgetter("hotspot_key")
_OWNER_WALLET = attrgetter("owner_wallet")
# HotspotAmount from a row tuple without a Python-level call per hotspot (a million per epoch).
_NEW_AMOUNT = partial(tuple.__new__, HotspotAmount)
_WITNESS_TRUST = attrgetter("location_trust")
_BATCH = 1 << 17  # witnesses per numpy batch: large enough to amortise, small in memory


def _sink_shares(sink: ShareSink, beacon: BeaconInput, scale: Decimal, bu: Decimal,
                 wu: Decimal, gps_trust: bool) -> None:
    """Every non-zero share of one beacon as the Decimal the store records (exact, its
    natural exponent); the sums are built from the same factors by `ShareSums`."""
    one = Decimal(1)
    with localcontext(_EXACT):
        trust = beacon.location_trust if gps_trust else one
        share = scale * bu * trust
        if share:
            sink(beacon.report_id, beacon.hotspot_key, BEACONER, bu, scale, trust, share)
        for wit in beacon.witnesses:
            trust = wit.location_trust if gps_trust else one
            share = scale * wu * trust
            if share:
                sink(wit.report_id, wit.hotspot_key, WITNESSER, wu, scale, trust, share)


@dataclass
class _Batch:
    """Shares waiting for `ShareSums.add_batch`: one row per beacon (its beaconer share and
    its witnesses' common scale and unit), one per witness (key and trust)."""

    b_keys: list[bytes] = field(default_factory=list)
    b_scales: list[Decimal] = field(default_factory=list)
    b_units: list[int] = field(default_factory=list)  # beaconer unit × 10^UNIT_PLACES
    b_trusts: list[Decimal] = field(default_factory=list)
    w_counts: list[int] = field(default_factory=list)
    w_units: list[int] = field(default_factory=list)  # witness unit × 10^UNIT_PLACES
    w_keys: list[bytes] = field(default_factory=list)
    w_trusts: list[Decimal] = field(default_factory=list)

    def clear(self) -> None:
        for column in (self.b_keys, self.b_scales, self.b_units, self.b_trusts,
                       self.w_counts, self.w_units, self.w_keys, self.w_trusts):
            column.clear()


_INT64_SAFE = 1 << 63


class ShareSums:
    """Exact per-hotspot sums of shares (scale × unit × trust), as integers of 10^-places.

    places = scale places + UNIT_PLACES + trust places, the most any factor seen so far needs
    (a factor with more places widens them and multiplies every sum by 10^k, exactly). Sums
    are numpy int64 while a bound on every product and sum (largest factors × rows so far)
    stays below 2^63, and Python ints in object arrays from then on: never a wrapped or
    rounded share. Hotspots get ids as they first appear.
    """

    def __init__(self) -> None:
        self.index: dict[bytes, int] = {}
        self._next_id = count()
        self.dtype: type = np.int64
        self.beacon = np.zeros(0, self.dtype)
        self.witness = np.zeros(0, self.dtype)
        self.beacon_seen = np.zeros(0, bool)  # a non-zero beaconer share was added
        self.witness_seen = np.zeros(0, bool)
        self.share_count = 0
        self.scale_places = 0
        self.trust_places = 0
        self._scale_ints: dict[Decimal, int] = {}
        self._trust_ints: dict[Decimal, int] = {}
        self._rows = 0
        self._largest = 0  # largest |scale int × unit int × trust int| so far

    @property
    def places(self) -> int:
        return self.scale_places + UNIT_PLACES + self.trust_places

    def add_batch(self, batch: _Batch) -> None:
        if not batch.b_keys:
            return
        self._learn(batch.b_scales, self._scale_ints, "scale_places")
        self._learn(set(batch.b_trusts).union(batch.w_trusts), self._trust_ints, "trust_places")
        n_b, n_w = len(batch.b_keys), len(batch.w_keys)
        self._rows += n_b + n_w
        largest = (max(map(abs, self._scale_ints.values())) * 2 * 10**UNIT_PLACES
                   * max(map(abs, self._trust_ints.values())))
        self._largest = max(self._largest, largest)
        if self.dtype is not object and self._largest * self._rows >= _INT64_SAFE:
            self._to_objects()
        dt = self.dtype
        s_b = np.fromiter(map(self._scale_ints.__getitem__, batch.b_scales), dt, n_b)
        t_b = np.fromiter(map(self._trust_ints.__getitem__, batch.b_trusts), dt, n_b)
        w_counts = np.array(batch.w_counts, np.int64)
        base_w = np.repeat(s_b * np.array(batch.w_units, dt), w_counts)
        t_w = np.fromiter(map(self._trust_ints.__getitem__, batch.w_trusts), dt, n_w)
        ids = self._ids(batch.b_keys)
        self._add("beacon", "beacon_seen", ids, s_b * np.array(batch.b_units, dt) * t_b)
        self._add("witness", "witness_seen", self._ids(batch.w_keys), base_w * t_w)

    def add_decimals(self, witness: bool, shares: Mapping[bytes, Decimal]) -> None:
        """Whole Decimal shares per hotspot (Helium's published cases): each a row with scale
        = the share, unit 1, trust 1; a witness share is the only witness of a beacon whose
        own unit is 0."""
        n, unit, one = len(shares), 10**UNIT_PLACES, Decimal(1)
        batch = _Batch(b_keys=list(shares), b_scales=list(shares.values()),
                       b_units=[0 if witness else unit] * n, b_trusts=[one] * n,
                       w_counts=[1 if witness else 0] * n, w_units=[unit if witness else 0] * n)
        if witness:
            batch.w_keys, batch.w_trusts = batch.b_keys, batch.b_trusts
        self.add_batch(batch)

    def _ids(self, keys: list[bytes]) -> np.ndarray:
        """An id per key: a new key takes the next number of a counter that every lookup
        advances, so one C-level `setdefault` per key does both (ids are unique, not dense:
        at most one per row)."""
        ids = np.fromiter(map(self.index.setdefault, keys, self._next_id), np.int64, len(keys))
        size = int(ids.max()) + 1 if len(ids) else 0
        if size > len(self.beacon):
            size = max(size, 2 * len(self.beacon))
            for name in ("beacon", "witness", "beacon_seen", "witness_seen"):
                old = getattr(self, name)
                grown = np.zeros(size, old.dtype)
                grown[: len(old)] = old
                setattr(self, name, grown)
        return ids

    def _add(self, name: str, seen: str, ids: np.ndarray, values: np.ndarray) -> None:
        nonzero = values != 0
        if not nonzero.all():
            ids, values = ids[nonzero], values[nonzero]
        self.share_count += len(ids)
        np.add.at(getattr(self, name), ids, values)
        getattr(self, seen)[ids] = True

    def _learn(self, values: Iterable[Decimal], ints: dict[Decimal, int], places: str) -> None:
        """Give every new factor its integer; widen the places when one needs more."""
        new = [v for v in set(values) if v not in ints]
        if not new:
            return
        parts = [decimal_units(v) for v in new]
        wanted = max(p for _, p in parts)
        have = getattr(self, places)
        if wanted > have:
            factor = 10 ** (wanted - have)
            self._largest *= factor
            if self.dtype is not object and max(factor, self._largest * self._rows) >= _INT64_SAFE:
                self._to_objects()
            self.beacon *= factor
            self.witness *= factor
            for v in ints:
                ints[v] *= factor
            setattr(self, places, wanted)
            have = wanted
        for v, (n, p) in zip(new, parts, strict=True):
            ints[v] = n * 10 ** (have - p)

    def _to_objects(self) -> None:
        self.dtype = object
        self.beacon = self.beacon.astype(object)
        self.witness = self.witness.astype(object)


def decimal_units(value: Decimal) -> tuple[int, int]:
    """(n, places) with value = n × 10^-places exactly, places ≥ 0."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"not a finite decimal: {value}")
    n = int("".join(map(str, digits)))
    if exponent > 0:
        n, exponent = n * 10**exponent, 0
    return (-n if sign else n), -exponent


def _unit_int(unit: Decimal) -> int:
    n, p = decimal_units(unit)
    if p > UNIT_PLACES:
        raise ValueError(f"a HIP-15 unit has {UNIT_PLACES} places, got {unit}")
    return n * 10 ** (UNIT_PLACES - p)


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
    sums = ShareSums()
    sums.add_decimals(False, beacon_shares)
    sums.add_decimals(True, witness_shares)
    sums.share_count = share_count
    return _wallet_amounts(epoch, params, sums, owners)


def _wallet_amounts(
    epoch: int,
    params: RewardParams,
    sums: ShareSums,
    owners: Callable[[bytes], HotspotOwner | None],
) -> EpochRewards:
    """docs/protocol.md §6 on integers: rps = pool / (Σ shares) at 15 places half to even,
    amount = floor(rps × shares) = (rps·10^15 × shares·10^places) // 10^(15 + places)."""
    pools = split_emission(params)
    places = sums.places
    one = 10**places
    b_rps = reward_per_share(pools.beacons_exact, Fraction(int(sums.beacon.sum()), one))
    w_rps = reward_per_share(pools.witnesses_exact, Fraction(int(sums.witness.sum()), one))
    b_q, w_q = decimal_units(b_rps)[0], decimal_units(w_rps)[0]  # 15 places, as rounded
    div = 10 ** (RPS_PLACES + places)
    seen = sums.beacon_seen | sums.witness_seen
    all_ids = np.fromiter(sums.index.values(), np.int64, len(sums.index))
    keys = sorted(compress(sums.index, seen[all_ids].tolist()))
    ids = np.fromiter(map(sums.index.__getitem__, keys), np.int64, len(keys))
    b_shares, w_shares = sums.beacon[ids].astype(object), sums.witness[ids].astype(object)
    b_amounts = (b_shares * b_q) // div  # Python ints, shares >= 0: // floors
    w_amounts = (w_shares * w_q) // div
    # A hotspot the registry does not know earns nothing: its amounts stay unallocated.
    infos = list(map(owners, keys))
    known = [info is not None for info in infos]
    columns = [keys, infos, b_amounts.tolist(), w_amounts.tolist(), b_shares.tolist(),
               w_shares.tolist()]
    if not all(known):
        columns = [list(compress(column, known)) for column in columns]
    keys, infos, b_list, w_list, bs_list, ws_list = columns
    owner_wallets = list(map(_OWNER_WALLET, infos))
    hotspots = tuple(map(_NEW_AMOUNT, zip(
        keys, owner_wallets, b_list, w_list, bs_list, ws_list, repeat(places))))
    wallets: dict[bytes, int] = {}
    total_paid = 0
    for wallet, amount in zip(owner_wallets, map(add, b_list, w_list), strict=True):
        if amount:
            wallets[wallet] = wallets.get(wallet, 0) + amount
            total_paid += amount
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
        share_count=sums.share_count,
    )
