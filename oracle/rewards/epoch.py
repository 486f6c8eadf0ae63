"""One epoch's rewards, docs/protocol.md §6: pools, shares, reward per share, per-hotspot and
per-wallet amounts, and what rounding leaves unallocated.

Pure: the caller hands in the epoch's beacons (valid, with valid selected witnesses) as
columns (`EpochShares`), the hex density scales and the owners; nothing here reads a clock or
a database. All money is exact: shares are summed as integers of 10^-places (every factor is
a finite decimal) and divided as Fractions; the Decimals it reports are built from those
integers without rounding, so a silent rounding cannot happen and no base unit is lost.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Context, Decimal, Inexact, localcontext
from fractions import Fraction
from functools import partial
from itertools import compress, repeat
from operator import attrgetter
from typing import NamedTuple

import numpy as np

from oracle.density.rounding import fraction_to_decimal, scaled_decimal
from oracle.density.scale import scale_of
from oracle.rewards.model import EpochShares, HotspotOwner, Interner, ShareColumns
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

# A withheld hotspot's rows take this location trust: its shares are 0, so neither counted nor
# sunk (a text no database trust can be, kept apart from a real 0 when `gps_trust` is off).
_WITHHELD_TRUST = "withheld"


def withheld_hotspots(denied: Mapping[bytes, int], end_ms: int) -> frozenset[bytes]:
    """docs/protocol.md §6: of a denylist's {hotspot: expires_ms, 0 = never}, those still
    denied at the epoch's last millisecond, whose shares of the epoch are not paid. Detection
    runs on an epoch's verified reports after its end, so a cheater it denies earns nothing
    for the epoch that gave it away, not only from the next one on; an entry that lapsed
    during the epoch only denied the reports it covered (the verifier's `denied`)."""
    return frozenset(key for key, expires_ms in denied.items()
                     if expires_ms == 0 or expires_ms >= end_ms)


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
    withheld: tuple[bytes, ...] = ()  # denied hotspots that had shares, sorted


def compute_epoch(
    epoch: int,
    shares: EpochShares,
    scales: Mapping[int, Decimal],
    owners: Callable[[bytes], HotspotOwner | None],
    params: RewardParams,
    gps_trust: bool = True,
    share_sink: ShareSink | None = None,
    withheld: frozenset[bytes] = frozenset(),
) -> EpochRewards:
    """Shares → reward per share → floored amounts → per-wallet sums → unallocated.

    share = beaconer's scale × HIP-15 unit (× location trust when `gps_trust`); zero shares
    are neither counted nor passed to `share_sink`. A hotspot the registry does not know (no
    owner) earns nothing: its would-be amount stays unallocated. A `withheld` hotspot's own
    shares are 0 (`withheld_hotspots`); the units of the others are as verified, and the pools
    go to them.

    Speed (1,000,000 hotspots / 10,000,000 shares in seconds): the input is columns of
    hotspot and trust ids, so the per-share work is numpy throughout; Python runs once per
    hotspot (its owner and scale) and once per distinct factor.
    """
    sums = ShareSums()
    keys, trusts = shares.hotspots.values, shares.trusts.values
    trust_factor = np.zeros(0, np.int64)  # the source's trust id → sums.trusts id
    exact_trusts: list[Decimal] = []  # the source's trust id → its Decimal as given
    hotspot_scale = np.zeros(0, np.int64)  # hotspot id → sums.scales id, -1: not looked up
    denied = np.zeros(0, bool)  # hotspot id → withheld
    had_shares = np.zeros(0, bool)  # hotspot id → withheld, and a row of it was zeroed
    zero_trust = int(shares.trusts.ids([_WITHHELD_TRUST])[0]) if withheld else -1
    for batch in shares.batches:
        if len(trust_factor) < len(trusts):
            new = [Decimal(0) if t == _WITHHELD_TRUST else Decimal(t) if gps_trust
                   else Decimal(1) for t in trusts[len(trust_factor):]]
            exact_trusts += new
            trust_factor = np.concatenate([trust_factor, sums.trusts.ids(new)])
        if len(hotspot_scale) < len(keys):
            hotspot_scale = np.concatenate(
                [hotspot_scale, np.full(len(keys) - len(hotspot_scale), -1, np.int64)])
        if withheld:
            if len(denied) < len(keys):
                grown = [key in withheld for key in keys[len(denied):]]
                denied = np.concatenate([denied, np.array(grown, bool)])
                had_shares = np.concatenate([had_shares, np.zeros(len(grown), bool)])
            batch = _withhold(batch, denied, had_shares, zero_trust)
        heard = batch.witness_counts > 0  # docs/protocol.md §5: no witness, no share
        beaconers = batch.beacon_hotspots[heard]
        unknown = np.unique(beaconers[hotspot_scale[beaconers] < 0])
        if len(unknown):  # once per beaconer: its owner, location and scale
            cells = map(_location, map(owners, map(keys.__getitem__, unknown.tolist())))
            hotspot_scale[unknown] = sums.scales.ids(list(map(scale_of, repeat(scales), cells)))
        counts = batch.witness_counts[heard]
        scale_ids = hotspot_scale[beaconers]
        sums.add(beaconers, scale_ids, counts, trust_factor[batch.beacon_trusts[heard]],
                 batch.witness_hotspots, trust_factor[batch.witness_trusts], len(keys))
        if share_sink:
            scale_as_given = [scale_of(scales, _location(owners(keys[i])))
                              for i in beaconers.tolist()]
            _sink_shares(share_sink, batch, heard, keys, scale_as_given, exact_trusts)
    result = _wallet_amounts(epoch, params, sums, keys, owners)
    if not had_shares.any():
        return result
    return replace(result, withheld=tuple(sorted(keys[i] for i in np.flatnonzero(had_shares))))


def _withhold(batch: ShareColumns, denied: np.ndarray, had_shares: np.ndarray,
              zero_trust: int) -> ShareColumns:
    """The batch with every row of a withheld hotspot given the zero trust; notes who had
    rows (a beacon counts only when heard: an unheard beacon has no share to withhold)."""
    b_rows = denied[batch.beacon_hotspots] & (batch.witness_counts > 0)
    w_rows = denied[batch.witness_hotspots]
    if not (b_rows.any() or w_rows.any()):
        return batch
    had_shares[batch.beacon_hotspots[b_rows]] = True
    had_shares[batch.witness_hotspots[w_rows]] = True
    return batch._replace(
        beacon_trusts=np.where(b_rows, zero_trust, batch.beacon_trusts),
        witness_trusts=np.where(w_rows, zero_trust, batch.witness_trusts),
    )


def _location(info: HotspotOwner | None) -> int | None:
    return info.location if info else None


_OWNER_WALLET = attrgetter("owner_wallet")
# HotspotAmount from a row tuple without a Python-level call per hotspot (a million per epoch).
_NEW_AMOUNT = partial(tuple.__new__, HotspotAmount)


def _sink_shares(sink: ShareSink, batch: ShareColumns, heard: np.ndarray, keys: list[bytes],
                 scales: list[Decimal], trusts: list[Decimal]) -> None:
    """Every non-zero share of a batch as the Decimal the store records (exact, its natural
    exponent: each factor as the density map and the source gave it), beaconer first then
    its witnesses; the sums are built from factors of the same values."""
    b_rows = np.flatnonzero(heard).tolist()
    ends = np.cumsum(batch.witness_counts).tolist()
    w_keys = batch.witness_hotspots.tolist()
    w_trusts = batch.witness_trusts.tolist()
    b_trusts = batch.beacon_trusts.tolist()
    b_keys = batch.beacon_hotspots.tolist()
    counts = batch.witness_counts.tolist()
    with localcontext(_EXACT):
        for row, scale in zip(b_rows, scales, strict=True):
            w = counts[row]
            bu, wu = beaconer_unit(w), witness_unit(w)
            trust = trusts[b_trusts[row]]
            share = scale * bu * trust
            if share:
                sink(batch.beacon_reports[row], keys[b_keys[row]], BEACONER, bu, scale, trust,
                     share)
            for j in range(ends[row] - w, ends[row]):
                trust = trusts[w_trusts[j]]
                share = scale * wu * trust
                if share:
                    sink(batch.witness_reports[j], keys[w_keys[j]], WITNESSER, wu, scale,
                         trust, share)


_INT64_SAFE = 1 << 63


class Factors:
    """The distinct values of one factor of a share (scales, or trusts), each as the integer
    of 10^-places, places the most any value seen so far needs. Decimals equal in value
    ("0.2", "0.2000") are one factor here; the share sink records each as given."""

    def __init__(self) -> None:
        self.values: list[Decimal] = []
        self.index: dict[Decimal, int] = {}
        self.ints: list[int] = []
        self.places = 0

    def ids(self, values: list[Decimal]) -> np.ndarray:
        """The ids of `values`, new ones added (`ShareSums.add` widens the sums after)."""
        for v in set(values).difference(self.index):
            n, p = decimal_units(v)
            if p > self.places:
                self.ints = [i * 10 ** (p - self.places) for i in self.ints]
                self.places = p
            self.index[v] = len(self.values)
            self.values.append(v)
            self.ints.append(n * 10 ** (self.places - p))
        return np.fromiter(map(self.index.__getitem__, values), np.int64, len(values))


class ShareSums:
    """Exact per-hotspot sums of shares (scale × unit × trust), as integers of 10^-places,
    indexed by hotspot id.

    places = scale places + UNIT_PLACES + trust places, the most any factor seen so far needs
    (a factor with more places widens them and multiplies every sum by 10^k, exactly). Sums
    are numpy int64 while a bound on every product and sum (largest factors × rows so far)
    stays below 2^63, and Python ints in object arrays from then on: never a wrapped or
    rounded share.
    """

    def __init__(self) -> None:
        self.scales = Factors()
        self.trusts = Factors()
        self.dtype: type = np.int64
        self.beacon = np.zeros(0, self.dtype)
        self.witness = np.zeros(0, self.dtype)
        self.beacon_seen = np.zeros(0, bool)  # a non-zero beaconer share was added
        self.witness_seen = np.zeros(0, bool)
        self.share_count = 0
        self._places = (0, 0)  # (scale, trust) places the sums are kept at
        self._rows = 0
        self._units: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64),) * 2

    @property
    def places(self) -> int:
        return self._places[0] + UNIT_PLACES + self._places[1]

    def add(self, beaconers: np.ndarray, scale_ids: np.ndarray, counts: np.ndarray,
            beacon_trusts: np.ndarray, witnesses: np.ndarray, witness_trusts: np.ndarray,
            hotspots: int, units: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """One batch of beacons (beaconer id, scale id, witness count, trust id) and their
        witnesses (hotspot id, trust id; grouped by beacon); `hotspots` ids exist in all.
        Units are HIP-15's for each witness count unless given per beacon (× 10^4)."""
        self._widen()
        self._grow(hotspots)
        self._rows += len(beaconers) + len(witnesses)
        if not len(beaconers):
            return
        self._check_bound(self._rows)
        dt = self.dtype
        b_unit, w_unit = units if units is not None else self._hip15_units(counts)
        scale = np.array(self.scales.ints, dt)[scale_ids]
        trust = np.array(self.trusts.ints, dt)
        self._add("beacon", "beacon_seen", beaconers,
                  scale * b_unit.astype(dt) * trust[beacon_trusts])
        self._add("witness", "witness_seen", witnesses,
                  np.repeat(scale * w_unit.astype(dt), counts) * trust[witness_trusts])

    def _hip15_units(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """HIP-15's (beaconer, witness) unit × 10^4 for every beacon's witness count."""
        top = int(counts.max())
        if top >= len(self._units[0]):
            ws = range(top + 1)
            self._units = (np.array([_unit_int(beaconer_unit(w)) for w in ws], np.int64),
                           np.array([_unit_int(witness_unit(w)) for w in ws], np.int64))
        return self._units[0][counts], self._units[1][counts]

    def _widen(self) -> None:
        """Keep the sums at the places the factors now need (×10^k, exact)."""
        wanted = (self.scales.places, self.trusts.places)
        if wanted == self._places:
            return
        factor = 10 ** (sum(wanted) - sum(self._places))
        self._check_bound(self._rows)  # the widened sums stay within the new bound
        self.beacon *= factor
        self.witness *= factor
        self._places = wanted

    def _check_bound(self, rows: int) -> None:
        """Python ints from now on unless every product and sum of `rows` shares provably
        fits in int64."""
        largest = (max(map(abs, self.scales.ints), default=1) * 2 * 10**UNIT_PLACES
                   * max(map(abs, self.trusts.ints), default=1))
        if self.dtype is not object and largest * max(rows, 1) >= _INT64_SAFE:
            self._to_objects()

    def _grow(self, size: int) -> None:
        if size <= len(self.beacon):
            return
        size = max(size, 2 * len(self.beacon))
        for name in ("beacon", "witness", "beacon_seen", "witness_seen"):
            old = getattr(self, name)
            grown = np.zeros(size, old.dtype)
            grown[: len(old)] = old
            setattr(self, name, grown)

    def _add(self, name: str, seen: str, ids: np.ndarray, values: np.ndarray) -> None:
        nonzero = values != 0
        if not nonzero.all():
            ids, values = ids[nonzero], values[nonzero]
        self.share_count += len(ids)
        np.add.at(getattr(self, name), ids, values)
        getattr(self, seen)[ids] = True

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
    oracles' `rewarder_poc_dc` and `reward_share.rs` tests), run through the same code: each
    share is a beacon with scale = the share, unit 1 and trust 1 (a witness share: the only
    witness of a beacon whose own unit is 0)."""
    sums = ShareSums()
    hotspots: Interner[bytes] = Interner()
    one, unit = sums.trusts.ids([Decimal(1)])[0], 10**UNIT_PLACES
    for witness, shares in ((False, beacon_shares), (True, witness_shares)):
        n = len(shares)
        ids = hotspots.ids(list(shares))
        scale_ids = sums.scales.ids(list(shares.values()))
        trusts = np.full(n, one, np.int64)
        b_unit = np.full(n, 0 if witness else unit, np.int64)
        w_unit = np.full(n, unit if witness else 0, np.int64)
        counts = np.full(n, 1 if witness else 0, np.int64)
        sums.add(ids, scale_ids, counts, trusts, ids if witness else ids[:0],
                 trusts if witness else trusts[:0], len(hotspots), (b_unit, w_unit))
    sums.share_count = share_count
    return _wallet_amounts(epoch, params, sums, hotspots.values, owners)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Build a million records without Python's cyclic collector: they hold no cycles, yet
    each full collection would walk every object built so far (1.4 s of the 3 s this pass
    takes for 1,000,000 hotspots). Restored as it was, whatever happens."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@_collector_paused()
def _wallet_amounts(
    epoch: int,
    params: RewardParams,
    sums: ShareSums,
    keys: list[bytes],
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
    seen = np.flatnonzero(sums.beacon_seen | sums.witness_seen)
    seen_keys = list(map(keys.__getitem__, seen.tolist()))
    order = np.array(sorted(range(len(seen_keys)), key=seen_keys.__getitem__), np.int64)
    ids = seen[order]
    b_shares, w_shares = sums.beacon[ids].astype(object), sums.witness[ids].astype(object)
    b_amounts = (b_shares * b_q) // div  # Python ints, shares >= 0: // floors
    w_amounts = (w_shares * w_q) // div
    # A hotspot the registry does not know earns nothing: its amounts stay unallocated.
    columns = [list(map(seen_keys.__getitem__, order.tolist()))]
    columns.append(list(map(owners, columns[0])))
    known = [info is not None for info in columns[1]]
    columns += [b_amounts.tolist(), w_amounts.tolist(), b_shares.tolist(), w_shares.tolist()]
    if not all(known):
        columns = [list(compress(column, known)) for column in columns]
    keys, infos, b_list, w_list, bs_list, ws_list = columns
    owner_wallets = list(map(_OWNER_WALLET, infos))
    hotspots = tuple(map(_NEW_AMOUNT, zip(
        keys, owner_wallets, b_list, w_list, bs_list, ws_list, repeat(places))))
    # Every amount is at most its pool, < 2^63, and so is any sum of them (≤ the emission):
    # the per-wallet sums are exact in int64.
    paid = np.array(b_list, np.int64) + np.array(w_list, np.int64)
    wallet_ids: Interner[bytes] = Interner()
    per_wallet = np.zeros(0, np.int64)
    if len(paid):
        by_wallet = wallet_ids.ids(owner_wallets)
        per_wallet = np.zeros(len(wallet_ids), np.int64)
        np.add.at(per_wallet, by_wallet, paid)
    total_paid = int(per_wallet.sum())
    wallets = {w: a for w, a in zip(wallet_ids.values, per_wallet.tolist(), strict=True) if a}
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
