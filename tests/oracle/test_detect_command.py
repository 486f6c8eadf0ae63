"""`pocnet-oracle detect`: what it would deny and why, from a real store; bad input as one line
and exit 2."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from oracle.cli import main
from oracle.rewards.model import epoch_of_ms
from oracle.storage import open_repository
from oracle.storage.repository import NewReport, Registration
from pocnet import geo
from pocnet.keys import PublicKey
from pocnet.wire import reports_pb2

T0 = 1_760_000_000_000
EPOCH = epoch_of_ms(T0)
CLOCK_OFF_MS = 120_000  # B's clock runs two minutes fast: past the 60 s of clock_offset


def key(name: str) -> bytes:
    return b"\x01" + name.encode() * 32


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'oracle.db'}"
    repo = open_repository(url)
    try:
        repo.migrate()
        maker = b"\x01" + b"M" * 32
        repo.put_maker(maker, "test maker", 10, 0)
        for n, (name, lat) in enumerate((("A", 52.50), ("B", 52.51))):
            repo.apply_assertion(
                Registration(key(name), bytes(32), geo.latlng_to_cell(lat, 13.3, 12), 0, 0,
                             "full", "EU868", 1, T0 - 10, maker), b"raw", T0 - 10 + n)
        for i in range(3):
            at = T0 + i * 3_600_000
            beacon = reports_pb2.BeaconReport(pub_key=key("A"), data=bytes([i]) * 51,
                                              tx_power=14, timestamp=at * 1_000_000)
            heard = reports_pb2.WitnessReport(pub_key=key("B"), data=bytes([i]) * 51,
                                              signal=-1100, snr=20,
                                              timestamp=(at + CLOCK_OFF_MS) * 1_000_000)
            ids = (f"b{i}".encode().ljust(32, b"#"), f"w{i}".encode().ljust(32, b"#"))
            repo.insert_reports([
                NewReport(ids[0], "beacon", key("A"), at + 300, beacon.SerializeToString()),
                NewReport(ids[1], "witness", key("B"), at + 800, heard.SerializeToString()),
            ])
            with repo.transaction() as tx:
                for rid, kind, h, b, when in ((ids[0], 0, "A", None, at + 300),
                                              (ids[1], 1, "B", ids[0], at + 800)):
                    tx.execute(
                        "INSERT INTO verdicts (report_id, kind, hotspot_key, beacon_id, "
                        "received_ms, valid, reason, selected, location_trust, passed_regular, "
                        "witnesses, detail, verified_at_ms) "
                        "VALUES (?, ?, ?, ?, ?, 1, NULL, 1, '1', 1, 1, '', ?)",
                        (rid, kind, key(h), b, when, when + 60_000))
    finally:
        repo.close()
    return url


def test_prints_what_it_would_deny_and_why(database: str, capsys) -> None:
    assert main(["detect", "--epoch", str(EPOCH), "--database", database, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["hotspots"], result["witness_reports"], result["fixes"]) == (2, 3, 0)
    assert result["watch"] == []
    [entry] = result["deny"]
    assert entry["kind"] == "hotspot"
    assert entry["subject"] == [PublicKey.from_bytes(key("B")).address]
    assert entry["reasons"] == ["clock_offset"]
    assert entry["expires_epoch"] == EPOCH + 1 + 3
    # Its reports' own time against the oracle's receive time (800 ms after the reception).
    assert entry["evidence"][0]["median_offset_s"] == (CLOCK_OFF_MS - 800) / 1000
    # A is heard only by B, two minutes off: no reception in time to judge A by.
    assert result["unjudged"] == [{"why": "none_in_time", "partners": 0,
                                   "subject": [PublicKey.from_bytes(key("A")).address]}]
    assert main(["detect", "--epoch", str(EPOCH), "--database", database]) == 0
    text = capsys.readouterr().out
    assert "beyond judgement (--json lists them): 1 none_in_time" in text
    assert "would deny 1:" in text and "clock_offset" in text


def test_only_runs_the_named_detectors(database: str, capsys) -> None:
    assert main(["detect", "--epoch", str(EPOCH), "--database", database, "--only", "gps",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["deny"] == []


@pytest.mark.parametrize(("argv", "message"), [
    (["--epoch", "99999999999999999999999"], "--epoch: must be between 0 and"),
    (["--epoch", "5", "--epochs", "0"], "--epochs: must be between 1 and"),
    (["--epoch", "5", "--epochs", "7"], "--epochs must be between 1 and 6"),
    (["--epoch", "5", "--only", "nonsense"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(database: str, capsys, argv: list[str],
                                          message: str) -> None:
    try:
        code = main(["detect", *argv, "--database", database])
    except SystemExit as done:  # argparse's own errors
        code = int(done.code or 0)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


def test_apply_publishes_the_entries_in_the_next_denylist(database: str, tmp_path: Path,
                                                          monkeypatch, capsys) -> None:
    from pocnet.keys import create_keyfile

    operator_file = tmp_path / "operator.key"
    operator = create_keyfile(operator_file)
    monkeypatch.setenv("POCNET_ORACLE_REGISTRY_OPERATOR_KEYS", operator.public_key.address)
    assert main(["detect", "--epoch", str(EPOCH), "--database", database, "--apply",
                 "--operator-key", str(operator_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["denylist_version"] == 1
    address = PublicKey.from_bytes(key("B")).address
    assert main(["registry", "deny", "show", address, "--database", database, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["reason"] == f"detect epoch {EPOCH}: clock_offset"
    assert json.loads(shown["evidence"])[0]["detector"] == "clock_offset"
    # Denied until the start of epoch N + 1 + 3 (clock_offset's three epochs).
    assert shown["expires"].startswith(
        datetime.fromtimestamp((EPOCH + 4) * 86_400, UTC).date().isoformat())
    # The registry tells whoever asks about B (its owner, on `pocnet-hotspot info`) why.
    from oracle.registry import Registry

    repo = open_repository(database)
    try:
        info = Registry(repo, PublicKey.from_bytes, lambda: 0).info(key("B"))
    finally:
        repo.close()
    assert info.denied and info.denial.reason == f"detect epoch {EPOCH}: clock_offset"
    assert info.denial.expires_at_ms == (EPOCH + 4) * 86_400_000


def test_apply_needs_the_operator_key(database: str, capsys) -> None:
    assert main(["detect", "--epoch", str(EPOCH), "--database", database, "--apply"]) == 2
    assert "--apply needs --operator-key" in capsys.readouterr().err


def test_an_edge_is_published_with_its_reason_evidence_and_expiry(
        database: str, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """The policy's edge entries (keys behind one antenna) carry what a hotspot's carry, so
    the owners of both are told why and until when, and the entry lapses by itself."""
    from oracle.commands.detect import denylist_entries
    from oracle.commands.registry import open_registry
    from oracle.commands.registry_deny import publish
    from oracle.detect.policy import Decision
    from pocnet.keys import create_keyfile

    pair = tuple(sorted((key("A"), key("B"))))
    decisions = [Decision(pair, ["shared_reception"], [{"detector": "shared_reception"}],
                          EPOCH + 8)]
    hotspots, edges = denylist_entries(decisions, EPOCH, 86_400_000)
    assert hotspots == {} and list(edges) == [pair]
    reason, evidence, expires_ms = edges[pair]
    assert reason == f"detect epoch {EPOCH}: shared_reception"
    assert json.loads(evidence) == [{"detector": "shared_reception"}]
    assert expires_ms == (EPOCH + 8) * 86_400_000  # the start of its expiry epoch
    operator_file = tmp_path / "operator.key"
    operator = create_keyfile(operator_file)
    monkeypatch.setenv("POCNET_ORACLE_REGISTRY_OPERATOR_KEYS", operator.public_key.address)
    args = type("Args", (), {"database": database, "config": None})()
    registry, repo = open_registry(args)
    try:
        publish(registry, repo, operator, T0, add_edges=edges)
        assert repo.is_edge_denied(key("B"), key("A"), expires_ms - 1)
        assert not repo.is_edge_denied(key("B"), key("A"), expires_ms)
        # Each owner, on `pocnet-hotspot info`, is told of the pair while it is in force.
        from oracle.registry import Registry

        for now, told in ((expires_ms - 1, 1), (expires_ms, 0)):
            info = Registry(repo, PublicKey.from_bytes, lambda now=now: now).info(key("A"))
            assert len(info.denied_edges) == told and not info.denied
        edge = Registry(repo, PublicKey.from_bytes, lambda: 0).info(key("B")).denied_edges[0]
        assert (edge.a, edge.b, edge.expires_at_ms) == (*pair, expires_ms)
        assert edge.reason == f"detect epoch {EPOCH}: shared_reception"
        # The next version, published after the expiry, no longer lists it.
        publish(registry, repo, operator, expires_ms, add={key("A"): ("", "", 0)})
        assert repo.denied_edges() == [] and repo.denylist_version() == 2
    finally:
        repo.close()
    address = PublicKey.from_bytes(key("B")).address
    assert main(["registry", "deny", "show", address, "--database", database, "--json"]) == 2
