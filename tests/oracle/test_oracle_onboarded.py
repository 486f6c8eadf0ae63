"""The onboarded-keys cache ingest asks for every report: loaded at start, told at once of
this replica's assertions, and refreshed from the database for another replica's."""

from __future__ import annotations

import asyncio

from oracle_factories import MAKER, allow_maker, assertion, keypair

from oracle.onboarded import CLOCK_MARGIN_MS, OnboardedKeys
from oracle.registry import Registry
from oracle.storage.repository import Registration
from pocnet.keys import PublicKey


def _reg(seed: int, asserted_at_ms: int) -> Registration:
    return Registration(keypair(seed).public_key.to_bytes(), b"\x01" * 32, None, 30, 5, "full",
                        None, 1, asserted_at_ms, MAKER.public_key.to_bytes())


def test_loaded_at_start_and_refreshed_with_other_replicas_registrations(repo) -> None:  # type: ignore[no-untyped-def]
    allow_maker(repo)
    repo.apply_assertion(_reg(1, 1_000_000), b"raw", 1)
    cache = OnboardedKeys(repo)
    assert _reg(1, 0).hotspot_key not in cache
    assert cache.refresh() == 1
    assert _reg(1, 0).hotspot_key in cache
    # Another replica, whose clock is behind ours by less than the margin, onboards a hotspot.
    repo.apply_assertion(_reg(2, 1_000_000 - CLOCK_MARGIN_MS), b"raw", 2)
    repo.apply_assertion(_reg(3, 2_000_000), b"raw", 3)
    assert cache.refresh() == 2
    assert _reg(2, 0).hotspot_key in cache and _reg(3, 0).hotspot_key in cache
    assert len(cache) == 3


def test_this_replicas_assertions_count_at_once(repo) -> None:  # type: ignore[no-untyped-def]
    allow_maker(repo)
    cache = OnboardedKeys(repo)
    cache.refresh()
    hotspot = keypair(4)
    registry = Registry(repo, PublicKey.from_bytes, lambda: 5, locator=lambda: _Nowhere(),
                        on_asserted=cache.add)
    registry.assert_location(assertion(hotspot, keypair(5)))
    assert hotspot.public_key.to_bytes() in cache  # no refresh needed


def test_a_database_outage_only_delays_the_refresh(repo) -> None:  # type: ignore[no-untyped-def]
    from oracle.errors import StorageError

    class Flaky:
        calls = 0

        def hotspots_asserted_since(self, since_ms: int | None) -> list[tuple[bytes, int]]:
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise StorageError("down")
            return [(b"k" * 33, 7)]

    sleeps: list[float] = []

    async def sleep(s: float) -> None:
        sleeps.append(s)
        if len(sleeps) > 2:
            raise asyncio.CancelledError

    cache = OnboardedKeys(Flaky(), refresh_s=30, sleep=sleep)  # type: ignore[arg-type]
    try:
        asyncio.run(cache.run())
    except asyncio.CancelledError:
        pass
    assert sleeps == [30, 30, 30] and b"k" * 33 in cache


class _Nowhere:
    def region_at(self, lat: float, lon: float) -> None:
        return None



def test_the_server_starts_while_the_database_cannot_say_who_is_onboarded(  # type: ignore[no-untyped-def]
        oracle_settings) -> None:
    """Refusing to start would exit 2, which systemd does not restart: serve, and load later."""
    from oracle.errors import StorageError
    from oracle.server import build_oracle, create_server
    from oracle.storage import open_repository

    settings, _ = oracle_settings
    real = open_repository(settings.oracle.database)

    class Down:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(real, name)

        def hotspots_asserted_since(self, since_ms: int | None) -> list[tuple[bytes, int]]:
            raise StorageError("PostgreSQL: connection refused")

    async def start_and_stop() -> bool:
        oracle = build_oracle(settings, repo=Down(), locator=lambda: _Nowhere())  # type: ignore[arg-type]
        server, _ = create_server(settings, "127.0.0.1:0", oracle)
        await server.start()
        started = oracle.onboarded is not None and len(oracle.onboarded) == 0
        await server.stop(0)
        return started

    assert asyncio.run(start_and_stop())
