"""`QuectelModem`: the `CellModem` interface over a Quectel RM500Q / RM520N AT port.

Serving cells come from `AT+QENG="servingcell"` (LTE, 5G SA, or the three-line 5G NSA form),
the position from the modem's own GNSS (`AT+QGPSLOC=2`; `+CME ERROR: 516` means no fix yet,
which is an ordinary answer here, not a failure). A port that vanished (USB modems re-enumerate
after a firmware crash) is reopened once per call before the error is passed on.
"""

from __future__ import annotations

import logging

from firmware_bridge.errors import DeviceUnavailable, ModemError
from firmware_bridge.modem_5g import commands as at
from firmware_bridge.modem_5g.transport import COMMAND_TIMEOUT_S, DEFAULT_BAUDRATE, AtChannel
from firmware_bridge.types import CellMeasurement, Fix

log = logging.getLogger(__name__)


class QuectelModem:
    """A Quectel 5G modem on `port` (e.g. /dev/ttyUSB2, the AT port of the USB composition).

    `uere_m`: the modem reports HDOP, not an accuracy; give a user-equivalent range error in
    metres to turn HDOP into `Fix.h_acc_m`. Without it fixes carry no accuracy and are never
    usable for proof of location (docs/protocol.md §5), only informative.
    """

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = DEFAULT_BAUDRATE,
        command_timeout_s: float = COMMAND_TIMEOUT_S,
        gnss: bool = True,
        uere_m: float | None = None,
    ) -> None:
        self.port = port
        self.channel = AtChannel(port, baudrate, command_timeout_s)
        self._gnss = gnss
        self._uere_m = uere_m
        self._started = False

    async def start(self) -> None:
        await self.channel.open()
        try:
            await self._configure()
            self._started = True
        except ModemError as exc:
            raise DeviceUnavailable(f"{self.port}: modem not ready: {exc}") from exc
        finally:
            if not self._started:
                await self.channel.close()

    async def stop(self) -> None:
        self._started = False
        await self.channel.close()

    async def serving_cells(self) -> list[CellMeasurement]:
        return at.parse_servingcell(await self._command(at.QENG_SERVINGCELL))

    async def gnss_fix(self) -> Fix | None:
        if not self._gnss:
            return None
        try:
            lines = await self._command(at.QGPSLOC)
        except ModemError as exc:
            if exc.code == at.CME_GNSS_NOT_FIXED:
                return None
            if exc.code == at.CME_GNSS_SESSION_NOT_ACTIVE:  # the modem rebooted: GNSS is off
                log.warning("%s: GNSS was off, turning it back on", self.port)
                await self._configure()
                return None
            raise
        return at.parse_qgpsloc(lines, self._uere_m)

    async def _configure(self) -> None:
        await self.channel.command(at.ECHO_OFF)
        if self._gnss:
            try:
                await self.channel.command(at.QGPS_ON)
            except ModemError as exc:
                if exc.code != at.CME_GNSS_SESSION_ONGOING:
                    raise

    async def _command(self, command: str) -> list[str]:
        if not self._started:
            raise DeviceUnavailable(f"{self.port}: modem not started")
        if not self.channel.is_open:
            log.warning("%s: port lost, reopening", self.port)
            await self.channel.reopen()
            await self._configure()
        return await self.channel.command(command)
