"""Every detector, in the order they run: the one list the command, the policy and the tests
read. Each is a pure function of a History and the thresholds."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from oracle.detect import arrival, asymmetry, clusters, gps, position, shared, signal, timing
from oracle.detect.history import History
from oracle.detect.model import DEFAULT_PARAMS, DetectParams, Finding

Detector = Callable[[History, DetectParams], list[Finding]]

# name → (what it catches, the function). Names of the findings a detector can raise are
# listed in oracle/detect/policy.py.
DETECTORS: dict[str, tuple[str, Detector]] = {
    "signal": ("links far stronger than the network's distance law (false location, relay)",
               signal.excess),
    "position": ("partners that gather away from the asserted place (attenuated false location)",
                 position.position),
    "arrival": ("arrival times that place a hotspot away from its asserted place (attenuated "
                "false location)", arrival.arrival),
    "constant": ("RSSI that does not vary (witness stuffing, attenuated rigs)", signal.constant),
    "asymmetry": ("hears others stronger than they hear it (RSSI inflation, hidden power)",
                  asymmetry.asymmetry),
    "shared": ("keys reporting identical receptions (one antenna)", shared.shared_reception),
    "clusters": ("groups witnessing only each other among neighbours (collusion rings)",
                 clusters.closed_clusters),
    "relay": ("receptions consistently late against the transmission (relays)", timing.relay),
    "replay": ("the likely sender of replayed beacons", timing.replay),
    "clock": ("reports whose own time is off by minutes or more", timing.clock),
    "gps": ("GPS fixes that are frozen, too clean, on a fixed-radius ring, far or jumping",
            gps.gps),
}


def detect(
    history: History, params: DetectParams = DEFAULT_PARAMS, only: Sequence[str] = ()
) -> list[Finding]:
    findings: list[Finding] = []
    for name, (_, run) in DETECTORS.items():
        if not only or name in only:
            findings.extend(run(history, params))
    return findings
