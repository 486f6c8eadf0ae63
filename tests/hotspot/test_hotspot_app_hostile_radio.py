"""Issue 10 end to end: radio frames no receiver can measure do not stop the daemon.

A whole hotspot daemon (`run_daemon`) with its real Semtech UDP radio on 127.0.0.1 and a real
gRPC oracle sink. Frames with an RSSI of ±1e12 dBm (once they overflowed the witness report's
int32 `signal` and ended the daemon, every 10 s through restarts) arrive first, then a good
beacon: the daemon keeps running, witnesses the good beacon, and counts the bad frames by
reason in its metrics.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from pathlib import Path

from hotspot_sink_oracle import SinkOracle, SinkServer
from hotspot_testkit import eventually, frames_dropped, make_settings

from hotspot.app import run_daemon
from hotspot.metrics import HotspotMetrics
from pocnet.beacon import on_air_frame

BEACON_DATA = bytes(range(51))
HOSTILE = 5


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _push_data(token: int, rssi: float, data51: bytes) -> bytes:
    frame = on_air_frame(data51)
    rxpk = {"tmst": token, "chan": 0, "rfch": 0, "freq": 867.1, "stat": 1, "modu": "LORA",
            "datr": "SF12BW125", "codr": "4/5", "rssi": rssi, "lsnr": -7.5,
            "size": len(frame), "data": base64.b64encode(frame).decode()}
    header = b"\x02" + token.to_bytes(2, "big") + b"\x00" + bytes.fromhex("AA555A0000000042")
    return header + json.dumps({"rxpk": [rxpk]}).encode()


def test_daemon_survives_impossible_rssi_and_still_witnesses(tmp_path: Path) -> None:
    oracle = SinkOracle()
    server = SinkServer(oracle).start()
    port = _free_udp_port()
    conf = make_settings(tmp_path, server.endpoint,
                         radio={"kind": "semtech-udp", "device": f"127.0.0.1:{port}"},
                         beacon={"region": "EU868", "first_delay_min_s": 21_600,
                                 "first_delay_max_s": 21_600})
    ready: list[HotspotMetrics] = []

    async def go() -> None:
        stop = asyncio.Event()
        daemon = asyncio.create_task(run_daemon(conf, shutdown=stop, on_ready=ready.append))
        await eventually(lambda: bool(ready) or daemon.done(), 30)
        assert not daemon.done(), daemon
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as forwarder:
            forwarder.setblocking(False)
            for n in range(HOSTILE):  # each its own beacon, so none is a repeat of another
                hostile = (n + 1).to_bytes(1, "big") * 51
                rssi = 1e12 if n % 2 == 0 else -1e12
                await loop.sock_sendto(forwarder, _push_data(n + 1, rssi, hostile),
                                       ("127.0.0.1", port))
            await eventually(lambda: sum(frames_dropped(ready[0]).values()) == HOSTILE)
            assert not daemon.done()
            await loop.sock_sendto(forwarder, _push_data(99, -97.4, BEACON_DATA),
                                   ("127.0.0.1", port))
            await eventually(lambda: bool(oracle.witnesses()) or daemon.done(), 30)
        assert not daemon.done(), daemon
        stop.set()
        await asyncio.wait_for(daemon, 30)

    try:
        asyncio.run(go())
    finally:
        server.stop()
    (witness,) = oracle.witnesses()
    assert witness.data == BEACON_DATA
    assert (witness.signal, witness.snr, witness.frequency) == (-974, -75, 867_100_000)
    assert frames_dropped(ready[0]) == {"rssi_out_of_range": HOSTILE}
