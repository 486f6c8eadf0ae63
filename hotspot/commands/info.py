"""`pocnet-hotspot info`: what an owner asks first — is it working, and why was a report invalid?

Local facts come from the settings, the key and the outbox database (depth, drops, the last
beacon and witness the daemon recorded); the oracle adds the registry record, the verdicts of
recent reports with their reasons, and rewards per epoch. With several oracle endpoints each is
tried in turn until one answers; an unreachable oracle is reported as such (with what each
endpoint said) and the local part is still shown. gRPC's own log lines are kept off the
owner's terminal: the answer, or the one-line reason, is what matters here.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from pocnet.cli import UsageError, print_json

INFO_TIMEOUT_S = 3.0
RECENT_REPORTS = 10


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("info", help="show the hotspot's status and its recent verdicts",
                              description="Address, region, radio, GPS, outbox, last beacon and "
                              "witness, and from the oracle: recent verdicts and rewards.")
    p.add_argument("-c", "--config", metavar="PATH",
                   help="settings file (default /etc/pocnet/hotspot.toml)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_run)


def _when(ns: int | None) -> str | None:
    if not ns:
        return None
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


async def oracle_status(conf: Any, key: bytes) -> dict[str, Any]:
    """Registry record, recent verdicts and rewards from the first endpoint that answers;
    {"reachable": False, "tried": [...]} when none does."""
    import dataclasses

    from hotspot.client.connection import OracleConnection
    from hotspot.client.query import QueryClient
    from hotspot.client.registry import RegistryClient
    from hotspot.errors import OracleUnavailable

    tried: list[dict[str, str]] = []
    for endpoint in conf.oracle.endpoints:
        oracle = dataclasses.replace(conf.oracle, endpoints=(endpoint,),
                                     timeout_s=min(conf.oracle.timeout_s, INFO_TIMEOUT_S))
        conn = OracleConnection(oracle)
        try:
            info = await RegistryClient(conn).get_hotspot(key)
            query = QueryClient(conn)
            reports = await query.list_reports(key, RECENT_REPORTS)
            rewards = await query.get_rewards(key)
        except OracleUnavailable as exc:
            tried.append({"endpoint": endpoint, "error": str(exc)})
            continue
        finally:
            await conn.close()
        return {**_answer(info, reports, rewards), "endpoint": endpoint, "tried": tried}
    return {"reachable": False, "endpoint": tried[-1]["endpoint"], "error": tried[-1]["error"],
            "tried": tried}


def _answer(info: Any, reports: Any, rewards: Any) -> dict[str, Any]:
    from pocnet.wire import verdict_pb2

    verdicts = []
    for summary in reports:
        entry: dict[str, Any] = {
            "id": summary.id.hex(),
            "kind": verdict_pb2.ReportKind.Name(summary.kind).lower(),
            "received": _when(summary.received_ms * 1_000_000),
            "verdict": "pending",
        }
        if summary.HasField("verdict"):
            v = summary.verdict
            entry["verdict"] = "valid" if v.valid else "invalid"
            if not v.valid:
                entry["reason"] = verdict_pb2.InvalidReason.Name(v.reason)
            entry["detail"] = v.detail
            entry["selected"] = v.selected
            entry["location_trust"] = v.location_trust
        verdicts.append(entry)
    return {
        "reachable": True,
        "onboarded": info is not None,
        "asserted_region": (info.region or None) if info else None,
        # The registry nonce: the next location request or transfer takes this + 1.
        "nonce": info.nonce if info else None,
        "denied": bool(info and info.denied),
        "denial": _denial(info),
        "denied_edges": _denied_edges(info),
        "recent_reports": verdicts,
        "rewards": [{"epoch": r.epoch, "beacon": r.beacon_amount, "witness": r.witness_amount}
                    for r in rewards],
    }


def _denial(info: Any) -> dict[str, Any] | None:
    """Why the operator (or gaming detection) denied this hotspot, and until when."""
    if info is None or not info.denied:
        return None
    d = info.denial
    return {"reason": d.reason or None, "evidence": d.evidence or None,
            "until": _when(d.expires_at_ms * 1_000_000) if d.expires_at_ms else None}


def _denied_edges(info: Any) -> list[dict[str, Any]]:
    """The hotspots this one may not witness or be witnessed by (keys behind one antenna),
    why, and until when: its other reports still count."""
    from pocnet.keys import PublicKey

    if info is None:
        return []
    return [{"with": PublicKey.from_bytes(e.b if e.a == info.hotspot_key else e.a).address,
             "reason": e.reason or None, "evidence": e.evidence or None,
             "until": _when(e.expires_at_ms * 1_000_000) if e.expires_at_ms else None}
            for e in info.denied_edges]


def gather(conf: Any) -> dict[str, Any]:
    import asyncio

    from hotspot.errors import KeyStoreError, OutboxError
    from hotspot.keystore import KeyStore
    from hotspot.outbox import read_only

    try:
        store = KeyStore.load(conf.key.file)
    except KeyStoreError as exc:
        raise UsageError(str(exc)) from None
    out: dict[str, Any] = {
        "address": store.address,
        "public_key": store.key_bytes.hex(),
        "radio": {"kind": conf.radio.kind, "device": conf.radio.device or None},
        "gps": {"device": conf.gps.device or None},
        "region": conf.beacon.region or None,
        "region_source": "settings" if conf.beacon.region else "oracle",
        # Whether beacons are built only on entropy signed by a listed oracle (oracle.keys).
        "entropy_authenticated_by": list(conf.oracle.keys),
    }
    try:
        outbox = read_only(conf.outbox.path)
    except OutboxError as exc:
        outbox, out["outbox"] = None, {"error": str(exc)}
    if outbox is not None:
        out["outbox"] = {"depth": outbox.depth(), "dropped": outbox.drops()}
        out["last_beacon"] = outbox.get_state("last_beacon")
        out["last_witness"] = outbox.get_state("last_witness")
        if conf.gps.device:
            out["gps"]["state"] = outbox.get_state("gps")
        if out["region"] is None:
            out["region"] = outbox.get_state("region") or None
        outbox.close()
    elif "outbox" not in out:
        out["outbox"] = {"depth": 0, "dropped": {}, "note": "no outbox yet (daemon never ran)"}
    out["oracle"] = asyncio.run(oracle_status(conf, store.key_bytes))
    return out


def _print_human(out: dict[str, Any]) -> None:
    print(f"address      {out['address']}")
    print(f"region       {out['region'] or 'unknown'} (from {out['region_source']})")
    print(f"radio        {out['radio']['kind']} {out['radio']['device'] or ''}".rstrip())
    gps = out["gps"]
    state = gps.get("state") or {}
    print(f"gps          {gps['device'] or 'none configured'}"
          + (f" ({state['status']} since {_when(state['since_ns'])})" if state else ""))
    signers = out["entropy_authenticated_by"]
    print("entropy      " + (f"accepted only from {', '.join(signers)}" if signers
                             else "not authenticated (set oracle.keys)"))
    box = out["outbox"]
    print(f"outbox       {box.get('depth', '?')} waiting, dropped {box.get('dropped') or 'none'}")
    for name in ("last_beacon", "last_witness"):
        last = out.get(name)
        text = "never"
        if last:
            text = f"{_when(last['timestamp_ns'])} on {last['frequency_hz'] / 1e6:.1f} MHz"
            if last.get("gps_time"):
                text += ", on GPS time"
        print(f"{name.replace('_', ' '):12} {text}")
    oracle = out["oracle"]
    for failed in oracle["tried"] if oracle["reachable"] else oracle["tried"][:-1]:
        print(f"oracle       unreachable at {failed['endpoint']}: {failed['error']}")
    if not oracle["reachable"]:
        print(f"oracle       unreachable at {oracle['endpoint']}: {oracle['error']}")
        return
    print(f"oracle       connected to {oracle['endpoint']}"
          + (f" (registry nonce {oracle['nonce']})" if oracle["onboarded"]
             else " (hotspot not onboarded)"))
    denial = oracle.get("denial")
    if denial is not None:
        print(f"denied       {denial['reason'] or 'no reason given'}"
              + (f", until {denial['until']}" if denial["until"] else "")
              + (f"; evidence {denial['evidence']}" if denial["evidence"] else ""))
    for edge in oracle.get("denied_edges", []):
        print(f"denied pair  with {edge['with']}: {edge['reason'] or 'no reason given'}"
              + (f", until {edge['until']}" if edge["until"] else "")
              + (f"; evidence {edge['evidence']}" if edge["evidence"] else ""))
    for r in oracle["recent_reports"]:
        why = f" {r['reason']}: {r.get('detail', '')}" if r["verdict"] == "invalid" else ""
        print(f"  {r['received']} {r['kind']:8} {r['verdict']}{why}".rstrip())
    for r in oracle["rewards"]:
        print(f"  epoch {r['epoch']}: beacon {r['beacon']} witness {r['witness']}")


def _run(args: argparse.Namespace) -> int:
    from hotspot import settings
    from hotspot.errors import SettingsError

    try:
        conf = settings.load(args.config)
    except SettingsError as exc:
        raise UsageError(*str(exc).splitlines()) from None
    out = gather(conf)
    if args.json:
        print_json(out)
    else:
        _print_human(out)
    return 0
