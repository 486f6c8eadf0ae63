"""The registry half of the SQL repository on SQLite and PostgreSQL: compare-and-set storing,
maker quotas counted in the storing transaction, listing with filters and pages, denials."""

from __future__ import annotations

import threading

import pytest

from oracle.errors import MakerQuotaExhausted, StaleNonce, UnknownMaker
from oracle.storage.repository import Registration, Repository

MAKER, OTHER_MAKER = b"\x01" + b"m" * 32, b"\x01" + b"n" * 32
OWNER, OTHER_OWNER = b"o" * 32, b"p" * 32


def _reg(n: int, owner: bytes = OWNER, maker: bytes | None = MAKER, region: str | None = "EU868",
         nonce: int = 1) -> Registration:
    return Registration(b"\x01" + bytes([n]) * 32, owner, None, 30, 5, "full", region, nonce,
                        1, maker)


def test_onboarding_counts_against_the_quota(repo: Repository) -> None:
    with pytest.raises(UnknownMaker):
        repo.apply_assertion(_reg(1), b"raw", 1)
    with pytest.raises(UnknownMaker):
        repo.apply_assertion(_reg(1, maker=None), b"raw", 1)
    repo.put_maker(MAKER, "m", 2, 5)
    repo.apply_assertion(_reg(1), b"raw", 1)
    repo.apply_assertion(_reg(2), b"raw", 1)
    with pytest.raises(MakerQuotaExhausted):
        repo.apply_assertion(_reg(3), b"raw", 1)
    repo.put_maker(MAKER, "m renamed", 3, 6)  # raising the quota lets one more in
    repo.apply_assertion(_reg(3), b"raw", 1)
    (maker,) = repo.makers()
    assert (maker.name, maker.quota, maker.onboarded, maker.added_ms) == ("m renamed", 3, 3, 5)


def test_racing_onboardings_never_exceed_the_quota(repo: Repository) -> None:
    repo.put_maker(MAKER, "m", 3, 0)
    outcomes: list[str] = []
    lock = threading.Lock()

    def onboard(n: int) -> None:
        try:
            repo.apply_assertion(_reg(n), b"raw", 1)
            result = "ok"
        except MakerQuotaExhausted:
            result = "quota"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=onboard, args=(n,)) for n in range(10, 18)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["ok"] * 3 + ["quota"] * 5
    assert repo.makers()[0].onboarded == 3


def test_a_change_checked_against_a_stale_registration_is_refused(repo: Repository) -> None:
    repo.put_maker(MAKER, "m", 5, 0)
    repo.apply_assertion(_reg(1), b"raw", 1)
    repo.apply_assertion(_reg(1, owner=OTHER_OWNER, nonce=2), b"t", 2, previous=_reg(1),
                         kind="transfer")
    with pytest.raises(StaleNonce):  # checked against the owner before the transfer
        repo.apply_assertion(_reg(1, nonce=3), b"raw", 3, previous=_reg(1, nonce=2))
    stored = repo.hotspot(_reg(1).hotspot_key)
    assert stored is not None and stored.owner_wallet == OTHER_OWNER and stored.nonce == 2


def test_list_filters_and_pages(repo: Repository) -> None:
    repo.put_maker(MAKER, "m", 10, 0)
    repo.put_maker(OTHER_MAKER, "n", 10, 0)
    repo.apply_assertion(_reg(1), b"raw", 1)
    repo.apply_assertion(_reg(2, owner=OTHER_OWNER), b"raw", 1)
    repo.apply_assertion(_reg(3, maker=OTHER_MAKER, region=None), b"raw", 1)
    repo.apply_assertion(_reg(4), b"raw", 1)
    repo.replace_denylist(1, b"op", [_reg(4).hotspot_key], [], b"raw", 7,
                          [(_reg(4).hotspot_key, "gaming", "ids", 99)])

    def keys(**kw: object) -> list[int]:
        return [r.hotspot_key[1] for r in repo.list_hotspots(**kw)]  # type: ignore[arg-type]

    assert keys() == [1, 2, 3, 4]
    assert keys(limit=2) == [1, 2] and keys(limit=2, after=_reg(2).hotspot_key) == [3, 4]
    assert keys(owner=OWNER) == [1, 3, 4] and keys(maker=OTHER_MAKER) == [3]
    assert keys(region="EU868") == [1, 2, 4]
    assert keys(denied=True) == [4] and keys(denied=False) == [1, 2, 3]
    assert keys(owner=OWNER, region="EU868", denied=False) == [1]
    denial = repo.denial(_reg(4).hotspot_key)
    assert denial is not None and denial.reason == "gaming" and denial.since_ms == 7
    assert repo.denial(_reg(1).hotspot_key) is None
    assert repo.remove_maker(OTHER_MAKER) and not repo.remove_maker(OTHER_MAKER)
    assert repo.hotspot(_reg(3).hotspot_key) is not None  # its hotspots stay
