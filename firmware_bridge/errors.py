"""Errors drivers raise. The hotspot's transceiver is the one place that handles them."""


class BridgeError(Exception):
    """Base of every driver error."""


class DeviceUnavailable(BridgeError):
    """The device cannot be opened or has gone away (unplugged, port busy, socket closed)."""


class DeviceTimeout(BridgeError):
    """The device did not answer within its deadline."""


class FrameError(BridgeError):
    """Bytes from the device that do not form a valid frame, line or datagram."""


class TxRejected(BridgeError):
    """The radio refused or failed a transmission; `reason` is the device's own word."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoForwarder(TxRejected):
    """No packet forwarder has kept its downlink path open (PULL_DATA) lately. The UDP server,
    the hotspot's radio, is fine and the forwarder may connect any moment: the transmission is
    refused, the radio is not lost (reopening the server would only forget the forwarder)."""

    def __init__(self, detail: str) -> None:
        super().__init__("NO_FORWARDER")
        self.args = (detail,)


class ModemError(BridgeError):
    """A cellular modem answered `ERROR` (code None) or `+CME ERROR: <code>`."""

    def __init__(self, command: str, code: int | None) -> None:
        what = "ERROR" if code is None else f"+CME ERROR: {code}"
        super().__init__(f"{command}: {what}")
        self.command = command
        self.code = code
