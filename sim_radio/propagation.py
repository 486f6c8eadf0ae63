"""Path-loss models of the simulated mesh, each fitted on a stated range, plus per-link shadowing.

Every model says where it was measured or derived (its `Validity`). The public
`median_loss_db(..., strict=True)` refuses inputs outside that range with `ModelRangeError`, so
a scenario cannot silently use a model where it means nothing. The mesh evaluates millions of
links at once and calls with `strict=False`: the formula is then extrapolated (and never allowed
below free space), and `Validity.contains` lets callers count how many links that concerned.

Shadowing is a Gaussian in dB that depends only on (seed, the two antennas): the same link gives
the same loss every round and in both directions, as a building between two roofs does. All
functions take numpy arrays so one call covers every candidate receiver of a beacon.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

Floats = NDArray[np.float64]

SPEED_OF_LIGHT_M_S = 299_792_458.0  # exact, SI definition of the metre
FREE_SPACE_DB_PER_DECADE = 20.0  # Friis: power falls with the square of the distance

# Splitmix64 constants (Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
# OOPSLA 2014): a cheap, well-mixed 64-bit hash that numpy can run over whole arrays.
_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
SHADOW_STREAM = 0x5AD0


class ModelRangeError(ValueError):
    """A distance, frequency or antenna height outside the range a model was fitted on."""


@dataclass(frozen=True)
class Validity:
    """The box of inputs a model was measured or derived on (bounds inclusive)."""

    min_distance_m: float
    max_distance_m: float
    min_freq_hz: float
    max_freq_hz: float
    # Antenna heights only matter to the Hata family; None means "not a parameter".
    base_height_m: tuple[float, float] | None = None
    mobile_height_m: tuple[float, float] | None = None

    def contains(self, distance_m: ArrayLike) -> NDArray[np.bool_]:
        d = np.asarray(distance_m, dtype=np.float64)
        return (d >= self.min_distance_m) & (d <= self.max_distance_m)

    def check(
        self,
        name: str,
        distance_m: ArrayLike,
        freq_hz: float,
        base_height_m: ArrayLike | None = None,
        mobile_height_m: ArrayLike | None = None,
    ) -> None:
        d = np.asarray(distance_m, dtype=np.float64)
        if d.size and not self.contains(d).all():
            raise ModelRangeError(
                f"{name}: distance {_span(d)} m outside "
                f"{self.min_distance_m:g}–{self.max_distance_m:g} m"
            )
        if not self.min_freq_hz <= freq_hz <= self.max_freq_hz:
            raise ModelRangeError(
                f"{name}: frequency {freq_hz / 1e6:g} MHz outside "
                f"{self.min_freq_hz / 1e6:g}–{self.max_freq_hz / 1e6:g} MHz"
            )
        for label, value, bounds in (
            ("base antenna height", base_height_m, self.base_height_m),
            ("mobile antenna height", mobile_height_m, self.mobile_height_m),
        ):
            if bounds is None or value is None:
                continue
            h = np.asarray(value, dtype=np.float64)
            if h.size and ((h < bounds[0]) | (h > bounds[1])).any():
                raise ModelRangeError(
                    f"{name}: {label} {_span(h)} m outside {bounds[0]:g}–{bounds[1]:g} m"
                )


def _span(values: Floats) -> str:
    lo, hi = float(values.min()), float(values.max())
    return f"{lo:g}" if lo == hi else f"{lo:g}..{hi:g}"


def fspl_db(distance_m: ArrayLike, freq_hz: float) -> Floats:
    """Friis free-space loss, 20·log10(4πdf/c): the same formula as docs/protocol.md §5 rule 11."""
    d = np.asarray(distance_m, dtype=np.float64)
    return 20.0 * np.log10(4.0 * np.pi * d * freq_hz / SPEED_OF_LIGHT_M_S)


@dataclass(frozen=True)
class FreeSpace:
    """Friis free space. Valid in the far field with a clear first Fresnel zone.

    Range: 1 m – 1000 km, 30 MHz – 30 GHz. Below 1 m a LoRa antenna (≤ 0.5 m at ≥ 400 MHz)
    is in its near field (2D²/λ); beyond 1000 km the Earth hides the other end at any mast
    height. Between hotspots it is the best case, which is why the verifier uses it as a bound.
    """

    shadowing_sigma_db: float = 0.0
    name: str = "free-space"
    validity: Validity = Validity(1.0, 1_000_000.0, 30e6, 30e9)

    def median_loss_db(
        self,
        distance_m: ArrayLike,
        freq_hz: float,
        base_height_m: ArrayLike | None = None,
        mobile_height_m: ArrayLike | None = None,
        *,
        strict: bool = True,
    ) -> Floats:
        d = np.asarray(distance_m, dtype=np.float64)
        if strict:
            self.validity.check(self.name, d, freq_hz)
        return fspl_db(np.maximum(d, self.validity.min_distance_m), freq_hz)


@dataclass(frozen=True)
class LogDistance:
    """PL(d) = PL(d0) + 10·n·log10(d/d0), fitted on one measurement campaign.

    The validity box is the campaign's (see the presets). Outside it (strict=False) the line is
    extended, floored at free space so no extrapolation beats physics.
    """

    pl0_db: float
    d0_m: float
    exponent: float
    shadowing_sigma_db: float
    validity: Validity
    name: str = "log-distance"

    def median_loss_db(
        self,
        distance_m: ArrayLike,
        freq_hz: float,
        base_height_m: ArrayLike | None = None,
        mobile_height_m: ArrayLike | None = None,
        *,
        strict: bool = True,
    ) -> Floats:
        d = _distances(self, distance_m, freq_hz, strict)
        loss = self.pl0_db + 10.0 * self.exponent * np.log10(d / self.d0_m)
        return np.maximum(loss, fspl_db(d, freq_hz))


@dataclass(frozen=True)
class LossCurve:
    """A measured median path-loss curve: losses at knot distances, straight lines in
    log-distance between them, the end segments extended beyond; floored at free space.

    Used where one straight log-distance line does not describe the data: the Grenoble fit
    moves one knot per distance band (sim_radio/calibration/fit_grenoble.py). Beyond the
    first and last knots the curve is extended at least as steeply as free space.
    """

    knots_m: tuple[float, ...]
    loss_db: tuple[float, ...]
    shadowing_sigma_db: float
    validity: Validity
    name: str = "loss-curve"

    def median_loss_db(
        self,
        distance_m: ArrayLike,
        freq_hz: float,
        base_height_m: ArrayLike | None = None,
        mobile_height_m: ArrayLike | None = None,
        *,
        strict: bool = True,
    ) -> Floats:
        d = _distances(self, distance_m, freq_hz, strict)
        x = np.log10(np.asarray(self.knots_m))
        y = np.asarray(self.loss_db)
        ld = np.log10(d)
        loss = np.interp(ld, x, y)
        # Beyond the knots the end segments go on, never flatter than free space (20 dB per
        # decade): a fitted curve may be flat where the data was, but not out to any range.
        first = max((y[1] - y[0]) / (x[1] - x[0]), FREE_SPACE_DB_PER_DECADE)
        last = max((y[-1] - y[-2]) / (x[-1] - x[-2]), FREE_SPACE_DB_PER_DECADE)
        loss = np.where(ld < x[0], y[0] + first * (ld - x[0]), loss)
        loss = np.where(ld > x[-1], y[-1] + last * (ld - x[-1]), loss)
        return np.maximum(loss, fspl_db(d, freq_hz))


def _distances(
    model: LogDistance | LossCurve, distance_m: ArrayLike, freq_hz: float, strict: bool
) -> Floats:
    """The distances as an array, checked against the model's box when strict, and at least
    1 m (the formulas take log10 of them)."""
    d = np.asarray(distance_m, dtype=np.float64)
    if strict:
        model.validity.check(model.name, d, freq_hz)
    return np.maximum(d, 1.0)


# Hata, "Empirical formula for propagation loss in land mobile radio services",
# IEEE Trans. Veh. Technol. VT-29(3), 1980, eqs. (4a)-(4c), (5), (6) (f in MHz, d in km,
# heights in m), as restated in Rappaport, "Wireless Communications", 2nd ed., §4.10.3.
# COST 231 final report (Damosso, ed., 1999), §4.4.1 "COST 231-Hata" extends the urban
# formula to 1500–2000 MHz; the suburban and open corrections are Hata's, applied to it too.
HATA_KINDS = ("urban", "metropolitan", "suburban", "open")
HATA_VALIDITY = Validity(
    1_000.0, 20_000.0, 150e6, 2_000e6, base_height_m=(30.0, 200.0), mobile_height_m=(1.0, 10.0)
)
HATA_MAX_FREQ_HZ = 1_500e6  # above this, COST 231-Hata's constants replace Hata's
COST231_METROPOLITAN_CM_DB = 3.0


@dataclass(frozen=True)
class Hata:
    """Okumura-Hata (150–1500 MHz) / COST 231-Hata (1500–2000 MHz) for urban, suburban, open.

    Range: 1–20 km, 150–2000 MHz, base antenna 30–200 m, mobile antenna 1–10 m (Hata 1980; COST
    231). Between two hotspots the taller one is the base. Heights outside the range are clipped
    into it when strict=False; distances are extrapolated and floored at free space.
    """

    kind: str = "urban"
    shadowing_sigma_db: float = 0.0
    validity: Validity = HATA_VALIDITY
    name: str = field(default="")

    def __post_init__(self) -> None:
        if self.kind not in HATA_KINDS:
            raise ModelRangeError(f"hata: unknown kind {self.kind!r} (one of {HATA_KINDS})")
        if not self.name:
            object.__setattr__(self, "name", f"hata-{self.kind}")

    def median_loss_db(
        self,
        distance_m: ArrayLike,
        freq_hz: float,
        base_height_m: ArrayLike | None = None,
        mobile_height_m: ArrayLike | None = None,
        *,
        strict: bool = True,
    ) -> Floats:
        d = np.asarray(distance_m, dtype=np.float64)
        hb = np.asarray(30.0 if base_height_m is None else base_height_m, dtype=np.float64)
        hm = np.asarray(1.5 if mobile_height_m is None else mobile_height_m, dtype=np.float64)
        if strict:
            self.validity.check(self.name, d, freq_hz, hb, hm)
        hb = np.clip(hb, *HATA_VALIDITY.base_height_m)  # type: ignore[misc]
        hm = np.clip(hm, *HATA_VALIDITY.mobile_height_m)  # type: ignore[misc]
        d = np.maximum(d, 1.0)
        loss = hata_loss_db(self.kind, d / 1000.0, freq_hz / 1e6, hb, hm)
        return np.maximum(loss, fspl_db(d, freq_hz))


def hata_loss_db(
    kind: str, d_km: ArrayLike, f_mhz: float, hb_m: ArrayLike, hm_m: ArrayLike
) -> Floats:
    """The Hata / COST 231-Hata formulas, unchecked (callers check the validity box)."""
    d = np.asarray(d_km, dtype=np.float64)
    hb = np.asarray(hb_m, dtype=np.float64)
    hm = np.asarray(hm_m, dtype=np.float64)
    lf = np.log10(f_mhz)
    if kind == "metropolitan" and f_mhz >= 300.0:
        a_hm = 3.2 * np.log10(11.75 * hm) ** 2 - 4.97  # large city, f >= 300 MHz
    elif kind == "metropolitan":
        a_hm = 8.29 * np.log10(1.54 * hm) ** 2 - 1.1  # large city, f < 300 MHz
    else:
        a_hm = (1.1 * lf - 0.7) * hm - (1.56 * lf - 0.8)  # small/medium city
    slope = (44.9 - 6.55 * np.log10(hb)) * np.log10(d)
    if f_mhz <= HATA_MAX_FREQ_HZ / 1e6:
        urban = 69.55 + 26.16 * lf - 13.82 * np.log10(hb) - a_hm + slope
    else:
        cm = COST231_METROPOLITAN_CM_DB if kind == "metropolitan" else 0.0
        urban = 46.3 + 33.9 * lf - 13.82 * np.log10(hb) - a_hm + slope + cm
    if kind == "suburban":
        return urban - 2.0 * np.log10(f_mhz / 28.0) ** 2 - 5.4
    if kind == "open":
        return urban - 4.78 * lf**2 + 18.33 * lf - 40.94
    return urban


PathLossModel = FreeSpace | LogDistance | Hata | LossCurve

# Measured LoRa campaigns, 868 MHz band.
# Bor, Roedig, Voigt, Alonso, "Do LoRa Low-Power Wide-Area Networks Scale?", MSWiM 2016, §3:
# built-up campus (Lancaster), PL(40 m) = 127.41 dB, n = 2.08, σ = 3.57 dB. The campaign spans
# a few hundred metres; we accept 40 m – 1 km.
BOR_2016 = LogDistance(
    pl0_db=127.41,
    d0_m=40.0,
    exponent=2.08,
    shadowing_sigma_db=3.57,
    validity=Validity(40.0, 1_000.0, 863e6, 870e6),
    name="bor2016",
)
# Petäjäjärvi, Mikhaylov, Roivainen, Hänninen, Pettissalo, "On the Coverage of LPWANs: Range
# Evaluation and Channel Attenuation Model for LoRa Technology", ITST 2015, §IV: node on a car
# roof, base station on a mast in Oulu, 14 dBm SF12; PL(1 km) = 128.95 dB, n = 2.32,
# σ = 7.8 dB; receptions up to 15 km on ground.
PETAJAJARVI_2015 = LogDistance(
    pl0_db=128.95,
    d0_m=1_000.0,
    exponent=2.32,
    shadowing_sigma_db=7.8,
    validity=Validity(1_000.0, 15_000.0, 863e6, 870e6),
    name="petajajarvi2015",
)

# Fitted to 38,537 real Helium receptions around Grenoble (CampusIoT, 2021–2023) with the
# HELIUM channel and siting, reception selection included, replayed at the real receivers'
# hourly floors, each sensor's and each well-heard receiver's own loss:
# sim_radio/calibration/fit_grenoble.py prints these numbers; docs/simulator-models.md gives
# the residuals. Loss from the average 14 dBm sensor to the hotspot's antenna port before its
# own siting (entry loss, gain, cable). Nearly flat from 0.7 to 4 km, then 20 dB more from 6.1
# to 8.7 km: received frames look alike up to a few km once floors and both ends are accounted
# for, and little is heard beyond 7.5 km but over the valley from high sites; which links have
# a path at all is the channel's obstruction term (channel.open_path).
GRENOBLE_KNOTS_M = (250.0, 707.0, 1414.0, 2449.0, 3873.0, 6124.0, 8660.0, 12247.0)
GRENOBLE_LOSS_DB = (123.4, 124.6, 125.3, 125.3, 126.3, 130.4, 150.2, 151.4)
GRENOBLE_SIGMA_DB = 4.0
GRENOBLE_2023 = LossCurve(
    knots_m=GRENOBLE_KNOTS_M,
    loss_db=GRENOBLE_LOSS_DB,
    shadowing_sigma_db=GRENOBLE_SIGMA_DB,
    validity=Validity(50.0, 20_000.0, 863e6, 870e6),
    name="grenoble2023",
)

PRESETS: dict[str, Callable[[], PathLossModel]] = {
    "grenoble2023": lambda: GRENOBLE_2023,
    "free-space": FreeSpace,
    "bor2016": lambda: BOR_2016,
    "petajajarvi2015": lambda: PETAJAJARVI_2015,
    "hata-urban": lambda: Hata("urban", shadowing_sigma_db=8.0),
    "hata-metropolitan": lambda: Hata("metropolitan", shadowing_sigma_db=8.0),
    "hata-suburban": lambda: Hata("suburban", shadowing_sigma_db=8.0),
    "hata-open": lambda: Hata("open", shadowing_sigma_db=8.0),
}


def preset(name: str) -> PathLossModel:
    try:
        return PRESETS[name]()
    except KeyError:
        raise ModelRangeError(
            f"unknown propagation preset {name!r} (one of {', '.join(PRESETS)})"
        ) from None


def _splitmix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        z = x + _GOLDEN_GAMMA
        z = (z ^ (z >> np.uint64(30))) * _MIX_1
        z = (z ^ (z >> np.uint64(27))) * _MIX_2
        return z ^ (z >> np.uint64(31))


def stream_base(seed: int, stream: int) -> np.uint64:
    return np.uint64((seed * 0x100000001B3 + stream) & 0xFFFFFFFFFFFFFFFF)


def key_mix(seed: int, keys: ArrayLike, stream: int) -> NDArray[np.uint64]:
    """First half of `link_hash`, per key: the mesh computes it once per node, not per link."""
    return _splitmix(np.asarray(keys, dtype=np.uint64) ^ stream_base(seed, stream))


def link_hash(
    seed: int, a: ArrayLike, b: ArrayLike, stream: int, symmetric: bool = True
) -> NDArray[np.uint64]:
    """A 64-bit hash of (seed, stream, a, b); with `symmetric` the pair is sorted first."""
    ka = np.asarray(a, dtype=np.uint64)
    kb = np.asarray(b, dtype=np.uint64)
    if symmetric:
        ka, kb = np.minimum(ka, kb), np.maximum(ka, kb)
    return _splitmix(key_mix(seed, ka, stream) ^ kb)


def hash_normal(h: NDArray[np.uint64]) -> Floats:
    """Standard normal draws from hashes by Box–Muller on the two 32-bit halves."""
    hi = (h >> np.uint64(32)).astype(np.float64)
    lo = (h & np.uint64(0xFFFFFFFF)).astype(np.float64)
    u1 = (hi + 0.5) / 4294967296.0  # in (0, 1): log never sees 0
    u2 = lo / 4294967296.0
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def shadowing_db(
    seed: int,
    key_a: ArrayLike,
    key_b: ArrayLike,
    sigma_db: float,
    cutoff_sigma: float = 3.0,
    symmetric: bool = True,
) -> Floats:
    """Log-normal shadowing of links a–b in dB, fixed per (seed, antenna pair).

    Truncated at ±cutoff_sigma so the mesh can size its index from a hard best case; at 3σ the
    cut changes 0.27 % of links by construction and none of the statistics that matter here.
    """
    if sigma_db == 0.0:
        return np.zeros(np.broadcast(np.asarray(key_a), np.asarray(key_b)).shape)
    h = link_hash(seed, key_a, key_b, SHADOW_STREAM, symmetric)
    return shadowing_from_hash(h, sigma_db, cutoff_sigma)


def shadowing_from_hash(h: NDArray[np.uint64], sigma_db: float, cutoff_sigma: float) -> Floats:
    return sigma_db * np.clip(hash_normal(h), -cutoff_sigma, cutoff_sigma)


def max_range_m(
    model: PathLossModel,
    max_loss_db: float,
    freq_hz: float,
    base_height_m: float = 30.0,
    mobile_height_m: float = 1.5,
    limit_m: float = 2_000_000.0,
) -> float:
    """The largest distance whose median loss is still ≤ `max_loss_db` (bisection; losses grow
    with distance in every model here). Used to size the mesh's spatial index."""
    lo, hi = 1.0, limit_m

    def loss(d: float) -> float:
        return float(model.median_loss_db(d, freq_hz, base_height_m, mobile_height_m, strict=False))

    if loss(lo) > max_loss_db:
        return 0.0
    if loss(hi) <= max_loss_db:
        return hi
    for _ in range(80):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if loss(mid) <= max_loss_db else (lo, mid)
    return lo
