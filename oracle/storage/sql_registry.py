"""The registry half of the SQL repository: who changed a hotspot, makers and their quotas,
listing hotspots, and why one is denied.

An assertion or transfer is checked by `oracle.registry` against the registration it read;
storing it is a compare-and-set on that registration (same nonce, same owner), so two changes
racing on one hotspot cannot both land, and an onboarding counts against its maker's quota in
the same transaction that inserts it (the maker's row is locked on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from oracle.errors import MakerQuotaExhausted, StaleNonce, UnknownMaker
from oracle.storage.repository import Denial, EdgeDenial, Maker, Registration, Tx

HOTSPOT_COLS = (
    "hotspot_key, owner_wallet, location, gain_dbi_x10, elevation_m, capability, region, "
    "nonce, asserted_at_ms, maker_key"
)
# The raw signed message is kept as received, per kind of change.
CHANGE_LOGS = {"assertion": "assertions", "transfer": "transfers"}


def registration(row: Sequence[Any]) -> Registration:
    return Registration(
        bytes(row[0]), bytes(row[1]), row[2], row[3], row[4], row[5], row[6], int(row[7]),
        int(row[8]), None if row[9] is None else bytes(row[9]),
    )


class RegistryQueries:
    """Needs `transaction`, `_read` and `row_lock` from the SQL base."""

    row_lock: str

    def transaction(self, immediate: bool = False) -> AbstractContextManager[Tx]:
        raise NotImplementedError

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def hotspot(self, key: bytes) -> Registration | None:
        rows = self._read(f"SELECT {HOTSPOT_COLS} FROM hotspots WHERE hotspot_key = ?", (key,))
        return registration(rows[0]) if rows else None

    def apply_assertion(self, reg: Registration, raw: bytes, received_ms: int,
                        previous: Registration | None = None, kind: str = "assertion") -> None:
        """Store `reg` if the hotspot's registration is still `previous` (None: not onboarded,
        then `reg.maker_key` must be an allowlisted maker below its quota)."""
        values = (reg.owner_wallet, reg.location, reg.gain_dbi_x10, reg.elevation_m,
                  reg.capability, reg.region, reg.nonce, reg.asserted_at_ms)
        with self.transaction(immediate=True) as tx:
            if previous is None:
                self._count_against_quota(tx, reg.maker_key)
                tx.execute(
                    f"INSERT INTO hotspots ({HOTSPOT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?) "
                    "ON CONFLICT (hotspot_key) DO NOTHING",
                    (reg.hotspot_key, *values, reg.maker_key),
                )
            else:
                tx.execute(
                    "UPDATE hotspots SET owner_wallet = ?, location = ?, gain_dbi_x10 = ?, "
                    "elevation_m = ?, capability = ?, region = ?, nonce = ?, asserted_at_ms = ? "
                    "WHERE hotspot_key = ? AND nonce = ? AND owner_wallet = ?",
                    (*values, reg.hotspot_key, previous.nonce, previous.owner_wallet),
                )
            if tx.rowcount != 1:
                raise StaleNonce(f"nonce {reg.nonce}: the registration changed meanwhile")
            tx.execute(
                f"INSERT INTO {CHANGE_LOGS[kind]} (hotspot_key, nonce, received_ms, raw) "
                "VALUES (?,?,?,?) ON CONFLICT (hotspot_key, nonce) DO NOTHING",
                (reg.hotspot_key, reg.nonce, received_ms, raw),
            )

    def _count_against_quota(self, tx: Tx, maker_key: bytes | None) -> None:
        tx.execute(f"SELECT quota FROM makers WHERE maker_key = ? {self.row_lock}", (maker_key,))
        row = tx.fetchone()
        if maker_key is None or row is None:
            raise UnknownMaker("onboarding needs a maker on the operator's allowlist")
        tx.execute("SELECT count(*) FROM hotspots WHERE maker_key = ?", (maker_key,))
        onboarded = int(tx.fetchone()[0])
        if onboarded >= int(row[0]):
            raise MakerQuotaExhausted(f"the maker has onboarded its quota of {row[0]} hotspots")

    # --- makers ---------------------------------------------------------------------------
    def put_maker(self, key: bytes, name: str, quota: int, now_ms: int) -> None:
        """Add a maker, or change the name and quota of one already listed."""
        with self.transaction(immediate=True) as tx:
            tx.execute(
                "INSERT INTO makers (maker_key, name, quota, added_ms) VALUES (?,?,?,?) "
                "ON CONFLICT (maker_key) DO UPDATE SET name = excluded.name, "
                "quota = excluded.quota",
                (key, name, quota, now_ms),
            )

    def remove_maker(self, key: bytes) -> bool:
        """Its hotspots stay onboarded; it onboards no more. False if it was not listed."""
        with self.transaction(immediate=True) as tx:
            tx.execute("DELETE FROM makers WHERE maker_key = ?", (key,))
            return tx.rowcount == 1

    def makers(self) -> list[Maker]:
        rows = self._read(
            "SELECT m.maker_key, m.name, m.quota, m.added_ms, "
            "(SELECT count(*) FROM hotspots h WHERE h.maker_key = m.maker_key) "
            "FROM makers m ORDER BY m.name, m.maker_key"
        )
        return [Maker(bytes(r[0]), r[1], int(r[2]), int(r[3]), int(r[4])) for r in rows]

    # --- listing and denials --------------------------------------------------------------
    def list_hotspots(self, *, owner: bytes | None = None, maker: bytes | None = None,
                      region: str | None = None, denied: bool | None = None,
                      after: bytes | None = None, limit: int = 100) -> list[Registration]:
        """One page in key order; pass the last key of a page as `after` for the next."""
        where, params = [], []
        for column, value in (("owner_wallet", owner), ("maker_key", maker),
                              ("region", region)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if after is not None:
            where.append("hotspot_key > ?")
            params.append(after)
        if denied is not None:
            negate = "" if denied else "NOT "
            where.append(f"{negate}EXISTS (SELECT 1 FROM denied_hotspots d "
                         "WHERE d.hotspot_key = hotspots.hotspot_key)")
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        rows = self._read(
            f"SELECT {HOTSPOT_COLS} FROM hotspots {clause}ORDER BY hotspot_key LIMIT ?",
            (*params, limit),
        )
        return [registration(r) for r in rows]

    def denied_edges(self) -> list[tuple[bytes, bytes]]:
        return [(bytes(r[0]), bytes(r[1])) for r in self._read("SELECT a, b FROM denied_edges")]

    def denial(self, key: bytes) -> Denial | None:
        rows = self._read(
            "SELECT d.hotspot_key, d.version, d.reason, d.evidence, d.expires_ms, v.received_ms "
            "FROM denied_hotspots d JOIN denylist_versions v ON v.version = d.version "
            "WHERE d.hotspot_key = ?", (key,))
        if not rows:
            return None
        r = rows[0]
        return Denial(bytes(r[0]), int(r[1]), r[2], r[3], int(r[4]), int(r[5]))

    def edge_denials(self, key: bytes | None = None) -> list[EdgeDenial]:
        where, params = ("WHERE e.a = ? OR e.b = ? ", (key, key)) if key is not None else ("", ())
        rows = self._read(
            "SELECT e.a, e.b, e.version, e.reason, e.evidence, e.expires_ms, v.received_ms "
            "FROM denied_edges e JOIN denylist_versions v ON v.version = e.version "
            f"{where}ORDER BY e.a, e.b", params)
        return [EdgeDenial(bytes(r[0]), bytes(r[1]), int(r[2]), r[3], r[4], int(r[5]), int(r[6]))
                for r in rows]
