"""The whole network of `make demo`, with verdicts: oracle, hotspot daemons, virtual radios.

Slow by nature (about 3 minutes): a beacon is verified only once its entropy's 180 s window
has closed (docs/protocol.md §4, §5), and that is a protocol constant, not a test setting. This is
the one test that checks the verifier's verdicts on reports that travelled the real path: radio
driver -> daemon -> outbox -> gRPC stream -> ingest -> verifier.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
@pytest.mark.timeout(480)
def test_three_hotspot_town_is_verified_and_the_liar_is_caught(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim_radio.cli",
            "demo",
            "--hotspots",
            "3",
            "--json",
            "--dir",
            str(tmp_path / "demo"),
            "--timeout-s",
            "420",
        ],
        capture_output=True,
        text=True,
        timeout=460,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["complete"]
    summary = result["summary"]
    assert summary["beacons"] == 3 and len(result["beacons"]) == 3
    assert all(beacon["verdict"] in ("valid", "invalid") for beacon in result["beacons"])
    # The liar asserts a cell ~40 km from where its radio is; its own GPS gives it away.
    liar = next(b for b in result["beacons"] if b["beaconer"] == summary["dishonest"])
    assert liar["reason"] == "gps_location_mismatch" and not liar["valid"]
    assert summary["dishonest_caught"]
    # Honest hotspots are refused only by the bootstrap of reciprocity (HIP-106), never for
    # anything they did.
    assert summary["honest_flagged"] == []
    assert summary["witnesses"] >= 1
