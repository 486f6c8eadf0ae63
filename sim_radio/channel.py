"""What changes from one reception to the next: fast fading, slow shadowing, the receiver's
noise-plus-interference floor, soft decoding around the demodulation floor, and churn.

The path-loss models (propagation.py) give a link's median; real receptions scatter around it in
time. A `Channel` names how much: a Rician K factor for fading per frame, the share of the
shadowing variance that changes from day to day (people, vehicles, foliage, moved antennas),
the floor a receiver sees on top of thermal noise (its site's interference, plus an hourly
wobble), how sharply decoding fails around the spreading factor's floor, and how often a hotspot
is offline for a day. Every draw is a hash of the seed, the antennas and the event or time slot,
so a run replays exactly whatever order the links are evaluated in.

`STATIC` is the old, frozen world (no fading, a fixed floor, a hard cut at the floor, nobody
offline); `HELIUM` is fitted to the real Grenoble receptions (sim_radio/calibration).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim_radio.propagation import _splitmix, hash_normal, link_hash, stream_base

Floats = NDArray[np.float64]

NS_PER_HOUR = 3_600_000_000_000
NS_PER_DAY = 24 * NS_PER_HOUR
_FADING_I_STREAM = 0xFAD1
_FADING_Q_STREAM = 0xFAD2
_SLOW_SHADOW_STREAM = 0x5105
_NOISE_STREAM = 0x4E01
_DECODE_STREAM = 0xDEC0
_CHURN_STREAM = 0xC4A2
_BLOCK_STREAM = 0xB10C


@dataclass(frozen=True)
class Channel:
    """How receptions vary around a link's median (all in dB unless named otherwise)."""

    name: str
    # Rician K (linear power ratio of the steady path to the scattered ones); 0 = Rayleigh;
    # None = no fading at all.
    rician_k: float | None = None
    # Fading gains above this are clipped, so the mesh can size its index from a best case.
    # A Rician/Rayleigh power gain exceeds +6 dB with probability < 0.2 % at K <= 10.
    fading_max_db: float = 6.0
    # Share of the shadowing variance drawn anew each day (the rest is the pair's for good).
    shadowing_time_share: float = 0.0
    # The receiver's floor above thermal noise: hourly Gaussian wobble around the site's own
    # excess (which population.py draws per hotspot).
    noise_time_sigma_db: float = 0.0
    # Decoding: 50 % at (SF floor + offset), logistic of this scale; None = hard cut at floor.
    decode_offset_db: float = 0.0
    decode_scale_db: float | None = None
    # Probability that a hotspot is offline for a whole day (neither beacons nor hears).
    offline_share: float = 0.0
    # Obstruction: a link of length d has a path at all with probability exp(−d / this), fixed
    # per antenna pair (see open_path); None = every link has one.
    open_path_m: float | None = None

    @property
    def lowest_snr_below_floor_db(self) -> float:
        """How far below the SF's nominal floor a frame can still be decoded (≥ 0)."""
        if self.decode_scale_db is None:
            return max(0.0, -self.decode_offset_db)
        # Beyond DECODE_TAIL_SCALES scales below the 50 % point a frame is never decoded.
        return max(0.0, -(self.decode_offset_db - DECODE_TAIL_SCALES * self.decode_scale_db))

    @property
    def open_path_range_m(self) -> float:
        """Beyond this no link has a path (inf without obstruction): the mesh's index need
        not look further."""
        if self.open_path_m is None:
            return float("inf")
        return OPEN_PATH_TAIL_SCALES * self.open_path_m

    @property
    def fading_best_db(self) -> float:
        return 0.0 if self.rician_k is None else self.fading_max_db


# The logistic is below 1e-3 beyond ln(999) = 6.907 scales; there decode_probability is 0, so
# the mesh may drop those links before drawing (and an exhaustive search agrees with it). Each
# dB of tail widens the mesh's index by ~15 % in area; a 1e-3 chance is lost in the shadowing.
DECODE_TAIL_SCALES = 6.91
# Likewise an open path is below 1e-3 likely beyond 6.91 scales; there it is always blocked, so
# the mesh's index stops at that distance (17 km at 2.5 km).
OPEN_PATH_TAIL_SCALES = 6.91

STATIC = Channel("static")
# Scale of the obstruction term: the description of the real city's witness graph
# (median degree in the tens, most links a few km; docs/simulator-models.md), not a fit to
# data held here. Received-only data (Grenoble) cannot see it: a blocked link is never heard.
OPEN_PATH_M = 2500.0
# Fitted to the Grenoble receptions by sim_radio/calibration/fit_grenoble.py (see
# docs/simulator-models.md for the procedure, the residuals and the assumptions). K = 3:
# mostly indoor, partly obstructed links (ITU-R P.1411 quotes K of a few dB for urban NLOS
# micro-cells); the day-to-day share and the churn are our assumptions, not fits.
HELIUM = Channel(
    "helium",
    rician_k=3.0,
    fading_max_db=6.0,
    shadowing_time_share=0.2,
    noise_time_sigma_db=3.0,
    decode_offset_db=-2.0,
    decode_scale_db=1.0,
    offline_share=0.1,
    open_path_m=OPEN_PATH_M,
)
CHANNELS = {c.name: c for c in (STATIC, HELIUM)}


def hash_uniform(h: NDArray[np.uint64]) -> Floats:
    """Uniform draws in [0, 1) from the top 53 bits of hashes."""
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _event_hash(
    seed: int, tx: ArrayLike, rx: ArrayLike, events: ArrayLike, stream: int
) -> NDArray[np.uint64]:
    h = link_hash(seed, tx, rx, stream, symmetric=False)
    return _splitmix(h ^ np.asarray(events, dtype=np.uint64))


def fading_db(
    channel: Channel, seed: int, tx: ArrayLike, rx: ArrayLike, events: ArrayLike
) -> Floats:
    """Power gain of the fast fading of each reception, in dB, clipped at fading_max_db.

    Rician: the received field is a steady component of power K/(K+1) plus a circular complex
    Gaussian of power 1/(K+1), so the mean power gain is 1 (0 dB) and K = 0 is Rayleigh.
    """
    shape = np.broadcast(np.asarray(tx), np.asarray(rx), np.asarray(events)).shape
    if channel.rician_k is None:
        return np.zeros(shape)
    k = channel.rician_k
    i = hash_normal(_event_hash(seed, tx, rx, events, _FADING_I_STREAM))
    q = hash_normal(_event_hash(seed, tx, rx, events, _FADING_Q_STREAM))
    scatter = np.sqrt(0.5 / (k + 1.0))
    power = (np.sqrt(k / (k + 1.0)) + scatter * i) ** 2 + (scatter * q) ** 2
    return np.minimum(10.0 * np.log10(np.maximum(power, 1e-12)), channel.fading_max_db)


def day_of(time_ns: ArrayLike) -> NDArray[np.uint64]:
    return (np.asarray(time_ns, dtype=np.int64) // NS_PER_DAY).astype(np.uint64)


def slow_normal(
    seed: int, first_mix: NDArray[np.uint64], second: NDArray[np.uint64], day: ArrayLike
) -> Floats:
    """The day's standard normal of each link (inputs as Mesh.shadowing_db hashes them)."""
    h = _splitmix(first_mix ^ second ^ stream_base(seed, _SLOW_SHADOW_STREAM))
    return hash_normal(_splitmix(h ^ np.asarray(day, dtype=np.uint64)))


def noise_wobble_db(channel: Channel, seed: int, rx_keys: ArrayLike, time_ns: ArrayLike) -> Floats:
    """The hourly part of each receiver's noise-plus-interference floor, in dB."""
    if channel.noise_time_sigma_db == 0.0:
        return np.zeros(np.broadcast(np.asarray(rx_keys), np.asarray(time_ns)).shape)
    hour = (np.asarray(time_ns, dtype=np.int64) // NS_PER_HOUR).astype(np.uint64)
    h = link_hash(seed, rx_keys, hour, _NOISE_STREAM, symmetric=False)
    return channel.noise_time_sigma_db * hash_normal(h)


def decode_probability(channel: Channel, snr_db: ArrayLike, floor_db: ArrayLike) -> Floats:
    """Chance a frame at this SNR is decoded, given its SF's nominal demodulation floor."""
    margin = np.asarray(snr_db, dtype=np.float64) - np.asarray(floor_db, dtype=np.float64)
    margin = margin - channel.decode_offset_db
    if channel.decode_scale_db is None:
        return (margin >= 0.0).astype(np.float64)
    x = margin / channel.decode_scale_db
    p = 1.0 / (1.0 + np.exp(-np.clip(x, -50.0, 50.0)))
    return np.where(x < -DECODE_TAIL_SCALES, 0.0, p)


def decoded(
    channel: Channel,
    snr_db: ArrayLike,
    floor_db: ArrayLike,
    seed: int,
    tx: ArrayLike,
    rx: ArrayLike,
    events: ArrayLike,
) -> NDArray[np.bool_]:
    """Which receptions the radio decodes: a seeded draw against decode_probability."""
    p = decode_probability(channel, snr_db, floor_db)
    if channel.decode_scale_db is None:
        return p >= 1.0
    return hash_uniform(_event_hash(seed, tx, rx, events, _DECODE_STREAM)) < p


def open_path(
    channel: Channel, seed: int, key_a: ArrayLike, key_b: ArrayLike, distance_m: ArrayLike
) -> NDArray[np.bool_]:
    """Whether each link has a path at all: between two mostly indoor hotspots in a city most
    pairs are separated by whole buildings (ITU-R P.1411 and 3GPP TR 38.901 give the chance of
    an unobstructed path as falling off exponentially with distance). A blocked link is never
    received, whatever the shadowing; the draw is fixed per antenna pair and symmetric, as the
    buildings are."""
    d = np.asarray(distance_m, dtype=np.float64)
    if channel.open_path_m is None:
        return np.ones(np.broadcast(np.asarray(key_a), np.asarray(key_b), d).shape, dtype=bool)
    u = hash_uniform(link_hash(seed, key_a, key_b, _BLOCK_STREAM))
    scales = d / channel.open_path_m
    return (scales <= OPEN_PATH_TAIL_SCALES) & (u < np.exp(-scales))


def online(channel: Channel, seed: int, node_keys: ArrayLike, time_ns: ArrayLike):
    """Whether each hotspot is up on the day of `time_ns` (churn: one draw per node and day)."""
    keys = np.asarray(node_keys, dtype=np.uint64)
    if channel.offline_share == 0.0:
        return np.ones(np.broadcast(keys, np.asarray(time_ns)).shape, dtype=bool)
    h = link_hash(seed, keys, day_of(time_ns), _CHURN_STREAM, symmetric=False)
    return hash_uniform(h) >= channel.offline_share
