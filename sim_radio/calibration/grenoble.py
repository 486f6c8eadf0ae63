"""The simulator's radio chain replayed on the real Grenoble receptions, to fit and check it.

The CampusIoT dataset holds only frames that some Helium hotspot received (sim_radio/data), so
its RSSI sits near the sensitivity floor at every distance. Comparing it with a path-loss
model's mean would be wrong; we compare what the simulator would have *received*: for each real
reception, `links` simulated links at its distance and spreading factor from a 14 dBm sensor to
a hotspot sited as the `Siting` draws it, through the model's median loss, shadowing, fading,
the receiver's noise-plus-interference floor and soft decoding (the same `channel` functions
the mesh uses), and keep those decoded. Then per distance band: median RSSI, median SNR and the
SNR's lower tail, real against simulated.
"""

from __future__ import annotations

import csv
import gzip
import io
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


def simulate(
    real: Receptions,
    model: PathLossModel,
    channel: ch.Channel,
    siting: Siting,
    seed: int = 1,
    links: int = 10,
) -> tuple[Receptions, NDArray[np.bool_]]:
    """`links` simulated links per real reception; returns them all and which were decoded."""
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
    power = (
        SENSOR_EIRP_DBM
        + sites.gain_dbi
        - sites.cable_loss_db
        - sites.entry_loss_db
        - model.median_loss_db(d, FREQ_HZ, strict=False)
        - shadow
        + ch.fading_db(channel, seed, tx, rx, events)
    )
    kind = reception.RADIO_KINDS[RADIO_KIND]
    floor = (
        reception.noise_floor_dbm(BW_HZ, kind.noise_figure_db)
        + sites.noise_excess_db
        + ch.noise_wobble_db(channel, seed, rx, time_ns)
    )
    demod = np.array([link.DEMOD_SNR_FLOOR_DB[s] for s in range(7, 13)])[sf - 7]
    ok = ch.decoded(channel, power - floor, demod, seed, tx, rx, events)
    rssi, snr = reception.report(power, BW_HZ, kind, seed, tx, rx, events, floor)
    return Receptions(d, rssi, snr, sf), ok


@dataclass(frozen=True)
class BandStats:
    band_km: tuple[float, float]
    count: int
    rssi_median: float
    snr_median: float
    snr_p5: float


def band_stats(r: Receptions, keep: NDArray[np.bool_] | None = None) -> list[BandStats]:
    """Per band of BANDS_KM: count, median RSSI, median SNR and 5th percentile of the SNR."""
    keep = np.ones(r.distance_m.size, bool) if keep is None else keep
    out = []
    for lo, hi in BANDS_KM:
        m = keep & (r.distance_m >= lo * 1000) & (r.distance_m < hi * 1000)
        if not m.any():
            out.append(BandStats((lo, hi), 0, float("nan"), float("nan"), float("nan")))
            continue
        out.append(
            BandStats(
                (lo, hi),
                int(m.sum()),
                float(np.median(r.rssi_dbm[m])),
                float(np.median(r.snr_db[m])),
                float(np.percentile(r.snr_db[m], 5)),
            )
        )
    return out
