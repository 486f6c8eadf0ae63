"""Compute an epoch once its data is complete, and store its manifest exactly once.

Complete = the epoch ended at least 45 min ago (docs/protocol.md §5: anything still unverified by
then is stale) and no beacon received in it still waits for a verdict. Computing twice gives
byte-identical manifests; the store refuses one that differs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal

from oracle.density.params import DEFAULT_PARAMS, DensityParams
from oracle.density.scale import density_scales
from oracle.rewards.epoch import RewardParams, ShareSink, compute_epoch, withheld_hotspots
from oracle.rewards.errors import EmptyEpoch, EpochNotReady
from oracle.rewards.manifest import build_manifest
from oracle.rewards.model import DAY_MS, ShareColumns, epoch_bounds_ms
from oracle.rewards.source import COMPLETE_AFTER_MS, INTERACTIVE_WINDOW_MS, EpochSource
from oracle.rewards.store import CHUNK, CLAIM_RENEW_MS, ManifestStore, ShareRow
from pocnet.wire import rewards_pb2

Progress = Callable[[int], None]


@dataclass(frozen=True)
class EpochTiming:
    """How long an epoch lasts and how long after its end its data is complete: PROTOCOL's
    24 h and 45 min by default; a short-epoch test network sets both (`[network] epoch_s`,
    `[verifier] stale_after_s`), since completeness means "anything unverified is stale"."""

    epoch_ms: int = DAY_MS
    complete_after_ms: int = COMPLETE_AFTER_MS


PROTOCOL_TIMING = EpochTiming()


def check_ready(
    source: EpochSource, epoch: int, now_ms: int, timing: EpochTiming = PROTOCOL_TIMING
) -> None:
    start, end = epoch_bounds_ms(epoch, timing.epoch_ms)
    if now_ms < end + timing.complete_after_ms:
        wait_min = (end + timing.complete_after_ms - now_ms + 59_999) // 60_000
        raise EpochNotReady(f"epoch {epoch} is not complete yet: {wait_min} more minutes")
    pending = source.unverified_beacons(start, end)
    if pending:
        raise EpochNotReady(f"epoch {epoch} still has {pending} unverified beacons")


def epoch_scales(
    source: EpochSource, epoch: int, density: DensityParams = DEFAULT_PARAMS,
    epoch_ms: int = DAY_MS,
) -> dict[int, Decimal]:
    """The hex-density scales an epoch pays with: hotspots interactive in the 60 h before its
    end (docs/protocol.md §6). The map shows the same scales the rewards used."""
    _, end = epoch_bounds_ms(epoch, epoch_ms)
    return density_scales(source.interactive_cells(end - INTERACTIVE_WINDOW_MS, end), density)


def compute_manifest(
    source: EpochSource,
    epoch: int,
    params: RewardParams,
    density: DensityParams = DEFAULT_PARAMS,
    gps_trust: bool = True,
    share_sink: ShareSink | None = None,
    progress: Progress | None = None,
    epoch_ms: int = DAY_MS,
    denylist_version: int | None = None,
) -> rewards_pb2.EpochManifest:
    """The epoch's manifest; scales from hotspots interactive in the 60 h before its end;
    shares withheld from the hotspots denylist `denylist_version` (None: the newest) denies
    through the epoch's end. `progress(n)` is told about every batch of n beacons read (a
    progress bar on long epochs)."""
    start, end = epoch_bounds_ms(epoch, epoch_ms)
    version, denied = source.denylist(denylist_version)
    scales = epoch_scales(source, epoch, density, epoch_ms)
    shares = source.shares(start, end)
    if progress is not None:
        shares = replace(shares, batches=_counted(shares.batches, progress))
    result = compute_epoch(
        epoch,
        shares,
        scales,
        source.owner,
        params,
        gps_trust=gps_trust,
        share_sink=share_sink,
        withheld=withheld_hotspots(denied, end),
    )
    return build_manifest(result, version)


def _counted(batches: Iterable[ShareColumns], progress: Progress) -> Iterator[ShareColumns]:
    for batch in batches:
        yield batch
        progress(len(batch.beacon_reports))


def compute_and_store(
    source: EpochSource,
    store: ManifestStore,
    epoch: int,
    params: RewardParams,
    now_ms: int,
    density: DensityParams = DEFAULT_PARAMS,
    gps_trust: bool = True,
    progress: Progress | None = None,
    timing: EpochTiming = PROTOCOL_TIMING,
    allow_empty: bool = False,
) -> tuple[rewards_pb2.EpochManifest, bool]:
    """(manifest, newly stored). Raises EpochNotReady, EmptyEpoch, ManifestMismatch or
    EpochBusy. An epoch without a single share is stored only with `allow_empty`: a manifest
    is stored once, so storing it by mistake (reports not imported yet) could not be undone.

    A stored epoch is recomputed (with the denylist it was paid under) and compared with what
    is stored, the common re-run; nothing is written. A new epoch is read once, under the
    epoch's claim: its non-zero shares stream into the store in chunks while the manifest is
    computed, so memory stays flat, and the manifest row, written last, makes them count
    (shares of a run that stopped before it are discarded by the next run). Before 2026-12-05
    a new epoch was read twice, once for the manifest and once for its shares.
    """
    check_ready(source, epoch, now_ms, timing)
    stored = store.load(epoch)
    if stored is not None:
        manifest = compute_manifest(source, epoch, params, density, gps_trust, None, progress,
                                    timing.epoch_ms, stored.denylist_version)
        store.check_against_stored(manifest)  # ManifestMismatch when it differs
        return manifest, False
    token = store.claim(epoch)  # EpochBusy while another replica stores it
    try:
        store.discard_partial(epoch, token)
        buffer: list[ShareRow] = []
        renewed = [time.monotonic()]

        def keep_claim(beacons: int) -> None:
            # Beacons with no share write nothing: renew by time, so a sparse or huge epoch
            # is not taken for dead between two chunks.
            if time.monotonic() - renewed[0] >= CLAIM_RENEW_MS / 1000:
                store.renew(epoch, token)
                renewed[0] = time.monotonic()
            if progress is not None:
                progress(beacons)

        def sink(
            rid: bytes, key: bytes, kind: int, u: Decimal, s: Decimal, t: Decimal, sh: Decimal
        ) -> None:
            buffer.append((rid, kind, key, u, s, t, sh))
            if len(buffer) >= CHUNK:
                store.add_shares(epoch, buffer, token)
                buffer.clear()

        manifest = compute_manifest(source, epoch, params, density, gps_trust, sink,
                                    keep_claim, timing.epoch_ms)
        if not manifest.hotspots and not allow_empty:
            raise EmptyEpoch(f"epoch {epoch} has no reward share (no valid beacon with a "
                             "witness); storing it would be final: give --allow-empty to store "
                             "it anyway")
        store.add_shares(epoch, buffer, token)
        return manifest, store.save(manifest, now_ms, token)
    finally:
        store.release(epoch, token)
