"""Errors of the hotspot daemon. Each names what failed; drivers' errors stop at the transceiver."""

from __future__ import annotations


class HotspotError(Exception):
    """Base of every error the hotspot raises."""


class SettingsError(HotspotError):
    """Settings that do not validate; the message holds one line per mistake."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class KeyStoreError(HotspotError):
    """The device key file is missing, malformed, readable by others or already exists."""


class OutboxError(HotspotError):
    """The outbox database cannot be opened or written."""


class OutboxFull(OutboxError):
    """The disk holding the outbox is full: nothing more is stored until space is freed."""


class MetricsError(HotspotError):
    """The Prometheus endpoint cannot listen where the settings say (port taken, bad address)."""


class OracleUnavailable(HotspotError):
    """The oracle could not be reached or did not answer in time; worth retrying later."""


class ReportRejected(HotspotError):
    """The oracle refused a report for good (bad signature, expired entropy window ...)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class EntropyRefused(HotspotError):
    """Entropy not fit to beacon on: `reason` is the counted label (unknown_oracle,
    bad_signature, stale), `detail` the one line an owner reads."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class TxFailed(HotspotError):
    """The radio did not confirm a transmission (rejected, timed out, or the device is gone)."""


class AirtimeBusy(HotspotError):
    """Duty cycle or dwell time forbids transmitting now; `wait_s` until it would be allowed."""

    def __init__(self, label: str, wait_s: float) -> None:
        if wait_s == float("inf"):
            why = f"{label}: the frame is longer than the dwell time allows; it can never be sent"
        else:
            why = f"sub-band {label} needs {wait_s:.1f} s more silence"
        super().__init__(why)
        self.label = label
        self.wait_s = wait_s
