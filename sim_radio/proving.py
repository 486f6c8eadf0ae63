"""The proving ground: whole epochs of a scenario through a real oracle, and the scoreboard.

One pass = one scenario on one fresh oracle: the mesh's rounds become signed wire reports in a
report file (wire_reports.py), which `pocnet-oracle import` stores with their receive times;
then `verify`, `rewards compute` and `payout run` for each epoch, as an operator runs them; the
outcome is read back through `rewards show`/`payout status` and the Query service. A run is
two passes: the scenario, and the same scenario without adversaries, whose difference says
what cheaters cost honest hotspots.

Simulated time lies in the past (the scenario's `start`), so every epoch is complete by the
oracle's rules when the pass ends; epochs are PROTOCOL's 24 h, four beacon windows each.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sim_radio.adversaries import Assignment, witness_reports
from sim_radio.links import LinkLog
from sim_radio.mesh import BEACON_WINDOW_NS, Mesh
from sim_radio.oracle_driver import (
    CpuTime,
    Oracle,
    query_verdicts,
    start_oracle,
)
from sim_radio.scenario import Scenario, build
from sim_radio.scoreboard import Outcome
from sim_radio.shared_signatures import SignatureShare
from sim_radio.wire_reports import WireWriter

EPOCH_S = 86_400  # docs/protocol.md §6
WINDOWS_PER_EPOCH = EPOCH_S * 1_000_000_000 // BEACON_WINDOW_NS
ONBOARD_LEAD_MS = 3_600_000  # assertions reach the oracle an hour before the first window
# docs/protocol.md §5: the last epoch is complete this long after its end.
COMPLETE_AFTER_S = 45 * 60

Progress = Callable[[int], object]


class ProvingError(ValueError):
    """A run that cannot start (one line)."""


def epoch_aligned(scenario: Scenario, epochs: int) -> Scenario:
    """The scenario from the start of its first epoch, for `epochs` epochs; refused when the
    last epoch would not be complete yet (the oracle computes only complete epochs)."""
    epoch_ns = EPOCH_S * 1_000_000_000
    start_ns = scenario.start_ns - scenario.start_ns % epoch_ns
    end_s = (start_ns + epochs * epoch_ns) // 1_000_000_000
    if end_s + COMPLETE_AFTER_S > time.time():
        raise ProvingError(f"{scenario.path.name}: start must be at least {epochs} day(s) and "
                           "45 min in the past, so every epoch is complete")
    return replace(scenario, start_ns=start_ns, rounds=epochs * WINDOWS_PER_EPOCH)


def scenario_hash(scenario: Scenario) -> str:
    return hashlib.sha256(scenario.path.read_bytes()).hexdigest()


@dataclass
class Pass:
    """One scenario on one oracle, and what the oracle made of it."""

    name: str
    mesh: Mesh
    assignment: Assignment
    oracle: Oracle
    links: LinkLog
    report_owner: dict[bytes, int] = field(default_factory=dict)  # report id -> hotspot
    beaconer_of: dict[bytes, int] = field(default_factory=dict)  # any report id -> beaconer
    verdicts: dict[bytes, tuple[bool, str]] = field(default_factory=dict)
    imported: dict[str, Any] = field(default_factory=dict)
    manifests: list[dict[str, Any]] = field(default_factory=list)
    payouts: list[dict[str, Any]] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    writer_keys: list[Any] = field(default_factory=list)  # hotspot keypairs by index
    signatures_reused: int = 0  # reports signed with the other pass's signature

    def outcome(self) -> Outcome:
        keys = {k.public_key.address: i for i, k in enumerate(self.writer_keys)}
        rewards = [0] * len(self.assignment.hotspots)
        for m in self.manifests:
            for h in m["hotspots"]:
                rewards[keys[h["hotspot"]]] += h["beacon_amount"] + h["witness_amount"]
        verdicts = {rid: (self.report_owner[rid], valid, reason)
                    for rid, (valid, reason) in self.verdicts.items()}
        return Outcome(verdicts, rewards, sum(m["emission"] for m in self.manifests))


def run_pass(name: str, scenario: Scenario, epochs: int, workdir: Path,
             progress: Progress | None = None, share: SignatureShare | None = None) -> Pass:
    """One pass. The simulation feeds `pocnet-oracle import -` as it goes (and the report
    file, kept for a look afterwards), so the oracle checks and stores one window while the
    next is simulated and signed; the rest follows the import, as an operator runs it.

    `timings_s`: wall seconds of each step (`simulate_and_import` is both, overlapped);
    `cpu_s`: CPU seconds of each, the simulator's own (`simulate_and_sign`; `sign_workers`, its
    signing processes) and each oracle command's with its worker processes: on a shared
    machine these say where the work goes when the wall times only say how busy it was.
    `share`: the signatures this pass and the run's other pass hand each other for the
    reports both send (sim_radio/shared_signatures.py); `signatures_reused` counts this
    pass's reports signed that way."""
    timings: dict[str, float] = {}
    cpu = CpuTime({})
    t = time.monotonic()
    mesh, assignment = build(scenario)
    oracle = start_oracle(workdir, EPOCH_S)
    writer = WireWriter(assignment, scenario.seed, oracle.key, share=share)
    p = Pass(name, mesh, assignment, oracle, LinkLog(assignment, WINDOWS_PER_EPOCH),
             writer_keys=writer.keys)
    start_ms = scenario.start_ns // 1_000_000
    # As an operator starts a network: allowlist the maker, then import.
    oracle.run("registry", "maker", "add", writer.maker.public_key.address,
               "--quota", str(len(writer.keys)), "--name", "proving ground", cpu=cpu)
    report_file = workdir / "reports.jsonl"
    importing = oracle.stream("import", "-", cpu=cpu)
    own_cpu = 0.0
    with report_file.open("wb") as out, importing as send:
        def emit(lines: list[str]) -> None:
            data = "".join(lines).encode()
            out.write(data)
            send(data)  # returns while the import still reads the previous window

        emit(list(writer.onboarding(start_ms - ONBOARD_LEAD_MS)))
        for r in range(scenario.rounds):
            started_cpu = time.thread_time()
            result = mesh.beacon_round(r)
            witnesses = witness_reports(mesh, result, assignment)
            rr = writer.round_reports(result, witnesses)
            for rid, tx in zip(rr.beacon_id, result.transmissions.tx.tolist(), strict=True):
                if rid:
                    p.report_owner[rid] = p.beaconer_of[rid] = tx
            for rid, w, b in zip(rr.witness_id, witnesses.witness.tolist(),
                                 witnesses.beaconer.tolist(), strict=True):
                if rid:
                    p.report_owner[rid], p.beaconer_of[rid] = w, b
            p.links.add_round(r, witnesses, rr.witness_id)
            own_cpu += time.thread_time() - started_cpu
            emit(rr.lines)
            if progress is not None:
                progress(1)
    cpu.seconds["simulate_and_sign"] = own_cpu
    writer.close()
    cpu.seconds["sign_workers"] = writer.worker_cpu_s
    p.signatures_reused = writer.signatures_reused
    p.imported = importing.result
    if refused := sum(p.imported["rejected"].values()):
        first = p.imported["first_rejected"][0]
        raise ProvingError(f"the oracle refused {refused} records of {report_file} (line "
                           f"{first['line']}: {first['reason']}): the simulation and the "
                           "oracle's rules disagree, so no score would mean anything")
    timings["simulate_and_import"] = time.monotonic() - t
    t = time.monotonic()
    oracle.run("verify", cpu=cpu)
    timings["verify"] = time.monotonic() - t
    t = time.monotonic()
    first = start_ms // (EPOCH_S * 1000)
    for epoch in range(first, first + epochs):
        p.manifests.append(oracle.run("rewards", "compute", "--epoch", str(epoch),
                                      "--allow-empty", cpu=cpu))
    timings["rewards"] = time.monotonic() - t
    t = time.monotonic()
    for epoch in range(first, first + epochs):
        oracle.run("payout", "run", "--epoch", str(epoch), "--ledger", str(oracle.ledger),
                   "--create", cpu=cpu)
        p.payouts.append(oracle.run("payout", "status", "--epoch", str(epoch), "--ledger",
                                    str(oracle.ledger), cpu=cpu))
    timings["payout"] = time.monotonic() - t
    t = time.monotonic()
    started_cpu = time.thread_time()
    with oracle.serving(cpu) as address:
        # Every verdict of the pass's own fresh oracle: its reports are all this pass's.
        p.verdicts = query_verdicts(address)
    cpu.seconds["read_back_client"] = time.thread_time() - started_cpu
    timings["read_back"] = time.monotonic() - t
    p.timings_s = {k: round(v, 2) for k, v in timings.items()}
    p.cpu_s = {k: round(v, 2) for k, v in sorted(cpu.seconds.items())}
    return p


def run_both(scenario: Scenario, epochs: int, out: Path,
             progress: Progress | None = None) -> tuple[Pass, Pass]:
    """The scenario's pass and the pass without adversaries, side by side: they share
    nothing but the scenario, and each is mostly oracle commands in processes of their own,
    so on a machine with two free cores the run takes about one pass's time. They share the
    signatures of the reports both send (most of them: the honest hotspots' keys and rounds
    are the same), each made once; each oracle still checks every one it stores."""
    from concurrent.futures import ThreadPoolExecutor

    clean = replace(scenario, adversaries=())
    share = SignatureShare()
    with ThreadPoolExecutor(2, thread_name_prefix="pass") as passes:
        run = passes.submit(run_pass, "scenario", scenario, epochs, out / "scenario",
                            progress, share)
        baseline = passes.submit(run_pass, "without-adversaries", clean, epochs,
                                 out / "without-adversaries", progress, share)
        return run.result(), baseline.result()


def compare_honest(run: Pass, clean: Pass, honest: set[int]) -> dict[str, int]:
    """Honest hotspots' reports judged in both runs: how many alike, and why the others
    differ: the beacon was a cheater's (its witnesses follow its assertion), reciprocity
    (HIP-106 looks at who else was valid), or neither ("unexplained", a bug to look at)."""
    from sim_radio.scoreboard import RECIPROCITY

    out = {"compared": 0, "same": 0, "beaconer_cheats": 0, "reciprocity": 0,
           "unexplained": 0}
    for rid, verdict in run.verdicts.items():
        twin = clean.verdicts.get(rid)
        if run.report_owner[rid] not in honest or twin is None:
            continue
        out["compared"] += 1
        if twin == verdict:
            out["same"] += 1
        elif run.beaconer_of[rid] not in honest:
            out["beaconer_cheats"] += 1
        elif {verdict[1], twin[1]} & RECIPROCITY:
            out["reciprocity"] += 1
        else:
            out["unexplained"] += 1
    return out


def payout_matches_manifest(manifests: list[dict], payouts: list[dict]) -> bool:
    """Every wallet of every epoch's manifest (`rewards compute --json`) paid exactly its
    amount in confirmed batches, and no other wallet (`payout status --json`)."""
    for manifest, status in zip(manifests, payouts, strict=True):
        owed = {w["wallet"]: w["amount"] for w in manifest["wallets"] if w["amount"]}
        paid = {w["wallet"]: w["epoch_amount"] for w in status["wallets"]}
        confirmed = all(b["state"] == "confirmed" for b in status["batches"])
        if owed != paid or not confirmed:
            return False
    return True

