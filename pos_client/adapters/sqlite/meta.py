"""The lane's small keepings: meta values, cached wallets, signed rules and learnt keys.

Cached wallets are keyed by the lane's keyed hash of the household
(:meth:`MetaTables.household_key`), never by the ID or its bare hash.

Imports the standard library, the domain and the sibling modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pos_client.adapters.sqlite.db import Db, parse_time, utc
from pos_client.adapters.sqlite.schema import SECRET_KEY, STORE_ID_KEY
from pos_client.domain.privacy import household_key

__all__ = ["MetaTables"]


class MetaTables:
    """Meta, wallets, rules and keys (a part of ``SqliteStore``)."""

    _db: Db
    _secret: bytes | None = None

    def get_meta(self, key: str) -> str | None:
        with self._db.read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def last_contact(self) -> datetime | None:
        return parse_time(self.get_meta("last_contact"))

    def record_contact(self, at: datetime) -> None:
        self.set_meta("last_contact", utc(at))

    @property
    def store_id(self) -> str | None:
        """The id made when this store was made (what the lane's identity file names)."""
        return self.get_meta(STORE_ID_KEY)

    def household_key(self, national_id: str) -> str | None:
        """The lane's key for the household of ``national_id`` (keyed hash; see ``privacy``).

        ``None`` only from a store of an older schema opened read-only (it has no secret yet).
        """
        if self._secret is None:
            text = self.get_meta(SECRET_KEY)
            if text is None:
                return None
            self._secret = bytes.fromhex(text)
        return household_key(national_id, self._secret)

    def cache_wallet(self, nid_hash: str, wallet_json: str, *, at: datetime) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO wallets(nid_hash, wallet, fetched_at) VALUES (?, ?, ?)"
                " ON CONFLICT(nid_hash) DO UPDATE SET wallet = excluded.wallet,"
                " fetched_at = excluded.fetched_at",
                (nid_hash, wallet_json, utc(at)),
            )

    def cached_wallet(self, nid_hash: str) -> tuple[str, datetime] | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT wallet, fetched_at FROM wallets WHERE nid_hash = ?", (nid_hash,)
            ).fetchone()
        return None if row is None else (str(row[0]), datetime.fromisoformat(row[1]))

    def save_rules(
        self, *, version: str, body: bytes, signature: str, etag: str | None, at: datetime
    ) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO rules(id, version, body, signature, etag, fetched_at)"
                " VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
                " version = excluded.version, body = excluded.body,"
                " signature = excluded.signature, etag = excluded.etag,"
                " fetched_at = excluded.fetched_at",
                (version, body, signature, etag, utc(at)),
            )

    def load_rules(self) -> tuple[bytes, str, str | None, datetime] | None:
        """``(body, signature, etag, fetched_at)`` of the cached rule set, if any."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT body, signature, etag, fetched_at FROM rules WHERE id = 1"
            ).fetchone()
        if row is None:
            return None
        return bytes(row[0]), str(row[1]), row[2], datetime.fromisoformat(row[3])

    def learned_keys(self) -> dict[str, bytes]:
        with self._db.read() as conn:
            rows = conn.execute("SELECT kid, public_key FROM learned_keys").fetchall()
        return {str(r[0]): bytes(r[1]) for r in rows}

    def learn_keys(self, keys: Mapping[str, bytes], *, at: datetime) -> None:
        with self._db.write() as conn:
            conn.executemany(
                "INSERT INTO learned_keys(kid, public_key, learned_at) VALUES (?, ?, ?)"
                " ON CONFLICT(kid) DO NOTHING",
                [(kid, raw, utc(at)) for kid, raw in keys.items()],
            )
