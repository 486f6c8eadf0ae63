"""pyubx2's UBXReader over a serial port, a pseudo-terminal or a recorded file, with an error
policy: raise (tests: a bad frame is a bug to see) or count and skip (the daemon: a noisy
UART must not stop the hotspot).

pyubx2 reports a short read as a truncated frame; a serial port with a read timeout returns
short reads whenever the receiver pauses between epochs. `BlockingStream` therefore waits for
the full count, checking a stop flag between timeouts, so only a real truncation (end of a
recording, bytes lost mid-frame) shows up as one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, BinaryIO, Protocol

import pynmeagps
import pyrtcm
from pyubx2 import (
    ERR_RAISE,
    NMEA_PROTOCOL,
    RTCM3_PROTOCOL,
    UBX_PROTOCOL,
    UBXMessageError,
    UBXParseError,
    UBXReader,
    UBXStreamError,
    UBXTypeError,
)

from firmware_bridge.errors import FrameError

log = logging.getLogger(__name__)

MAX_NMEA_LINE_BYTES = 128      # NMEA 0183 allows 82; u-blox proprietary PUBX lines are longer
PROTOCOLS = NMEA_PROTOCOL | UBX_PROTOCOL | RTCM3_PROTOCOL

_TRUNCATED = (UBXStreamError, pynmeagps.NMEAStreamError, pyrtcm.RTCMStreamError)
_BAD = (
    UBXMessageError,
    UBXTypeError,
    UBXParseError,
    pynmeagps.NMEAMessageError,
    pynmeagps.NMEATypeError,
    pynmeagps.NMEAParseError,
    pyrtcm.RTCMMessageError,
    pyrtcm.RTCMParseError,
    pyrtcm.RTCMTypeError,
    # pynmeagps decodes an NMEA sentence as UTF-8 and lets a stray byte of line noise escape
    # as UnicodeDecodeError; it is a bad frame like any other, not the end of the reader.
    UnicodeDecodeError,
)


class ErrorPolicy(StrEnum):
    RAISE = "raise"
    SKIP = "skip"


@dataclass
class ReadCounters:
    """What was read and what was thrown away, for `pocnet-hotspot gps` and metrics."""

    messages: int = 0
    bad_frames: int = 0          # bad checksum, unknown header, unparseable payload
    truncated_frames: int = 0
    last_error: str = ""
    by_identity: dict[str, int] = field(default_factory=dict)
    fixes_out_of_bounds: int = 0  # solutions outside firmware_bridge.bounds: dropped


class ByteSource(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class BlockingStream:
    """Serial reads that wait for the whole request; end of stream only once `stop` is set."""

    def __init__(self, port: ByteSource, stop: threading.Event) -> None:
        self._port = port
        self._stop = stop

    def read(self, size: int = 1) -> bytes:
        data = b""
        while len(data) < size:
            if self._stop.is_set():
                raise EOFError  # pyubx2 reads this as the end of the stream
            data += self._port.read(size - len(data))
        return data

    def readline(self) -> bytes:
        line = b""
        while len(line) < MAX_NMEA_LINE_BYTES:
            if self._stop.is_set():
                raise EOFError
            byte = self._port.read(1)
            line += byte
            if byte == b"\n":
                break
        return line


class GnssReader:
    """Iterates parsed messages from any byte stream, applying the error policy."""

    def __init__(self, stream: BinaryIO | BlockingStream, policy: ErrorPolicy) -> None:
        self.policy = ErrorPolicy(policy)
        self.counters = ReadCounters()
        self._reader = UBXReader(stream, protfilter=PROTOCOLS, quitonerror=ERR_RAISE)

    def messages(self) -> Iterator[Any]:
        """Parsed messages until end of stream; bad frames raise FrameError or are skipped."""
        while True:
            try:
                raw, parsed = self._reader.read()
            except _TRUNCATED as exc:
                self._fail("truncated", exc)
                continue
            except _BAD as exc:
                self._fail("bad", exc)
                continue
            if raw is None:
                return
            if parsed is None:
                continue
            self.counters.messages += 1
            identity = str(getattr(parsed, "identity", "?"))
            self.counters.by_identity[identity] = self.counters.by_identity.get(identity, 0) + 1
            yield parsed

    def _fail(self, what: str, exc: Exception) -> None:
        if what == "truncated":
            self.counters.truncated_frames += 1
        else:
            self.counters.bad_frames += 1
        self.counters.last_error = str(exc)
        if self.policy is ErrorPolicy.RAISE:
            raise FrameError(f"{what} GNSS frame: {exc}") from exc
        log.debug("skipping %s GNSS frame: %s", what, exc)
