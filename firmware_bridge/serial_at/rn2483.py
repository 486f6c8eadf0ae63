"""`Rn2483Radio`: a Microchip RN2483 driven at the radio layer (`mac pause`) as a pocnet `Radio`.

The RN2483 receives one frame per `radio rx 0`, so after each `radio_rx` the driver reads the
frame's SNR and RSSI and listens again. To transmit it stops receiving (`radio rxstop`),
retunes if needed, sends, and listens again. `radio get rssi` exists from firmware 1.0.5; on
older firmware (`invalid_param`) the RSSI is estimated as noise floor + SNR and counted in
`rssi_estimated`.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from firmware_bridge.errors import FrameError, TxRejected
from firmware_bridge.serial_at import commands as at
from firmware_bridge.serial_at.session import AtRadioSession
from firmware_bridge.types import RxPacket, TxPacket, TxReceipt

log = logging.getLogger(__name__)

# Thermal noise -174 dBm/Hz plus the SX1276 receiver's ~6 dB noise figure (Semtech AN1200.22).
_NOISE_DBM_PER_HZ = -174.0 + 6.0


def _rn_terminal(line: str) -> bool:
    return True  # every RN2483 command answers with exactly one line


class Rn2483Radio(AtRadioSession):
    """RN2483 radio commands over a serial port (57600 8N1) or a pseudo-terminal. Options:
    AtRadioSession's."""

    DEFAULT_BAUDRATE = at.RN2483_BAUDRATE

    def __init__(self, port: str, **options: Any) -> None:
        super().__init__(port, **options)
        self.firmware: str | None = None
        self.has_rssi = True
        self.rssi_estimated = 0
        self.bad_frames = 0
        self._current: at.P2pParams | None = None
        self._receiving = False
        self._asking_version = False

    # --- configuration --------------------------------------------------------------------

    async def _ask(self, line: str, timeout_s: float | None = None) -> str:
        return (await self._command(line, _rn_terminal, timeout_s))[-1]

    async def _ok(self, line: str) -> None:
        answer = await self._ask(line)
        if answer != at.RN_OK:
            raise TxRejected(answer)

    async def _configure(self) -> None:
        self._current = None
        self._receiving = False
        self._asking_version = True
        try:
            answer = await self._ask("sys get ver")
        finally:
            self._asking_version = False
        self.firmware = at.rn_banner_version(answer)
        if self.firmware is None:
            raise TxRejected(f"not an RN2483: {answer!r}")
        pause = await self._ask("mac pause")
        if at.parse_rn_int(pause) is None:
            raise TxRejected(f"mac pause: {pause}")
        await self._tune(self.rx_params)
        await self._listen()

    async def _tune(self, params: at.P2pParams) -> None:
        if params == self._current:
            return
        self._current = None
        for line in at.rn_radio_setup(params):
            await self._ok(line)
        self._current = params

    async def _listen(self) -> None:
        # Receiving from before the command: a frame may follow `ok` in the same read.
        self._receiving = True
        try:
            await self._ok("radio rx 0")
        except BaseException:
            self._receiving = False
            raise

    async def _stop_listening(self) -> None:
        if not self._receiving:
            return
        self._receiving = False
        answer = await self._ask("radio rxstop")
        if answer != at.RN_OK:
            raise TxRejected(f"radio rxstop: {answer}")

    # --- transmit -------------------------------------------------------------------------

    async def transmit(self, packet: TxPacket) -> TxReceipt:
        """`radio tx` then wait for `radio_tx_ok`; `radio_err`/`busy`/... → TxRejected."""
        params, power, payload_hex = self._tx_request(packet, at.RN_TX_POWER_DBM, at.rn_radio_setup)
        async with self._lock:
            await self._ensure_configured()
            await self._stop_listening()
            try:
                await self._tune(params)
                await self._ok(f"radio tx {payload_hex}")
                done = (
                    await self._collect(
                        lambda line: line in (at.RN_TX_OK, at.RN_RADIO_ERR),
                        self.tx_timeout_s,
                        "radio tx",
                    )
                )[-1]
                if done != at.RN_TX_OK:
                    raise TxRejected(done)
                sent_ns = self._now_ns()
            finally:
                await self._back_to_rx(self._resume_rx)
        return TxReceipt(power_dbm=power, sent_ns=sent_ns)

    async def _resume_rx(self) -> None:
        await self._tune(self.rx_params)
        await self._listen()

    # --- receive --------------------------------------------------------------------------

    def _is_banner(self, line: str) -> bool:
        return at.rn_banner_version(line) is not None

    def _expects_banner(self) -> bool:
        return self._asking_version

    def _on_event(self, line: str) -> bool:
        if line.startswith("radio_rx"):
            return self._on_frame(line)
        if line == at.RN_RADIO_ERR and self._receiving:
            # The receive ended without a frame (watchdog, CRC error): listen again.
            self._receiving = False
            self._spawn(self._relisten())
            return True
        return False

    def _on_frame(self, line: str) -> bool:
        """`radio_rx  <hex>` is always an event, even racing a `radio rxstop`."""
        self._receiving = False            # the module is idle after one frame
        try:
            payload = at.parse_rn_rx(line)
        except FrameError:
            payload = None
        if payload is None:
            self.bad_frames += 1
            self._spawn(self._relisten())
        else:
            self._spawn(self._finish_rx(payload, self._now_ns()))
        return True

    async def _relisten(self) -> None:
        async with self._lock:
            if self._receiving or self._needs_config:
                return
            await self._listen()

    async def _finish_rx(self, payload: bytes, received_ns: int) -> None:
        async with self._lock:
            params = self.rx_params
            snr = at.parse_rn_int(await self._ask("radio get snr"))
            rssi: int | None = None
            if self.has_rssi:
                rssi = at.parse_rn_int(await self._ask("radio get rssi"))
                if rssi is None:
                    self.has_rssi = False
            snr_db = float(snr if snr is not None else 0)
            if rssi is None:
                self.rssi_estimated += 1
                rssi_dbm = round(_NOISE_DBM_PER_HZ + 10 * math.log10(params.bw_hz) + snr_db)
            else:
                rssi_dbm = rssi
            self._put_rx(
                RxPacket(
                    payload=payload,
                    freq_hz=params.freq_hz,
                    datarate=at.datarate_name(params.sf, params.bw_hz),
                    rssi_dbm=float(rssi_dbm),
                    snr_db=snr_db,
                    received_ns=received_ns,
                )
            )
            if not self._receiving and not self._needs_config:
                await self._listen()
