"""The scoreboard's definitions (sim_radio/scoreboard.py) on outcomes worked out by hand."""

from __future__ import annotations

from sim_radio.adversaries import BEHAVIOURS, Dishonesty
from sim_radio.scoreboard import (
    CHEAT_REASONS,
    HONEST,
    Outcome,
    cheaters_share,
    classes_of,
    score,
    table,
)


def test_every_behaviour_has_its_reasons() -> None:
    assert set(CHEAT_REASONS) == set(BEHAVIOURS)


def test_classes_count_a_hotspot_in_each_of_its_cheats() -> None:
    dishonest = {1: (Dishonesty("replay", ()),),
                 2: (Dishonesty("replay", ()), Dishonesty("clock_offset", ()))}
    assert classes_of(dishonest, 4) == {HONEST: [0, 3], "replay": [1, 2], "clock_offset": [2]}


def test_rows_by_hand() -> None:
    # Hotspots 0, 1 honest; 2 inflates RSSI; 3 false location. Emission 1000.
    classes = {HONEST: [0, 1], "rssi_inflation": [2], "false_location": [3]}
    clean = Outcome({b"w0": (0, True, ""), b"w1": (1, True, "")}, [100, 100, 0, 0], 1000)
    run = Outcome(
        {
            b"w0": (0, False, "bad_rssi"),  # hurt: the clean run accepted it
            b"w1": (1, False, "below_min_distance"),  # not a twin of an accepted report...
            b"x2": (2, False, "bad_rssi"),  # caught: bad_rssi names inflation
            b"x3": (3, False, "duplicate"),  # rejected, but not for lying about location
        },
        [50, 100, 300, 150], 1000)
    clean = Outcome({**clean.verdicts, b"w1": (1, False, "below_min_distance")},
                    clean.rewards, 1000)
    rows = {r["class"]: r for r in score(classes, run, clean)}
    assert rows[HONEST] == {
        "class": HONEST, "hotspots": 2, "rejected": 1.0, "caught": None, "hurt": 0.5,
        "reward_lost": 0.5, "reward_lost_share": 0.25,  # 50 lost of 200
        "relative_reward": 1.0, "emission_share": 0.15}
    assert rows["rssi_inflation"]["caught"] == 1.0
    assert rows["rssi_inflation"]["relative_reward"] == 4.0  # 300 / mean(50, 100)
    assert rows["false_location"]["caught"] == 0.0
    assert rows["false_location"]["emission_share"] == 0.15
    assert cheaters_share(classes, run) == 0.45
    assert list(rows) == [HONEST, "rssi_inflation", "false_location"]


def test_denied_always_counts_as_caught() -> None:
    classes = {HONEST: [0], "clock_offset": [1]}
    run = Outcome({b"b": (1, False, "denied")}, [10, 0], 100)
    rows = {r["class"]: r for r in score(classes, run, run)}
    assert rows["clock_offset"]["caught"] == 1.0


def test_table_prints_shares_in_percent_and_dashes() -> None:
    classes = {HONEST: [0], "replay": [1]}
    run = Outcome({}, [10, 5], 100)
    text = table(score(classes, run, run))
    lines = text.splitlines()
    assert lines[0].split() == ["class", "hotspots", "caught", "rejected", "hurt",
                                "reward_lost", "relative_reward", "emission_share"]
    assert lines[1].split() == ["honest", "1", "-", "0.0", "%", "0.0", "%", "0.0", "%",
                                "1.00", "10.0", "%"]
    assert lines[2].split()[:3] == ["replay", "1", "0.0"]
