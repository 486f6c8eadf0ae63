"""Metrics: one registry per daemon, served over HTTP for Prometheus."""

from __future__ import annotations

import socket
import urllib.request

from hotspot.metrics import HotspotMetrics


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_daemons_do_not_share_counters_and_metrics_are_served() -> None:
    a, b = HotspotMetrics(), HotspotMetrics()
    a.beacons_sent.inc()
    a.radio_errors.labels(kind="rejected").inc(2)
    a.outbox_depth.set(7)
    a.track_fix_age(lambda: 12.5)
    assert b.beacons_sent._value.get() == 0
    port = free_port()
    stop = a.serve("127.0.0.1", port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
    finally:
        stop()
    assert "pocnet_hotspot_beacons_sent_total 1.0" in text
    assert 'pocnet_hotspot_radio_errors_total{kind="rejected"} 2.0' in text
    assert "pocnet_hotspot_outbox_depth 7.0" in text
    assert "pocnet_hotspot_gps_fix_age_seconds 12.5" in text
    for name in ("witnesses_sent", "reports_acknowledged"):
        assert f"pocnet_hotspot_{name}" in text
    assert HotspotMetrics().serve("127.0.0.1", 0)() is None   # port 0: no endpoint


def test_a_taken_metrics_port_is_one_line_and_exit_2(tmp_path, capsys) -> None:
    """Another service on the port: a traceback and exit 1 had systemd restart the daemon
    into the same failure every 10 s; it is a settings problem (exit 2, not restarted)."""
    from hotspot.cli import main
    from hotspot.keystore import KeyStore

    KeyStore.create(tmp_path / "k")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        conf = tmp_path / "h.toml"
        conf.write_text(
            f'[key]\nfile = "{tmp_path / "k"}"\n[radio]\nkind = "sim"\n'
            f'[outbox]\npath = "{tmp_path / "o.sqlite"}"\n'
            f'[metrics]\naddress = "127.0.0.1"\nport = {port}\n'
        )
        assert main(["run", "-c", str(conf)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"metrics.port {port}" in err[0]
