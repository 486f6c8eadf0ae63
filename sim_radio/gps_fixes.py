"""What a hotspot claims over time: the location it asserts (which a relocated cluster changes
at once) and the GPS fixes it reports with its beacons and witnesses.

A real receiver's fix wanders: a u-blox M8 quotes 2.5 m CEP (circular error probable) in open
sky, i.e. a Gaussian of σ = 2.5 / 1.1774 = 2.1 m per axis. The GPS spoofers of the real denylist
give themselves away over time: a fix that never moves at all, or one that jitters too cleanly
(always the same distance from the claimed point, only the bearing changing). Honest hotspots'
fixes get the real wander, so a detector has something to tell them apart by.

Every fix is a hash of (seed, node, second), so a run replays and two calls agree, whether
fixes are drawn one at a time or a round's at once.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim_radio.adversaries import Assignment, Claim
from sim_radio.population import EARTH_RADIUS_M
from sim_radio.propagation import hash_normal, link_hash

# u-blox NEO-M8 data sheet: horizontal position accuracy 2.5 m CEP (GPS + GLONASS, open sky).
HONEST_SIGMA_M = 2.5 / 1.1774  # CEP → σ per axis of a circular Gaussian (CEP = 1.1774 σ)
NS_PER_S = 1_000_000_000
_NORTH_STREAM = 0x6E01
_EAST_STREAM = 0x6E02
_HONEST, _FROZEN, _CLEAN_JITTER = 0, 1, 2
_MODES = {"honest": _HONEST, "frozen": _FROZEN, "clean_jitter": _CLEAN_JITTER}


def claim_at(a: Assignment, node: int, round_index: int) -> Claim:
    """What `node` claims during a round: a relocated cluster's members assert their new place
    (their GPS spoofed along) from the move's round on."""
    claim = a.claims[node]
    move = a.moves.get(node)
    if move is None or round_index < move[0]:
        return claim
    _, lat, lon = move
    return replace(claim, asserted_lat=lat, asserted_lon=lon, gps_lat=lat, gps_lon=lon)


class GpsFixes:
    """Every node's fixes at once: the claims' GPS positions and cheat modes as arrays, built
    once per assignment, so a round's thousands of fixes are a few numpy operations instead of
    a hash per report (the simulator's largest cost before).

    Each fix is still a pure function of (seed, node, second, round): the same draws as one
    report at a time, so batching changes no byte of a run."""

    def __init__(self, a: Assignment) -> None:
        n = len(a.claims)
        self._lat = np.full(n, np.nan)
        self._lon = np.full(n, np.nan)
        for i, c in enumerate(a.claims):
            if c.gps_lat is not None and c.gps_lon is not None:
                self._lat[i], self._lon[i] = c.gps_lat, c.gps_lon
        self._mode = np.full(n, _HONEST, np.int8)
        self._radius_m = np.zeros(n)
        for i, (mode, radius_m) in a.gps_mode.items():
            self._mode[i] = _MODES.get(mode, _HONEST)
            self._radius_m[i] = radius_m
        moved = sorted(a.moves)
        self._moved = np.array(moved, np.int64)
        self._move_round = np.array([a.moves[i][0] for i in moved], np.int64)
        self._move_lat = np.array([a.moves[i][1] for i in moved], np.float64)
        self._move_lon = np.array([a.moves[i][2] for i in moved], np.float64)

    def at(
        self, nodes: ArrayLike, times_ns: ArrayLike, seed: int, round_index: int = 0
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(lat, lon) of the fix each `nodes[k]` reports at `times_ns[k]` during round
        `round_index`; NaN where the node has no position."""
        node = np.asarray(nodes, np.int64)
        gps_lat, gps_lon = self._lat, self._lon
        moving = self._moved[self._move_round <= round_index]
        if moving.size:  # claim_at: a relocated cluster's GPS is spoofed along with it
            gps_lat, gps_lon = gps_lat.copy(), gps_lon.copy()
            now = self._move_round <= round_index
            gps_lat[moving], gps_lon[moving] = self._move_lat[now], self._move_lon[now]
        lat0, lon0, mode = gps_lat[node], gps_lon[node], self._mode[node]
        key = node.astype(np.uint64)
        second = (np.asarray(times_ns, np.int64) // NS_PER_S).astype(np.uint64)
        n = hash_normal(link_hash(seed, key, second, _NORTH_STREAM, symmetric=False))
        e = hash_normal(link_hash(seed, key, second, _EAST_STREAM, symmetric=False))
        north, east = HONEST_SIGMA_M * n, HONEST_SIGMA_M * e
        clean = mode == _CLEAN_JITTER  # the bearing wanders, the distance never does
        if clean.any():
            bearing = np.arctan2(e[clean], n[clean])
            radius = self._radius_m[node[clean]]
            north[clean], east[clean] = radius * np.cos(bearing), radius * np.sin(bearing)
        frozen = mode == _FROZEN
        north[frozen], east[frozen] = 0.0, 0.0
        lat = lat0 + np.degrees(north / EARTH_RADIUS_M)
        lon = lon0 + np.degrees(east / (EARTH_RADIUS_M * np.cos(np.radians(lat))))
        lat[frozen], lon[frozen] = lat0[frozen], lon0[frozen]  # exactly the spoofed point
        return lat, lon


def gps_fix(
    a: Assignment, node: int, time_ns: int, seed: int, round_index: int = 0
) -> tuple[float, float] | None:
    """The fix `node` reports at `time_ns` during round `round_index` (None: no position).
    One report's fix, for tests and one-off use; a round's are `GpsFixes.at`."""
    lat, lon = GpsFixes(a).at([node], [time_ns], seed, round_index)
    if np.isnan(lat[0]):
        return None
    return float(lat[0]), float(lon[0])
