"""`Rak3172Radio`: a RAK3172 (RUI3 firmware) in LoRa P2P mode as a pocnet `Radio`.

The module listens continuously with `AT+PRECV=65533`, the RUI3 receive mode that still
accepts `AT+PSEND`. A transmission on the receive settings is just `AT+PSEND`; one on other
settings stops receiving, retunes, sends, and retunes back, because a P2P module has one
radio configuration at a time.
"""

from __future__ import annotations

import logging
from typing import Any

from firmware_bridge.errors import DeviceTimeout, FrameError, TxRejected
from firmware_bridge.serial_at import commands as at
from firmware_bridge.serial_at.session import AtRadioSession
from firmware_bridge.types import RxPacket, TxPacket, TxReceipt

log = logging.getLogger(__name__)


def _rui3_terminal(line: str) -> bool:
    return line == at.RUI3_OK or line in at.RUI3_ERRORS


class Rak3172Radio(AtRadioSession):
    """RUI3 AT over a serial port (115200 8N1) or a pseudo-terminal. Options: AtRadioSession's."""

    DEFAULT_BAUDRATE = at.RUI3_BAUDRATE

    def __init__(self, port: str, **options: Any) -> None:
        super().__init__(port, **options)
        self._current: at.P2pParams | None = None
        self._rx_header: at.Rui3Rx | None = None
        self._switching = False
        self.bad_frames = 0

    # --- configuration --------------------------------------------------------------------

    async def _ok(self, line: str, timeout_s: float | None = None) -> None:
        answer = (await self._command(line, _rui3_terminal, timeout_s))[-1]
        if answer != at.RUI3_OK:
            raise TxRejected(answer)

    async def _configure(self) -> None:
        self._current = None
        await self._ok("AT")
        mode = await self._command("AT+NWM=?", _rui3_terminal)
        if "AT+NWM=0" not in mode:
            await self._switch_to_p2p()
        await self._optional(f"AT+SYNCWORD={at.RUI3_SYNC_WORD_PUBLIC}")
        await self._optional("AT+IQINVER=0")
        await self._tune(self.rx_params)
        await self._ok(f"AT+PRECV={at.RUI3_PRECV_CONTINUOUS_TX}")

    async def _optional(self, line: str) -> None:
        """A setting early RUI3 lacks: without it the module keeps its default, and says so."""
        answer = (await self._command(line, _rui3_terminal))[-1]
        if answer in ("AT_COMMAND_NOT_FOUND", "AT_ERROR"):
            log.warning("%s: module does not support %r (%s)", self.port, line, answer)
        elif answer != at.RUI3_OK:
            raise TxRejected(answer)

    async def _switch_to_p2p(self) -> None:
        """`AT+NWM=0` reboots the module into P2P mode; wait for that boot, not a reset."""
        self._switching = True
        try:
            await self._ok("AT+NWM=0")
            try:
                await self._collect(
                    lambda line: line.startswith("Current Work Mode"),
                    self.command_timeout_s,
                    "the P2P reboot",
                )
            except DeviceTimeout:
                log.info("%s: no work-mode banner after AT+NWM=0", self.port)
        finally:
            self._switching = False
        await self._ok("AT")

    async def _tune(self, params: at.P2pParams) -> None:
        if params != self._current:
            await self._ok(at.rui3_p2p(params))
            self._current = params

    # --- transmit -------------------------------------------------------------------------

    async def transmit(self, packet: TxPacket) -> TxReceipt:
        """Send and wait for `+EVT:TXP2P DONE`; module errors become TxRejected(status)."""
        params, power, payload_hex = self._tx_request(packet, at.RUI3_TX_POWER_DBM, at.rui3_p2p)
        async with self._lock:
            await self._ensure_configured()
            same = params == self.rx_params
            if not same:
                await self._ok(f"AT+PRECV={at.RUI3_PRECV_STOP}")
                await self._tune(params)
            try:
                await self._ok(f"AT+PSEND={payload_hex}")
                await self._collect(
                    lambda line: line == at.RUI3_TX_DONE, self.tx_timeout_s, "AT+PSEND"
                )
                sent_ns = self._now_ns()
            finally:
                if not same:
                    await self._back_to_rx(self._restore_rx)
        return TxReceipt(power_dbm=power, sent_ns=sent_ns)

    async def _restore_rx(self) -> None:
        await self._tune(self.rx_params)
        await self._ok(f"AT+PRECV={at.RUI3_PRECV_CONTINUOUS_TX}")

    # --- receive --------------------------------------------------------------------------

    def _is_banner(self, line: str) -> bool:
        return at.is_rui3_banner(line)

    def _expects_banner(self) -> bool:
        return self._switching

    def _on_event(self, line: str) -> bool:
        if not line.startswith("+EVT:") or line.startswith("+EVT:TXP2P"):
            return False
        try:
            if self._rx_header is not None and (payload := at.parse_rui3_evt_hex(line)):
                header, self._rx_header = self._rx_header, None
                self._deliver(header.rssi_dbm, header.snr_db, payload)
                return True
            event = at.parse_rui3_rx(line)
        except FrameError as exc:
            self.bad_frames += 1
            log.debug("%s: bad receive event %r: %s", self.port, line, exc)
            return True
        if event is None:
            if "RXP2P" in line and "TIMEOUT" in line:
                # Continuous receive should not time out; if it did, listen again.
                self._needs_config = True
                self._spawn(self._reconfigure())
            elif "RXP2P" in line:
                self.bad_frames += 1  # RECEIVE ERROR: a CRC failure, dropped
            return True
        if event.payload is None:
            self._rx_header = event
        else:
            self._deliver(event.rssi_dbm, event.snr_db, event.payload)
        return True

    def _deliver(self, rssi_dbm: int, snr_db: int, payload: bytes) -> None:
        params = self.rx_params
        self._put_rx(
            RxPacket(
                payload=payload,
                freq_hz=params.freq_hz,
                datarate=at.datarate_name(params.sf, params.bw_hz),
                rssi_dbm=float(rssi_dbm),
                snr_db=float(snr_db),
                received_ns=self._now_ns(),
            )
        )
