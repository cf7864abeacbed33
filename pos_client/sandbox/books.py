"""The sandbox ledger's books: one SQLite file (WAL) and its transactions.

What is kept, for good: terminals (their token as a SHA-256), households and
their purses, used token ids, purchase codes, OTP challenges, every redemption
ever received (its body's hash, its stored response bytes, its business date)
and its void, what each terminal approved offline, the rule sets issued and the
catalog's revisions.

Writes are serialised twice over: a process-wide lock (so threads of the
server queue fairly instead of spinning in SQLite's busy handler) and
``BEGIN IMMEDIATE`` (so a second process on the same file waits too). Every
check-and-apply of a redemption runs inside one such transaction: what it
reads is what it changes. ``synchronous=FULL``: a committed redemption is on
disk before it is answered.

The schema and the row values are in :mod:`.book_rows`. Imports the standard
library and the pure domain only; knows SQL, not HTTP.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .book_rows import (
    SCHEMA,
    SCHEMA_VERSION,
    Effect,
    HouseholdRow,
    OtpRow,
    PurchaseCodeRow,
    PurseRow,
    RedemptionRow,
    RuleSetRow,
    TerminalRow,
    from_utc_text,
    utc_text,
)
from .fleet_rows import FLEET_SCHEMA

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "Books",
    "Effect",
    "HouseholdRow",
    "OtpRow",
    "PurchaseCodeRow",
    "PurseRow",
    "RedemptionRow",
    "RuleSetRow",
    "TerminalRow",
    "Tx",
    "from_utc_text",
    "utc_text",
]


class Tx:
    """Typed reads and writes inside one transaction (the connection is borrowed)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # ---------------------------------------------------------------- meta

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # ---------------------------------------------------------------- terminals

    def add_terminal(self, row: TerminalRow, *, token_sha256: str) -> None:
        self.conn.execute(
            "INSERT INTO terminals(id, token_sha256, city, merchant_id, shop_name) "
            "VALUES (?, ?, ?, ?, ?)",
            (row.id, token_sha256, row.city, row.merchant_id, row.shop_name),
        )

    def terminal_by_token(self, token_sha256: str) -> TerminalRow | None:
        row = self.conn.execute(
            "SELECT id, city, merchant_id, shop_name FROM terminals WHERE token_sha256 = ?",
            (token_sha256,),
        ).fetchone()
        return None if row is None else TerminalRow(*row)

    # ---------------------------------------------------------------- households

    def add_household(self, row: HouseholdRow) -> None:
        self.conn.execute(
            "INSERT INTO households(ref, national_id, key, display_name, household_size, city,"
            " blocked, offline_allowance_rial) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.ref,
                row.national_id,
                row.key,
                row.display_name,
                row.household_size,
                row.city,
                int(row.blocked),
                row.offline_allowance_rial,
            ),
        )

    _HOUSEHOLD_COLUMNS = (
        "ref, national_id, key, display_name, household_size, city, blocked, offline_allowance_rial"
    )

    def _household(self, row: Sequence[Any] | None) -> HouseholdRow | None:
        if row is None:
            return None
        values = list(row)
        values[6] = bool(values[6])
        return HouseholdRow(*values)

    def household_by_national_id(self, national_id: str) -> HouseholdRow | None:
        return self._household(
            self.conn.execute(
                f"SELECT {self._HOUSEHOLD_COLUMNS} FROM households WHERE national_id = ?",  # noqa: S608
                (national_id,),
            ).fetchone()
        )

    def household_by_ref(self, ref: str) -> HouseholdRow | None:
        return self._household(
            self.conn.execute(
                f"SELECT {self._HOUSEHOLD_COLUMNS} FROM households WHERE ref = ?",  # noqa: S608
                (ref,),
            ).fetchone()
        )

    def households(self) -> list[HouseholdRow]:
        rows = self.conn.execute(
            f"SELECT {self._HOUSEHOLD_COLUMNS} FROM households ORDER BY rowid"  # noqa: S608
        ).fetchall()
        return [h for h in (self._household(r) for r in rows) if h is not None]

    def set_blocked(self, ref: str, blocked: bool) -> None:
        self.conn.execute("UPDATE households SET blocked = ? WHERE ref = ?", (int(blocked), ref))

    def blocked_national_ids(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT national_id FROM households WHERE blocked = 1 ORDER BY national_id"
        ).fetchall()
        return [str(r[0]) for r in rows]

    # ---------------------------------------------------------------- purses

    def add_purse(self, row: PurseRow) -> None:
        self.conn.execute(
            "INSERT INTO purses(id, household_ref, ord, doc, carry_over_to, carried_over)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                row.id,
                row.household_ref,
                row.ord,
                json.dumps(row.doc, ensure_ascii=False, sort_keys=True),
                row.carry_over_to,
                int(row.carried_over),
            ),
        )

    def purses_of(self, household_ref: str) -> list[PurseRow]:
        rows = self.conn.execute(
            "SELECT id, household_ref, ord, doc, carry_over_to, carried_over FROM purses"
            " WHERE household_ref = ? ORDER BY ord",
            (household_ref,),
        ).fetchall()
        return [PurseRow(r[0], r[1], r[2], json.loads(r[3]), r[4], bool(r[5])) for r in rows]

    def update_purse(self, purse_id: str, doc: dict[str, Any], *, carried_over: bool) -> None:
        self.conn.execute(
            "UPDATE purses SET doc = ?, carried_over = ? WHERE id = ?",
            (json.dumps(doc, ensure_ascii=False, sort_keys=True), int(carried_over), purse_id),
        )

    # ---------------------------------------------------------------- tokens and codes

    def token_used(self, jti: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM used_tokens WHERE jti = ?", (jti,)).fetchone()
            is not None
        )

    def use_token(self, jti: str, *, household_ref: str, redemption_id: str, at: datetime) -> None:
        self.conn.execute(
            "INSERT INTO used_tokens(jti, household_ref, redemption_id, used_at)"
            " VALUES (?, ?, ?, ?)",
            (jti, household_ref, redemption_id, utc_text(at)),
        )

    def add_purchase_code(self, row: PurchaseCodeRow) -> None:
        self.conn.execute(
            "INSERT INTO purchase_codes(code, household_ref, created_at, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (row.code, row.household_ref, utc_text(row.created_at), utc_text(row.expires_at)),
        )

    def purchase_code(self, code: str) -> PurchaseCodeRow | None:
        row = self.conn.execute(
            "SELECT code, household_ref, created_at, expires_at, used_by FROM purchase_codes"
            " WHERE code = ?",
            (code,),
        ).fetchone()
        if row is None:
            return None
        return PurchaseCodeRow(row[0], row[1], from_utc_text(row[2]), from_utc_text(row[3]), row[4])

    def use_purchase_code(self, code: str, *, redemption_id: str, at: datetime) -> None:
        self.conn.execute(
            "UPDATE purchase_codes SET used_by = ?, used_at = ? WHERE code = ?",
            (redemption_id, utc_text(at), code),
        )

    # ---------------------------------------------------------------- OTP

    def add_otp(self, row: OtpRow) -> None:
        self.conn.execute(
            "INSERT INTO otp_challenges(id, household_ref, terminal_id, code, created_at,"
            " expires_at, attempts) VALUES (?, ?, ?, ?, ?, ?, 0)",
            (
                row.id,
                row.household_ref,
                row.terminal_id,
                row.code,
                utc_text(row.created_at),
                utc_text(row.expires_at),
            ),
        )

    def otp(self, challenge_id: str) -> OtpRow | None:
        row = self.conn.execute(
            "SELECT id, household_ref, terminal_id, code, created_at, expires_at, attempts,"
            " used_by FROM otp_challenges WHERE id = ?",
            (challenge_id,),
        ).fetchone()
        if row is None:
            return None
        return OtpRow(
            row[0],
            row[1],
            row[2],
            row[3],
            from_utc_text(row[4]),
            from_utc_text(row[5]),
            row[6],
            row[7],
        )

    def count_recent_otps(self, household_ref: str, *, since: datetime) -> int:
        row = self.conn.execute(
            "SELECT COUNT(*) FROM otp_challenges WHERE household_ref = ? AND created_at >= ?",
            (household_ref, utc_text(since)),
        ).fetchone()
        return int(row[0])

    def oldest_recent_otp(self, household_ref: str, *, since: datetime) -> datetime | None:
        row = self.conn.execute(
            "SELECT MIN(created_at) FROM otp_challenges"
            " WHERE household_ref = ? AND created_at >= ?",
            (household_ref, utc_text(since)),
        ).fetchone()
        return None if row is None or row[0] is None else from_utc_text(row[0])

    def count_otp_attempt(self, challenge_id: str) -> None:
        self.conn.execute(
            "UPDATE otp_challenges SET attempts = attempts + 1 WHERE id = ?", (challenge_id,)
        )

    def use_otp(self, challenge_id: str, *, redemption_id: str) -> None:
        self.conn.execute(
            "UPDATE otp_challenges SET used_by = ? WHERE id = ?", (redemption_id, challenge_id)
        )

    # ---------------------------------------------------------------- redemptions

    _REDEMPTION_COLUMNS = (
        "id, terminal_id, body_sha256, mode, status, household_ref, recorded_at, business_date,"
        " covered_rial, response, voided_at, void_response"
    )

    def redemption(self, redemption_id: str) -> RedemptionRow | None:
        row = self.conn.execute(
            f"SELECT {self._REDEMPTION_COLUMNS} FROM redemptions WHERE id = ?",  # noqa: S608
            (redemption_id,),
        ).fetchone()
        if row is None:
            return None
        return RedemptionRow(
            id=row[0],
            terminal_id=row[1],
            body_sha256=row[2],
            mode=row[3],
            status=row[4],
            household_ref=row[5],
            recorded_at=from_utc_text(row[6]),
            business_date=date.fromisoformat(row[7]),
            covered_rial=row[8],
            response=bytes(row[9]),
            voided_at=None if row[10] is None else from_utc_text(row[10]),
            void_response=None if row[11] is None else bytes(row[11]),
        )

    def add_redemption(
        self,
        row: RedemptionRow,
        *,
        by_program: dict[str, int],
        effects: Sequence[Effect],
    ) -> None:
        self.conn.execute(
            f"INSERT INTO redemptions({self._REDEMPTION_COLUMNS})"  # noqa: S608
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
            (
                row.id,
                row.terminal_id,
                row.body_sha256,
                row.mode,
                row.status,
                row.household_ref,
                utc_text(row.recorded_at),
                row.business_date.isoformat(),
                row.covered_rial,
                row.response,
            ),
        )
        self.conn.executemany(
            "INSERT INTO redemption_programs(redemption_id, program, covered_rial)"
            " VALUES (?, ?, ?)",
            [(row.id, program, amount) for program, amount in sorted(by_program.items())],
        )
        self.conn.executemany(
            "INSERT INTO redemption_effects(redemption_id, purse_id, field, taken)"
            " VALUES (?, ?, ?, ?)",
            [(row.id, e.purse_id, e.field, e.taken) for e in effects],
        )

    def add_offline_approval(
        self,
        redemption_id: str,
        *,
        terminal_id: str,
        household_ref: str,
        sale_date: date,
        by_program: dict[str, int],
    ) -> None:
        """What a terminal approved offline in a redemption the ledger took, by programme."""
        self.conn.executemany(
            "INSERT INTO offline_approvals(redemption_id, terminal_id, household_ref, sale_date,"
            " program, approved_rial) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (redemption_id, terminal_id, household_ref, sale_date.isoformat(), program, amount)
                for program, amount in sorted(by_program.items())
                if amount > 0
            ],
        )

    def offline_approved(
        self, *, terminal_id: str, household_ref: str, sale_date: date, program: str
    ) -> int:
        """What the terminal approved offline for the household on that day (not voided)."""
        row = self.conn.execute(
            "SELECT approved_rial FROM offline_day_totals"
            " WHERE terminal_id = ? AND household_ref = ? AND sale_date = ? AND program = ?",
            (terminal_id, household_ref, sale_date.isoformat(), program),
        ).fetchone()
        return 0 if row is None else int(row[0])

    def effects_of(self, redemption_id: str) -> list[Effect]:
        rows = self.conn.execute(
            "SELECT purse_id, field, taken FROM redemption_effects"
            " WHERE redemption_id = ? ORDER BY rowid",
            (redemption_id,),
        ).fetchall()
        return [Effect(*r) for r in rows]

    def void_redemption(self, redemption_id: str, *, at: datetime, response: bytes) -> None:
        self.conn.execute(
            "UPDATE redemptions SET voided_at = ?, void_response = ? WHERE id = ?",
            (utc_text(at), response, redemption_id),
        )

    def settlement_rows(
        self, terminal_id: str, business_date: date
    ) -> list[tuple[str, int, dict[str, int]]]:
        """``(id, covered_rial, {program: covered_rial})`` of the day's counted redemptions."""
        rows = self.conn.execute(
            "SELECT id, covered_rial FROM redemptions WHERE terminal_id = ? AND business_date = ?"
            " AND status IN ('approved', 'partially_approved') AND voided_at IS NULL"
            " ORDER BY recorded_at, id",
            (terminal_id, business_date.isoformat()),
        ).fetchall()
        result = []
        for redemption_id, covered in rows:
            programs = dict(
                self.conn.execute(
                    "SELECT program, covered_rial FROM redemption_programs WHERE redemption_id = ?",
                    (redemption_id,),
                ).fetchall()
            )
            result.append((str(redemption_id), int(covered), programs))
        return result

    # ---------------------------------------------------------------- rule sets

    def add_rule_set(self, row: RuleSetRow) -> None:
        self.conn.execute(
            "INSERT INTO rule_sets(seq, version, issued_at, valid_until, body, signature)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                row.seq,
                row.version,
                utc_text(row.issued_at),
                utc_text(row.valid_until),
                row.body,
                row.signature,
            ),
        )

    def _rule_set(self, row: Sequence[Any] | None) -> RuleSetRow | None:
        if row is None:
            return None
        return RuleSetRow(
            row[0], row[1], from_utc_text(row[2]), from_utc_text(row[3]), bytes(row[4]), row[5]
        )

    def latest_rule_set(self) -> RuleSetRow | None:
        return self._rule_set(
            self.conn.execute(
                "SELECT seq, version, issued_at, valid_until, body, signature FROM rule_sets"
                " ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        )

    def last_rule_set_number(self, prefix: str) -> int:
        """The highest ``n`` of the versions ``<prefix><n>`` issued so far (0: none)."""
        rows = self.conn.execute(
            "SELECT version FROM rule_sets WHERE substr(version, 1, ?) = ?",
            (len(prefix), prefix),
        ).fetchall()
        numbers = [str(r[0])[len(prefix) :] for r in rows]
        return max((int(n) for n in numbers if n.isdigit()), default=0)

    def rule_set(self, version: str) -> RuleSetRow | None:
        return self._rule_set(
            self.conn.execute(
                "SELECT seq, version, issued_at, valid_until, body, signature FROM rule_sets"
                " WHERE version = ?",
                (version,),
            ).fetchone()
        )

    # ---------------------------------------------------------------- catalog

    def catalog_versions(self) -> list[tuple[int, str]]:
        rows = self.conn.execute("SELECT seq, version FROM catalog_versions ORDER BY seq")
        return [(int(r[0]), str(r[1])) for r in rows.fetchall()]

    def add_catalog_version(self, seq: int, version: str, *, at: datetime) -> None:
        self.conn.execute(
            "INSERT INTO catalog_versions(seq, version, created_at) VALUES (?, ?, ?)",
            (seq, version, utc_text(at)),
        )

    def add_catalog_change(self, seq: int, gtin: str, doc: dict[str, Any], price: int) -> None:
        self.conn.execute(
            "INSERT INTO catalog_changes(seq, gtin, doc, price_rial) VALUES (?, ?, ?, ?)",
            (seq, gtin, json.dumps(doc, ensure_ascii=False, sort_keys=True), price),
        )

    def catalog_changes(
        self, *, after: int, upto: int
    ) -> list[tuple[int, str, dict[str, Any], int]]:
        """Changes with ``after < seq <= upto``, latest per GTIN, in GTIN order."""
        rows = self.conn.execute(
            "SELECT c.seq, c.gtin, c.doc, c.price_rial FROM catalog_changes c"
            " WHERE c.seq > ? AND c.seq <= ? AND c.seq = ("
            "   SELECT MAX(d.seq) FROM catalog_changes d"
            "   WHERE d.gtin = c.gtin AND d.seq > ? AND d.seq <= ?)"
            " ORDER BY c.gtin",
            (after, upto, after, upto),
        ).fetchall()
        return [(int(r[0]), str(r[1]), json.loads(r[2]), int(r[3])) for r in rows]

    def catalog_change_for(self, gtin: str, *, upto: int) -> tuple[dict[str, Any], int] | None:
        """The latest change of ``gtin`` up to version ``upto``: ``(product doc, price)``."""
        row = self.conn.execute(
            "SELECT doc, price_rial FROM catalog_changes WHERE gtin = ? AND seq <= ?"
            " ORDER BY seq DESC LIMIT 1",
            (gtin, upto),
        ).fetchone()
        return None if row is None else (dict(json.loads(row[0])), int(row[1]))


def _rolled_back(conn: sqlite3.Connection) -> bool:
    """End any transaction open on ``conn`` by rolling it back; whether that worked."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        return False
    return not conn.in_transaction


class Books:
    """The books file, a small pool of connections, and the two kinds of transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._write_lock = threading.Lock()
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        conn = self._connect()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(SCHEMA + FLEET_SCHEMA)
        self._pool.put(conn)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        with self._all_lock:
            self._all.append(conn)
        return conn

    @contextmanager
    def _borrow(self) -> Iterator[sqlite3.Connection]:
        """A connection of the pool; it goes back only outside any transaction.

        A connection that cannot be brought back out of a transaction (its
        ``ROLLBACK`` fails too) is closed instead of going back, so that no
        failure can leave a transaction open, and the books locked, behind it.
        """
        if self._closed:
            raise RuntimeError("the books are closed")
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            yield conn
        finally:
            if _rolled_back(conn):
                self._pool.put(conn)
            else:
                self._discard(conn)

    def _discard(self, conn: sqlite3.Connection) -> None:
        with self._all_lock:
            if conn in self._all:
                self._all.remove(conn)
        try:
            conn.close()
        except sqlite3.Error:
            pass

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """One write transaction (``BEGIN IMMEDIATE``), serialised with every other.

        Whatever goes wrong inside it, also a failing ``COMMIT``, rolls it all
        back: the books are as they were and the next transaction starts clean.
        """
        with self._write_lock, self._borrow() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(conn)
                conn.execute("COMMIT")
            except BaseException:
                _rolled_back(conn)
                raise

    @contextmanager
    def item(self, tx: Tx) -> Iterator[Tx]:
        """One item inside a larger write transaction (a ``SAVEPOINT``): whatever goes
        wrong inside it undoes its own changes only, as if it had been a transaction of
        its own that rolled back; the others' stay, to be committed together."""
        tx.conn.execute("SAVEPOINT item")
        try:
            yield tx
        except BaseException:
            tx.conn.execute("ROLLBACK TO item")
            tx.conn.execute("RELEASE item")
            raise
        tx.conn.execute("RELEASE item")

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """One read transaction: a consistent snapshot (WAL lets it run beside a writer)."""
        with self._borrow() as conn:
            conn.execute("BEGIN")
            try:
                yield Tx(conn)
            finally:
                _rolled_back(conn)

    def close(self) -> None:
        self._closed = True
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
