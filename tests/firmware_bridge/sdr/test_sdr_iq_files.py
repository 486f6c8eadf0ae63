"""SigMF and raw cf32 recordings: what is written reads back, bad files get one clear error."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.sdr.iq_files import Capture, IqFileError, read, write_sigmf
from tests.fp_env import default_fp_env  # noqa: F401  (autouse)

START_NS = 1_796_342_400_123_456_000     # 2026-12-04T00:00:00.123456Z


def _capture() -> Capture:
    rng = np.random.default_rng(1)
    i, q = (0.5 * rng.standard_normal((2, 1000))).clip(-0.99, 0.99)
    samples = (i + 1j * q).astype(np.complex64)
    return Capture(samples, 1_000_000, 868_000_000, START_NS, full_scale_dbm=-30.0)


def test_cf32_round_trip(tmp_path: Path) -> None:
    c = _capture()
    meta = write_sigmf(tmp_path / "rec", c, "cf32_le", "a test")
    assert meta.name == "rec.sigmf-meta"
    doc = json.loads(meta.read_text())
    assert doc["global"]["core:datatype"] == "cf32_le"
    assert doc["global"]["core:sample_rate"] == 1_000_000
    assert doc["captures"][0]["core:frequency"] == 868_000_000
    assert doc["captures"][0]["core:datetime"] == "2026-12-04T00:00:00.123456Z"
    assert (tmp_path / "rec.sigmf-data").stat().st_size == 8 * len(c.samples)
    for name in ("rec.sigmf-meta", "rec.sigmf-data", "rec"):
        back = read(tmp_path / name)
        assert np.array_equal(back.samples, c.samples)
        assert (back.sample_rate_hz, back.center_freq_hz, back.start_ns) == (
            1_000_000, 868_000_000, START_NS)
        assert back.full_scale_dbm == -30.0


def test_start_read_to_the_exact_nanosecond(tmp_path: Path) -> None:
    # Through a float of seconds, 2026-12-04T00:00:00.999991Z read as ...999991040 ns: 40 ns
    # off, as most microseconds of a 2026 date are.
    write_sigmf(tmp_path / "rec", replace(_capture(), start_ns=1_796_342_400_999_991_000))
    assert read(tmp_path / "rec").start_ns == 1_796_342_400_999_991_000


def test_ci16_round_trip_within_one_step(tmp_path: Path) -> None:
    c = _capture()
    write_sigmf(tmp_path / "rec", c, "ci16_le")
    assert (tmp_path / "rec.sigmf-data").stat().st_size == 4 * len(c.samples)
    back = read(tmp_path / "rec.sigmf-meta")
    assert np.abs(back.samples - c.samples).max() <= 1 / 32768


def test_cu8_as_rtl_sdr_records_it(tmp_path: Path) -> None:
    # rtl_sdr writes unsigned bytes, 127.5 being zero: 0 -> −1, 255 -> +1.
    (tmp_path / "rec.cu8").write_bytes(bytes([0, 255, 255, 0, 128, 127]))
    back = read(tmp_path / "rec.cu8", 2_000_000, 868e6)
    assert np.allclose(back.samples, [-1 + 1j, 1 - 1j, 0.5 / 127.5 - 0.5j / 127.5])
    write_sigmf(tmp_path / "s", _capture(), "cu8")
    # Half a step in I and in Q at most.
    assert np.abs(read(tmp_path / "s").samples - _capture().samples).max() <= 0.71 / 127.5


def test_raw_cf32_needs_rate_and_frequency(tmp_path: Path) -> None:
    c = _capture()
    path = tmp_path / "rec.cf32"
    iq = np.empty(2 * len(c.samples), np.float32)
    iq[0::2], iq[1::2] = c.samples.real, c.samples.imag
    iq.tofile(path)
    assert np.array_equal(read(path, 250_000, 915e6).samples, c.samples)
    with pytest.raises(IqFileError, match="sample rate and frequency"):
        read(path)
    with pytest.raises(IqFileError, match="no such IQ file"):
        read(tmp_path / "missing.cf32", 250_000, 915e6)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(IqFileError, match="no such SigMF metadata"):
        read(tmp_path / "missing.sigmf-meta")
    (tmp_path / "a.sigmf-meta").write_text("{not json")
    with pytest.raises(IqFileError, match="not JSON"):
        read(tmp_path / "a.sigmf-meta")
    meta = {"global": {"core:datatype": "ci8", "core:sample_rate": 1e6}, "captures": []}
    (tmp_path / "b.sigmf-meta").write_text(json.dumps(meta))
    with pytest.raises(IqFileError, match="ci8"):
        read(tmp_path / "b.sigmf-meta")
    meta["global"]["core:datatype"] = "cf32_le"
    (tmp_path / "c.sigmf-meta").write_text(json.dumps(meta))
    with pytest.raises(IqFileError, match="no such SigMF data"):
        read(tmp_path / "c.sigmf-meta")
    (tmp_path / "d.sigmf-meta").write_text(json.dumps({"global": {}}))
    with pytest.raises(IqFileError, match="core:datatype"):
        read(tmp_path / "d.sigmf-meta")
    with pytest.raises(IqFileError, match="cs8"):
        write_sigmf(tmp_path / "e", _capture(), "cs8")
