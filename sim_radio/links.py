"""Every (beacon, witness) reception of a run, for researchers: a CSV of the links and the
witness graph's statistics. Used by `pocnet-sim run --links` (no verdicts: the oracle never
ran) and `pocnet-sim epochs --links` (with the oracle's verdict on each report).

CSV columns (one row per witness report a hotspot made, cheats included):
epoch, window, beaconer, witness, true_distance_m (between where the two stand),
asserted_distance_m (between what they asserted), rssi_dbm, snr_db as reported, delivered
(1 = the oracle stored the report; 0 = refused at ingest or never sent; empty = no oracle),
valid (1/0, empty when unknown), reason (the verdict's reason when invalid), flags (the cheats
that made or altered the report, "+"-joined).

The witness graph: a link is a (beaconer, witness) pair with at least one report; a hotspot's
degree is the number of other hotspots it shares a link with (either direction); isolated
hotspots have none.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from numpy.typing import NDArray

from sim_radio.adversaries import FLAG_NAMES, Assignment, WitnessReports
from sim_radio.population import arc_m, to_xyz

COLUMNS = ("epoch", "window", "beaconer", "witness", "true_distance_m", "asserted_distance_m",
           "rssi_dbm", "snr_db", "delivered", "valid", "reason", "flags")
PERCENTILES = (10, 50, 90, 99)


def _positions(lat: Sequence[float], lon: Sequence[float]) -> NDArray[np.float64]:
    return to_xyz(np.asarray(lat, np.float64), np.asarray(lon, np.float64))


def _distance_m(xyz: NDArray[np.float64], a: NDArray[Any], b: NDArray[Any]) -> NDArray[Any]:
    return arc_m(np.linalg.norm(xyz[a] - xyz[b], axis=1))


@dataclass
class LinkLog:
    """Receptions of a run, round by round; verdicts may be attached later by report id."""

    assignment: Assignment
    windows_per_epoch: int = 4
    _parts: list[dict[str, NDArray[Any]]] = field(default_factory=list)
    _ids: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        a = self.assignment
        self._true = _positions([h.lat for h in a.hotspots], [h.lon for h in a.hotspots])
        self._asserted = _positions([c.asserted_lat for c in a.claims],
                                    [c.asserted_lon for c in a.claims])

    def add_round(self, window: int, reports: WitnessReports,
                  report_ids: Sequence[bytes] | None = None) -> None:
        b, w = reports.beaconer.astype(np.int64), reports.witness.astype(np.int64)
        self._parts.append({
            "window": np.full(len(reports), window, np.int64),
            "beaconer": b, "witness": w,
            "true_m": _distance_m(self._true, b, w),
            "asserted_m": _distance_m(self._asserted, b, w),
            "rssi": reports.rssi_dbm, "snr": reports.snr_db, "flags": reports.flags,
        })
        self._ids.extend(report_ids if report_ids is not None else [b""] * len(reports))

    def _column(self, name: str) -> NDArray[Any]:
        if not self._parts:
            return np.zeros(0)
        return np.concatenate([p[name] for p in self._parts])

    def write_csv(self, out: TextIO, verdicts: Mapping[bytes, tuple[bool, str]] | None = None,
                  delivered: set[bytes] | None = None) -> int:
        """Write the CSV; `verdicts` = report id -> (valid, reason), `delivered` = ids the
        oracle stored (None: no oracle in this run). Returns the number of rows."""
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        names = [h.node_id for h in self.assignment.hotspots]
        cols = {k: self._column(k) for k in ("window", "beaconer", "witness", "true_m",
                                              "asserted_m", "rssi", "snr", "flags")}
        for k in range(cols["window"].size):
            rid = self._ids[k]
            window, flags = int(cols["window"][k]), int(cols["flags"][k])
            verdict = verdicts.get(rid) if verdicts is not None and rid else None
            writer.writerow((
                window // self.windows_per_epoch, window,
                names[int(cols["beaconer"][k])], names[int(cols["witness"][k])],
                round(float(cols["true_m"][k]), 1), round(float(cols["asserted_m"][k]), 1),
                round(float(cols["rssi"][k]), 1), round(float(cols["snr"][k]), 2),
                "" if delivered is None else int(bool(rid) and rid in delivered),
                "" if verdict is None else int(verdict[0]),
                "" if verdict is None else verdict[1],
                "+".join(n for bit, n in FLAG_NAMES.items() if flags & bit),
            ))
        return int(cols["window"].size)

    def graph_stats(self) -> dict[str, Any]:
        n = len(self.assignment.hotspots)
        b, w = self._column("beaconer").astype(np.int64), self._column("witness").astype(np.int64)
        pairs = np.unique(b * n + w) if b.size else np.zeros(0, np.int64)
        lb, lw = pairs // n, pairs % n
        undirected = np.unique(np.minimum(lb, lw) * n + np.maximum(lb, lw))
        ends = np.concatenate([undirected // n, undirected % n])
        degree = np.bincount(ends, minlength=n)
        distance = _distance_m(self._true, lb, lw)
        return {
            "links": int(pairs.size),
            "link_distance_m": _percentiles(distance),
            "degree": _percentiles(degree.astype(np.float64)) | {"max": int(degree.max(initial=0))},
            "isolated_hotspots": int((degree == 0).sum()),
        }


def _percentiles(values: NDArray[np.float64]) -> dict[str, float | None]:
    if values.size == 0:
        return {f"p{p}": None for p in PERCENTILES}
    found = np.percentile(values, PERCENTILES)
    return {f"p{p}": round(float(v), 1) for p, v in zip(PERCENTILES, found, strict=True)}


def write_links(path: Path, log: LinkLog, verdicts: Mapping[bytes, tuple[bool, str]] | None = None,
                delivered: set[bytes] | None = None) -> int:
    with path.open("w", encoding="utf-8", newline="") as out:
        return log.write_csv(out, verdicts, delivered)
