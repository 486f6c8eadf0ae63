"""The GWMP server against two forwarder implementations that are not ours, over real UDP.

- `pamoja-gateway` (PyPI, a Rust codec with Python bindings): it encodes the uplinks we read
  and reads the downlinks and acknowledgements we write.
- `packet-forwarder` (npm, a Node.js virtual gateway): it sends a PUSH_DATA written the way
  its own documentation shows (JSON nulls, the frequency in Hz) and resolves only when our
  PUSH_ACK with its token comes back.

Each is skipped, with the reason, where it is not installed: `pip install 'pocnet[test]'`
brings pamoja-gateway, and `npm install` in `interop/` beside this file (as `.ci/run` does)
brings packet-forwarder.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import socket
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from firmware_bridge.semtech_udp import packets as p
from firmware_bridge.semtech_udp.radio import SemtechUdpRadio
from firmware_bridge.types import RxPacket
from pocnet.beacon import on_air_frame

INTEROP = Path(__file__).resolve().parent / "interop"
EUI_HEX = "b827ebfffe010203"
BEACON = on_air_frame(bytes(range(51)))


async def _exchange(radio: SemtechUdpRadio, datagram: bytes) -> bytes:
    """Send one datagram as a forwarder would and return the server's answer."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        await loop.sock_sendto(sock, datagram, radio.address)
        answer, _ = await asyncio.wait_for(loop.sock_recvfrom(sock, 65_536), 10)
    return answer


async def _next_frame(radio: SemtechUdpRadio) -> RxPacket:
    return await asyncio.wait_for(anext(radio.received()), 10)


# --- pamoja-gateway (PyPI) ---


def _pamoja() -> ModuleType:
    return pytest.importorskip(
        "pamoja.gateway", reason="pamoja-gateway (PyPI) not installed: pip install 'pocnet[test]'")


def test_pamoja_push_data_is_acked_by_its_token_and_the_good_frame_kept() -> None:
    gw = _pamoja()
    from pamoja.lora import link

    beacon = gw.Rxpk(869_525_000, BEACON, link=link(12, 125_000), rssi_dbm=-97, snr_db=-3.2,
                     timestamp_us=3_512_348_611)
    # pamoja writes an RSSI of 1e12 as its largest, 21474836: still no measurement
    impossible = gw.Rxpk(869_525_000, BEACON, link=link(12, 125_000), rssi_dbm=1e12,
                         snr_db=-3.2, timestamp_us=1)
    datagram = gw.encode(gw.Packet(gw.PacketKind.PUSH_DATA, 0x1234, gateway=EUI_HEX,
                                   packets=[impossible, beacon]))

    async def main() -> None:
        radio = SemtechUdpRadio("127.0.0.1", 0)
        await radio.start()
        try:
            answer = await _exchange(radio, datagram)
            # byte for byte the acknowledgement pamoja itself would give its datagram
            assert answer == gw.encode(gw.acknowledgment(gw.parse(datagram))) == b"\x02\x12\x34\x01"
            frame = await _next_frame(radio)
            assert (frame.payload, frame.freq_hz, frame.datarate) == (BEACON, 869_525_000,
                                                                      "SF12BW125")
            assert (frame.rssi_dbm, frame.snr_db, frame.tmst_us) == (-97, -3.2, 3_512_348_611)
            assert radio.frames_rejected == {"rssi_out_of_range": 1}
        finally:
            await radio.stop()

    asyncio.run(main())


def test_pamoja_reads_our_downlink_and_we_read_its_tx_acks() -> None:
    gw = _pamoja()
    txpk = p.Txpk(869_525_000, 14, "SF12BW125", BEACON, imme=True, ipol=False, ncrc=False)
    sent = gw.parse(p.PullResp(0x00AB, txpk).build())
    assert sent.kind == gw.PacketKind.PULL_RESP and sent.token == 0x00AB
    out = sent.transmit
    assert (out.frequency_hz, out.power_dbm, out.immediate, out.invert_polarity) == (
        869_525_000, 14, True, False)
    assert (out.link.spreading_factor, out.link.bandwidth_hz, out.payload) == (12, 125_000,
                                                                               BEACON)
    assert gw.parse(p.PullAck(7).build()).kind == gw.PacketKind.PULL_ACK
    for status, error in ((gw.TxStatus.NONE, None), (gw.TxStatus.TOO_LATE, "TOO_LATE")):
        ack = p.parse(gw.encode(gw.Packet(gw.PacketKind.TX_ACK, 0x00AB, gateway=EUI_HEX,
                                          tx_status=status)))
        assert isinstance(ack, p.TxAck) and ack.token == 0x00AB
        assert ack.ok == (error is None) and (error is None or ack.error == error)


# --- packet-forwarder (npm) ---


def _node_forwarder() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed: the npm packet-forwarder test needs Node.js")
    if not (INTEROP / "node_modules" / "packet-forwarder").is_dir():
        pytest.skip(f"npm packet-forwarder not installed: run `npm install` in {INTEROP.name}/")
    return node


def test_npm_packet_forwarder_uplink_with_nulls_and_hz_is_acked_and_kept() -> None:
    node = _node_forwarder()
    # The form of the package's own usage example: JSON nulls, `freq` in Hz. Beside it one
    # packet that cannot be decoded and one LR-FHSS packet: neither costs the beacon.
    beacon = {"time": "2018-05-01T12:00:00Z", "tmms": None, "tmst": 1525168800,
              "freq": 869525000, "chan": None, "rfch": 0, "stat": 1, "modu": "LORA",
              "datr": "SF12BW125", "codr": "4/5", "rssi": -97, "lsnr": 12,
              "size": len(BEACON), "data": base64.b64encode(BEACON).decode()}
    message = {"rxpk": [beacon | {"data": "not base64!"},
                        beacon | {"modu": "LR-FHSS", "datr": "M0CW137", "codr": "1/3"},
                        beacon]}

    async def main() -> None:
        radio = SemtechUdpRadio("127.0.0.1", 0)
        await radio.start()
        try:
            host, port = radio.address
            proc = await asyncio.create_subprocess_exec(
                node, "send_uplink.js", host, str(port), EUI_HEX, cwd=INTEROP,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(json.dumps(message).encode()), 60)
            assert proc.returncode == 0 and out.strip() == b"acked", err.decode()
            frame = await _next_frame(radio)
            assert (frame.payload, frame.freq_hz, frame.rssi_dbm, frame.tmst_us) == (
                BEACON, 869_525_000, -97, 1525168800)
            assert radio.frames_rejected == {"bad_rxpk_data": 1}
            assert radio.server.filtered == {"not_lora": 1}
        finally:
            await radio.stop()

    asyncio.run(main())
