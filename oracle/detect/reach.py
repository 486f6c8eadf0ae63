"""The hotspots whose place detection cannot judge: named in the window's reports, not denied,
and leaving the detectors of place (`position`, `arrival`, `hearing`) nothing in their
receptions that tells them from an honest hotspot.

Detection in the open says where it is blind, too. An operator reads these as a watch list
(a hotspot heard only by denied ones is as likely their accomplice as their victim), and the
proving ground counts the cheaters of place among them as beyond any detector's reach, beside
its recall (tests/bench/bench_detect_proving.py, docs/benchmarks.md, issue 13). Other evidence
may still judge one (its GPS fixes, its clock, copies it replayed, its signal against its
partners'). Each is listed with why:

- "none_in_time": witness reports name it in the window, none of them prompt (at the oracle
  within 4 s of the beacon, stamped within the replay window of it): late copies and clocks
  far off say nothing of where a hotspot stands or how it hears.
- "only_denied": every partner of its prompt receptions, either way, is denied. A denied
  hotspot's word convicts no one, or a caught cheater could frame any hotspot it names; the
  detectors set those links aside (detectors.py, WITHOUT_LINKS). What is left is its silence
  with the active hotspots about its asserted place (`hearing.silence`: the links it would
  have had at the network's rate for their distance), given with it: an honest hotspot in a
  shadow is silent too.
- "lone_pair": one partner left, which has no other. The two hotspots' ranges can refute
  their asserted distance (`range_refuted` then denies their link), never say which of the
  two is off: listed once, both keys.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from oracle.detect import hearing
from oracle.detect.history import History
from oracle.detect.model import DetectParams
from oracle.detect.peel import without_links

NONE_IN_TIME = "none_in_time"
ONLY_DENIED = "only_denied"
LONE_PAIR = "lone_pair"


@dataclass(frozen=True)
class Unjudged:
    """One entry of the list: what an operator reads, and the proving ground counts."""

    why: str
    hotspots: tuple[bytes, ...]  # one, or the two of a lone pair (sorted)
    partners: int  # prompt partners, denied ones counted (a lone pair: 1)
    silent_links: float | None = None  # "only_denied" alone

    def as_dict(self) -> dict[str, object]:
        from pocnet.keys import PublicKey

        out: dict[str, object] = {
            "why": self.why,
            "subject": [PublicKey.from_bytes(k).address for k in self.hotspots],
            "partners": self.partners,
        }
        if self.silent_links is not None:
            out["silent_links"] = round(self.silent_links, 2)
        return out


def unjudged(history: History, denied_keys: Collection[bytes], params: DetectParams
             ) -> list[Unjudged]:
    """The hotspots, not denied (`denied_keys`), that the window's reports name and whose
    place no detector can judge (module docstring), by why and then key."""
    h, w = history.hotspots, history.witnesses
    n = len(h)
    keys = set(denied_keys)
    denied = np.array([k in keys for k in h.keys], dtype=bool)
    named = np.zeros(n, dtype=bool)
    named[w.beaconer] = True
    named[w.witness] = True
    pairs = history.links(params.replay_ms)
    owner, partner = pairs // n, pairs % n
    partners = np.bincount(owner, minlength=n)
    free = ~denied[partner]
    free_partners = np.bincount(owner[free], minlength=n)
    # Its one free partner, where it has one (pairs are unique: one row per owner then).
    only = np.full(n, -1, dtype=np.int64)
    one = free & (free_partners[owner] == 1)
    only[owner[one]] = partner[one]
    judged = named & ~denied
    out: list[Unjudged] = []
    for i in np.flatnonzero(judged & (partners == 0)).tolist():
        out.append(Unjudged(NONE_IN_TIME, (h.keys[i],), 0))
    orphans = np.flatnonzero(judged & (partners > 0) & (free_partners == 0))
    if orphans.size:
        silent = hearing.silence(without_links(history, denied), orphans, params)
        out += [Unjudged(ONLY_DENIED, (h.keys[i],), int(partners[i]), float(silent[i]))
                for i in orphans.tolist()]
    for i in np.flatnonzero(judged & (only >= 0)).tolist():
        k = int(only[i])
        if i < k and only[k] == i:
            out.append(Unjudged(LONE_PAIR, tuple(sorted((h.keys[i], h.keys[k]))), 1))
    return sorted(out, key=lambda u: (u.why, u.hotspots))
