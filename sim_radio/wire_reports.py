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
import multiprocessing
import os
import time
import weakref
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pocnet import signing
from pocnet.beacon import (
    ENTROPY_INTERVAL_S,
    beacon_payloads,
    beacon_seed,
    derive_beacon,
    entropy_data,
)
from pocnet.keys import Keypair, Network
from pocnet.regions import get_plan
from pocnet.report_file import record_line
from pocnet.wire import entropy_pb2, reports_pb2
from sim_radio.adversaries import Assignment, WitnessReports
from sim_radio.gps_fixes import GpsFixes
from sim_radio.mesh import RoundResult
from sim_radio.shared_signatures import SignatureShare

NETWORK = Network.TESTNET  # simulated hotspots are never mainnet hotspots
GPS_H_ACC_MM = 2_500  # a good u-blox fix under open sky
GPS_SATELLITES = 12
MIN_LATENCY_MS, LATENCY_SPAN_MS = 200, 800
ENTROPY_VERSION = 1
SIGN_BATCH = 2_000  # reports a signing process gets at once: IPC per batch, not per report


_PERSON = b"pocnet-sim-wire"
# Empty hashers of the sizes used, copied per call: a copy costs a third of a new keyed hasher,
# and there are two hashes a report (constants, never updated themselves).
_EMPTY = {size: hashlib.blake2b(digest_size=size, person=_PERSON) for size in (4, 32)}


def _text(*parts: object) -> bytes:
    """What `_hash` hashes: the parts joined by ":"."""
    return ":".join(map(str, parts)).encode()


def _hash(*parts: object, size: int = 32) -> bytes:
    text = _text(*parts)
    empty = _EMPTY.get(size)
    if empty is None:
        return hashlib.blake2b(text, digest_size=size, person=_PERSON).digest()
    hasher = empty.copy()
    hasher.update(text)
    return hasher.digest()


def hotspot_keypair(seed: int, node_id: str) -> Keypair:
    return Keypair.from_seed(_hash("hotspot", seed, node_id), NETWORK)


def maker_keypair(seed: int) -> Keypair:
    """The simulated network's one maker: the operator allowlists it before onboarding."""
    return Keypair.from_seed(_hash("maker", seed), NETWORK)


def owner_keypair(seed: int, node_id: str) -> Keypair:
    """Each simulated hotspot has its own owner, so its payout is its own wallet's."""
    return Keypair.from_seed(_hash("owner", seed, node_id), Network.MAINNET)


class _Fixes:
    """The GPS fixes a round's reports carry: a real receiver's wander around its GPS
    position, or what its GPS cheat makes of it (sim_radio/gps_fixes.py); none where the
    hotspot has no GPS (NaN). The arithmetic is done once on the arrays (float64, as Python's
    floats; rint rounds half to even as round() does), not once a report."""

    def __init__(self, lat: NDArray[np.float64], lon: NDArray[np.float64],
                 time_ns: NDArray[np.int64]) -> None:
        has = ~np.isnan(lat)
        self._has = has.tolist()
        self._lat_e7 = np.rint(np.where(has, lat, 0.0) * 1e7).astype(np.int64).tolist()
        self._lon_e7 = np.rint(np.where(has, lon, 0.0) * 1e7).astype(np.int64).tolist()
        self._gnss_ns = np.maximum(time_ns, 0).tolist()

    def put(self, msg: reports_pb2.BeaconReport | reports_pb2.WitnessReport, j: int) -> None:
        """Report j's fix into `msg`, field by field (a fifth cheaper than a GpsFix copied
        in), where it has one."""
        if self._has[j]:
            fix = msg.gps_fix
            fix.lat_e7, fix.lon_e7 = self._lat_e7[j], self._lon_e7[j]
            fix.h_acc_mm, fix.fix_type, fix.satellites = (
                GPS_H_ACC_MM, reports_pb2.FIX_3D, GPS_SATELLITES)
            fix.gnss_time_ns = self._gnss_ns[j]


# A signing process's own copy of the hotspots' keys, set once by its initializer: state of
# that worker process only (the simulator's process never fills it).
_worker_keys: list[Keypair] = []


def _start_worker(seed: int, node_ids: list[str]) -> None:
    """A signing process derives the keys itself from the seed: no private key crosses a
    pipe, and there is one derivation (hotspot_keypair)."""
    _worker_keys[:] = [hotspot_keypair(seed, node_id) for node_id in node_ids]


def _sign_batch(batch: list[tuple[int, bytes]]) -> tuple[list[bytes], float]:
    """Signatures of (key index, canonical bytes) in order, and the CPU seconds they took."""
    started = time.process_time()
    signatures = [_worker_keys[k].sign(canonical) for k, canonical in batch]
    return signatures, time.process_time() - started


class _Signer:
    """Ed25519 signatures of a round's reports, in `workers` processes (none: in this one).

    Batches are answered in the order they were handed in, and an Ed25519 signature is a
    function of key and message (RFC 8032 §5.1.6), so the records are byte for byte those of
    one process. Workers are spawned, not forked: the proving ground runs its passes in
    threads, and a fork of a threaded process may inherit a held lock."""

    def __init__(self, seed: int, node_ids: list[str], keys: list[Keypair], workers: int) -> None:
        self._keys = keys
        self._pending: list[tuple[int, bytes]] = []
        self._answers: list[Future[tuple[list[bytes], float]] | list[bytes]] = []
        self.worker_cpu_s = 0.0
        self._pool: ProcessPoolExecutor | None = None
        if workers > 0:
            self._pool = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(seed, node_ids))

    def add(self, key_index: int, canonical: bytes) -> None:
        self._pending.append((key_index, canonical))
        if len(self._pending) >= SIGN_BATCH:
            self._hand_in()

    def _hand_in(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        if self._pool is None:
            self._answers.append([self._keys[k].sign(canonical) for k, canonical in batch])
        else:  # workers sign while this process builds the round's next reports
            self._answers.append(self._pool.submit(_sign_batch, batch))

    def signatures(self) -> Iterator[bytes]:
        """Every signature asked for since the last call, in the order asked."""
        self._hand_in()
        answers, self._answers = self._answers, []
        for answer in answers:
            if isinstance(answer, list):
                yield from answer
            else:
                signatures, cpu_s = answer.result()
                self.worker_cpu_s += cpu_s
                yield from signatures

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class _RoundSigning:
    """The signatures of one round's reports, with or without the other pass's
    (sim_radio/shared_signatures.py).

    Leading (or alone), reports go to the signer as they are built, so the workers sign while
    the round is still being built, and the leader publishes what it signed. Following, the
    reports wait until the round is built, the leader's signatures are taken, and only the
    reports they lack are signed here."""

    def __init__(self, signer: _Signer, share: SignatureShare | None, round_index: int) -> None:
        self._signer = signer
        self._leads, self._shared = (True, None) if share is None else share.meet(round_index)
        self._ids: list[bytes] = []
        self._later: list[tuple[int, bytes]] = []  # a follower's (key index, canonical)
        self.reused = 0

    def add(self, key_index: int, canonical: bytes) -> bytes:
        """Hand one report's canonical bytes in; its id (== signing.report_id of it)."""
        rid = signing.id_of_canonical(canonical)
        self._ids.append(rid)
        if self._leads:
            self._signer.add(key_index, canonical)
        else:
            self._later.append((key_index, canonical))
        return rid

    def signatures(self) -> list[bytes]:
        """Every report's signature, in the order handed in."""
        if self._leads:
            signatures = list(self._signer.signatures())
            if self._shared is not None:
                self._shared.publish(dict(zip(self._ids, signatures, strict=True)))
            return signatures
        assert self._shared is not None
        known = self._shared.wait()
        for rid, (key_index, canonical) in zip(self._ids, self._later, strict=True):
            if rid not in known:
                self._signer.add(key_index, canonical)
        made = iter(list(self._signer.signatures()))
        out = [known.get(rid) or next(made) for rid in self._ids]
        self.reused = sum(1 for rid in self._ids if rid in known)
        return out

    def release(self) -> None:
        """A round that failed: a follower of this one is not left waiting."""
        if self._leads and self._shared is not None:
            self._shared.publish({})


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

    def __init__(self, assignment: Assignment, seed: int, oracle: Keypair,
                 workers: int | None = None, share: SignatureShare | None = None) -> None:
        """`workers`: processes that sign reports (default: one per core; 0 signs in this
        process). `share`: where this writer and the other pass's writer of the same run
        hand each other the signatures of reports both send (shared_signatures.py). The
        records are the same bytes whatever the number and with or without a share."""
        self._a = assignment
        self._seed = seed
        self._oracle = oracle
        node_ids = [h.node_id for h in assignment.hotspots]
        self.keys = [hotspot_keypair(seed, node_id) for node_id in node_ids]
        self._key_bytes = [k.public_key.to_bytes() for k in self.keys]
        self._fixes = GpsFixes(assignment)
        self._offsets = np.array([c.clock_offset_ns for c in assignment.claims], np.int64)
        if workers is None:
            workers = os.cpu_count() or 1
        self._signer = _Signer(seed, node_ids, self.keys, workers)
        self._closed = weakref.finalize(self, self._signer.close)
        self._share = share
        self.signatures_reused = 0  # reports signed with the other pass's signature
        self.maker = maker_keypair(seed)
        self._entropy: dict[int, bytes] = {}  # timestamp_s -> data
        self._moved: set[int] = set()  # hotspots whose cluster move is re-asserted
        self._plans = {h.region: get_plan(h.region) for h in assignment.hotspots}

    @property
    def worker_cpu_s(self) -> float:
        """CPU seconds the signing processes spent so far (not in this process's clock)."""
        return self._signer.worker_cpu_s

    def close(self) -> None:
        """Stop the signing processes (also done when the writer is collected)."""
        self._closed()

    def __enter__(self) -> WireWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def onboarding(self, at_ms: int) -> Iterator[str]:
        """Assertion records of every hotspot, at `at_ms` (before the first window)."""
        for i, claim in enumerate(self._a.claims):
            yield self._assertion(i, claim.asserted_lat, claim.asserted_lon, 1, at_ms)

    def _assertion(self, i: int, lat: float, lon: float, nonce: int, at_ms: int) -> str:
        """The record of hotspot i asserting (lat, lon), signed by it and its owner."""
        from sim_radio.network import location_assertion

        h = self._a.hotspots[i]
        msg = location_assertion(self.keys[i], owner_keypair(self._seed, h.node_id), lat, lon,
                                 h.gain_dbi_x10, round(h.height_m), nonce=nonce,
                                 maker=self.maker, timestamp_ms=at_ms)
        return record_line(at_ms, "assertion", msg.SerializeToString())

    def _moves_in(self, result: RoundResult) -> list[str]:
        """Re-assertions (nonce 2) of the hotspots a cluster move carries, in the first round
        with transmissions from the move's on, at its first transmission's start: the new
        place asserted, as the GPS that goes along with it says (gps_fixes.claim_at)."""
        due = sorted(i for i, (at_round, _, _) in self._a.moves.items()
                     if at_round <= result.round_index and i not in self._moved)
        starts = result.transmissions.start_ns
        if not due or starts.size == 0:
            return []
        at_ms = int(starts.min()) // 1_000_000
        lines = []
        for i in due:
            _, lat, lon = self._a.moves[i]
            lines.append(self._assertion(i, lat, lon, 2, at_ms))
            self._moved.add(i)
        return lines

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
        """The round's records, signed (with the other pass's signatures where it sent the
        same report first)."""
        round_signing = _RoundSigning(self._signer, self._share, result.round_index)
        try:
            rr = self._round_reports(result, witnesses, round_signing)
        except BaseException:
            round_signing.release()
            raise
        self.signatures_reused += round_signing.reused
        return rr

    def _round_reports(self, result: RoundResult, witnesses: WitnessReports,
                       signer: _RoundSigning) -> RoundReports:
        sent, a = result.transmissions, self._a
        lines: list[str] = []
        beacon_ids: list[bytes] = []
        beacons: dict[int, reports_pb2.BeaconReport] = {}  # event -> report
        n_tx = int(sent.tx.size)
        beacon_rx = np.zeros(n_tx, np.int64)
        # (receive time, kind, canonical bytes, their length after the signature's place):
        # lines are written once the signatures are in.
        timed: list[tuple[int, str, bytes, int]] = []
        end_ns = sent.start_ns.astype(np.int64) + sent.airtime_ns.astype(np.int64)
        beacon_fixes = _Fixes(*self._fixes.at(sent.tx, end_ns, self._seed, result.round_index),
                              end_ns)
        # The round's entropies (their records in transmission order, as before) and its
        # beacons' payloads in one vectorised ChaCha12 pass, not one pure-Python pass a beacon.
        entropies = [self._entropy_for(int(start), lines) for start in sent.start_ns]
        lines += self._moves_in(result)  # reports after their entropy, in time order
        local = [_hash("local", self._seed, int(event), size=4) for event in sent.event]
        seeds = [beacon_seed(remote, ts, entropy)
                 for (remote, ts), entropy in zip(entropies, local, strict=True)]
        payloads = beacon_payloads(seeds) if seeds else {}
        beacon_latency = _Latency(self._seed, "b")
        for k in range(n_tx):
            i, event = int(sent.tx[k]), int(sent.event[k])
            h, claim = a.hotspots[i], a.claims[i]
            remote, ts = entropies[k]
            beacon = derive_beacon(remote, ts, local[k], self._plans[h.region], h.gain_dbi_x10,
                                   payloads=payloads)
            if beacon.tx_power_dbm is None:  # docs/protocol.md §4: no beacon; it only witnesses
                beacon_ids.append(b"")
                continue
            end = int(end_ns[k])
            msg = reports_pb2.BeaconReport(
                pub_key=self.keys[i].public_key.to_bytes(), local_entropy=beacon.local_entropy,
                remote_entropy=remote, data=beacon.data, frequency=beacon.frequency_hz,
                datarate=reports_pb2.DataRate.Value(beacon.datarate),
                tx_power=beacon.tx_power_dbm, timestamp=max(end + claim.clock_offset_ns, 0),
            )
            beacon_fixes.put(msg, k)
            beacons[event] = msg
            canonical = signing.canonical_bytes(msg)
            beacon_ids.append(signer.add(i, canonical))
            beacon_rx[k] = end // 1_000_000 + beacon_latency.ms(event)
            timed.append((int(beacon_rx[k]), "beacon", canonical, _after_signature(msg)))
        witness_ids: list[bytes] = []
        n_w = len(witnesses)
        witness_rx = [0] * n_w
        true_all = witnesses.reported_ns.astype(np.int64) - self._offsets[witnesses.witness]
        fixes = _Fixes(*self._fixes.at(witnesses.witness, true_all, self._seed,
                                       result.round_index), true_all)
        # The round's numbers as Python numbers, each field's arithmetic done once on its array
        # (float64, as Python's own floats: round() and rint both round half to even, int()
        # and trunc both towards zero), not per report: no byte changes.
        events, nodes = witnesses.beacon_event.tolist(), witnesses.witness.tolist()
        reported, true_list = witnesses.reported_ns.tolist(), true_all.tolist()
        stamps = np.maximum(witnesses.reported_ns, 0).tolist()
        signal = np.rint(witnesses.rssi_dbm.astype(np.float64) * 10).astype(np.int64).tolist()
        snr = np.trunc(witnesses.snr_db.astype(np.float64) * 10).astype(np.int64).tolist()
        keys, latency = self._key_bytes, _Latency(self._seed, "w")
        for j in range(n_w):
            beacon = beacons.get(events[j])
            if beacon is None:
                witness_ids.append(b"")
                continue
            w = nodes[j]
            msg = reports_pb2.WitnessReport(
                pub_key=keys[w], data=beacon.data, timestamp=stamps[j], signal=signal[j],
                snr=snr[j], frequency=beacon.frequency, datarate=beacon.datarate,
            )
            fixes.put(msg, j)
            canonical = signing.canonical_bytes(msg)
            witness_ids.append(signer.add(w, canonical))
            rx = witness_rx[j] = true_list[j] // 1_000_000 + latency.witness_ms(
                w, events[j], reported[j])
            timed.append((rx, "witness", canonical, _after_signature(msg)))
        signed = [(at, kind, _signed(canonical, tail, signature)) for (at, kind, canonical, tail),
                  signature in zip(timed, signer.signatures(), strict=True)]
        signed.sort(key=lambda t: t[0])  # the oracle receives them in time order
        lines.extend(record_line(at, kind, raw) for at, kind, raw in signed)
        return RoundReports(lines, beacon_ids, witness_ids, beacon_rx,
                            np.array(witness_rx, np.int64))


# A report's wire bytes are its canonical bytes (docs/protocol.md §1: serialised without the
# signature) with the signature put in its place, not the message serialised a second time
# once signed: protobuf writes fields in number order, so the signature (field 11 of both
# reports) goes before the fields numbered above it, of which the simulator sets only the GPS
# fix (20; a beacon's `tmst`, 12, is never set). Millions of reports are built a simulated
# day; `test_a_reports_wire_bytes_are_its_canonical_bytes_with_the_signature_in_place` holds
# the two ways equal.
_SIGNATURE_TAG = bytes([reports_pb2.BeaconReport.SIGNATURE_FIELD_NUMBER << 3 | 2])
_GPS_FIX_TAG_BYTES = 2  # field 20, length-delimited: a two-byte varint tag


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_ED25519_HEAD = _SIGNATURE_TAG + _varint(64)  # every report's signature is Ed25519's 64 bytes


def _after_signature(msg: reports_pb2.BeaconReport | reports_pb2.WitnessReport) -> int:
    """How many of `msg`'s canonical bytes come after its signature's place: its GPS fix."""
    if not msg.HasField("gps_fix"):
        return 0
    size = msg.gps_fix.ByteSize()
    return _GPS_FIX_TAG_BYTES + (1 if size < 0x80 else len(_varint(size))) + size


def _signed(canonical: bytes, after: int, signature: bytes) -> bytes:
    """The signed report's wire bytes from its canonical bytes (`_after_signature`)."""
    cut = len(canonical) - after
    head = _ED25519_HEAD if len(signature) == 64 else _SIGNATURE_TAG + _varint(len(signature))
    return b"".join((canonical[:cut], head, signature, canonical[cut:]))


class _Latency:
    """Upload latencies of one kind of report ("b" beacon, "w" witness): `_hash("latency",
    seed, kind, *event, size=4)`, its common prefix hashed once a round."""

    def __init__(self, seed: int, kind: str) -> None:
        self._prefix = _EMPTY[4].copy()
        self._prefix.update(_text("latency", seed, kind, ""))  # the prefix, up to its last ":"

    def ms(self, *event: object) -> int:
        """The latency of the report of `event` (its parts, as `_hash` takes them)."""
        return self._of(_text(*event))

    def witness_ms(self, witness: int, event: int, reported_ns: int) -> int:
        """`ms(witness, event, reported_ns)` of three ints, their text formatted at once
        rather than joined from parts: one call a witness report."""
        return self._of(f"{witness}:{event}:{reported_ns}".encode())

    def _of(self, text: bytes) -> int:
        hasher = self._prefix.copy()
        hasher.update(text)
        return MIN_LATENCY_MS + int.from_bytes(hasher.digest()) % (LATENCY_SPAN_MS + 1)
