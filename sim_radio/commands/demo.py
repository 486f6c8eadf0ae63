"""`pocnet-sim demo`: the network of `make demo`, end to end on one machine.

A handful of hotspots a few km apart in Amersfoort (NL, EU868) on a propagation-driven mesh,
each a real `pocnet-hotspot run` process on its own virtual radio, and a real `pocnet-oracle
serve` deciding what they did. One hotspot lies: it asserts a location in Arnhem, ~39 km from
where its radio really is, while its own u-blox reports the truth. The demo waits until every
hotspot's beacon has a verdict (the verifier waits for the entropy window to close), prints
each PoC with its witnesses, and says whether the liar was caught.

Then the rest of the loop, with the oracle's own commands: the oracle runs as a test network
with 30-second epochs (`[network] epoch_s`), so once those epochs are complete the demo
computes their rewards and manifests, pays them on the embedded Solana VM, checks the payout
against the manifests, and prints the scoreboard (sim_radio/scoreboard.py) of the liar's class
against the honest hotspots.

Most hotspots use a packet forwarder (an 8-channel concentrator, like real Helium hotspots);
two use a RAK3172, which in P2P mode listens on one channel (its region plan's first,
867.1 MHz in EU868) and so only witnesses the beacons that land there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pocnet.cli import UsageError, integer, number, print_json

TOWN = "Amersfoort"
# (name, true lat, true lon, radio, u-blox): real neighbourhoods, 1–7 km apart.
HONEST_SITES = (
    ("centrum", 52.1561, 5.3878, "rak3172", True),
    ("vathorst", 52.1950, 5.4250, "packet-forwarder", False),
    ("hoogland", 52.1850, 5.3700, "packet-forwarder", False),
    ("leusden", 52.1330, 5.4300, "packet-forwarder", False),
    ("soesterkwartier", 52.1600, 5.3600, "rak3172", False),
    ("schothorst", 52.1750, 5.4050, "packet-forwarder", False),
    ("kattenbroek", 52.1700, 5.4250, "packet-forwarder", False),
)
# The liar's radio is in Nieuwland; it asserts Arnhem centre.
DISHONEST = ("nieuwland", 52.1830, 5.4010, "packet-forwarder", True)
DISHONEST_ASSERTS = ("Arnhem", 51.9851, 5.8987)
DEFAULT_HOTSPOTS = 7
FIRST_DELAY_S = (5, 60)       # [beacon] first_delay_min_s / _max_s of every daemon
START_LEAD_S = 30.0           # the daemons' processes up, on a busy machine
POLL_S = 2.0
EXIT_FAILED = 1
# Reasons that are not about the hotspot's honesty: the HIP-106 bootstrap of a fresh network.
RECIPROCITY = {"gateway_no_valid_witnesses", "gateway_no_valid_beacons"}
# The demo's test network: 30-second epochs; an epoch is complete once anything unverified in
# it would be stale, and beacons are verified ~184 s after arrival (180 s entropy window + 4 s).
REWARD_EPOCH_S = 30
REWARD_STALE_AFTER_S = 200


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo", help="a small town network: oracle + hotspot daemons on virtual radios",
        description="Start an oracle and N hotspot daemons on virtual radios in one town "
        "(one hotspot lies about its location), wait until every beacon has a verdict, "
        "print each PoC and whether the liar was caught, then reward and pay the test "
        "network's 30-second epochs. Takes ~4-5 minutes.")
    p.add_argument("--hotspots", type=integer(), default=DEFAULT_HOTSPOTS, metavar="N",
                   help=f"hotspots including the dishonest one, 3..{len(HONEST_SITES) + 1} "
                   f"(default {DEFAULT_HOTSPOTS})")
    p.add_argument("--dir", metavar="DIR", help="empty or new directory for keys, database, "
                   "configs and logs (default: a new temporary directory, kept)")
    p.add_argument("--timeout-s", type=number(), default=420.0,
                   help="give up when the verdicts are not all in after this long (default 420; "
                   "plus the wait for the next beacon window when started in one's last minutes)")
    p.add_argument("--seed", type=integer(), default=1, help="mesh seed (shadowing, noise)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=_run)


@dataclass(frozen=True)
class Member:
    name: str
    address: str
    key: bytes
    radio: str
    gps: bool
    dishonest: bool


def _run(args: argparse.Namespace) -> int:
    top = len(HONEST_SITES) + 1
    if not 3 <= args.hotspots <= top:
        raise UsageError(f"--hotspots must be between 3 and {top}, got {args.hotspots}")
    if args.timeout_s <= 0:
        raise UsageError("--timeout-s must be > 0")
    if args.dir:
        directory = Path(args.dir).resolve()
        if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise UsageError(f"--dir {directory} must be a new or empty directory")
        directory.mkdir(parents=True, exist_ok=True)
    else:
        directory = Path(tempfile.mkdtemp(prefix="pocnet-demo-"))
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # gRPC C-core notices would garble stderr
    import grpc

    try:
        result = asyncio.run(_demo(args, directory))
    except (KeyboardInterrupt, asyncio.CancelledError):
        _say("interrupted; every process it started is stopped")
        return 130
    except (RuntimeError, OSError, grpc.RpcError) as exc:
        _say(f"failed: {exc}; logs in {directory}")
        return EXIT_FAILED
    if args.json:
        print_json(result)
    else:
        _print(result)
    paid = result["rewards"] is None or result["rewards"]["payout_matches_manifest"]
    return 0 if result["complete"] and paid else EXIT_FAILED


async def _demo(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    import grpc

    from pocnet import geo
    from pocnet.beacon import beacon_tail_wait_s
    from pocnet.keys import create_keyfile
    from sim_radio import network as net
    from sim_radio.oracle_driver import start_oracle

    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, task.cancel)  # type: ignore[union-attr]
    chosen = [*HONEST_SITES[: args.hotspots - 1], DISHONEST]
    sites = [net.Site(n, lat, lon, radio, gps) for n, lat, lon, radio, gps in chosen]
    network = net.VirtualNetwork(sites, net.mesh_air(sites, "hata-suburban", args.seed))
    settings = start_oracle(directory, REWARD_EPOCH_S, REWARD_STALE_AFTER_S, network="mainnet")
    oracle = net.OracleProcess(directory, config=settings.config)
    processes: list[net.ManagedProcess] = [oracle]
    started = time.monotonic()
    try:
        await network.start()
        await oracle.start()
        _say(f"oracle listening on {oracle.address}; data in {directory}")
        members: list[Member] = []
        async with grpc.aio.insecure_channel(oracle.address) as channel:
            for site in sites:
                liar = site.node_id == DISHONEST[0]
                files = net.prepare_hotspot(directory, site.node_id, oracle.address,
                                            network.endpoints[site.node_id], site.gain_dbi_x10,
                                            FIRST_DELAY_S)
                owner = create_keyfile(directory / site.node_id / "owner.key")
                lat, lon = DISHONEST_ASSERTS[1:] if liar else (site.lat, site.lon)
                info = await net.onboard(channel, net.location_assertion(
                    files.key, owner, lat, lon, site.gain_dbi_x10, round(site.height_m),
                    maker=oracle.maker))
                if info.region != "EU868":
                    raise RuntimeError(f"{site.node_id}: oracle says region {info.region!r}")
                members.append(Member(site.node_id, files.key.public_key.address,
                                      files.key.public_key.to_bytes(), site.radio, site.gps,
                                      liar))
                processes.append(net.HotspotProcess(files))
            # A daemon started in a beacon window's last minutes beacons once the next opens.
            tail_s = beacon_tail_wait_s(time.time(), START_LEAD_S + FIRST_DELAY_S[0])
            for proc in processes[1:]:
                await proc.start()
            lie_km = geo.haversine_m(DISHONEST[1], DISHONEST[2], *DISHONEST_ASSERTS[1:]) / 1000
            first = (f"The 6-hour beacon window closes in {tail_s:.0f} s and hotspots beacon "
                     f"in no window's last 5 min: first beacons within {FIRST_DELAY_S[1]} s "
                     "of the next" if tail_s else f"First beacons within {FIRST_DELAY_S[1]} s")
            _say(f"{len(members)} hotspots running in {TOWN}; {DISHONEST[0]} asserts "
                 f"{DISHONEST_ASSERTS[0]}, {lie_km:.1f} km from its radio. {first}, each "
                 "verdict ~2-3 min later (entropy window).")
            beacons, complete = await _collect(channel, members, processes, network,
                                               started + args.timeout_s + tail_s, started)
        for proc in processes[1:]:  # the epochs are what they are: no new beacons
            await proc.stop()
        rewards = await asyncio.to_thread(_reward_and_pay, settings, beacons, members) \
            if complete and beacons else None
    finally:
        await net.stop_all(processes)
        await network.stop()
    result = _result(members, beacons, complete, directory, time.monotonic() - started,
                     lie_km)
    result["rewards"] = rewards
    return result


def _reward_and_pay(oracle: Any, beacons: list[dict[str, Any]],
                    members: list[Member]) -> dict[str, Any]:
    """The test epochs that hold the beacons, once complete: `rewards compute`, `payout run`
    and `payout status` of each, and the scoreboard of the outcome."""
    from sim_radio.proving import payout_matches_manifest
    from sim_radio.scoreboard import HONEST, Outcome, score

    epoch_ms = REWARD_EPOCH_S * 1000
    first = min(b["received_ms"] for b in beacons) // epoch_ms
    last = max(b["received_ms"] for b in beacons) // epoch_ms
    ready_s = ((last + 1) * epoch_ms) / 1000 + REWARD_STALE_AFTER_S + 1
    if (wait_s := ready_s - time.time()) > 0:
        _say(f"test epochs {first}..{last} ({REWARD_EPOCH_S} s each) complete in {wait_s:.0f} s")
        time.sleep(wait_s)
    manifests, payouts = [], []
    for epoch in range(first, last + 1):
        manifests.append(oracle.run("rewards", "compute", "--epoch", str(epoch),
                                    "--allow-empty"))
        oracle.run("payout", "run", "--epoch", str(epoch), "--ledger", str(oracle.ledger),
                   "--create")
        payouts.append(oracle.run("payout", "status", "--epoch", str(epoch), "--ledger",
                                  str(oracle.ledger)))
    index = {m.address: i for i, m in enumerate(members)}
    amounts = [0] * len(members)
    for m in manifests:
        for h in m["hotspots"]:
            amounts[index[h["hotspot"]]] += h["beacon_amount"] + h["witness_amount"]
    names = {m.name: i for i, m in enumerate(members)}
    verdicts = {bytes.fromhex(b["id"]): (names[b["beaconer"]], b["valid"], b["reason"] or "")
                for b in beacons}
    verdicts |= {bytes.fromhex(b["id"]) + w["witness"].encode(): (
                     names[w["witness"]], w["valid"], w["reason"] or "")
                 for b in beacons for w in b["witnesses"] if w["witness"] in names}
    classes = {HONEST: [i for i, m in enumerate(members) if not m.dishonest],
               "false_location": [i for i, m in enumerate(members) if m.dishonest]}
    emission = sum(m["emission"] for m in manifests)
    return {
        "epoch_s": REWARD_EPOCH_S,
        "epochs": [{"epoch": m["epoch"], "total_paid": m["total_paid"],
                    "unallocated": m["unallocated"], "merkle_root": m["merkle_root"]}
                   for m in manifests],
        "hotspots": {m.name: amounts[i] for i, m in enumerate(members)},
        "payout_matches_manifest": payout_matches_manifest(manifests, payouts),
        "scoreboard": score(classes, Outcome(verdicts, amounts, emission), None),
        "ledger": str(oracle.ledger),
    }


def _say(text: str) -> None:
    print(f"pocnet-sim demo: {text}", file=sys.stderr, flush=True)


async def _collect(channel: Any, members: list[Member], processes: list[Any], network: Any,
                   deadline: float, started: float) -> tuple[list[dict[str, Any]], bool]:
    """Poll the QueryService until every hotspot has a beacon and every beacon a verdict."""
    from pocnet.wire import service_pb2, service_pb2_grpc, verdict_pb2

    query = service_pb2_grpc.QueryServiceStub(channel)
    names = {m.key: m.name for m in members}
    tty = sys.stderr.isatty()
    last_line = 0.0
    while True:
        for proc in processes:
            if proc.returncode is not None:
                raise RuntimeError(f"{proc.name} exited with {proc.returncode}: "
                                   f"{proc.log_tail(3)}")
        if (why := network.failed()) is not None:
            raise RuntimeError(f"virtual device failed: {why}")
        beacons, witnesses, verified, senders = [], 0, 0, 0
        for m in members:  # a hotspot's list holds its own reports only
            reply = await query.ListReports(service_pb2.ReportsRequest(hotspot_key=m.key),
                                            timeout=10)
            witnesses += sum(r.kind == verdict_pb2.WITNESS for r in reply.reports)
            own = [r for r in reply.reports if r.kind == verdict_pb2.BEACON]
            beacons += own
            senders += bool(own)
            verified += sum(r.HasField("verdict") for r in own)
        now = time.monotonic()
        done = senders == len(members) and verified == len(beacons)
        if tty or now - last_line >= 15 or done:
            line = (f"[{now - started:4.0f} s] hotspots beaconed {senders}/{len(members)}, "
                    f"beacons verified {verified}/{len(beacons)}, witness reports {witnesses}")
            print(f"\r{line:79}" if tty else line, end="" if tty else "\n", file=sys.stderr,
                  flush=True)
            last_line = now
        if done or now > deadline:
            if tty:
                print(file=sys.stderr)
            pocs = [await _poc(query, bytes(b.id), names) for b in beacons]
            return sorted(pocs, key=lambda p: p["received_ms"]), done
        await asyncio.sleep(POLL_S)


def _verdict(summary: Any) -> dict[str, Any]:
    from pocnet.wire import verdict_pb2

    if not summary.HasField("verdict"):
        return {"verdict": "pending", "valid": None, "reason": None, "detail": "",
                "selected": False, "location_trust": None}
    v = summary.verdict
    return {"verdict": "valid" if v.valid else "invalid", "valid": v.valid,
            "reason": None if v.valid else verdict_pb2.InvalidReason.Name(v.reason),
            "detail": v.detail, "selected": v.selected, "location_trust": v.location_trust}


async def _poc(query: Any, beacon_id: bytes, names: dict[bytes, str]) -> dict[str, Any]:
    from pocnet.wire import reports_pb2, service_pb2

    poc = await query.GetPoc(service_pb2.PocRequest(beacon_id=beacon_id), timeout=10)
    b = poc.beacon.beacon
    witnesses = []
    for w in poc.witnesses:
        r = w.witness
        witnesses.append({
            "witness": names.get(bytes(r.pub_key), bytes(r.pub_key).hex()),
            "rssi_dbm": r.signal / 10, "snr_db": r.snr / 10, "frequency_hz": r.frequency,
            "gps_fix": r.HasField("gps_fix"), "received_ms": w.summary.received_ms,
            **_verdict(w.summary),
        })
    witnesses.sort(key=lambda w: w["received_ms"])
    return {
        "id": beacon_id.hex(), "beaconer": names.get(bytes(b.pub_key), bytes(b.pub_key).hex()),
        "received_ms": poc.beacon.summary.received_ms, "frequency_hz": b.frequency,
        "datarate": reports_pb2.DataRate.Name(b.datarate), "tx_power_dbm": b.tx_power,
        "gps_fix": b.HasField("gps_fix"), **_verdict(poc.beacon.summary),
        "witnesses": witnesses,
    }


def _result(members: list[Member], beacons: list[dict[str, Any]], complete: bool,
            directory: Path, elapsed_s: float, lie_km: float) -> dict[str, Any]:
    reports = [(b["beaconer"], b) for b in beacons]
    reports += [(w["witness"], w) for b in beacons for w in b["witnesses"]]
    liar = DISHONEST[0]
    liar_reports = [r for who, r in reports if who == liar and r["valid"] is not None]
    liar_reasons = Counter(r["reason"] for r in liar_reports if not r["valid"])
    caught = (bool(liar_reports) and not any(r["valid"] for r in liar_reports)
              and any(reason not in RECIPROCITY for reason in liar_reasons))
    honest_flagged = [
        {"hotspot": who, "reason": r["reason"], "detail": r["detail"]}
        for who, r in reports
        if who != liar and r["valid"] is False and r["reason"] not in RECIPROCITY
        and not any(b["beaconer"] == liar and r in b["witnesses"] for b in beacons)
    ]
    witness_list = [w for b in beacons for w in b["witnesses"]]
    return {
        "complete": complete, "elapsed_s": round(elapsed_s, 1), "directory": str(directory),
        "town": TOWN, "region": "EU868",
        "hotspots": [{"name": m.name, "address": m.address, "radio": m.radio, "gps": m.gps,
                      "dishonest": m.dishonest} for m in members],
        "beacons": beacons,
        "summary": {
            "beacons": len(beacons),
            "beacons_valid": sum(b["valid"] is True for b in beacons),
            "beacons_invalid": sum(b["valid"] is False for b in beacons),
            "beacon_reasons": dict(Counter(b["reason"] for b in beacons if b["reason"])),
            "witnesses": len(witness_list),
            "witnesses_valid": sum(w["valid"] is True for w in witness_list),
            "witnesses_invalid": sum(w["valid"] is False for w in witness_list),
            "witness_reasons": dict(Counter(w["reason"] for w in witness_list if w["reason"])),
            "dishonest": liar, "dishonest_asserts": DISHONEST_ASSERTS[0],
            "dishonest_offset_km": round(lie_km, 1),
            "dishonest_caught": caught, "dishonest_reasons": dict(liar_reasons),
            "honest_flagged": honest_flagged,
        },
    }


def _fmt_verdict(r: dict[str, Any]) -> str:
    if r["valid"] is None:
        return "pending"
    if r["valid"]:
        extra = ", selected" if r.get("selected") and "witness" in r else ""
        return f"VALID{extra} (trust {r['location_trust']})"
    return f"INVALID {r['reason']}" + (f" ({r['detail']})" if r["detail"] else "")


def _print(result: dict[str, Any]) -> None:
    s = result["summary"]
    print(f"pocnet demo: {len(result['hotspots'])} hotspots in {result['town']} "
          f"({result['region']}), {result['elapsed_s']:.0f} s, data in {result['directory']}")
    for h in result["hotspots"]:
        gear = h["radio"] + (" + u-blox" if h["gps"] else "")
        lie = f"  DISHONEST: asserts {s['dishonest_asserts']}" if h["dishonest"] else ""
        print(f"  {h['name']:16} {h['address'][:12]}…  {gear}{lie}")
    for b in result["beacons"]:
        when = time.strftime("%H:%M:%S", time.gmtime(b["received_ms"] / 1000))
        print(f"\nbeacon by {b['beaconer']} at {when} UTC, {b['frequency_hz'] / 1e6:.1f} MHz "
              f"{b['datarate']} {b['tx_power_dbm']} dBm{' +GPS' if b['gps_fix'] else ''}: "
              f"{_fmt_verdict(b)}")
        if not b["witnesses"]:
            print("    no witnesses")
        for w in b["witnesses"]:
            print(f"    witness {w['witness']:16} RSSI {w['rssi_dbm']:7.1f} dBm  SNR "
                  f"{w['snr_db']:5.1f} dB  {_fmt_verdict(w)}")
    print(f"\nsummary: {s['beacons']} beacons: {s['beacons_valid']} valid, "
          f"{s['beacons_invalid']} invalid {s['beacon_reasons'] or ''}")
    print(f"         {s['witnesses']} witnesses: {s['witnesses_valid']} valid, "
          f"{s['witnesses_invalid']} invalid {s['witness_reasons'] or ''}")
    verdict = "CAUGHT" if s["dishonest_caught"] else "NOT caught"
    print(f"dishonest hotspot {s['dishonest']} (asserts {s['dishonest_asserts']}, "
          f"{s['dishonest_offset_km']} km away): {verdict} {s['dishonest_reasons']}")
    print(f"honest reports invalid for other reasons than reciprocity: "
          f"{len(s['honest_flagged'])}")
    print("note: reciprocity (HIP-106) invalidates a fresh network's first beacons and "
          "witnesses until a hotspot has both witnessed and been witnessed.")
    if not result["complete"]:
        print("pocnet-sim demo: not every beacon got a verdict in time", file=sys.stderr)
    _print_rewards(result.get("rewards"))


def _print_rewards(rewards: dict[str, Any] | None) -> None:
    from sim_radio.scoreboard import table

    if rewards is None:
        return
    epochs = rewards["epochs"]
    print(f"\nrewards: {len(epochs)} test epoch(s) of {rewards['epoch_s']} s "
          f"({', '.join(str(e['epoch']) for e in epochs)}), "
          f"{sum(e['total_paid'] for e in epochs)} base units paid")
    for name, amount in rewards["hotspots"].items():
        print(f"  {name:16} {amount:>20}")
    ok = "yes" if rewards["payout_matches_manifest"] else "NO"
    print(f"payout on the embedded Solana VM equals the manifests: {ok} "
          f"(ledger {rewards['ledger']})")
    print(table(rewards["scoreboard"]))
