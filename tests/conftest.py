"""Suite-wide: the longest tests start first.

`make test` runs the suite on three workers (pytest-xdist, `--dist loadgroup`, which hands out
one test at a time in collection order). The few end-to-end tests that take minutes spend them
waiting for the protocol's clocks (a beacon's 180 s entropy window, test epochs), not on a
core; started first, on different workers, they overlap each other and the rest of the suite
instead of adding their minutes at its end. Three workers on two cores, not two: with two,
both sat in those waits for their first four minutes while every other test queued (6 min 36 s
against 4 min 53 s on the idle machine). `slow(minutes=N)` is a test's rough length; the
order among the others is pytest's own.
"""

from __future__ import annotations

import pytest


def _minutes(item: pytest.Item) -> float:
    marker = item.get_closest_marker("slow")
    return float(marker.kwargs.get("minutes", 1)) if marker is not None else 0.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_minutes, reverse=True)   # stable: the others keep their order
