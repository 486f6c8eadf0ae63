"""What a piece of work costs SQLite, counted rather than timed: a busy machine changes the
time a query takes, not the steps of SQLite's virtual machine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def vm_steps(repo: Any, work: Callable[[], object]) -> int:
    """SQLite virtual machine steps (in tens) that `work()` takes on the repository's
    connection (the one its reads and writes go through on this thread)."""
    conn = repo._conn()
    steps = [0]
    conn.set_progress_handler(lambda: steps.__setitem__(0, steps[0] + 1) or 0, 10)
    try:
        work()
    finally:
        conn.set_progress_handler(None, 10)
    return steps[0]
