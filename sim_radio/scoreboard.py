"""The scoreboard: what today's rules did to each kind of cheater and to honest hotspots, scored
against the simulator's ground truth (who cheated and how, sim_radio/adversaries.py).

Inputs are the oracle's outcome as read through its public interfaces (each report's verdict,
each hotspot's reward) for two runs of one scenario: as written, and identical but without
adversaries (same seed, same honest hotspots, same keys). Definitions, per class (each
adversary behaviour, and "honest"):

| column | definition |
|---|---|
| hotspots | hotspots of the class |
| caught | share with any report rejected for a reason naming its cheat (CHEAT_REASONS) or denied |
| rejected | share with any report rejected, for whatever reason |
| hurt | honest only: share with a report rejected that the run without adversaries accepted |
| reward_lost | honest only: share earning less than in the run without adversaries |
| reward_lost_share | honest only: what they lost, as a share of what they earned in that run |
| relative_reward | the class's mean reward over honest hotspots' mean reward (1.0 = as honest) |
| emission_share | the class's rewards as a share of the emission of the epochs run |

"Hurt" compares report by report: an honest report is the same bytes in both runs (same keys,
times and signal) unless a cheater changed what the radio heard (a collision); a report with no
twin in the other run counts through its reward only. Rejections honest hotspots get in both
runs (too close to a neighbour, HIP-106's first window) are the rules' cost, not the cheaters'.

A hotspot with several cheats counts in each of its classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

HONEST = "honest"

# Reasons that name each cheat: a report rejected for one of these was caught at what the
# behaviour does (docs/protocol.md §5 reason names). Behaviours today's rules cannot see have none.
CHEAT_REASONS: Mapping[str, frozenset[str]] = {
    # a far-off assertion: the GPS fix disagrees, or RSSI is too strong for the distance
    "false_location": frozenset({"gps_location_mismatch", "gps_implausible_motion", "bad_rssi",
                                 "max_distance_exceeded", "invalid_region"}),
    # RSSI raised in software: above the free-space bound, or SNR no receiver could measure
    "rssi_inflation": frozenset({"bad_rssi", "bad_snr"}),
    # a false location a few km off (GPS spoofed), its signal attenuated to fit the distance:
    # caught when a link is still too strong for it, or the fix or the hardware gives it away
    "attenuator": frozenset({"bad_rssi", "max_distance_exceeded", "gps_location_mismatch",
                             "gps_implausible_motion", "below_sensitivity",
                             "tx_power_too_high"}),
    # several assertions, one antenna: too close to each other, or too strong for the distance
    "shared_antenna": frozenset({"below_min_distance", "bad_rssi", "gps_location_mismatch",
                                 "duplicate"}),
    # witnesses made up without hearing: implausible signal
    "collusion_ring": frozenset({"bad_rssi", "bad_snr", "below_sensitivity"}),
    # another hotspot's reception, relayed: late, or too far for the signal
    "beacon_relay": frozenset({"too_late", "bad_rssi", "max_distance_exceeded"}),
    # an old beacon sent again: late, expired, or a second witness of it
    "replay": frozenset({"too_late", "entropy_expired", "duplicate", "invalid_packet"}),
    # a wrong clock: the oracle times reports by its own receive time (docs/protocol.md §5)
    "clock_offset": frozenset(),
    # a constant −140 dBm / −20 dB on every report: under the datarate's sensitivity
    "constant_report": frozenset({"below_sensitivity", "bad_snr"}),
    # a wired rig reporting each other at one RSSI: too strong for the asserted distance
    "wired_cluster": frozenset({"bad_rssi", "bad_snr"}),
    # fixes that never move, or jitter too clean: no per-report rule sees the fix's history
    "gps_frozen": frozenset({"gps_location_mismatch", "gps_implausible_motion"}),
    "gps_clean_jitter": frozenset({"gps_location_mismatch", "gps_implausible_motion"}),
    # a whole cluster moved at once: its fixes disagree with the assertions for a while
    "cluster_move": frozenset({"gps_location_mismatch", "gps_implausible_motion", "bad_rssi",
                               "max_distance_exceeded"}),
}
CAUGHT_ALWAYS = frozenset({"denied", "denied_edge"})
# HIP-106: whether a report passes depends on its hotspot's other valid reports.
RECIPROCITY = frozenset({"gateway_no_valid_witnesses", "gateway_no_valid_beacons"})


@dataclass(frozen=True)
class Outcome:
    """One run as the oracle judged it."""

    verdicts: Mapping[bytes, tuple[int, bool, str]]  # report id -> (hotspot, valid, reason)
    rewards: Sequence[int]  # per hotspot index, base units over all epochs
    emission: int  # sum of the epochs' emissions

    def rejected(self) -> dict[int, set[str]]:
        """Hotspot -> reasons of its rejected reports."""
        out: dict[int, set[str]] = {}
        for hotspot, valid, reason in self.verdicts.values():
            if not valid:
                out.setdefault(hotspot, set()).add(reason)
        return out

    def hurt(self, clean: Outcome) -> set[int]:
        """Hotspots with a report rejected here that `clean` accepted."""
        out = set()
        for rid, (hotspot, valid, _) in self.verdicts.items():
            twin = clean.verdicts.get(rid)
            if not valid and twin is not None and twin[1]:
                out.add(hotspot)
        return out


def classes_of(dishonest: Mapping[int, Sequence[Any]], n: int) -> dict[str, list[int]]:
    """Class name -> hotspot indices; `dishonest` is Assignment.dishonest."""
    out: dict[str, list[int]] = {HONEST: [i for i in range(n) if i not in dishonest]}
    for i, cheats in sorted(dishonest.items()):
        for behaviour in sorted({c.behaviour for c in cheats}):
            out.setdefault(behaviour, []).append(i)
    return out


def _mean(values: Sequence[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def score(classes: Mapping[str, Sequence[int]], run: Outcome,
          clean: Outcome | None) -> list[dict]:
    """One row per class (honest first), every column of the table above; without a run
    without adversaries (`clean` None, e.g. the demo) the columns comparing with it are None."""
    honest = list(classes.get(HONEST, ()))
    honest_mean = _mean([run.rewards[i] for i in honest])
    rejected = run.rejected()
    hurt_by_run = run.hurt(clean) if clean is not None else set()
    rows = []
    for name, members in classes.items():
        rewards = [run.rewards[i] for i in members]
        row: dict[str, Any] = {"class": name, "hotspots": len(members),
                               "rejected": _share(sum(1 for i in members if i in rejected),
                                                  len(members))}
        if name == HONEST and clean is None:
            row |= {"caught": None, "hurt": None, "reward_lost": None,
                    "reward_lost_share": None}
        elif name == HONEST:
            hurt = [i for i in members if i in hurt_by_run]
            lost = [i for i in members if run.rewards[i] < clean.rewards[i]]
            clean_total = sum(clean.rewards[i] for i in members)
            lost_total = sum(max(clean.rewards[i] - run.rewards[i], 0) for i in members)
            row |= {"caught": None,
                    "hurt": _share(len(hurt), len(members)),
                    "reward_lost": _share(len(lost), len(members)),
                    "reward_lost_share": _share(lost_total, clean_total)}
        else:
            names = CHEAT_REASONS.get(name, frozenset()) | CAUGHT_ALWAYS
            caught = [i for i in members if rejected.get(i, set()) & names]
            row |= {"caught": _share(len(caught), len(members)), "hurt": None,
                    "reward_lost": None, "reward_lost_share": None}
        row["relative_reward"] = (round(_mean(rewards) / honest_mean, 4) if honest_mean
                                  else None)
        row["emission_share"] = _share(sum(rewards), run.emission)
        rows.append(row)
    return rows


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def cheaters_share(classes: Mapping[str, Sequence[int]], run: Outcome) -> float | None:
    """The share of the emission that went to hotspots with any cheat (each counted once)."""
    cheaters = {i for name, members in classes.items() if name != HONEST for i in members}
    return _share(sum(run.rewards[i] for i in cheaters), run.emission)


COLUMNS = ("class", "hotspots", "caught", "rejected", "hurt", "reward_lost", "relative_reward",
           "emission_share")


def table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The scoreboard as fixed-width text; shares in per cent, '-' where not defined."""
    def cell(key: str, value: Any) -> str:
        if value is None:
            return "-"
        if key in ("caught", "rejected", "hurt", "reward_lost", "emission_share"):
            return f"{value * 100:.1f} %"
        if key == "relative_reward":
            return f"{value:.2f}"
        return str(value)

    def line(texts: Sequence[str]) -> str:
        return "  ".join(t.ljust(16) if c == "class" else t.rjust(len(c) if len(c) > 8 else 8)
                         for c, t in zip(COLUMNS, texts, strict=True))

    lines = [line(COLUMNS)]
    lines += [line([cell(c, row[c]) for c in COLUMNS]) for row in rows]
    return "\n".join(lines)
