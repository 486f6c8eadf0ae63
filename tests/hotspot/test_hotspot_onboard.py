"""`pocnet-hotspot onboard --from-gps`: the location of the daemon's current fix, else none."""

from __future__ import annotations

import json
from pathlib import Path

from hotspot.cli import main
from hotspot.keystore import KeyStore
from hotspot.outbox import Outbox
from pocnet import geo
from pocnet.keys import Keypair

WALLET = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"


def _conf(tmp: Path) -> Path:
    KeyStore.create(tmp / "hotspot.key")
    conf = tmp / "hotspot.toml"
    conf.write_text(f'[key]\nfile = "{tmp / "hotspot.key"}"\n[radio]\nkind = "sim"\n'
                    f'[outbox]\npath = "{tmp / "o.sqlite"}"\n')
    return conf


def _onboard(conf: Path, *extra: str) -> int:
    return main(["onboard", "--from-gps", "--gain", "3", "--elevation", "5", "--owner-wallet",
                 WALLET, "--maker", Keypair.from_seed(b"m" * 32).public_key.address,
                 "--nonce", "1", "-c", str(conf), *extra])


def test_from_gps_takes_the_daemons_fix(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("POCNET_HOTSPOT_RADIO_KIND", raising=False)
    conf = _conf(tmp_path)
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.set_state("gps", {"status": "fix", "since_ns": 1, "lat": 45.1885, "lon": 5.7245,
                             "h_acc_m": 2.0, "satellites": 9})  # as the GPS watcher writes it
    assert _onboard(conf, "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    lat, lon = geo.cell_to_latlng(geo.Cell(int(shown["location"], 16)))
    assert geo.haversine_m(lat, lon, 45.1885, 5.7245) < 10  # a res-12 cell is ~9 m across
    assert shown["signed"] == {"hotspot": True, "owner": False, "maker": False}


def test_from_gps_without_a_fix_or_a_device_is_one_line(tmp_path: Path, capsys,  # type: ignore[no-untyped-def]
                                                       monkeypatch) -> None:
    monkeypatch.delenv("POCNET_HOTSPOT_RADIO_KIND", raising=False)
    monkeypatch.delenv("POCNET_HOTSPOT_GPS_DEVICE", raising=False)
    conf = _conf(tmp_path)
    Outbox(tmp_path / "o.sqlite").set_state("gps", {"status": "lost", "since_ns": 1})
    assert _onboard(conf) == 2
    err = capsys.readouterr().err
    assert "no fix" in err and err.count("\n") == 1
    assert main(["onboard", "--lat", "45", "--gain", "3", "--elevation", "5",
                 "--owner-wallet", WALLET, "--nonce", "1", "-c", str(conf)]) == 2
    assert "--lat and --lon go together" in capsys.readouterr().err
