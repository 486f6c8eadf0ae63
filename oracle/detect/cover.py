"""Copies no rule attributes: the hotspot that could have sent them, where no other could.

A copy heard by one late witness that usually hears two of the beacon's timely witnesses
alike could be either's (replay.py singles out no one). But a replayer sends a copy of a
beacon it heard every window, and every one of its copies is one it could have sent; an
honest neighbour could have sent only those of the beacons it heard too, and heard as the
replayer is. So the copies are shared out as a set cover: those that the replayers the
other rules found could have sent go to them; of the rest, the hotspot that could have sent
the most takes them, and so on. A hotspot is flagged when it took MIN_COVERED copies or
more, a COVERED_SHARE of the replayed beacons it stood by or more, and no other hotspot
(not found) could have sent every copy it could have: two that could have sent the same
copies cannot be told apart, and neither is named.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence

# Measured on the whole 2022 population, re-reading its stores after 7 epochs (replayers at
# 5 % with seven other classes, and at 20 % with inflators and attenuators; every copy's
# candidates those each late witness hears as it heard the copy, whose distances fit the
# stamps as one transmission's): with the other replay rules' findings first, three copies
# found 6 and 32 replayers more, and one honest hotspot at 20 %, which could have sent the
# copies of a replayer 900 m off heard alike (the same set, taken first on a tie: hence no
# two alike are named). A share of 0.2 of the replayed beacons it stood by: 5 and 24
# replayers, no honest hotspot (an honest neighbour took 2–14 of 24–61 there; a replayer
# copies a beacon it heard every window, and took 10 of 10, 17 of 17, 22 of 26).
MIN_COVERED = 3
COVERED_SHARE = 0.2


def covered(could_send: Sequence[frozenset[int]], found: Collection[int],
            chances: Counter[int]) -> dict[int, int]:
    """The hotspots flagged by the cover, with the copies each took: `could_send` holds,
    per replayed beacon, the hotspots that could have sent its copies; `found`, the
    replayers found by other rules; `chances`, per hotspot, the replayed beacons it stood
    by (its narrowable copies)."""
    copies_of: defaultdict[int, set[int]] = defaultdict(set)
    for beacon, senders in enumerate(could_send):
        for sender in senders:
            copies_of[sender].add(beacon)
    taken: set[int] = set()
    for sender in found:
        taken |= copies_of.get(sender, set())
    took: dict[int, int] = {}
    # Lazy greedy: a hotspot's count only falls as others take copies, so one popped with
    # its count still current is the largest.
    queue = [(-len(copies), sender) for sender, copies in copies_of.items()
             if sender not in found]
    heapq.heapify(queue)
    while queue:
        count, sender = heapq.heappop(queue)
        left = len(copies_of[sender] - taken)
        if left < MIN_COVERED:
            continue
        if left != -count:
            heapq.heappush(queue, (-left, sender))
            continue
        took[sender] = left
        taken |= copies_of[sender]
    return {
        sender: count for sender, count in took.items()
        if count >= COVERED_SHARE * chances[sender]
        and not any(other != sender and other not in found
                    and copies_of[sender] <= copies_of[other]
                    for beacon in copies_of[sender] for other in could_send[beacon])
    }
