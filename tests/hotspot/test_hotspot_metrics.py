"""Metrics: one registry per daemon, served over HTTP for Prometheus."""

from __future__ import annotations

import asyncio
import math
import socket

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hotspot.metrics import HotspotMetrics


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int, request: bytes = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") -> bytes:
    """A blocking client on another thread (as Prometheus is another process)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return reply


def parsed(text: str) -> dict[tuple[str, tuple], float]:
    """Samples as prometheus_client's text parser (the outside reference) reads them."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_two_daemons_do_not_share_counters_and_metrics_are_served() -> None:
    a, b = HotspotMetrics(), HotspotMetrics()
    a.beacons_sent.inc()
    a.radio_errors.labels(kind="rejected").inc(2)
    a.outbox_depth.set(7)
    a.track_fix_age(lambda: 12.5)
    assert b.beacons_sent.get() == 0
    port = free_port()

    async def go() -> bytes:
        stop = await a.serve("127.0.0.1", port)
        try:
            return await asyncio.to_thread(scrape, port)
        finally:
            stop()

    reply = asyncio.run(go())
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Type: text/plain; version=0.0.4; charset=utf-8" in head
    assert f"Content-Length: {len(body)}".encode() in head
    text = body.decode()
    assert "pocnet_hotspot_beacons_sent_total 1.0" in text
    assert 'pocnet_hotspot_radio_errors_total{kind="rejected"} 2.0' in text
    assert "pocnet_hotspot_outbox_depth 7.0" in text
    assert "pocnet_hotspot_gps_fix_age_seconds 12.5" in text
    samples = parsed(text)
    assert samples[("pocnet_hotspot_beacons_sent_total", ())] == 1.0
    assert samples[("pocnet_hotspot_radio_errors_total", (("kind", "rejected"),))] == 2.0
    assert samples[("pocnet_hotspot_witnesses_sent_total", ())] == 0.0
    for name in ("witnesses_sent", "reports_acknowledged"):
        assert f"# TYPE pocnet_hotspot_{name}_total counter" in text
    assert asyncio.run(HotspotMetrics().serve("127.0.0.1", 0))() is None  # port 0: no endpoint


def test_the_exposition_parses_back_exactly_with_prometheus_own_parser() -> None:
    """Every family, its type and help, odd label values and special floats survive a round
    trip through prometheus_client's parser: the hand-written exporter speaks the format."""
    m = HotspotMetrics()
    m.frames_ignored.labels(reason='quote" back\\slash\nnewline').inc(3)
    m.reports_dropped.labels(reason="expired").inc(0.5)
    m.track_driver_drops(lambda: {"crc": 4, "bounds": 1})
    m.track_fix_age(lambda: float("inf"))
    m.outbox_depth.set(float("nan"))
    families = {f.name: f for f in text_string_to_metric_families(m.exposition().decode())}
    assert {name: f.type for name, f in families.items()} == {
        "pocnet_hotspot_beacons_sent": "counter", "pocnet_hotspot_witnesses_sent": "counter",
        "pocnet_hotspot_coverage_sent": "counter",
        "pocnet_hotspot_reports_acknowledged": "counter",
        "pocnet_hotspot_reports_dropped": "counter", "pocnet_hotspot_entropy_refused": "counter",
        "pocnet_hotspot_frames_ignored": "counter", "pocnet_hotspot_radio_errors": "counter",
        "pocnet_hotspot_frames_dropped": "counter", "pocnet_hotspot_outbox_depth": "gauge",
        "pocnet_hotspot_gps_fix_age_seconds": "gauge"}
    assert families["pocnet_hotspot_reports_acknowledged"].documentation == \
        "reports the oracle acknowledged"
    samples = parsed(m.exposition().decode())
    assert samples[("pocnet_hotspot_frames_ignored_total",
                    (("reason", 'quote" back\\slash\nnewline'),))] == 3.0
    assert samples[("pocnet_hotspot_reports_dropped_total", (("reason", "expired"),))] == 0.5
    assert samples[("pocnet_hotspot_frames_dropped_total", (("reason", "crc"),))] == 4.0
    assert samples[("pocnet_hotspot_frames_dropped_total", (("reason", "bounds"),))] == 1.0
    assert samples[("pocnet_hotspot_gps_fix_age_seconds", ())] == float("inf")
    assert math.isnan(samples[("pocnet_hotspot_outbox_depth", ())])
    assert not any(name.startswith("pocnet_hotspot_radio_errors") for name, _ in samples)


def test_a_counter_refuses_to_go_down_and_labels_must_match() -> None:
    m = HotspotMetrics()
    with pytest.raises(ValueError, match="cannot go down"):
        m.beacons_sent.inc(-1)
    m.beacons_sent.inc(0)                                   # zero is not down
    with pytest.raises(ValueError, match="takes labels"):
        m.radio_errors.labels(reason="x")
    with pytest.raises(ValueError, match=r"use \.labels"):
        m.radio_errors.inc()
    assert m.beacons_sent.get() == 0.0


def test_other_paths_methods_and_garbage_get_no_metrics() -> None:
    m = HotspotMetrics()
    port = free_port()

    async def go() -> list[bytes]:
        stop = await m.serve("127.0.0.1", port)
        try:
            return [await asyncio.to_thread(scrape, port, req) for req in (
                b"GET /other HTTP/1.1\r\n\r\n", b"POST /metrics HTTP/1.1\r\n\r\n",
                b"HEAD /metrics HTTP/1.1\r\n\r\n", b"\r\n\r\n",
                b"GET /metrics?x=1 HTTP/1.1\r\n" + b"X: " + b"y" * 9000 + b"\r\n\r\n",
                b"GET /metrics?name[]=x HTTP/1.0\r\n\r\n")]
        finally:
            stop()

    other, post, head, empty, oversized, query = asyncio.run(go())
    assert other.startswith(b"HTTP/1.1 404 ")
    assert post.startswith(b"HTTP/1.1 405 ")
    assert head.startswith(b"HTTP/1.1 200 ") and head.endswith(b"\r\n\r\n")  # no body
    assert empty.startswith(b"HTTP/1.1 405 ")
    assert oversized == b""                                 # over 8 KiB of head: closed
    assert query.startswith(b"HTTP/1.1 200 ") and b"pocnet_hotspot_outbox_depth 0.0" in query


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
