"""Numeric tests need numpy's single-precision arithmetic intact.

After the embedded Solana VM (`solders.litesvm`, tests/oracle/test_solana_writer.py) has run
in the same process, numpy's single-precision FFT returns NaN for finite input (seen with
numpy 2.4 on x86-64; double precision after `fesetenv(FE_DFL_ENV)` is fine). Production
processes never share the two; a test session does. The numpy-heavy tests import this
autouse fixture: it resets the floating-point environment and, if single precision is still
broken, skips with that reason instead of failing on another module's side effect. Run the
file on its own (or before tests/oracle) to exercise it.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np
import pytest

FE_DFL_ENV = ctypes.c_void_p(-1)   # glibc's ((const fenv_t *) -1)


def _single_precision_works() -> bool:
    x = np.exp(2j * np.pi * np.arange(4096) / 64)
    checks = (np.fft.fft(x.astype(np.complex64)), np.fft.fft(x), np.sinc(x.real),
              x.astype(np.complex64) * np.float32(0.5))
    return all(bool(np.isfinite(c).all()) for c in checks)


@pytest.fixture(autouse=True)
def default_fp_env() -> None:
    name = ctypes.util.find_library("m")
    if name:
        ctypes.CDLL(name).fesetenv(FE_DFL_ENV)
    if not _single_precision_works():
        pytest.skip("numpy single-precision FFT broken in this process (after solders.litesvm)")
