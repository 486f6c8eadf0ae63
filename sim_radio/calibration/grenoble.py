"""The simulator's radio chain replayed on the real Grenoble receptions, to fit and check it.

The CampusIoT dataset holds only frames that some Helium hotspot received (sim_radio/data), so
its RSSI sits near the sensitivity floor at every distance. Comparing it with a path-loss
model's mean would be wrong; we compare what the simulator would have *received*: for each real
reception, `links` simulated links at its distance and spreading factor from a 14 dBm sensor to
a hotspot sited as the `Siting` draws it, through the model's median loss, shadowing, fading,
the receiver's noise-plus-interference floor and soft decoding (the same `channel` functions
the mesh uses), and keep those decoded. Then per distance band: median RSSI, median SNR and the
SNR's lower tail, real against simulated.

The replay is of the real pairs: each simulated link is heard at the floor the real receiving
hotspot measured in that hour (site_floors), carries its real sensor's own loss
(SENSOR_LOSS_DB) and, for a well-heard hotspot, that hotspot's own installation loss
(RECEIVERS_JSON) instead of a drawn one; each real reception weighs one among the decoded
(frame_weights). Which hotspots hear which distances, how each is installed, and which sensor
sends from where and when, is Grenoble's geography and history; what the model must explain is
what a received frame looks like given that.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pocnet import link
from sim_radio import channel as ch
from sim_radio import reception
from sim_radio.population import Siting, draw_sites
from sim_radio.propagation import PathLossModel, hash_normal, link_hash

UPLINKS = Path(__file__).resolve().parents[1] / "data" / "helium"
UPLINKS_CSV = UPLINKS / "campusiot_helium_uplinks_grenoble.csv.gz"
# The done-when bands of the calibration (km); the data has 13 receptions beyond 15 km.
BANDS_KM = ((0, 0.5), (0.5, 1), (1, 2), (2, 3), (3, 5), (5, 7.5), (7.5, 10), (10, 15))
SENSOR_EIRP_DBM = 14.0  # EU868 end devices (ETSI 25 mW ERP, as the sensors are configured)
FREQ_HZ = 868.1e6
BW_HZ = 125_000
RADIO_KIND = "sx1302"
# Each sensor's own loss (its siting: walls, floors, enclosure) relative to the frame-weighted
# average sensor, fitted with the loss curve by fit_grenoble.py (which prints these). The replay
# adds them; the mesh's hotspot-to-hotspot links carry the average sensor's, i.e. the curve.
SENSOR_LOSS_DB = {
    "ELSYS_EMS_B1C1_PERRET_SOO": -6.7,
    "FTD_20CA0": 2.3,
    "FTD_20CAC_TS": -5.7,
    "FTD_20CBC": 11.8,
    "FTP_20CA0": 6.8,
    "IMST_C727B": 7.3,
}
# Each well-heard receiving hotspot's own loss (its antenna, cable and walls) relative to the
# siting's mean installation, fitted with the curve by fit_grenoble.py (`--write` rewrites it).
RECEIVERS_JSON = Path(__file__).resolve().parent / "grenoble_receivers.json"
_SHADOW_STREAM = 0x6E0B
_RX_OFFSET = np.uint64(1 << 40)


@dataclass(frozen=True)
class Receptions:
    """Rows of received frames: distance, RSSI, SNR, spreading factor."""

    distance_m: NDArray[np.float64]
    rssi_dbm: NDArray[np.float64]
    snr_db: NDArray[np.float64]
    sf: NDArray[np.int64]


def _rows(path: Path) -> list[dict[str, str]]:
    text = gzip.decompress(path.read_bytes()).decode()
    return [row for row in csv.DictReader(io.StringIO(text)) if row["distance_m"]]


def load_hotspot_ids(path: Path = UPLINKS_CSV) -> list[str]:
    """The receiving hotspot of each row of load_real, in the same order."""
    return [row["hotspot_id"] for row in _rows(path)]


def load_sensors(path: Path = UPLINKS_CSV) -> list[str]:
    """The transmitting sensor (the dataset's `endpoint`) of each row of load_real."""
    return [row["endpoint"] for row in _rows(path)]


def load_real(path: Path = UPLINKS_CSV) -> Receptions:
    """The real receptions with a known distance (all of them bar a handful)."""
    d, rssi, snr, sf = [], [], [], []
    for row in _rows(path):
        spreading, _ = link.parse_datarate(row["datarate"])
        d.append(float(row["distance_m"]))
        rssi.append(float(row["rssi_dbm"]))
        snr.append(float(row["snr_db"]))
        sf.append(spreading)
    return Receptions(np.array(d), np.array(rssi), np.array(snr), np.array(sf))


# A hotspot's floor is measured from its frames with a negative SNR (above 0 dB the reported
# SNR saturates); with fewer than this many such frames it stays unknown.
MIN_FLOOR_FRAMES = 5


# An hour's floor replaces the hotspot's where that hour has at least this many such frames.
MIN_HOUR_FLOOR_FRAMES = 5


def load_hours(path: Path = UPLINKS_CSV) -> list[str]:
    """The UTC hour (YYYY-MM-DDTHH) of each row of load_real."""
    return [row["date_utc"][:13] for row in _rows(path)]


@dataclass(frozen=True)
class Floors:
    """Each real reception's receiving-hotspot floor (NaN where unknown) and whether it is that
    hour's own measurement (else the hotspot's median over the campaign)."""

    dbm: NDArray[np.float64]
    hourly: NDArray[np.bool_]


def site_floors(
    real: Receptions, hotspot_ids: list[str], hours: list[str] | None = None
) -> NDArray[np.float64]:
    """The floors of measured_floors, without saying which are hourly."""
    return measured_floors(real, hotspot_ids, hours).dbm


def measured_floors(
    real: Receptions, hotspot_ids: list[str], hours: list[str] | None = None
) -> Floors:
    """Each real reception's receiving-hotspot floor: the median RSSI − SNR over that hotspot's
    frames with a negative SNR (noise plus interference as its radio measured it), NaN for the
    hotspots with fewer than MIN_FLOOR_FRAMES of them.

    With `hours`, an hour in which the hotspot has at least MIN_HOUR_FLOOR_FRAMES such frames
    has that hour's median instead: a real floor moves by 10 dB from one hour or month to the
    next (a neighbour's gateway, traffic on the channel, a moved antenna), and a hotspot's
    frames from a near sensor may all fall in a quiet spell. An hour with strong frames only
    bounds the floor from above (their RSSI − SNR: a reported SNR saturates, it never exceeds
    the true one); where that bound lowers the floor, it is the hour's too."""
    ids = np.array(hotspot_ids)
    floor = real.rssi_dbm - real.snr_db
    neg = real.snr_db < 0
    out = np.full(ids.size, np.nan)
    hourly = np.zeros(ids.size, dtype=bool)
    for rows in _groups(ids):
        m = rows[neg[rows]]
        if m.size >= MIN_FLOOR_FRAMES:
            out[rows] = float(np.median(floor[m]))
    if hours is not None:
        for rows in _groups(np.char.add(np.char.add(ids, "/"), np.array(hours))):
            m = rows[neg[rows]]
            strong = rows[~neg[rows]]
            if m.size >= MIN_HOUR_FLOOR_FRAMES:
                out[rows] = float(np.median(floor[m]))
                hourly[rows] = True
            elif strong.size >= MIN_HOUR_FLOOR_FRAMES:
                # Only strong frames that hour: a reported SNR never exceeds the true one, so
                # RSSI − SNR is at or above the floor: the hour was at least that quiet.
                bound = float(np.median(floor[strong]))
                lower = rows[~(out[rows] <= bound)]  # NaN (unknown) or above the bound
                out[lower] = bound
                hourly[lower] = True
    return Floors(out, hourly)


def _groups(labels: NDArray[np.str_]) -> list[NDArray[np.int64]]:
    """The row indices of each distinct label (one sort, not one scan per label)."""
    _, group = np.unique(labels, return_inverse=True)
    order = np.argsort(group, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(group[order])) + 1)


def sensor_loss_db(sensors: list[str]) -> NDArray[np.float64]:
    """SENSOR_LOSS_DB of each row's sensor (0 for a sensor not in it)."""
    return np.array([SENSOR_LOSS_DB.get(s, 0.0) for s in sensors])


def mean_net_gain_db(siting: Siting) -> float:
    """The siting's mean antenna gain less cable and building entry loss (dB): the average
    hotspot's installation, against which receiver_loss_db is counted. Entry loss is a normal
    clipped at 0 indoors, E[max(X, 0)] = μ·Φ(μ/σ) + σ·φ(μ/σ)."""
    gains = np.array([g for g, _ in siting.gains_dbi])
    shares = np.array([s for _, s in siting.gains_dbi])
    gain = float((gains * shares).sum() / shares.sum())
    mu, sigma = siting.entry_loss_db
    z = mu / sigma
    entry = mu * 0.5 * (1.0 + math.erf(z / math.sqrt(2.0))) + sigma * math.exp(-z * z / 2.0) / (
        math.sqrt(2.0 * math.pi)
    )
    share = siting.indoor_share
    cable = share * float(np.mean(siting.indoor_cable_db)) + (1 - share) * float(
        np.mean(siting.outdoor_cable_db)
    )
    return gain - cable - share * entry


def receiver_losses(hotspot_ids: list[str], path: Path = RECEIVERS_JSON) -> NDArray[np.float64]:
    """Each row's receiving hotspot's own fitted loss (RECEIVERS_JSON; NaN for a hotspot with
    too few frames to have one, whose installation is drawn instead)."""
    fitted = json.loads(path.read_text())["receiver_loss_db"]
    return np.array([fitted.get(h, np.nan) for h in hotspot_ids], dtype=np.float64)


def simulate(
    real: Receptions,
    model: PathLossModel,
    channel: ch.Channel,
    siting: Siting,
    seed: int = 1,
    links: int = 10,
    site_floor_dbm: NDArray[np.float64] | None = None,
    extra_loss_db: NDArray[np.float64] | None = None,
    receiver_loss_db: NDArray[np.float64] | None = None,
    floor_is_hourly: NDArray[np.bool_] | None = None,
) -> tuple[Receptions, NDArray[np.bool_]]:
    """`links` simulated links per real reception; returns them all and which were decoded.

    With `site_floor_dbm` (one per real reception, NaN where unknown; see site_floors) each
    simulated link is heard at the real receiving hotspot's own measured floor instead of a
    floor drawn from the siting: which hotspots hear which distances is the city's geography,
    and a noisy rooftop that hears the 2–3 km band only reports strong frames. Where
    `floor_is_hourly` (measured_floors) says a known floor is that hour's own measurement, no
    hourly wobble is drawn on it; a campaign median gets the wobble as a drawn floor does.

    With `receiver_loss_db` (one per real reception, NaN where unknown; see receiver_losses)
    the receiving hotspot's own installation (gain, cable, walls) is that fixed loss relative to
    the siting's mean instead of a fresh draw per link: a real hotspot's antenna does not change
    from one frame to the next, and which hotspots hear the far bands is the city's layout."""
    d = np.repeat(np.maximum(real.distance_m, 1.0), links)
    sf = np.repeat(real.sf, links)
    n = d.size
    rng = np.random.default_rng([seed, 0x6E0])
    sites = draw_sites(n, siting, rng)
    tx = np.arange(n, dtype=np.uint64)
    rx = tx + _RX_OFFSET
    events = np.zeros(n, np.uint64)
    # Days and hours spread over the campaign so the slow terms vary as they did in it.
    time_ns = rng.integers(0, 700, n) * ch.NS_PER_DAY + rng.integers(0, 24, n) * ch.NS_PER_HOUR
    shadow = model.shadowing_sigma_db * np.clip(
        hash_normal(link_hash(seed, tx, rx, _SHADOW_STREAM)), -3.0, 3.0
    )
    installed = sites.gain_dbi - sites.cable_loss_db - sites.entry_loss_db
    if receiver_loss_db is not None:
        known = np.repeat(receiver_loss_db, links)
        installed = np.where(np.isnan(known), installed, mean_net_gain_db(siting) - known)
    power = (
        SENSOR_EIRP_DBM
        + installed
        - model.median_loss_db(d, FREQ_HZ, strict=False)
        - shadow
        - (0.0 if extra_loss_db is None else np.repeat(extra_loss_db, links))
        + ch.fading_db(channel, seed, tx, rx, events)
    )
    kind = reception.RADIO_KINDS[RADIO_KIND]
    site = reception.noise_floor_dbm(BW_HZ, kind.noise_figure_db) + sites.noise_excess_db
    wobble = ch.noise_wobble_db(channel, seed, rx, time_ns)
    if site_floor_dbm is not None:
        known = np.repeat(site_floor_dbm, links)
        site = np.where(np.isnan(known), site, known)
        if floor_is_hourly is not None:
            wobble = np.where(np.repeat(floor_is_hourly, links), 0.0, wobble)
    floor = site + wobble
    demod = np.array([link.DEMOD_SNR_FLOOR_DB[s] for s in range(7, 13)])[sf - 7]
    ok = ch.decoded(channel, power - floor, demod, seed, tx, rx, events)
    rssi, snr = reception.report(power, BW_HZ, kind, seed, tx, rx, events, floor)
    return Receptions(d, rssi, snr, sf), ok


def frame_weights(ok: NDArray[np.bool_], links: int) -> NDArray[np.float64]:
    """Weights that make each real reception count once among the simulated ones: its `links`
    simulated links share a weight of 1 over those decoded (0 if none was). Without them a
    quiet receiver, which decodes more of its links, would outvote a noisy one, although the
    real data holds the frames each of them actually received."""
    decoded = ok.reshape(-1, links).sum(axis=1)
    return np.where(ok, 1.0 / np.maximum(np.repeat(decoded, links), 1), 0.0)


def weighted_percentile(values: NDArray[np.float64], weights: NDArray[np.float64], q: float):
    """The smallest value whose cumulative weight reaches q % of the total (q in 0..100)."""
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, q / 100.0 * cum[-1])])


@dataclass(frozen=True)
class BandStats:
    band_km: tuple[float, float]
    count: int
    rssi_median: float
    snr_median: float
    snr_p5: float


def band_stats(
    r: Receptions, keep: NDArray[np.bool_] | None = None, weights: NDArray[np.float64] | None = None
) -> list[BandStats]:
    """Per band of BANDS_KM: count, median RSSI, median SNR and 5th percentile of the SNR
    (weighted by `weights` when given, e.g. frame_weights)."""
    keep = np.ones(r.distance_m.size, bool) if keep is None else keep
    w = np.ones(r.distance_m.size) if weights is None else weights
    out = []
    for lo, hi in BANDS_KM:
        m = keep & (r.distance_m >= lo * 1000) & (r.distance_m < hi * 1000) & (w > 0)
        if not m.any():
            out.append(BandStats((lo, hi), 0, float("nan"), float("nan"), float("nan")))
            continue
        out.append(
            BandStats(
                (lo, hi),
                int(m.sum()),
                weighted_percentile(r.rssi_dbm[m], w[m], 50),
                weighted_percentile(r.snr_db[m], w[m], 50),
                weighted_percentile(r.snr_db[m], w[m], 5),
            )
        )
    return out
