"""The whole network of `make demo`, with verdicts: oracle, hotspot daemons, virtual radios.

Slow by nature (about 4-5 minutes): a beacon is verified only once its entropy's 180 s window
has closed (docs/protocol.md §4, §5), and that is a protocol constant, not a test setting; the test
network's 30-second epochs are then complete 200 s after their end ([verifier]
stale_after_s), and rewarded and paid. This is the
one test that checks the verifier's verdicts on reports that travelled the real path: radio
driver -> daemon -> outbox -> gRPC stream -> ingest -> verifier.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow(minutes=5)
@pytest.mark.timeout(1020)  # 660, plus up to 6 min when started in a beacon window's tail
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
        timeout=1000,
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
    # The short test epochs were rewarded and paid on the embedded VM as their manifests say;
    # the liar's reports are all invalid, and invalid reports earn nothing (docs/protocol.md §6).
    rewards = result["rewards"]
    assert rewards["payout_matches_manifest"] is True and rewards["epochs"]
    assert rewards["hotspots"][summary["dishonest"]] == 0
    rows = {row["class"]: row for row in rewards["scoreboard"]}
    assert rows["false_location"]["caught"] == 1.0 and rows["honest"]["hotspots"] == 2
