"""The map's read model over both backends, against the hand-checked seed network
(rewards_seed.py): four hotspots around Berlin, A's beacon heard by B and C (valid) and D
(invalid, bad_rssi), B's beacon heard by A."""

from __future__ import annotations

from decimal import Decimal

import h3
from rewards_seed import EMISSION, END_MS, EPOCH, EXPECTED, PLACES, key, seed

from oracle.map.source import read_map
from oracle.rewards.epoch import RewardParams
from oracle.rewards.runner import compute_and_store
from oracle.rewards.source import RepositorySource
from oracle.rewards.store import ManifestStore
from pocnet.keys import PublicKey

READY_MS = END_MS + 45 * 60_000


def name(address: str) -> str:
    return next(n for n in PLACES if PublicKey.from_bytes(key(n)).address == address)


def test_hotspots_links_and_hexes_of_an_epoch(repo) -> None:
    seed(repo)
    data = read_map(repo, EPOCH)
    assert not data.rewarded
    where = {name(h.address): h for h in data.hotspots}
    assert set(where) == set(PLACES)
    for n, (lat, lon) in PLACES.items():
        # The asserted res-12 cell's centre: within a few metres of the seeded point.
        assert abs(where[n].lat - lat) < 1e-4 and abs(where[n].lon - lon) < 1e-4
    # A and B beaconed with witnesses (interactive), each alone in its hexes: scale 1.
    # C and D are not interactive: docs/protocol.md §6 rule 4's 0.2.
    assert {n: (h.interactive, h.scale) for n, h in where.items()} == {
        "A": (True, Decimal(1)), "B": (True, Decimal(1)),
        "C": (False, Decimal("0.2")), "D": (False, Decimal("0.2")),
    }
    links = {(name(link.beaconer), name(link.witness)): (link.valid, link.invalid)
             for link in data.links}
    assert links == {
        ("A", "B"): (1, {}), ("A", "C"): (1, {}), ("A", "D"): (0, {"bad_rssi": 1}),
        ("B", "A"): (1, {}),
    }
    expected_hexes = {
        h3.str_to_int(h3.latlng_to_cell(*PLACES[n], 8)) for n in ("A", "B")
    }
    assert {h.cell for h in data.hexes} == expected_hexes
    assert all(h.scale == 1 for h in data.hexes)


def test_rewards_per_hotspot_once_the_epoch_is_paid(repo) -> None:
    seed(repo)
    compute_and_store(RepositorySource(repo), ManifestStore(repo), EPOCH,
                      RewardParams(emission=EMISSION), READY_MS)
    data = read_map(repo, EPOCH)
    assert data.rewarded
    rewards = {name(h.address): h.reward for h in data.hotspots}
    assert rewards == {"A": sum(EXPECTED["A"]), "B": sum(EXPECTED["B"]),
                       "C": sum(EXPECTED["C"]), "D": 0}


def test_another_epoch_has_no_links(repo) -> None:
    seed(repo)
    data = read_map(repo, EPOCH + 1)
    assert data.links == () and len(data.hotspots) == 4
