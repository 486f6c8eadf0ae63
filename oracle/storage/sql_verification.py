"""The verification half of the SQL repository: claims, verdicts, a report's state as its
readers see it, and the reads the verifier's context needs (irregular interval, reciprocity,
last GPS fix).

Split from `sql.py` so each file holds one job; `SqlRepository` mixes this in (and through it
the stale sweep of `sql_sweep.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any

from oracle.storage.repository import (
    KINDS,
    STATUS_CLAIMED,
    STATUS_PENDING,
    STATUS_STALE,
    STATUS_STORED,
    STATUS_VERIFIED,
    Registration,
    StoredReport,
    StoredVerdict,
    VerdictRow,
    kind_code,
)
from oracle.storage.sql_registry import HOTSPOT_COLS, registration
from oracle.storage.sql_sweep import BEACON, VERDICT_COLS, WITNESS, SweepQueries, marks

# A report's status as every reader sees it (migration 0140): a witness's from its verdict (none:
# pending; the sweep's, which names no beacon: stale; a PoC's: verified), every other kind's
# from its row. Read with REPORT_COLS from REPORTS; the join probes the verdicts' primary key
# for witnesses only.
REPORT_STATUS = (
    f"CASE WHEN r.kind <> {WITNESS} THEN r.status WHEN v.report_id IS NULL THEN "
    f"'{STATUS_PENDING}' WHEN v.beacon_id IS NULL THEN '{STATUS_STALE}' "
    f"ELSE '{STATUS_VERIFIED}' END"
)
REPORT_COLS = (
    "r.id, r.kind, r.hotspot_key, r.received_ms, r.raw, r.data, r.remote_entropy, "
    + REPORT_STATUS
)
REPORTS = f"reports r LEFT JOIN verdicts v ON r.kind = {WITNESS} AND v.report_id = r.id"
# Whose verification is over, as a condition on REPORTS (retention may then delete the row).
FINISHED = (
    f"(r.kind <> {WITNESS} AND r.status IN ('{STATUS_VERIFIED}', '{STATUS_STALE}', "
    f"'{STATUS_STORED}') OR v.report_id IS NOT NULL)"
)


def report_row(row: Sequence[Any]) -> StoredReport:
    return StoredReport(
        bytes(row[0]), KINDS[row[1]], bytes(row[2]), int(row[3]), bytes(row[4]),
        None if row[5] is None else bytes(row[5]),
        None if row[6] is None else bytes(row[6]), row[7],
    )


def verdict_row(row: Sequence[Any]) -> StoredVerdict:
    return StoredVerdict(
        report_id=bytes(row[0]), kind=KINDS[row[1]], hotspot_key=bytes(row[2]),
        beacon_id=None if row[3] is None else bytes(row[3]), received_ms=int(row[4]),
        valid=bool(row[5]), reason=row[6], selected=bool(row[7]),
        location_trust=Decimal(row[8]), passed_regular=bool(row[9]), witnesses=int(row[10]),
        detail=row[11], verified_at_ms=int(row[12]),
    )


_RECEIVE_ORDER = itemgetter(3, 0)  # a StoredReport's (received_ms, id)
_KIND_CODES = {kind: code for code, kind in enumerate(KINDS)}  # kind_code without a search
_WITNESS_KIND = KINDS[WITNESS]



KEY_CHUNK = 500  # keys per statement: well below either backend's limit on parameters
# What a hotspot's reciprocity history counts (docs/protocol.md §5 rules 8 and 14 with the
# HIP-106 bootstrap): witnesses that passed the regular checks; beacons that did, with at
# least one witness report.
_REGULAR = {WITNESS: "", BEACON: "AND witnesses >= 1"}


def _chunks(keys: Iterable[bytes]) -> Iterator[list[bytes]]:
    every = sorted(set(keys))
    for start in range(0, len(every), KEY_CHUNK):
        yield every[start : start + KEY_CHUNK]


def _keys_cte(n: int) -> str:
    """The keys of one statement as a table `k(key)` (VALUES is the same in both dialects)."""
    return "WITH k(key) AS (VALUES " + ",".join(["(?)"] * n) + ") "


class VerificationQueries(SweepQueries):
    """Needs `transaction`, `_read`, `lock_clause`, `row_lock` from the SQL base."""

    lock_clause: str
    row_lock: str

    def transaction(self, immediate: bool = False) -> Any: ...

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    def claim_beacons(
        self, worker: str, now_ms: int, lease_ms: int, limit: int
    ) -> list[StoredReport]:
        with self.transaction(immediate=True) as tx:
            # The first `limit` ready beacons and the first `limit` whose lease ran out, each
            # one index range read in claim order, then the first `limit` of both: one query
            # with an OR over the two read every beacon ever stored and sorted every pending
            # one, per batch (a week's backlog made each claim take ~0.3 s).
            # Receive time before id: ids are public hashes anyone can grind, and of two
            # beacons with the same data the one received first must take the witnesses.
            # `kind = 0` written out, not bound: the queue index holds beacons only (0140).
            found: list[tuple[int, int, bytes]] = []
            for where, status in (("ready_ms <= ?", STATUS_PENDING),
                                  ("claim_until_ms < ?", STATUS_CLAIMED)):
                tx.execute(
                    f"SELECT ready_ms, received_ms, id FROM reports WHERE kind = {BEACON} AND "
                    f"status = ? AND {where} ORDER BY ready_ms, received_ms, id LIMIT ? "
                    f"{self.lock_clause}",
                    (status, now_ms, limit),
                )
                found += [(int(r[0]), int(r[1]), bytes(r[2])) for r in tx.fetchall()]
            ids = [beacon_id for _, _, beacon_id in sorted(found)[:limit]]
            if not ids:
                return []
            tx.execute(
                "UPDATE reports SET status = ?, claimed_by = ?, claim_until_ms = ? "
                f"WHERE id IN ({marks(len(ids))})",
                (STATUS_CLAIMED, worker, now_ms + lease_ms, *ids),
            )
            tx.execute(
                f"SELECT {REPORT_COLS} FROM {REPORTS} WHERE r.id IN ({marks(len(ids))}) "
                "ORDER BY r.received_ms, r.id",
                ids,
            )
            return [report_row(r) for r in tx.fetchall()]

    def pending_witnesses(self, data: bytes) -> list[StoredReport]:
        rows = self._read(
            f"SELECT {REPORT_COLS} FROM {REPORTS} WHERE r.data = ? AND r.kind = {WITNESS} "
            "AND v.report_id IS NULL ORDER BY r.received_ms, r.id",
            (data,),
        )
        return [report_row(r) for r in rows]

    def other_unverified_beacon(
        self, data: bytes, exclude_id: bytes, decided: Sequence[bytes] = ()
    ) -> bool:
        """Whether another beacon with this data still waits for its verdict; `decided`:
        beacons whose verdicts the caller holds but has not stored yet (they wait no more)."""
        skip = [exclude_id, *decided]
        rows = self._read(
            "SELECT 1 FROM reports WHERE data = ? AND kind = ? AND status IN (?, ?) "
            f"AND id NOT IN ({marks(len(skip))}) LIMIT 1",
            (data, BEACON, STATUS_PENDING, STATUS_CLAIMED, *skip),
        )
        return bool(rows)

    def store_verdicts(
        self, worker: str, beacon_id: bytes, verdicts: Sequence[StoredVerdict]
    ) -> bool:
        return self.store_verdict_batch(worker, [(beacon_id, verdicts)])[0]

    def store_verdict_batch(
        self, worker: str, pocs: Sequence[tuple[bytes, Sequence[StoredVerdict]]]
    ) -> list[bool]:
        """Each PoC's verdicts, in one transaction for the whole batch; a PoC whose beacon
        is no longer claimed by `worker` (its lease ran out and another worker took it) is
        skipped, and False in the answer.

        One transaction, not one per PoC: each commit rewrites every B-tree page it touched,
        and report ids are hashes, so a PoC's ~70 verdicts touch ~70 pages of each index;
        a batch shares pages and commits once (~half the verifier's CPU at 1,000 hotspots)."""
        ids = [beacon_id for beacon_id, _ in pocs]
        ours: set[bytes] = set()
        with self.transaction(immediate=True) as tx:
            for chunk in _chunks(ids):
                tx.execute(
                    f"SELECT id, status, claimed_by FROM reports WHERE id IN "
                    f"({marks(len(chunk))}) {self.row_lock}",
                    chunk,
                )
                ours.update(bytes(r[0]) for r in tx.fetchall()
                            if r[1] == STATUS_CLAIMED and r[2] == worker)
            verdicts = [v for beacon_id, vs in pocs if beacon_id in ours for v in vs]
            if verdicts:
                tx.executemany(
                    f"INSERT INTO verdicts ({VERDICT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
                    "ON CONFLICT (report_id) DO NOTHING",
                    [(v.report_id, _KIND_CODES[v.kind], v.hotspot_key, v.beacon_id,
                      v.received_ms, int(v.valid), v.reason, int(v.selected),
                      str(v.location_trust), int(v.passed_regular), v.witnesses, v.detail,
                      v.verified_at_ms) for v in verdicts],
                )
            # A witness's verdict row is its status (migration 0140): no second write for it.
            # The beacons leave the queue, in id order: each row is found through the id
            # index, and ids are hashes, so consecutive lookups in id order share its pages.
            settled = sorted(beacon_id for beacon_id in ids if beacon_id in ours)
            if settled:
                tx.executemany(
                    "UPDATE reports SET status = ?, claimed_by = NULL, claim_until_ms = NULL "
                    "WHERE id = ? AND status = ?",
                    [(STATUS_VERIFIED, beacon_id, STATUS_CLAIMED) for beacon_id in settled],
                )
        return [beacon_id in ours for beacon_id in ids]

    def release_claim(self, worker: str, beacon_id: bytes) -> None:
        with self.transaction(immediate=True) as tx:
            tx.execute(
                "UPDATE reports SET status = ?, claimed_by = NULL, claim_until_ms = NULL "
                "WHERE id = ? AND status = ? AND claimed_by = ?",
                (STATUS_PENDING, beacon_id, STATUS_CLAIMED, worker),
            )

    # --- verdict reads --------------------------------------------------------------------
    def verdict(self, report_id: bytes) -> StoredVerdict | None:
        rows = self._read(f"SELECT {VERDICT_COLS} FROM verdicts WHERE report_id = ?", (report_id,))
        return verdict_row(rows[0]) if rows else None

    def verdicts_for_beacon(self, beacon_id: bytes) -> list[StoredVerdict]:
        return self.verdicts_for_beacons([beacon_id])

    def verdicts_for_beacons(self, beacon_ids: Sequence[bytes]) -> list[StoredVerdict]:
        """Each beacon's PoC verdicts (its own, then its witnesses' by receive time and id),
        one PoC after the other in the order of `beacon_ids`, a beacon named twice once; in
        two statements per KEY_CHUNK beacons: a tool reading a network's verdicts back asks
        for every beacon."""
        ids = list(dict.fromkeys(bytes(i) for i in beacon_ids))
        pocs: dict[bytes, dict[bytes, StoredVerdict]] = {i: {} for i in ids}
        for chunk in _chunks(ids):
            for column in ("report_id", "beacon_id"):
                rows = self._read(
                    f"SELECT {VERDICT_COLS} FROM verdicts WHERE {column} IN "
                    f"({marks(len(chunk))})", chunk)
                for v in map(verdict_row, rows):
                    poc = v.report_id if column == "report_id" else v.beacon_id
                    assert poc is not None
                    pocs[poc][v.report_id] = v
        return [v for poc in pocs.values() for v in sorted(
            poc.values(), key=lambda v: (kind_code(v.kind), v.received_ms, v.report_id))]

    def verdicts_received_between(
        self, from_ms: int, to_ms: int, kind: str | None = None
    ) -> Iterator[StoredVerdict]:
        sql = f"SELECT {VERDICT_COLS} FROM verdicts WHERE received_ms >= ? AND received_ms < ?"
        params: list[Any] = [from_ms, to_ms]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind_code(kind))
        for row in self._read(sql + " ORDER BY received_ms, report_id", params):
            yield verdict_row(row)

    def verdict_rows(
        self, from_ms: int, to_ms: int, after: tuple[int, bytes] | None, limit: int
    ) -> list[VerdictRow]:
        """At most `limit` verdicts received in [from_ms, to_ms) and after `after` (a row's
        receive time and report id), in that order, as the table's columns: a page of the
        public read-back (`views.verdict_page`), one statement through `verdicts_received`
        and no object a row (a week of a 2,000-hotspot network is 2.7 million rows)."""
        sql = ("SELECT report_id, received_ms, kind, hotspot_key, beacon_id, valid, reason "
               "FROM verdicts WHERE received_ms >= ? AND received_ms < ?")
        params: list[Any] = [from_ms, to_ms]
        if after is not None:
            sql += " AND (received_ms > ? OR report_id > ?)"
            params[0] = max(from_ms, after[0])
            params += [after[0], after[1]]
        return self._read(sql + " ORDER BY received_ms, report_id LIMIT ?", [*params, limit])

    def beacon_in_window(
        self, key: bytes, window_start_ms: int, window_end_ms: int, exclude_id: bytes,
        exclude_received_ms: int | None = None,
    ) -> bool:
        """`exclude_received_ms`: the stored receive time of `exclude_id` when the caller has
        it (a claimed beacon); otherwise it is read here (not stored: the window's end)."""
        at = exclude_received_ms
        if at is None:
            own = self._read("SELECT received_ms FROM reports WHERE id = ?", (exclude_id,))
            at = int(own[0][0]) if own else window_end_ms
        # `kind = 0` written out, not bound: it selects the beacons-only index (migration 0130).
        rows = self._read(
            f"SELECT 1 FROM reports WHERE kind = {BEACON} AND hotspot_key = ? AND "
            "received_ms >= ? AND received_ms < ? AND id <> ? AND (status IN (?, ?) OR "
            "received_ms < ? OR (received_ms = ? AND id < ?)) LIMIT 1",
            (key, window_start_ms, window_end_ms, exclude_id, STATUS_VERIFIED,
             STATUS_STALE, at, at, exclude_id),
        )
        return bool(rows)

    def _last_verdict_ms(self, key: bytes, kind: int, extra: str, before_ms: int | None) -> Any:
        sql = (
            "SELECT max(received_ms) FROM verdicts WHERE hotspot_key = ? AND kind = ? "
            f"AND passed_regular = 1 {extra}"
        )
        params: list[Any] = [key, kind]
        if before_ms is not None:
            sql += " AND received_ms < ?"
            params.append(before_ms)
        value = self._read(sql, params)[0][0]
        return None if value is None else int(value)

    def last_valid_witness_ms(self, key: bytes, before_ms: int | None = None) -> int | None:
        return self._last_verdict_ms(key, WITNESS, "", before_ms)

    def last_valid_beacon_ms(self, key: bytes, before_ms: int | None = None) -> int | None:
        return self._last_verdict_ms(key, BEACON, "AND witnesses >= 1", before_ms)

    def last_fix(self, key: bytes, before_ms: int) -> tuple[float, float, int] | None:
        rows = self._read(
            "SELECT fix_lat_e7, fix_lon_e7, received_ms FROM reports WHERE hotspot_key = ? "
            "AND received_ms < ? AND fix_lat_e7 IS NOT NULL ORDER BY received_ms DESC LIMIT 1",
            (key, before_ms),
        )
        if not rows:
            return None
        lat, lon, at = rows[0]
        return lat / 1e7, lon / 1e7, int(at)

    # --- set-based reads for a batch of beacons (oracle/verifier/batch_context.py) ---------
    # Each answers, for many hotspots at once, what one of the per-report reads above answers
    # for one; a batch of 200 beacons needs a few statements instead of ~4 per report.
    def pending_witnesses_of(self, datas: Sequence[bytes]) -> dict[bytes, list[StoredReport]]:
        """`pending_witnesses` for a batch of beacons' data at once: per data, its pending
        witnesses in receive order (then id). Every data asked is in the answer."""
        out: dict[bytes, list[StoredReport]] = {data: [] for data in datas}
        for chunk in _chunks(datas):
            # Found by data (the data index; kind and pending are checked per row found: the
            # indexes that lead with kind or status hold beacons only since 0140, and a plan
            # through them read the whole backlog per batch, which
            # test_a_batch_reads_its_witnesses_by_data_not_through_the_backlog guards).
            # Witnesses only, only the columns a witness needs: the batch's beacons are not
            # read back, and a pending witness is one with no verdict (0140), so there is no
            # status to decode. Each row becomes its StoredReport here, as pending.
            rows = self._read(
                "SELECT r.id, r.hotspot_key, r.received_ms, r.raw, r.data, r.remote_entropy "
                "FROM reports r "
                f"WHERE r.data IN ({marks(len(chunk))}) AND r.kind = {WITNESS} AND NOT EXISTS "
                "(SELECT 1 FROM verdicts v WHERE v.report_id = r.id)",
                chunk)
            for rid, key, received_ms, raw, data, entropy in rows:
                data = bytes(data)
                out[data].append(StoredReport(
                    bytes(rid), _WITNESS_KIND, bytes(key), int(received_ms), bytes(raw), data,
                    None if entropy is None else bytes(entropy), STATUS_PENDING))
        for witnesses in out.values():
            witnesses.sort(key=_RECEIVE_ORDER)
        return out

    def pending_witness_times(self, datas: Sequence[bytes]) -> list[tuple[bytes, int]]:
        """(hotspot key, receive time) of the pending witnesses of these beacon data: which
        hotspots and times a batch's questions will be about."""
        return [(w.hotspot_key, w.received_ms)
                for witnesses in self.pending_witnesses_of(datas).values() for w in witnesses]

    def registrations(self, keys: Iterable[bytes]) -> dict[bytes, Registration]:
        """The registrations of those of `keys` that are onboarded."""
        out: dict[bytes, Registration] = {}
        for chunk in _chunks(keys):
            rows = self._read(
                f"SELECT {HOTSPOT_COLS} FROM hotspots WHERE hotspot_key IN ({marks(len(chunk))})",
                chunk,
            )
            out.update((bytes(r[0]), registration(r)) for r in rows)
        return out

    def denial_expiries(self) -> dict[bytes, int]:
        """Every denied hotspot and when its entry lapses (0 = never): `is_denied` for all."""
        rows = self._read("SELECT hotspot_key, expires_ms FROM denied_hotspots")
        return {bytes(r[0]): int(r[1]) for r in rows}

    def edge_expiries(self) -> dict[tuple[bytes, bytes], int]:
        """Every denied edge (a < b) and when its entry lapses (0 = never)."""
        rows = self._read("SELECT a, b, expires_ms FROM denied_edges")
        return {(bytes(r[0]), bytes(r[1])): int(r[2]) for r in rows}

    def regular_verdict_times(
        self, keys: Iterable[bytes], kind: str, from_ms: int, to_ms: int
    ) -> dict[bytes, list[int]]:
        """Per hotspot of `keys`: the receive times of its `kind` verdicts that count for
        reciprocity (`last_valid_witness_ms` / `last_valid_beacon_ms`) in [from, to), after
        the latest one before `from_ms` if there is one. Every key is in the answer, so the
        caller can tell "no history" from "not asked"."""
        code = kind_code(kind)
        extra = _REGULAR[code]
        out: dict[bytes, list[int]] = {}
        for chunk in _chunks(keys):
            # The latest before the range: one index seek per key, as the per-report read does.
            rows = self._read(
                _keys_cte(len(chunk)) + "SELECT k.key, (SELECT v.received_ms FROM verdicts v "
                "WHERE v.hotspot_key = k.key AND v.kind = ? AND v.passed_regular = 1 "
                f"{extra} AND v.received_ms < ? ORDER BY v.received_ms DESC LIMIT 1) FROM k",
                (*chunk, code, from_ms),
            )
            out.update((bytes(r[0]), [] if r[1] is None else [int(r[1])]) for r in rows)
        rows = self._read(
            "SELECT hotspot_key, received_ms FROM verdicts WHERE received_ms >= ? "
            f"AND received_ms < ? AND kind = ? AND passed_regular = 1 {extra} "
            "ORDER BY received_ms",
            (from_ms, to_ms, code),
        )
        for key, at in rows:
            times = out.get(bytes(key))
            if times is not None:
                times.append(int(at))
        return out

    def fixes_between(
        self, keys: Iterable[bytes], from_ms: int, to_ms: int
    ) -> dict[bytes, list[tuple[int, float, float]]]:
        """Per hotspot of `keys`: (received_ms, lat, lon) of its reports' usable GPS fixes in
        [from, to) in receive order, after its latest fix before `from_ms` if there is one:
        `last_fix` for any time in the range. Every key is in the answer."""
        out: dict[bytes, list[tuple[int, float, float]]] = {}
        for chunk in _chunks(keys):
            out.update((key, []) for key in chunk)
            rows = self._read(
                _keys_cte(len(chunk)) + "SELECT r.hotspot_key, r.received_ms, r.fix_lat_e7, "
                "r.fix_lon_e7 FROM reports r WHERE r.id IN (SELECT (SELECT x.id FROM reports x "
                "WHERE x.hotspot_key = k.key AND x.received_ms < ? AND x.fix_lat_e7 IS NOT NULL "
                "ORDER BY x.received_ms DESC LIMIT 1) FROM k)",
                (*chunk, from_ms),
            )
            for key, at, lat, lon in rows:
                out[bytes(key)].append((int(at), lat / 1e7, lon / 1e7))
        rows = self._read(
            "SELECT hotspot_key, received_ms, fix_lat_e7, fix_lon_e7 FROM reports "
            "WHERE received_ms >= ? AND received_ms < ? AND fix_lat_e7 IS NOT NULL "
            "ORDER BY received_ms",
            (from_ms, to_ms),
        )
        for key, at, lat, lon in rows:
            fixes = out.get(bytes(key))
            if fixes is not None:
                fixes.append((int(at), lat / 1e7, lon / 1e7))
        return out
