"""The stale sweep and re-verification of the SQL repository: which unverified reports turn
`stale` (docs/protocol.md §5), and which go back to pending for `verify --from/--to`.

Split from `sql_verification.py` so each file holds one job; `VerificationQueries` mixes this
in. A witness's state is its verdict (migration 0140): the sweep reads witnesses from where it
stopped (`witness_sweep.swept_ms`), beacons through the queue index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oracle.storage.repository import (
    REASON_STALE,
    STATUS_CLAIMED,
    STATUS_PENDING,
    STATUS_STALE,
    STATUS_VERIFIED,
)

BEACON, WITNESS = 0, 1
VERDICT_COLS = (
    "report_id, kind, hotspot_key, beacon_id, received_ms, valid, reason, selected, "
    "location_trust, passed_regular, witnesses, detail, verified_at_ms"
)


def marks(n: int) -> str:
    return ",".join("?" * n)


def stale_detail(stale_after_ms: int) -> str:
    """A stale verdict's text names the window the operator set, not the default's."""
    minutes, seconds = divmod(stale_after_ms // 1000, 60)
    window = f"{minutes} min" if seconds == 0 else f"{stale_after_ms / 1000:g} s"
    return f"not verified within {window} of arrival"


def lower_sweep_mark(tx: Any, from_ms: int) -> None:
    """Inside a write transaction: the sweep's mark below `from_ms`, if it is not already. A
    statement that matches no row when the mark is below (nearly always), so it writes
    nothing then."""
    tx.execute("UPDATE witness_sweep SET swept_ms = ? WHERE id = 0 AND swept_ms >= ?",
               (from_ms - 1, from_ms))


class SweepQueries:
    """Needs `transaction`, `_read` and `row_lock` from the SQL base."""

    row_lock: str

    def transaction(self, immediate: bool = False) -> Any: ...

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    def mark_stale(self, now_ms: int, stale_after_ms: int) -> int:
        cutoff = now_ms - stale_after_ms
        detail = stale_detail(stale_after_ms)
        with self.transaction(immediate=True) as tx:
            # Beacons: pending, or claimed by a worker whose lease ran out (it died); both are
            # unverified. Found through the queue index (beacons only, `kind = 0` literal).
            where = (
                f"kind = {BEACON} AND status IN (?, ?) AND received_ms <= ? AND "
                "(status = ? OR claim_until_ms < ?)"
            )
            params = (STATUS_PENDING, STATUS_CLAIMED, cutoff, STATUS_PENDING, now_ms)
            tx.execute(
                f"INSERT INTO verdicts ({VERDICT_COLS}) SELECT id, kind, hotspot_key, NULL, "
                "received_ms, 0, ?, 0, '0', 0, 0, ?, ? FROM reports "
                f"WHERE {where} ON CONFLICT (report_id) DO NOTHING",
                (REASON_STALE, detail, now_ms, *params),
            )
            tx.execute(
                "UPDATE reports SET status = ?, claimed_by = NULL, claim_until_ms = NULL "
                f"WHERE {where}",
                (STATUS_STALE, *params),
            )
            stale = int(tx.rowcount)
            # Witnesses (migration 0140): those received since the last sweep up to the cutoff
            # that have no verdict, through the receive-time index; never the whole history.
            tx.execute(f"SELECT swept_ms FROM witness_sweep WHERE id = 0 {self.row_lock}")
            swept_ms = int(tx.fetchall()[0][0])
            if cutoff <= swept_ms:
                return stale
            tx.execute(
                f"INSERT INTO verdicts ({VERDICT_COLS}) SELECT r.id, r.kind, r.hotspot_key, "
                "NULL, r.received_ms, 0, ?, 0, '0', 0, 0, ?, ? FROM reports r "
                f"WHERE r.received_ms > ? AND r.received_ms <= ? AND r.kind = {WITNESS} AND "
                "NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.report_id = r.id) "
                "ON CONFLICT (report_id) DO NOTHING",
                (REASON_STALE, detail, now_ms, swept_ms, cutoff),
            )
            stale += int(tx.rowcount)
            tx.execute("UPDATE witness_sweep SET swept_ms = ? WHERE id = 0", (cutoff,))
            return stale

    def reset_verification(self, from_ms: int, to_ms: int) -> int:
        """Beacons received in [from, to), the witnesses matched to them, and the unmatched
        (stale) witnesses of the range go back to pending. A witness in the range matched to
        a beacon outside it keeps its verdict: that beacon is not re-verified, so reopening
        the witness would only turn its verdict into `stale`."""
        with self.transaction(immediate=True) as tx:
            tx.execute(
                "SELECT id FROM reports WHERE kind = ? AND received_ms >= ? "
                "AND received_ms < ? AND status IN (?, ?, ?)",
                (BEACON, from_ms, to_ms, STATUS_VERIFIED, STATUS_STALE, STATUS_CLAIMED),
            )
            beacons = [bytes(r[0]) for r in tx.fetchall()]
            # A verdict whose report retention has removed is final: with nothing left to
            # verify again, deleting it would lose it (hence the joins on reports).
            tx.execute(  # a verdict carries its report's kind and receive time
                "SELECT v.report_id, v.received_ms FROM verdicts v JOIN reports r "
                "ON r.id = v.report_id WHERE v.kind = ? AND v.received_ms >= ? "
                "AND v.received_ms < ? AND v.beacon_id IS NULL",
                (WITNESS, from_ms, to_ms),
            )
            witnesses = {bytes(r[0]): int(r[1]) for r in tx.fetchall()}
            for start in range(0, len(beacons), 400):
                chunk = beacons[start : start + 400]
                tx.execute(
                    "SELECT v.report_id, v.received_ms FROM verdicts v JOIN reports r "
                    f"ON r.id = v.report_id WHERE v.beacon_id IN ({marks(len(chunk))})",
                    chunk,
                )
                witnesses.update((bytes(r[0]), int(r[1])) for r in tx.fetchall())
            every = list(set(beacons) | witnesses.keys())
            for start in range(0, len(every), 400):
                chunk = every[start : start + 400]
                tx.execute(f"DELETE FROM verdicts WHERE report_id IN ({marks(len(chunk))})", chunk)
            # Only beacons wait in the queue; a witness without its verdict is pending (0140).
            for start in range(0, len(beacons), 400):
                chunk = beacons[start : start + 400]
                tx.execute(
                    "UPDATE reports SET status = ?, claimed_by = NULL, claim_until_ms = NULL "
                    f"WHERE id IN ({marks(len(chunk))})",
                    (STATUS_PENDING, *chunk),
                )
            if witnesses:  # the sweep must read the reopened witnesses again
                lower_sweep_mark(tx, min(witnesses.values()))
            return len(every)
