"""The sandbox's books for fleets: stores, merchant admin tokens, enrolments, store codes.

Kept beside the books' own tables (:mod:`.book_rows`) and written inside the
same transactions (:class:`~.books.Tx`); admin tokens, like terminal tokens,
only as SHA-256 hashes. A terminal's store is kept in ``terminal_stores`` (the
terminals table predates stores). An enrolment keeps its device code as a hash
too, and never a token: the lane's token is made when the lane collects it.

Imports the standard library only; knows SQL, not HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .book_rows import from_utc_text, utc_text

if TYPE_CHECKING:
    from .books import Tx

FLEET_SCHEMA = """
CREATE TABLE IF NOT EXISTS stores (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    city TEXT NOT NULL,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_tokens (
    token_sha256 TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS terminal_stores (
    terminal_id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS enrolments (
    device_sha256 TEXT PRIMARY KEY,
    user_code TEXT NOT NULL UNIQUE,   -- eight letters, without the dash
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    interval_s INTEGER NOT NULL,
    last_poll_at TEXT,
    status TEXT NOT NULL,             -- pending, approved, denied, collected
    hostname TEXT NOT NULL,
    software_version TEXT NOT NULL,
    merchant_id TEXT,
    store_id TEXT,
    terminal_id TEXT,
    label TEXT
);
CREATE TABLE IF NOT EXISTS enrolment_codes (
    code TEXT PRIMARY KEY,            -- eight letters, without the dash
    merchant_id TEXT NOT NULL,
    store_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    terminal_id TEXT
);
"""


@dataclass(frozen=True, slots=True)
class StoreRow:
    id: str
    merchant_id: str
    city: str
    name: str


@dataclass(frozen=True, slots=True)
class EnrolmentRow:
    device_sha256: str
    user_code: str
    created_at: datetime
    expires_at: datetime
    interval_s: int
    last_poll_at: datetime | None
    status: str
    hostname: str
    software_version: str
    merchant_id: str | None
    store_id: str | None
    terminal_id: str | None
    label: str | None


@dataclass(frozen=True, slots=True)
class EnrolmentCodeRow:
    code: str
    merchant_id: str
    store_id: str
    expires_at: datetime
    used_at: datetime | None


# --------------------------------------------------------------------------- stores, admins


def add_store(tx: Tx, row: StoreRow) -> None:
    tx.conn.execute(
        "INSERT INTO stores(id, merchant_id, city, name) VALUES (?, ?, ?, ?)",
        (row.id, row.merchant_id, row.city, row.name),
    )


def store(tx: Tx, store_id: str) -> StoreRow | None:
    row = tx.conn.execute(
        "SELECT id, merchant_id, city, name FROM stores WHERE id = ?", (store_id,)
    ).fetchone()
    return None if row is None else StoreRow(*row)


def stores_of(tx: Tx, merchant_id: str) -> list[StoreRow]:
    rows = tx.conn.execute(
        "SELECT id, merchant_id, city, name FROM stores WHERE merchant_id = ? ORDER BY id",
        (merchant_id,),
    ).fetchall()
    return [StoreRow(*r) for r in rows]


def add_admin_token(tx: Tx, *, token_sha256: str, merchant_id: str) -> None:
    tx.conn.execute(
        "INSERT INTO admin_tokens(token_sha256, merchant_id) VALUES (?, ?)",
        (token_sha256, merchant_id),
    )


def admin_merchant(tx: Tx, token_sha256: str) -> str | None:
    """The merchant whose admin token hashes to ``token_sha256``, if any."""
    row = tx.conn.execute(
        "SELECT merchant_id FROM admin_tokens WHERE token_sha256 = ?", (token_sha256,)
    ).fetchone()
    return None if row is None else str(row[0])


def set_terminal_store(tx: Tx, terminal_id: str, store_id: str) -> None:
    tx.conn.execute(
        "INSERT INTO terminal_stores(terminal_id, store_id) VALUES (?, ?) "
        "ON CONFLICT(terminal_id) DO UPDATE SET store_id = excluded.store_id",
        (terminal_id, store_id),
    )


def terminal_store(tx: Tx, terminal_id: str) -> str | None:
    row = tx.conn.execute(
        "SELECT store_id FROM terminal_stores WHERE terminal_id = ?", (terminal_id,)
    ).fetchone()
    return None if row is None else str(row[0])


def terminal_merchant(tx: Tx, terminal_id: str) -> str | None:
    row = tx.conn.execute(
        "SELECT merchant_id FROM terminals WHERE id = ?", (terminal_id,)
    ).fetchone()
    return None if row is None else str(row[0])


def terminal_id_taken(tx: Tx, terminal_id: str) -> bool:
    row = tx.conn.execute(
        "SELECT 1 FROM terminals WHERE id = ? UNION ALL "
        "SELECT 1 FROM enrolments WHERE terminal_id = ? AND status IN ('approved', 'collected')",
        (terminal_id, terminal_id),
    ).fetchone()
    return row is not None


# --------------------------------------------------------------------------- enrolments

_ENROLMENT_COLUMNS = (
    "device_sha256, user_code, created_at, expires_at, interval_s, last_poll_at, status,"
    " hostname, software_version, merchant_id, store_id, terminal_id, label"
)


def _enrolment(row: tuple[object, ...] | None) -> EnrolmentRow | None:
    if row is None:
        return None
    values = list(row)
    for i in (2, 3):
        values[i] = from_utc_text(str(values[i]))
    if values[5] is not None:
        values[5] = from_utc_text(str(values[5]))
    return EnrolmentRow(*values)  # type: ignore[arg-type]


def add_enrolment(
    tx: Tx,
    *,
    device_sha256: str,
    user_code: str,
    created_at: datetime,
    expires_at: datetime,
    interval_s: int,
    hostname: str,
    software_version: str,
) -> None:
    tx.conn.execute(
        "INSERT INTO enrolments(device_sha256, user_code, created_at, expires_at, interval_s,"
        " status, hostname, software_version) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
        (
            device_sha256,
            user_code,
            utc_text(created_at),
            utc_text(expires_at),
            interval_s,
            hostname,
            software_version,
        ),
    )


def enrolment_by_device(tx: Tx, device_sha256: str) -> EnrolmentRow | None:
    return _enrolment(
        tx.conn.execute(
            f"SELECT {_ENROLMENT_COLUMNS} FROM enrolments WHERE device_sha256 = ?",  # noqa: S608
            (device_sha256,),
        ).fetchone()
    )


def enrolment_by_user_code(tx: Tx, user_code: str) -> EnrolmentRow | None:
    return _enrolment(
        tx.conn.execute(
            f"SELECT {_ENROLMENT_COLUMNS} FROM enrolments WHERE user_code = ?",  # noqa: S608
            (user_code,),
        ).fetchone()
    )


def user_code_taken(tx: Tx, code: str) -> bool:
    row = tx.conn.execute(
        "SELECT 1 FROM enrolments WHERE user_code = ? UNION ALL "
        "SELECT 1 FROM enrolment_codes WHERE code = ?",
        (code, code),
    ).fetchone()
    return row is not None


def note_poll(tx: Tx, device_sha256: str, *, at: datetime, interval_s: int) -> None:
    tx.conn.execute(
        "UPDATE enrolments SET last_poll_at = ?, interval_s = ? WHERE device_sha256 = ?",
        (utc_text(at), interval_s, device_sha256),
    )


def decide_enrolment(
    tx: Tx,
    device_sha256: str,
    *,
    status: str,
    merchant_id: str | None = None,
    store_id: str | None = None,
    terminal_id: str | None = None,
    label: str | None = None,
) -> None:
    tx.conn.execute(
        "UPDATE enrolments SET status = ?, merchant_id = ?, store_id = ?, terminal_id = ?,"
        " label = ? WHERE device_sha256 = ?",
        (status, merchant_id, store_id, terminal_id, label, device_sha256),
    )


def collect_enrolment(tx: Tx, device_sha256: str) -> None:
    tx.conn.execute(
        "UPDATE enrolments SET status = 'collected' WHERE device_sha256 = ?", (device_sha256,)
    )


# --------------------------------------------------------------------------- store codes


def add_enrolment_code(
    tx: Tx,
    *,
    code: str,
    merchant_id: str,
    store_id: str,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    tx.conn.execute(
        "INSERT INTO enrolment_codes(code, merchant_id, store_id, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (code, merchant_id, store_id, utc_text(created_at), utc_text(expires_at)),
    )


def enrolment_code(tx: Tx, code: str) -> EnrolmentCodeRow | None:
    row = tx.conn.execute(
        "SELECT code, merchant_id, store_id, expires_at, used_at FROM enrolment_codes"
        " WHERE code = ?",
        (code,),
    ).fetchone()
    if row is None:
        return None
    used = None if row[4] is None else from_utc_text(str(row[4]))
    return EnrolmentCodeRow(row[0], row[1], row[2], from_utc_text(str(row[3])), used)


def use_enrolment_code(tx: Tx, code: str, *, at: datetime, terminal_id: str) -> bool:
    """Mark ``code`` used (``False`` when another request used it first)."""
    cursor = tx.conn.execute(
        "UPDATE enrolment_codes SET used_at = ?, terminal_id = ?"
        " WHERE code = ? AND used_at IS NULL",
        (utc_text(at), terminal_id, code),
    )
    return cursor.rowcount == 1


def replace_terminal_token(tx: Tx, terminal_id: str, *, token_sha256: str) -> None:
    """A terminal enrolled again (a new device in its place): its old token stops working."""
    tx.conn.execute(
        "UPDATE terminals SET token_sha256 = ? WHERE id = ?", (token_sha256, terminal_id)
    )
