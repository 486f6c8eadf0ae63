"""Every detector, in the order they run: the one list the command, the policy and the tests
read. Each is a pure function of a History and the thresholds.

Those that read a hotspot's own evidence (its RSSI's steadiness, its antenna, its lateness, its
clock, its GPS) run first; those that judge a hotspot by what its partners report (where they
gather, the distance law, pair offsets, closed groups) run last, each without the links of the
hotspots found so far (oracle/detect/peel.py): a sparse honest hotspot whose partners are
mostly cheaters is not judged by their receptions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
from numpy.typing import NDArray

from oracle.detect import (
    arrival,
    asymmetry,
    clusters,
    gps,
    hearing,
    layout,
    position,
    replay,
    shared,
    signal,
    timing,
)
from oracle.detect.history import History
from oracle.detect.model import DEFAULT_PARAMS, DetectParams, Finding
from oracle.detect.peel import without_links
from oracle.detect.policy import denies_hotspots

Detector = Callable[[History, DetectParams], list[Finding]]

# name → (what it catches, the function). Names of the findings a detector can raise are
# listed in oracle/detect/policy.py.
DETECTORS: dict[str, tuple[str, Detector]] = {
    "constant": ("RSSI that does not vary (witness stuffing, attenuated rigs)", signal.constant),
    "shared": ("keys reporting identical receptions (one antenna)", shared.shared_reception),
    "relay": ("receptions consistently late against the transmission (relays)", timing.relay),
    "replay": ("the likely sender of replayed beacons", replay.replay),
    "clock": ("reports whose own time is off by minutes or more", timing.clock),
    "gps": ("GPS fixes that are frozen, too clean, on a fixed-radius ring, far or jumping",
            gps.gps),
    "grid": ("asserted places on an evenly spaced square grid (keys placed from a desk)",
             layout.grids),
    "moves": ("hotspots re-asserting at once, all moved by one vector (a layout carried whole)",
              layout.moved_together),
    "position": ("partners that gather away from the asserted place (attenuated false location)",
                 position.position),
    "arrival": ("arrival times that place a hotspot away from its asserted place (attenuated "
                "false location)", arrival.arrival),
    "signal": ("links far stronger than the network's distance law (false location, relay)",
               signal.excess),
    "hearing": ("the hotspots about the asserted place that never hear it nor are heard "
                "(attenuated false location on sparse ground)", hearing.hearing),
    "asymmetry": ("hears others stronger than they hear it (RSSI inflation, hidden power)",
                  asymmetry.asymmetry),
    "clusters": ("groups witnessing only each other among neighbours (collusion rings)",
                 clusters.closed_clusters),
}
# Detectors that judge a hotspot by its partners' links: given the hotspots found before them
# (`explained`), they judge no one by its links with those. Asymmetry peels by its own
# findings only: a pair's offset is what the two report of each other, whatever their places,
# clocks or relaying; a relay's pairs are honest evidence of its partners' reciprocity, and
# without them on the whole 2022 population an inflator among relays had too few pairs left
# (docs/benchmarks.md, issue 13).
BY_PARTNERS = frozenset({"signal", "clusters"})
# ... and those that know nothing of `explained` read the history without the links of the
# hotspots found before them: on the whole 2022 population with a fifth false-located,
# `position` judged 170 honest hotspots of 2,761 by their false-located partners, none
# without them (docs/benchmarks.md, issue 13).
WITHOUT_LINKS = frozenset({"position", "hearing"})
# Findings that say a hotspot is not where it asserts: `clusters` measures no reach by its place.
MISPLACED = frozenset({"gps_far", "gps_frozen", "gps_too_clean", "gps_ring", "grid_layout",
                       "moved_together", "position_fit", "arrival_fit", "unheard_near",
                       "signal_excess"})
# `arrival` places a hotspot by its partners' asserted places too, but it reads stamps, and a
# replayer's or a clock's own prompt stamps are either as good as anyone's or outside its
# windows (copies are late, clocks off by minutes): it is read without the links of the
# hotspots whose places are in doubt only (MISPLACED, and keys behind one antenna, asserting
# places they do not stand at). Without every found hotspot's links, on
# the whole 2022 population with a fifth replaying, 42 % of the receptions went with the
# replayers, and with them the vouched partners of attenuators heard by one or two
# (docs/benchmarks.md, issue 13). A relay's reports are of receptions where its partner stands:
# its place as a witness is in doubt too (with relays' links kept, an honest beaconer was
# placed 12 km off on the whole population with a fifth relaying; not without them). Its
# beacons go out from its own radio, and are read as anyone's: a partner vouches by its
# ranges with others, so a relay transmitting from elsewhere would vouch for no one (in the
# city at 5 %, an attenuator's one range past range_one_ns was with a relay's beacon).
WITHOUT_PLACES = frozenset({"arrival"})
PLACE_IN_DOUBT = MISPLACED | {"shared_reception"}
HEARD_IN_DOUBT = frozenset({"relay_latency"})
# `asymmetry`'s all-pairs fit reads every pair as two measurements; a witness stuffer's are
# fixed values (−140 dBm of everyone), and its pairs are left out of that fit.
FABRICATED = frozenset({"signal_constant"})


def detect(
    history: History, params: DetectParams = DEFAULT_PARAMS, only: Sequence[str] = ()
) -> list[Finding]:
    return [f for _, found in each_detector(history, params, only) for f in found]


def each_detector(
    history: History, params: DetectParams = DEFAULT_PARAMS, only: Sequence[str] = ()
) -> Iterator[tuple[str, list[Finding]]]:
    """(name, findings) of each detector as it runs, in order (the benchmark times them)."""
    index = {key: i for i, key in enumerate(history.hotspots.keys)}
    # The hotspots each denying finding so far names, with its kind: a finding explains its
    # hotspots when it denies them (a jump alone does not).
    denied: list[tuple[list[int], str]] = []

    def marked(kinds: frozenset[str] | None = None) -> NDArray[np.bool_]:
        """The hotspots denied so far by a finding of one of `kinds` (of any kind: None)."""
        out = np.zeros(len(history.hotspots), dtype=bool)
        for rows, detector in denied:
            if kinds is None or detector in kinds:
                out[rows] = True
        return out

    for name, (_, run) in DETECTORS.items():
        if only and name not in only:
            continue
        if name == "clusters":
            found = clusters.closed_clusters(history, params, explained=marked(),
                                             misplaced=marked(MISPLACED))
        elif name in BY_PARTNERS:
            found = run(history, params, explained=marked())  # type: ignore[call-arg]
        elif name in WITHOUT_LINKS:
            found = run(without_links(history, marked()), params)
        elif name in WITHOUT_PLACES:
            found = run(without_links(history, marked(PLACE_IN_DOUBT), marked(HEARD_IN_DOUBT)),
                        params)
        elif name == "asymmetry":
            found = run(history, params, fabricated=marked(FABRICATED))  # type: ignore[call-arg]
        else:
            found = run(history, params)
        yield name, found
        denied += [([index[k] for k in f.hotspots], f.detector)
                   for f in found if denies_hotspots(f.detector)]
