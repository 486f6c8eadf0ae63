"""A simulated network's history as the oracle would have received it: every hotspot's key and
signed location assertion, the oracle's signed entropy, and each round's signed beacon and
witness reports, each with the time it reached the oracle (pocnet.report_file records).

The mesh says who transmitted when and who heard what; the adversaries say what each hotspot
reports. This module only turns that into wire messages, with pocnet's own beacon derivation
and signing, as a hotspot's beaconer and witnesser build them:
- a beacon is derived (docs/protocol.md §4) from the newest entropy the oracle had issued (every 60
s)
  when its window's transmission started, local entropy from the seed; its channel is the
  derived one, not the mesh's (one channel of the plan is as good as another for propagation);
- reports carry the hotspot's GPS fix where its claim has one (spoofed or honest);
- a report reaches the oracle an upload latency (hashed, 0.2–1 s) after the true event, on the
  oracle's clock: a hotspot whose clock is off says so only in its report's `timestamp`.

Every key and random byte is a hash of the seed, so the same scenario and seed give the same
bytes: a run can be reproduced, and a run without adversaries shares honest hotspots' keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pocnet import signing
from pocnet.beacon import ENTROPY_INTERVAL_S, derive_beacon, entropy_data
from pocnet.keys import Keypair, Network
from pocnet.regions import get_plan
from pocnet.report_file import record_line
from pocnet.wire import entropy_pb2, reports_pb2
from sim_radio.adversaries import Assignment, WitnessReports
from sim_radio.gps_fixes import gps_fix
from sim_radio.mesh import RoundResult

NETWORK = Network.TESTNET  # simulated hotspots are never mainnet hotspots
GPS_H_ACC_MM = 2_500  # a good u-blox fix under open sky
GPS_SATELLITES = 12
MIN_LATENCY_MS, LATENCY_SPAN_MS = 200, 800
ENTROPY_VERSION = 1


def _hash(*parts: object, size: int = 32) -> bytes:
    text = ":".join(str(p) for p in parts).encode()
    return hashlib.blake2b(text, digest_size=size, person=b"pocnet-sim-wire").digest()


def hotspot_keypair(seed: int, node_id: str) -> Keypair:
    return Keypair.from_seed(_hash("hotspot", seed, node_id), NETWORK)


def maker_keypair(seed: int) -> Keypair:
    """The simulated network's one maker: the operator allowlists it before onboarding."""
    return Keypair.from_seed(_hash("maker", seed), NETWORK)


def owner_keypair(seed: int, node_id: str) -> Keypair:
    """Each simulated hotspot has its own owner, so its payout is its own wallet's."""
    return Keypair.from_seed(_hash("owner", seed, node_id), Network.MAINNET)


def _fix(a: Assignment, node: int, time_ns: int, seed: int,
         round_index: int) -> reports_pb2.GpsFix | None:
    """The fix a hotspot's report carries: a real receiver's wander around its GPS position,
    or what its GPS cheat makes of it (sim_radio/gps_fixes.py)."""
    position = gps_fix(a, node, time_ns, seed, round_index)
    if position is None:
        return None
    return reports_pb2.GpsFix(
        lat_e7=round(position[0] * 1e7), lon_e7=round(position[1] * 1e7),
        h_acc_mm=GPS_H_ACC_MM, fix_type=reports_pb2.FIX_3D, satellites=GPS_SATELLITES,
        gnss_time_ns=max(time_ns, 0),
    )


@dataclass(frozen=True)
class RoundReports:
    """One round's records and what the scoreboard needs to map verdicts back.

    `beacon_id[k]` = report id of transmission k's beacon (b"" when none was sent);
    `witness_id[j]` = report id of witness report j (rows of the round's WitnessReports)."""

    lines: list[str]
    beacon_id: list[bytes]
    witness_id: list[bytes]
    beacon_received_ms: NDArray[np.int64]
    witness_received_ms: NDArray[np.int64]


class WireWriter:
    """Builds the records of a run; keeps the entropy already written and the keys."""

    def __init__(self, assignment: Assignment, seed: int, oracle: Keypair) -> None:
        self._a = assignment
        self._seed = seed
        self._oracle = oracle
        self.keys = [hotspot_keypair(seed, h.node_id) for h in assignment.hotspots]
        self.maker = maker_keypair(seed)
        self._entropy: dict[int, bytes] = {}  # timestamp_s -> data
        self._plans = {h.region: get_plan(h.region) for h in assignment.hotspots}

    def onboarding(self, at_ms: int) -> Iterator[str]:
        """Assertion records of every hotspot, at `at_ms` (before the first window)."""
        from sim_radio.network import location_assertion

        for h, claim, key in zip(self._a.hotspots, self._a.claims, self.keys, strict=True):
            owner = owner_keypair(self._seed, h.node_id)
            msg = location_assertion(key, owner, claim.asserted_lat, claim.asserted_lon,
                                     h.gain_dbi_x10, round(h.height_m), nonce=1,
                                     maker=self.maker, timestamp_ms=at_ms)
            yield record_line(at_ms, "assertion", msg.SerializeToString())

    def _entropy_for(self, start_ns: int, lines: list[str]) -> tuple[bytes, int]:
        ts = start_ns // 1_000_000_000
        ts -= ts % ENTROPY_INTERVAL_S
        data = self._entropy.get(ts)
        if data is None:
            data = self._entropy[ts] = entropy_data(ts, _hash("entropy", self._seed, ts))
            msg = entropy_pb2.Entropy(data=data, timestamp=ts, version=ENTROPY_VERSION,
                                      oracle_key=self._oracle.public_key.to_bytes())
            signing.sign(msg, self._oracle)
            lines.append(record_line(ts * 1000, "entropy", msg.SerializeToString()))
        return data, ts

    def round_reports(self, result: RoundResult, witnesses: WitnessReports) -> RoundReports:
        sent, a = result.transmissions, self._a
        lines: list[str] = []
        beacon_ids: list[bytes] = []
        beacons: dict[int, reports_pb2.BeaconReport] = {}  # event -> report
        n_tx = int(sent.tx.size)
        beacon_rx = np.zeros(n_tx, np.int64)
        timed: list[tuple[int, str]] = []
        for k in range(n_tx):
            i, event = int(sent.tx[k]), int(sent.event[k])
            h, claim = a.hotspots[i], a.claims[i]
            remote, ts = self._entropy_for(int(sent.start_ns[k]), lines)
            beacon = derive_beacon(remote, ts, _hash("local", self._seed, event, size=4),
                                   self._plans[h.region], h.gain_dbi_x10)
            if beacon.tx_power_dbm is None:  # docs/protocol.md §4: no beacon; it only witnesses
                beacon_ids.append(b"")
                continue
            end_ns = int(sent.start_ns[k] + sent.airtime_ns[k])
            msg = reports_pb2.BeaconReport(
                pub_key=self.keys[i].public_key.to_bytes(), local_entropy=beacon.local_entropy,
                remote_entropy=remote, data=beacon.data, frequency=beacon.frequency_hz,
                datarate=reports_pb2.DataRate.Value(beacon.datarate),
                tx_power=beacon.tx_power_dbm, timestamp=max(end_ns + claim.clock_offset_ns, 0),
            )
            fix = _fix(a, i, end_ns, self._seed, result.round_index)
            if fix is not None:
                msg.gps_fix.CopyFrom(fix)
            beacons[event] = msg
            beacon_ids.append(_sign(msg, self.keys[i]))
            beacon_rx[k] = end_ns // 1_000_000 + _latency_ms(self._seed, "b", event)
            timed.append((int(beacon_rx[k]), record_line(int(beacon_rx[k]), "beacon",
                                                         msg.SerializeToString())))
        witness_ids: list[bytes] = []
        witness_rx = np.zeros(len(witnesses), np.int64)
        offsets = np.array([c.clock_offset_ns for c in a.claims], np.int64)
        for j in range(len(witnesses)):
            beacon = beacons.get(int(witnesses.beacon_event[j]))
            if beacon is None:
                witness_ids.append(b"")
                continue
            w = int(witnesses.witness[j])
            reported_ns = int(witnesses.reported_ns[j])
            true_ns = reported_ns - int(offsets[w])
            msg = reports_pb2.WitnessReport(
                pub_key=self.keys[w].public_key.to_bytes(), data=beacon.data,
                timestamp=max(reported_ns, 0), signal=round(float(witnesses.rssi_dbm[j]) * 10),
                snr=int(float(witnesses.snr_db[j]) * 10), frequency=beacon.frequency,
                datarate=beacon.datarate,
            )
            fix = _fix(a, w, true_ns, self._seed, result.round_index)
            if fix is not None:
                msg.gps_fix.CopyFrom(fix)
            witness_ids.append(_sign(msg, self.keys[w]))
            witness_rx[j] = true_ns // 1_000_000 + _latency_ms(
                self._seed, "w", w, int(witnesses.beacon_event[j]), reported_ns)
            timed.append((int(witness_rx[j]), record_line(int(witness_rx[j]), "witness",
                                                          msg.SerializeToString())))
        timed.sort(key=lambda t: t[0])  # the oracle receives them in time order
        lines.extend(line for _, line in timed)
        return RoundReports(lines, beacon_ids, witness_ids, beacon_rx, witness_rx)


def _sign(msg: reports_pb2.BeaconReport | reports_pb2.WitnessReport, key: Keypair) -> bytes:
    """Sign in place; the report id. Both come from the one canonical serialisation (the
    oracle's ingest does the same): millions of reports are signed per simulated day."""
    canonical = signing.canonical_bytes(msg)
    msg.signature = key.sign(canonical)
    return hashlib.sha256(canonical).digest()  # == signing.report_id(msg)


def _latency_ms(seed: int, *event: object) -> int:
    return MIN_LATENCY_MS + int.from_bytes(_hash("latency", seed, *event, size=4)) % (
        LATENCY_SPAN_MS + 1)
