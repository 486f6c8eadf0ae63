"""What a hotspot claims over time: the location it asserts (which a relocated cluster changes
at once) and the GPS fixes it reports with its beacons and witnesses.

A real receiver's fix wanders: a u-blox M8 quotes 2.5 m CEP (circular error probable) in open
sky, i.e. a Gaussian of σ = 2.5 / 1.1774 = 2.1 m per axis. The GPS spoofers of the real denylist
give themselves away over time: a fix that never moves at all, or one that jitters too cleanly
(always the same distance from the claimed point, only the bearing changing). Honest hotspots'
fixes get the real wander, so a detector has something to tell them apart by.

Every fix is a hash of (seed, node, second), so a run replays and two calls agree.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from sim_radio.adversaries import Assignment, Claim
from sim_radio.population import EARTH_RADIUS_M
from sim_radio.propagation import hash_normal, link_hash

# u-blox NEO-M8 data sheet: horizontal position accuracy 2.5 m CEP (GPS + GLONASS, open sky).
HONEST_SIGMA_M = 2.5 / 1.1774  # CEP → σ per axis of a circular Gaussian (CEP = 1.1774 σ)
NS_PER_S = 1_000_000_000
_NORTH_STREAM = 0x6E01
_EAST_STREAM = 0x6E02


def claim_at(a: Assignment, node: int, round_index: int) -> Claim:
    """What `node` claims during a round: a relocated cluster's members assert their new place
    (their GPS spoofed along) from the move's round on."""
    claim = a.claims[node]
    move = a.moves.get(node)
    if move is None or round_index < move[0]:
        return claim
    _, lat, lon = move
    return replace(claim, asserted_lat=lat, asserted_lon=lon, gps_lat=lat, gps_lon=lon)


def gps_fix(
    a: Assignment, node: int, time_ns: int, seed: int, round_index: int = 0
) -> tuple[float, float] | None:
    """The fix `node` reports at `time_ns` during round `round_index` (None: no position)."""
    claim = claim_at(a, node, round_index)
    if claim.gps_lat is None or claim.gps_lon is None:
        return None
    mode, radius_m = a.gps_mode.get(node, ("honest", 0.0))
    if mode == "frozen":
        return claim.gps_lat, claim.gps_lon
    key = np.uint64(node)
    second = np.uint64(time_ns // NS_PER_S)
    n = float(hash_normal(link_hash(seed, key, second, _NORTH_STREAM, symmetric=False)))
    e = float(hash_normal(link_hash(seed, key, second, _EAST_STREAM, symmetric=False)))
    if mode == "clean_jitter":  # the bearing wanders, the distance never does
        bearing = math.atan2(e, n)
        north, east = radius_m * math.cos(bearing), radius_m * math.sin(bearing)
    else:
        north, east = HONEST_SIGMA_M * n, HONEST_SIGMA_M * e
    lat = claim.gps_lat + math.degrees(north / EARTH_RADIUS_M)
    lon = claim.gps_lon + math.degrees(east / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lat, lon
