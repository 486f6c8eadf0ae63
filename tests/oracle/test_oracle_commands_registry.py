"""`pocnet-oracle registry`: onboard / assert / transfer / show / list, the maker allowlist and
the denylist edited entry by entry; --json output, one-line errors, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from oracle_factories import MAKER, assertion, keypair, transfer

from oracle.cli import main
from oracle.storage import open_repository
from pocnet.keys import create_keyfile
from pocnet.owner.requests import wallet_address


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'oracle.db'}"
    open_repository(url).close()  # the operator's `serve --create`
    monkeypatch.setenv("POCNET_ORACLE_ORACLE_DATABASE", url)
    # The region locator is the real one here: Amsterdam is in EU868.
    return url


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _file(tmp_path: Path, name: str, msg) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(msg.SerializeToString().hex())
    return str(path)


def test_onboard_needs_an_allowlisted_maker_then_assert_transfer_show(
        db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    hotspot, owner, heir = keypair(51), keypair(52), keypair(53)
    first = _file(tmp_path, "a1.hex", assertion(hotspot, owner))
    code, _, err = _run(capsys, "registry", "onboard", first)
    assert code == 2 and "maker on the operator's allowlist" in err and err.count("\n") == 1
    code, out, _ = _run(capsys, "registry", "maker", "add", MAKER.public_key.address,
                        "--quota", "1", "--name", "Acme", "--json")
    assert code == 0 and json.loads(out)["quota"] == 1
    code, out, _ = _run(capsys, "registry", "onboard", first, "--json")
    info = json.loads(out)
    assert code == 0 and info["region"] == "EU868" and info["address"] == hotspot.public_key.address
    assert info["maker"] == MAKER.public_key.address
    assert info["owner"] == wallet_address(owner.public_key.raw)
    code, _, err = _run(capsys, "registry", "onboard", first)
    assert code == 2 and "already onboarded" in err
    code, _, err = _run(capsys, "registry", "onboard",
                        _file(tmp_path, "b1.hex", assertion(keypair(54), owner)))
    assert code == 2 and "quota of 1" in err
    code, out, _ = _run(capsys, "registry", "maker", "list", "--json")
    assert json.loads(out)["makers"] == [{"maker": MAKER.public_key.address, "name": "Acme",
                                          "quota": 1, "onboarded": 1,
                                          "added_ms": json.loads(out)["makers"][0]["added_ms"]}]
    moved = _file(tmp_path, "a2.hex", assertion(hotspot, owner, nonce=2, lat=52.0, maker=None))
    code, out, _ = _run(capsys, "registry", "assert", moved, "--json")
    assert code == 0 and json.loads(out)["nonce"] == "2"
    stolen = _file(tmp_path, "t.hex", transfer(hotspot, heir, hotspot, nonce=3))
    code, _, err = _run(capsys, "registry", "transfer", stolen)
    assert code == 2 and "current owner" in err
    given = _file(tmp_path, "t2.hex", transfer(hotspot, heir, owner, nonce=3))
    code, out, _ = _run(capsys, "registry", "transfer", given, "--json")
    assert code == 0 and json.loads(out)["owner"] == wallet_address(heir.public_key.raw)
    code, _, err = _run(capsys, "registry", "show", "nonsense")
    assert code == 2 and "not a hotspot address" in err
    code, out, _ = _run(capsys, "registry", "maker", "remove", MAKER.public_key.address)
    assert code == 0
    code, _, err = _run(capsys, "registry", "maker", "remove", MAKER.public_key.address)
    assert code == 2 and "not on the allowlist" in err
    code, _, err = _run(capsys, "registry", "maker", "add", MAKER.public_key.address,
                        "--quota", "-1")
    assert code == 2 and "--quota" in err


def _onboard(capsys, tmp_path: Path, seeds: range, owner) -> list[str]:  # type: ignore[no-untyped-def]
    _run(capsys, "registry", "maker", "add", MAKER.public_key.address, "--quota", "100")
    for seed in seeds:
        lat = 52.0 if seed % 2 else -40.0  # every other one in no region
        code, _, err = _run(capsys, "registry", "onboard",
                            _file(tmp_path, f"{seed}.hex",
                                  assertion(keypair(seed), owner, lat=lat, lon=5.0)))
        assert code == 0, err
    return sorted(keypair(s).public_key.address for s in seeds)


def test_list_filters_and_pages(db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    owner, other = keypair(60), keypair(61)
    mine = _onboard(capsys, tmp_path, range(100, 105), owner)
    code, out, _ = _run(capsys, "registry", "list", "--limit", "2", "--json")
    page = json.loads(out)
    by_key = sorted((keypair(s).public_key for s in range(100, 105)), key=lambda k: k.to_bytes())
    assert [h["address"] for h in page["hotspots"]] == [k.address for k in by_key[:2]]
    assert page["next_after"] == by_key[1].address
    code, out, _ = _run(capsys, "registry", "list", "--limit", "2", "--after",
                        page["next_after"], "--json")
    assert [h["address"] for h in json.loads(out)["hotspots"]] == [k.address for k in by_key[2:4]]
    code, out, _ = _run(capsys, "registry", "list", "--region", "EU868", "--json")
    in_eu868 = sorted(keypair(s).public_key.address for s in (101, 103))
    assert sorted(h["address"] for h in json.loads(out)["hotspots"]) == in_eu868
    assert json.loads(out)["next_after"] is None
    code, out, _ = _run(capsys, "registry", "list", "--owner",
                        wallet_address(other.public_key.raw), "--json")
    assert json.loads(out)["hotspots"] == []
    code, out, _ = _run(capsys, "registry", "list", "--maker", MAKER.public_key.address)
    assert code == 0 and sorted(line.split()[0] for line in out.splitlines()) == mine
    code, _, err = _run(capsys, "registry", "list", "--limit", "0")
    assert code == 2 and "--limit" in err
    code, _, err = _run(capsys, "registry", "list", "--owner", "short")
    assert code == 2 and "Solana address" in err


def test_deny_add_remove_show(db: str, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    a, b, c = _onboard(capsys, tmp_path, range(200, 203), keypair(62))
    operator_file = tmp_path / "operator.key"
    operator = create_keyfile(operator_file)
    monkeypatch.setenv("POCNET_ORACLE_REGISTRY_OPERATOR_KEYS", operator.public_key.address)
    key = ("--operator-key", str(operator_file))
    code, out, _ = _run(capsys, "registry", "deny", "add", a, *key, "--reason", "gaming",
                        "--evidence", "report 12ab", "--expires", "2099-01-31", "--json")
    assert code == 0 and json.loads(out) == {"version": 1, "hotspots": 1, "edges": 0}
    code, out, _ = _run(capsys, "registry", "deny", "add", b, *key, "--edge", f"{b}:{c}",
                        "--reason", "one antenna", "--json")
    assert json.loads(out) == {"version": 2, "hotspots": 2, "edges": 1}  # a was kept
    code, out, _ = _run(capsys, "registry", "deny", "show", a, "--json")
    shown = json.loads(out)
    assert (shown["reason"], shown["evidence"], shown["version"]) == ("gaming", "report 12ab", 2)
    assert shown["expires"] == "2099-01-31T00:00:00+00:00" and shown["expired"] is False
    code, out, _ = _run(capsys, "registry", "list", "--denied", "--json")
    assert sorted(h["address"] for h in json.loads(out)["hotspots"]) == sorted([a, b])
    code, out, _ = _run(capsys, "registry", "list", "--not-denied", "--json")
    assert [h["address"] for h in json.loads(out)["hotspots"]] == [c]
    code, out, _ = _run(capsys, "registry", "deny", "remove", b, *key, "--json")
    assert json.loads(out) == {"version": 3, "hotspots": 1, "edges": 1}
    code, _, err = _run(capsys, "registry", "deny", "remove", b, *key)
    assert code == 2 and "not denied" in err
    # b is no longer denied, but its pair with c still is: its owner is told why.
    code, out, _ = _run(capsys, "registry", "deny", "show", b, "--json")
    shown = json.loads(out)
    assert code == 0 and shown["denied"] is False and len(shown["edges"]) == 1
    edge = shown["edges"][0]
    assert sorted(edge["edge"]) == sorted([b, c]) and edge["reason"] == "one antenna"
    assert (edge["version"], edge["expires"], edge["expired"]) == (3, None, False)
    code, out, _ = _run(capsys, "registry", "deny", "show", b)
    assert code == 0 and out.startswith("edge ") and "reason one antenna" in out
    code, out, _ = _run(capsys, "registry", "deny", "show", "--json")
    assert [d["hotspot"] for d in json.loads(out)["denied"]] == [a]
    assert [sorted(e["edge"]) for e in json.loads(out)["edges"]] == [sorted([b, c])]
    code, _, _ = _run(capsys, "registry", "deny", "remove", *key, "--edge", f"{c}:{b}")
    assert code == 0
    code, _, err = _run(capsys, "registry", "deny", "show", b)
    assert code == 2 and "is not denied (denylist version 4)" in err
    code, _, err = _run(capsys, "registry", "deny", "add", *key)
    assert code == 2 and "at least one" in err
    code, _, err = _run(capsys, "registry", "deny", "add", c, *key, "--expires", "soon")
    assert code == 2 and "not a date" in err


def test_deny_drops_expired_entries_from_the_next_version(
        db: str, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    a, b = _onboard(capsys, tmp_path, range(300, 302), keypair(63))
    operator_file = tmp_path / "operator.key"
    operator = create_keyfile(operator_file)
    monkeypatch.setenv("POCNET_ORACLE_REGISTRY_OPERATOR_KEYS", operator.public_key.address)
    key = ("--operator-key", str(operator_file))
    assert _run(capsys, "registry", "deny", "add", a, *key, "--edge", f"{a}:{b}",
                "--expires", "2001-01-01")[0] == 0
    code, out, _ = _run(capsys, "registry", "deny", "show", a, "--json")
    assert json.loads(out)["expired"] is True and json.loads(out)["edges"][0]["expired"] is True
    code, out, _ = _run(capsys, "registry", "deny", "add", b, *key, "--json")
    assert json.loads(out) == {"version": 2, "hotspots": 1, "edges": 0}
    code, _, _ = _run(capsys, "registry", "deny", "show", a)
    assert code == 2
