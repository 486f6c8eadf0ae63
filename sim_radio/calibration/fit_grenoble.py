"""Fit the `grenoble2023` preset, the sensors' and receivers' losses, the decoding rule and the
HELIUM noise floor to the real Grenoble receptions.

    python -m sim_radio.calibration.fit_grenoble [--links 8] [--rounds 40] [--json] [--write]

The replay is of the real pairs (grenoble.py): each simulated link is heard at the floor the
real receiving hotspot measured in that hour (or over the campaign), carries its real sensor's
own loss and, for a hotspot with at least MIN_RECEIVER_FRAMES frames, that hotspot's own
installation loss; each real frame counts once among the decoded. Steps, each printed so
docs/simulator-models.md can quote them:

1. Noise floor. Where the SNR is negative, RSSI − SNR is the floor the receiver measured (noise
   plus interference); above 0 dB the reported SNR saturates and says nothing of the floor. Per
   hotspot (≥ 10 such frames) its median gives the mesh's distribution: their spread across
   hotspots is the site excess's σ, the spread within a hotspot the hourly wobble.
2. Loss curve, sensor and receiver losses. One knot per distance band at the band's geometric
   centre, one constant loss per sensor and per well-heard receiver (each relative to its
   frame-weighted average). Start from Petäjäjärvi 2015 and no end losses, then repeat: replay
   the chain, move each knot by the gap between the simulated and the real received-only
   median RSSI of its band, each end's loss by half the gap of its own median. After each
   round the knots are made non-decreasing with distance (weighted least squares, each band
   weighted by its distinct sensor–hotspot links): a median loss never falls with distance,
   and the mesh sizes its index on it.
3. Shadowing σ: each of a few values is fitted as in 2; the one with the smallest mean band
   gap (RSSI plus SNR, bands weighted by their real count) wins.
4. Soft decoding: the 50 % point below the SF's nominal floor and the logistic's width that
   give the real share of frames reported below the SF12 floor. Steps 2–3 and 4 alternate
   until the rule repeats.

The printed knots, losses and σ are pasted into sim_radio/propagation.py (GRENOBLE_*), the
sensor losses into grenoble.py (SENSOR_LOSS_DB), the decoding rule into sim_radio/channel.py
(HELIUM); `--write` rewrites the receivers' losses (grenoble.RECEIVERS_JSON). The preset is a
fixed point of step 2, which tests/sim_radio/calibration checks in a few seconds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import dataclass, replace

import numpy as np

from pocnet import link
from sim_radio import channel as ch
from sim_radio import population as pop
from sim_radio import propagation as P
from sim_radio import reception
from sim_radio.calibration import grenoble as G

SIGMAS_DB = (4.0, 6.0, 8.0, 10.0)
DECODE_OFFSETS_DB = (-1.0, -2.0, -3.0, -4.0)
DECODE_SCALES_DB = (0.5, 1.0)
DECILES = (10, 25, 50, 75, 90)
STEP_DB = 6.0  # the most one round moves a knot or a sensor
LINKS = 8  # simulated links per real reception
ROUNDS = 40  # fit iterations per σ
DECODE_PASSES = 4  # curve and decoding rule refitted in turn at most this often
MIN_SENSOR_FRAMES = 50  # sensors with fewer real frames keep the average sensor's loss
# An end and the knot of its band both move to close the same gap; the ends move by half of it
# so the two do not overshoot together (a hotspot heard in one band only would oscillate).
END_GAIN = 0.5
MIN_RECEIVER_FRAMES = 30  # hotspots with fewer real frames get a drawn installation


def noise_floor_fit(real: G.Receptions, hotspot_ids: list[str]) -> dict[str, float]:
    """Site excess (mean, σ across hotspots) and hourly wobble σ, above thermal + NF."""
    thermal = float(
        reception.noise_floor_dbm(G.BW_HZ, reception.RADIO_KINDS[G.RADIO_KIND].noise_figure_db)
    )
    floor = real.rssi_dbm - real.snr_db
    ids = np.array(hotspot_ids)
    medians, within = [], []
    for hid in np.unique(ids):
        m = (ids == hid) & (real.snr_db < 0)
        if m.sum() >= 10:
            medians.append(float(np.median(floor[m])))
            within.append(floor[m] - medians[-1])
    spread = np.concatenate(within)
    return {
        "thermal_dbm": thermal,
        "hotspots": len(medians),
        "site_excess_median_db": float(np.median(medians)) - thermal,
        "site_excess_sigma_db": float(np.std(medians)),
        "hourly_sigma_db": float((np.percentile(spread, 84) - np.percentile(spread, 16)) / 2),
    }


def non_decreasing(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted least-squares non-decreasing fit (pool adjacent violators). scipy's
    `optimize.isotonic_regression` does the same; scipy is no dependency of the simulator, and
    eight knots need no more than this."""
    blocks: list[list[float]] = []  # [weighted mean, weight, count]
    for v, w in zip(values.tolist(), weights.tolist(), strict=True):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (v2, w2, n2), (v1, w1, n1) = blocks.pop(), blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return np.array([b[0] for b in blocks for _ in range(int(b[2]))])


@dataclass(frozen=True)
class Offsets:
    """The per-end losses fitted with the curve, each relative to its frame-weighted average:
    one per sensor (replay.sensors' order) and one per well-heard receiving hotspot
    (replay.receivers' order)."""

    sensors: np.ndarray
    receivers: np.ndarray


@dataclass(frozen=True)
class Replay:
    """The real receptions and what the replay conditions on: each row's receiving-hotspot floor
    (grenoble.site_floors), its sensor, and its receiving hotspot when that hotspot has at least
    MIN_RECEIVER_FRAMES frames (receiver_index −1 otherwise: its installation is drawn)."""

    real: G.Receptions
    floors: G.Floors
    sensors: list[str]
    sensor_index: np.ndarray
    receivers: list[str]
    receiver_index: np.ndarray
    hotspot_index: np.ndarray  # every row's receiving hotspot, fitted or not

    @classmethod
    def load(cls) -> Replay:
        real = G.load_real()
        ids = G.load_hotspot_ids()
        names, index = np.unique(np.array(G.load_sensors()), return_inverse=True)
        hs, h_index, h_count = np.unique(np.array(ids), return_inverse=True, return_counts=True)
        kept = np.flatnonzero(h_count >= MIN_RECEIVER_FRAMES)
        remap = np.full(hs.size, -1)
        remap[kept] = np.arange(kept.size)
        floors = G.measured_floors(real, ids, G.load_hours())
        return cls(
            real, floors, names.tolist(), index, hs[kept].tolist(), remap[h_index], h_index
        )

    def band_links(self) -> np.ndarray:
        """Distinct (sensor, receiving hotspot) pairs per band of BANDS_KM: what the monotone
        step weighs a band by. A pair's frames share one path, one shadowing: 1,067 of the
        10–15 km band's 1,087 frames are one sensor heard by one hotspot, one link's evidence."""
        d = self.real.distance_m
        pair = self.sensor_index.astype(np.int64) * 1_000_000 + self.hotspot_index
        return np.array(
            [np.unique(pair[(d >= lo * 1000) & (d < hi * 1000)]).size for lo, hi in G.BANDS_KM],
            dtype=np.float64,
        )

    def zero(self) -> Offsets:
        return Offsets(np.zeros(len(self.sensors)), np.zeros(len(self.receivers)))

    def run(
        self, curve: P.LossCurve, channel: ch.Channel, offsets: Offsets, links: int
    ) -> tuple[G.Receptions, np.ndarray, np.ndarray]:
        """The replay with these end losses: simulated links, decoded, frame weights."""
        fitted = self.receiver_index >= 0
        receiver = np.where(fitted, offsets.receivers[np.maximum(self.receiver_index, 0)], np.nan)
        sim, ok = G.simulate(
            self.real,
            curve,
            channel,
            pop.HELIUM_SITING,
            links=links,
            site_floor_dbm=self.floors.dbm,
            floor_is_hourly=self.floors.hourly,
            extra_loss_db=offsets.sensors[self.sensor_index],
            receiver_loss_db=receiver,
        )
        return sim, ok, G.frame_weights(ok, links)


def _end_step(
    offsets: np.ndarray,
    index: np.ndarray,
    sim: G.Receptions,
    ok: np.ndarray,
    w: np.ndarray,
    real_rssi: np.ndarray,
    links: int,
    min_frames: int,
) -> np.ndarray:
    """One round for one kind of end (sensors or receivers): each moves by the gap between its
    simulated and real received-only median RSSI (at most STEP_DB), then all are re-centred on
    their frame-weighted mean."""
    frames = np.bincount(index[index >= 0], minlength=offsets.size)
    per_link = np.repeat(index, links)
    out = offsets.copy()
    for j in np.flatnonzero(frames >= min_frames):
        m = ok & (per_link == j)
        if m.any():
            got = G.weighted_percentile(sim.rssi_dbm[m], w[m], 50)
            gap = got - np.median(real_rssi[index == j])
            out[j] += np.clip(END_GAIN * gap, -STEP_DB, STEP_DB)
    return out - np.average(out, weights=np.maximum(frames, 1e-9))


def fit_curve(
    replay: Replay,
    sigma_db: float,
    channel: ch.Channel,
    links: int,
    rounds: int,
    start: tuple[tuple[float, ...], Offsets] | None = None,
) -> tuple[P.LossCurve, Offsets]:
    """The loss curve, each sensor's own loss (its siting) and each well-heard receiver's own
    loss (its antenna, cable and walls), moved together until the bands, the sensors and the
    receivers match. From Petäjäjärvi 2015 and no end losses, or from `start` (knot losses,
    offsets): a fitted preset is (nearly) a fixed point, which is how a test checks it."""
    real = replay.real
    bands = G.band_stats(real)
    target = np.array([b.rssi_median for b in bands])
    weights = replay.band_links()
    loss = np.array(P.PETAJAJARVI_2015.median_loss_db(np.array(P.GRENOBLE_KNOTS_M), G.FREQ_HZ,
                                                       strict=False))
    offsets = replay.zero()
    if start is not None:
        loss, offsets = np.array(start[0], dtype=np.float64), start[1]
    curve = replace(P.GRENOBLE_2023, loss_db=tuple(loss), shadowing_sigma_db=sigma_db)
    for _ in range(rounds):
        sim, ok, w = replay.run(curve, channel, offsets, links)
        gap = np.array([b.rssi_median for b in G.band_stats(sim, ok, w)]) - target
        # A band of which nothing was decoded is far too weak: lower its loss by a full step.
        gap = np.where(np.isnan(gap), -STEP_DB, gap)
        offsets = Offsets(
            _end_step(offsets.sensors, replay.sensor_index, sim, ok, w, real.rssi_dbm, links,
                      MIN_SENSOR_FRAMES),
            _end_step(offsets.receivers, replay.receiver_index, sim, ok, w, real.rssi_dbm, links,
                      MIN_RECEIVER_FRAMES),
        )
        if np.all(np.abs(gap) <= 0.5):
            break
        loss = non_decreasing(loss + np.clip(1.2 * gap, -STEP_DB, STEP_DB), weights)
        curve = replace(curve, loss_db=tuple(float(x) for x in np.round(loss, 1)))
    return curve, Offsets(np.round(offsets.sensors, 1), np.round(offsets.receivers, 1))


def residuals(
    replay: Replay, curve: P.LossCurve, channel: ch.Channel, offsets: Offsets, links: int
) -> tuple[list[dict], np.ndarray, dict[str, float]]:
    """Per band real and simulated medians, pooled RSSI decile gaps, share below SF12's floor."""
    real = replay.real
    sim, ok, w = replay.run(curve, channel, offsets, links)
    rows = []
    for r, s in zip(G.band_stats(real), G.band_stats(sim, ok, w), strict=True):
        rows.append(
            {
                "band_km": list(r.band_km),
                "real_n": r.count,
                "rssi_real": r.rssi_median,
                "rssi_sim": s.rssi_median,
                "snr_real": r.snr_median,
                "snr_sim": s.snr_median,
                "snr_p5_real": r.snr_p5,
                "snr_p5_sim": s.snr_p5,
            }
        )
    floor = link.DEMOD_SNR_FLOOR_DB[12]
    pooled = np.array([G.weighted_percentile(sim.rssi_dbm[ok], w[ok], q) for q in DECILES])
    pooled -= np.percentile(real.rssi_dbm, DECILES)
    below = {
        "real": float((real.snr_db < floor).mean()),
        "sim": float(w[ok][sim.snr_db[ok] < floor].sum() / w[ok].sum()),
    }
    return rows, pooled, below


def _best_sigma(
    replay: Replay, channel: ch.Channel, weights: np.ndarray, links: int, rounds: int
) -> tuple[P.LossCurve, Offsets]:
    """Step 3: each σ of SIGMAS_DB fitted as in step 2; the smallest mean band gap (RSSI plus
    SNR, bands weighted by their real count) wins."""
    best = None
    for sigma in SIGMAS_DB:
        curve, offsets = fit_curve(replay, sigma, channel, links, rounds)
        rows, _, _ = residuals(replay, curve, channel, offsets, links)
        gaps = np.abs([r["rssi_sim"] - r["rssi_real"] for r in rows])
        gaps += np.abs([r["snr_sim"] - r["snr_real"] for r in rows])
        score = float((gaps * weights).sum() / weights.sum())
        if best is None or score < best[0]:
            best = (score, curve, offsets)
    return best[1], best[2]  # type: ignore[index]


def _decoding(
    replay: Replay, curve: P.LossCurve, channel: ch.Channel, offsets: Offsets, links: int
) -> ch.Channel:
    """Step 4: the 50 % point and width that give the real share of SNR below the floor."""
    fits = []
    for offset, scale in itertools.product(DECODE_OFFSETS_DB, DECODE_SCALES_DB):
        trial = replace(channel, decode_offset_db=offset, decode_scale_db=scale)
        _, _, below = residuals(replay, curve, trial, offsets, links)
        fits.append((abs(below["sim"] - below["real"]), offset, scale))
    _, offset, scale = min(fits)
    return replace(channel, decode_offset_db=offset, decode_scale_db=scale)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--links", type=int, default=LINKS, help="simulated links per reception")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="fit iterations per σ")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--write", action="store_true", help=f"rewrite {G.RECEIVERS_JSON.name} with the fit"
    )
    args = parser.parse_args(argv)
    if args.links < 1 or args.rounds < 1:
        print("fit_grenoble: --links and --rounds must be at least 1", file=sys.stderr)
        return 2
    replay = Replay.load()
    real = replay.real
    noise = noise_floor_fit(real, G.load_hotspot_ids())
    weights = np.array([b.count for b in G.band_stats(real)], dtype=np.float64)
    # The curve is fitted under a decoding rule and the rule chosen given the curve, so the two
    # alternate from a fixed start (the previous fit's −3 dB, 1 dB) until the rule repeats.
    channel = replace(ch.HELIUM, decode_offset_db=-3.0, decode_scale_db=1.0)
    for _ in range(DECODE_PASSES):
        curve, offsets = _best_sigma(replay, channel, weights, args.links, args.rounds)
        chosen = _decoding(replay, curve, channel, offsets, args.links)
        if chosen == channel:
            break
        channel = chosen
    offset, scale = channel.decode_offset_db, channel.decode_scale_db
    rows, pooled, below = residuals(replay, curve, channel, offsets, args.links)
    result = {
        "noise": noise,
        "knots_m": list(curve.knots_m),
        "loss_db": list(curve.loss_db),
        "shadowing_sigma_db": curve.shadowing_sigma_db,
        "sensor_loss_db": dict(zip(replay.sensors, offsets.sensors.tolist(), strict=True)),
        "receiver_loss_db": dict(zip(replay.receivers, offsets.receivers.tolist(), strict=True)),
        "decode_offset_db": offset,
        "decode_scale_db": scale,
        "bands": rows,
        "pooled_rssi_decile_gap_db": dict(
            zip(map(str, DECILES), pooled.round(2).tolist(), strict=True)
        ),
        "snr_below_sf12_floor_share": below,
    }
    if args.write:
        G.RECEIVERS_JSON.write_text(
            json.dumps({"receiver_loss_db": result["receiver_loss_db"]}, indent=1, sort_keys=True)
            + "\n"
        )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"noise floor: {json.dumps({k: round(v, 2) for k, v in noise.items()})}")
    print(f"GRENOBLE_KNOTS_M = {tuple(curve.knots_m)}")
    print(f"GRENOBLE_LOSS_DB = {tuple(curve.loss_db)}")
    print(f"GRENOBLE_SIGMA_DB = {curve.shadowing_sigma_db}")
    print(f"sensor losses (dB, vs the frame-weighted average sensor): {result['sensor_loss_db']}")
    spread = float(np.std(offsets.receivers))
    where = f"written to {G.RECEIVERS_JSON.name}" if args.write else "--write to keep them"
    print(f"receiver losses: {offsets.receivers.size} hotspots, σ {spread:.1f} dB ({where})")
    print(f"decode_offset_db={offset}, decode_scale_db={scale}")
    print("band km     n_real  RSSI real/sim   SNR real/sim   SNR P5 real/sim")
    for r in rows:
        print(
            f"{r['band_km'][0]:>4}-{r['band_km'][1]:<5} {r['real_n']:>6}  "
            f"{r['rssi_real']:7.1f} {r['rssi_sim']:7.1f}  {r['snr_real']:6.1f} {r['snr_sim']:6.1f}"
            f"  {r['snr_p5_real']:6.1f} {r['snr_p5_sim']:6.1f}"
        )
    print(f"pooled RSSI decile gaps (sim − real): {result['pooled_rssi_decile_gap_db']}")
    print(f"share of SNR below the SF12 floor: {below}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
