"""IQ recordings: SigMF (`.sigmf-meta` + `.sigmf-data`: cf32_le, ci16_le, or cu8 as RTL-SDRs
record) and raw cf32 or cu8 (`rtl_sdr`'s output).

SigMF's core is a small JSON document, so it is read and written here rather than through the
`sigmf` package (which would add jsonschema to an extra that is otherwise numpy alone). The
receiver's calibration (dBm of a stream whose mean |x|² is 1) travels in the `pocnet:`
extension namespace, so RSSI can be reported in dBm from a file as from the radio.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from firmware_bridge.gps_time import unix_ns

SIGMF_VERSION = "1.0.0"
META_SUFFIX = ".sigmf-meta"
DATA_SUFFIX = ".sigmf-data"
# SigMF datatype -> (numpy scalar of one I or Q value, its zero, its full scale).
DATATYPES: dict[str, tuple[str, float, float]] = {
    "cf32_le": ("<f4", 0.0, 1.0),
    "ci16_le": ("<i2", 0.0, 32768.0),
    "cu8": ("u1", 127.5, 127.5),
}
# Headerless files by name: the datatype their suffix means.
RAW_SUFFIXES = {".cf32": "cf32_le", ".fc32": "cf32_le", ".raw": "cf32_le", ".cu8": "cu8"}
FULL_SCALE_KEY = "pocnet:full_scale_dbm"
EXTENSION = {"name": "pocnet", "version": "1.0.0", "optional": True}


class IqFileError(ValueError):
    """A recording this module cannot read, with the reason."""


@dataclass(frozen=True)
class Capture:
    samples: np.ndarray            # complex64
    sample_rate_hz: float
    center_freq_hz: float
    start_ns: int                  # when the first sample was taken, ns since the Unix epoch
    full_scale_dbm: float = 0.0    # dBm of a stream whose mean |x|² is 1 (RSSI calibration)


def _base(path: Path) -> Path:
    if path.name.endswith(META_SUFFIX) or path.name.endswith(DATA_SUFFIX):
        return path.with_suffix("")
    return path


def write_sigmf(path: str | Path, capture: Capture, datatype: str = "cf32_le",
                description: str = "") -> Path:
    """Write `path`.sigmf-meta and .sigmf-data; return the meta file's path."""
    if datatype not in DATATYPES:
        raise IqFileError(f"datatype {datatype!r} not one of {', '.join(DATATYPES)}")
    base = _base(Path(path))
    scalar, zero, scale = DATATYPES[datatype]
    iq = np.empty(2 * len(capture.samples), dtype=np.float64)
    iq[0::2], iq[1::2] = capture.samples.real, capture.samples.imag
    iq = iq * scale + zero
    if scalar != "<f4":
        info = np.iinfo(scalar)
        iq = np.clip(np.round(iq), info.min, info.max)
    iq.astype(scalar).tofile(base.with_name(base.name + DATA_SUFFIX))
    when = datetime.fromtimestamp(capture.start_ns / 1e9, UTC)
    meta = {
        "global": {
            "core:datatype": datatype,
            "core:sample_rate": capture.sample_rate_hz,
            "core:version": SIGMF_VERSION,
            "core:recorder": "pocnet",
            "core:description": description,
            "core:extensions": [EXTENSION],
            FULL_SCALE_KEY: capture.full_scale_dbm,
        },
        "captures": [{
            "core:sample_start": 0,
            "core:frequency": capture.center_freq_hz,
            "core:datetime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }],
        "annotations": [],
    }
    meta_path = base.with_name(base.name + META_SUFFIX)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return meta_path


def _datetime_ns(text: str) -> int:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise IqFileError(f"core:datetime {text!r} is not ISO 8601") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return unix_ns(when)


def read_sigmf(path: str | Path) -> Capture:
    base = _base(Path(path))
    meta_path = base.with_name(base.name + META_SUFFIX)
    data_path = base.with_name(base.name + DATA_SUFFIX)
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise IqFileError(f"no such SigMF metadata file: {meta_path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IqFileError(f"{meta_path}: not JSON ({exc})") from None
    try:
        glob = meta["global"]
        datatype = glob["core:datatype"]
        rate = float(glob["core:sample_rate"])
        capture = (meta.get("captures") or [{}])[0]
    except (KeyError, TypeError, ValueError) as exc:
        raise IqFileError(f"{meta_path}: missing or bad SigMF field {exc}") from None
    if datatype not in DATATYPES:
        raise IqFileError(
            f"{meta_path}: datatype {datatype!r} not supported (use {', '.join(DATATYPES)})"
        )
    if rate <= 0:
        raise IqFileError(f"{meta_path}: core:sample_rate must be positive")
    scalar, zero, scale = DATATYPES[datatype]
    try:
        raw = np.fromfile(data_path, dtype=scalar)
    except FileNotFoundError:
        raise IqFileError(f"no such SigMF data file: {data_path}") from None
    start = int(capture.get("core:sample_start", 0))
    samples = _complex(raw, zero, scale)[start:]
    when = capture.get("core:datetime")
    return Capture(
        samples=samples,
        sample_rate_hz=rate,
        center_freq_hz=float(capture.get("core:frequency", 0.0)),
        start_ns=_datetime_ns(when) if when else 0,
        full_scale_dbm=float(glob.get(FULL_SCALE_KEY, 0.0)),
    )


def _complex(raw: np.ndarray, zero: float, scale: float) -> np.ndarray:
    if len(raw) % 2:
        raw = raw[:-1]
    values = (raw.astype(np.float32) - np.float32(zero)) / np.float32(scale)
    return (values[0::2] + 1j * values[1::2]).astype(np.complex64)


def read_raw(path: str | Path, sample_rate_hz: float, center_freq_hz: float,
             datatype: str = "cf32_le") -> Capture:
    """Headerless interleaved I/Q: the rate and frequency must come from the user."""
    scalar, zero, scale = DATATYPES[datatype]
    try:
        raw = np.fromfile(Path(path), dtype=scalar)
    except FileNotFoundError:
        raise IqFileError(f"no such IQ file: {path}") from None
    return Capture(_complex(raw, zero, scale), sample_rate_hz, center_freq_hz, 0)


def read(path: str | Path, sample_rate_hz: float | None = None,
         center_freq_hz: float | None = None) -> Capture:
    """A SigMF recording, or a raw one when the name ends in .cf32/.fc32/.raw or .cu8."""
    p = Path(path)
    if p.suffix in RAW_SUFFIXES:
        if not sample_rate_hz or center_freq_hz is None:
            raise IqFileError(f"{p}: a raw IQ file needs its sample rate and frequency")
        return read_raw(p, sample_rate_hz, center_freq_hz, RAW_SUFFIXES[p.suffix])
    return read_sigmf(p)
