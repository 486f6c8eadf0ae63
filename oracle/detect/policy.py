"""From findings to denylist entries: which findings deny, what, and for how long.

The table reads like the policy an operator publishes. Every entry carries its evidence and an
expiry (epochs after the one it was found in), so a fixed hotspot comes back by itself; an
owner appeals to the operator with the evidence in hand (`pocnet-oracle registry deny show`).
Findings that deny nothing are still printed: they are worth a look, not a penalty.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from oracle.detect.model import Finding

# finding → (denies: "hotspot" | "hotspot+edge" | "edge" | "", epochs until the entry expires)
POLICY: dict[str, tuple[str, int]] = {
    "signal_excess": ("hotspot", 7),
    "signal_constant": ("hotspot", 7),
    "signal_asymmetry": ("hotspot", 7),
    # Keys behind one antenna: each is denied (which one is "the real" hotspot cannot be
    # known), and so is their edge.
    "shared_reception": ("hotspot+edge", 7),
    "closed_cluster": ("hotspot", 7),
    "relay_latency": ("hotspot", 7),
    "replay": ("hotspot", 7),
    # A wrong clock or a stale assertion is often a mistake: shorter, and fixed by the owner.
    "clock_offset": ("hotspot", 3),
    "gps_far": ("hotspot", 3),
    "position_fit": ("hotspot", 3),  # as gps_far: re-asserting the true place ends it
    "arrival_fit": ("hotspot", 3),  # likewise
    # Two hotspots whose ranges refute their asserted distance, neither judged alone: which
    # one is off is not in the evidence, so the link pays neither, and each keeps the rest.
    "range_refuted": ("edge", 3),
    "unheard_near": ("hotspot", 3),  # likewise
    "gps_frozen": ("hotspot", 7),
    "gps_too_clean": ("hotspot", 7),
    "gps_ring": ("hotspot", 7),
    "gps_jumps": ("", 0),  # a moved hotspot jumps once; repeated jumps are for a human
    # Asserted places on a square grid: keys placed from a desk, not where hotspots stand.
    "grid_layout": ("hotspot", 7),
    "moved_together": ("hotspot", 7),  # a layout moved whole: likewise
}


def denies_hotspots(detector: str) -> bool:
    """Whether a finding of `detector` denies the hotspots it names (not only their edge)."""
    return "hotspot" in POLICY[detector][0]


@dataclass
class Decision:
    """One denylist entry: a hotspot (one key) or an edge (two keys)."""

    subject: tuple[bytes, ...]
    reasons: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    expires_epoch: int = 0

    def as_dict(self) -> dict[str, Any]:
        from pocnet.keys import PublicKey

        return {
            "kind": "edge" if len(self.subject) == 2 else "hotspot",
            "subject": [PublicKey.from_bytes(k).address for k in self.subject],
            "reasons": self.reasons,
            "evidence": self.evidence,
            "expires_epoch": self.expires_epoch,
        }


def decide(findings: list[Finding], epoch: int) -> tuple[list[Decision], list[Finding]]:
    """(denylist entries for the epoch after `epoch`, findings that deny nothing)."""
    decisions: dict[tuple[bytes, ...], Decision] = defaultdict(lambda: Decision(()))
    watch: list[Finding] = []
    for finding in findings:
        denies, epochs = POLICY[finding.detector]
        if not denies:
            watch.append(finding)
            continue
        subjects = [(k,) for k in finding.hotspots] if denies_hotspots(finding.detector) else []
        if "edge" in denies and finding.is_edge:
            subjects.append(tuple(sorted(finding.hotspots)))
        for subject in subjects:
            decision = decisions[subject]
            decision.subject = subject
            if finding.detector not in decision.reasons:
                decision.reasons.append(finding.detector)
                decision.evidence.append({"detector": finding.detector, "score":
                                          round(finding.score, 2), **finding.evidence})
            decision.expires_epoch = max(decision.expires_epoch, epoch + 1 + epochs)
    return sorted(decisions.values(), key=lambda d: (len(d.subject), d.subject)), watch


def denied_hotspots(decisions: list[Decision]) -> set[bytes]:
    """The hotspots the entries deny whole (not an edge of theirs)."""
    return {d.subject[0] for d in decisions if len(d.subject) == 1}
