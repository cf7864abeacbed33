"""The lane store as schema 3 wrote it (pos-client before schema 4), its code unchanged.

Kept to make schema-3 stores the way a lane in the field has them (bare
SHA-256 household hashes, identities in every body), for the upgrade tests.
Never used by the application.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pos_client.domain.errors import TokenError
from pos_client.domain.models import Product, Unit
from pos_client.domain.redemption import RedemptionAnswer
from pos_client.domain.states import RedemptionStatus, transition
from pos_client.errors import StoreError
from pos_client.ports import Intent, JournalEntry, NewRedemption, OutboxItem, ProblemRecord

log = logging.getLogger(__name__)

__all__ = [
    "CatalogLoad",
    "CatalogRefused",
    "SqliteStore",
    "ZReportRecord",
    "answer_to_json",
    "create_private_file",
]

SCHEMA_VERSION = 3
#: The oldest lane store schema a read-only open reads as it is (3 moved the outbox).
READABLE_FROM = 3
#: The lane store's automatic checkpoint threshold in pages: a backstop (see the module docstring).
LANE_WAL_AUTOCHECKPOINT = 10_000
#: Idle checkpoints run once this many commits went by (see SqliteStore.checkpoint).
CHECKPOINT_AFTER_COMMITS = 50
#: The open mark is raised once this many rows were written past it (see raise_open_mark).
OPEN_MARK_SLACK = 200
CATALOG_SCHEMA_VERSION = 1
_BATCH = 5000

_SCHEMA_V1 = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    business_date TEXT NOT NULL,
    identity_kind TEXT NOT NULL,
    nid_hash TEXT,
    nid_masked TEXT,
    beneficiary_ref TEXT,
    display_name TEXT,
    token_jti TEXT,
    mode TEXT NOT NULL CHECK (mode IN ('online', 'offline')),
    offline INTEGER NOT NULL DEFAULT 0,
    body BLOB NOT NULL,
    basket TEXT NOT NULL,
    total_rial INTEGER NOT NULL,
    covered_rial INTEGER NOT NULL,
    payable_rial INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    answer TEXT,
    ledger_covered_rial INTEGER,
    declined_rial INTEGER,
    receipt_code TEXT,
    seen INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
CREATE INDEX journal_by_status ON journal(status);
CREATE INDEX journal_unseen ON journal(seen) WHERE seen = 0;
CREATE TABLE journal_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    redemption_id TEXT NOT NULL REFERENCES journal(id),
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_by_redemption ON journal_events(redemption_id);
CREATE TABLE outbox (
    redemption_id TEXT PRIMARY KEY REFERENCES journal(id),
    intent TEXT NOT NULL CHECK (intent IN ('hold', 'deliver', 'abandon', 'void')),
    enqueued_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT
);
CREATE TABLE problems (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    redemption_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    collect_rial INTEGER NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT '',
    resolved_at TEXT,
    UNIQUE (redemption_id, kind)
);
CREATE TABLE rules (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version TEXT NOT NULL,
    body BLOB NOT NULL,
    signature TEXT NOT NULL,
    etag TEXT,
    fetched_at TEXT NOT NULL
);
CREATE TABLE learned_keys (
    kid TEXT PRIMARY KEY,
    public_key BLOB NOT NULL,
    learned_at TEXT NOT NULL
);
CREATE TABLE prices (
    gtin TEXT PRIMARY KEY,
    unit_price_rial INTEGER NOT NULL CHECK (unit_price_rial >= 0),
    updated_at TEXT NOT NULL
);
CREATE TABLE scale_items (
    lookup_key TEXT PRIMARY KEY,
    gtin TEXT NOT NULL
);
CREATE TABLE used_tokens (
    jti TEXT PRIMARY KEY,
    redemption_id TEXT NOT NULL,
    used_at TEXT NOT NULL
);
CREATE TABLE offline_totals (
    business_date TEXT NOT NULL,
    nid_hash TEXT NOT NULL,
    program TEXT NOT NULL,
    covered_rial INTEGER NOT NULL,
    PRIMARY KEY (business_date, nid_hash, program)
);
CREATE TABLE wallets (
    nid_hash TEXT PRIMARY KEY,
    wallet TEXT NOT NULL,
    fetched_at TEXT NOT NULL
);
"""

# Version 2: the journal by business date, and the Z reports (numbered per terminal).
# (IF NOT EXISTS: two programs opening an older store at once may both run it.)
_SCHEMA_V2 = """
CREATE INDEX IF NOT EXISTS journal_by_date ON journal(business_date);
CREATE TABLE IF NOT EXISTS z_reports (
    terminal_id TEXT NOT NULL,
    number INTEGER NOT NULL CHECK (number > 0),
    business_date TEXT NOT NULL,
    closed_at TEXT NOT NULL,
    report TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'not_reconciled',
    reconciliation TEXT,
    reconciled_at TEXT,
    ledger_error TEXT,
    PRIMARY KEY (terminal_id, number),
    UNIQUE (terminal_id, business_date)
);
"""

# Version 3: a sale's enqueue writes as few pages as it can (see the module docstring).
# The outbox becomes columns of the journal row (intent NULL: not in the outbox); the
# first event ('written') becomes the row's ``written_at``; neither table keeps an
# AUTOINCREMENT counter (rows are never deleted, so rowids are never reused); one
# mark, kept by triggers, bounds the open rows (unseen or in the outbox); the status index
# becomes a partial one on the offline approvals still owed; the business-date index
# gives way to ``journal_days``, each date's first row, written once a day; used token
# ids are one B-tree (WITHOUT ROWID), kept by triggers on the journal, so a sale is one
# INSERT. Tables are rebuilt in the step's one transaction, foreign keys checked before
# it commits.
_SCHEMA_V3 = """
CREATE TABLE journal_v3 (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    written_at TEXT NOT NULL,
    business_date TEXT NOT NULL,
    identity_kind TEXT NOT NULL,
    nid_hash TEXT,
    nid_masked TEXT,
    beneficiary_ref TEXT,
    display_name TEXT,
    token_jti TEXT,
    mode TEXT NOT NULL CHECK (mode IN ('online', 'offline')),
    offline INTEGER NOT NULL DEFAULT 0,
    total_rial INTEGER NOT NULL,
    covered_rial INTEGER NOT NULL,
    payable_rial INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    ledger_covered_rial INTEGER,
    declined_rial INTEGER,
    receipt_code TEXT,
    seen INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    intent TEXT CHECK (intent IN ('hold', 'deliver', 'abandon', 'void')),
    enqueued_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    answer TEXT,
    body BLOB NOT NULL,
    basket TEXT NOT NULL,
    CHECK ((intent IS NULL) = (enqueued_at IS NULL))
);
INSERT INTO journal_v3 (
    seq, id, created_at, written_at, business_date, identity_kind, nid_hash, nid_masked,
    beneficiary_ref, display_name, token_jti, mode, offline, total_rial, covered_rial,
    payable_rial, status, reason, ledger_covered_rial, declined_rial, receipt_code, seen,
    updated_at, intent, enqueued_at, attempts, sent, next_attempt_at, last_error, answer,
    body, basket
)
SELECT j.seq, j.id, j.created_at,
    COALESCE(
        (SELECT e.at FROM journal_events e WHERE e.redemption_id = j.id ORDER BY e.seq LIMIT 1),
        j.created_at
    ),
    j.business_date, j.identity_kind, j.nid_hash, j.nid_masked, j.beneficiary_ref,
    j.display_name, j.token_jti, j.mode, j.offline, j.total_rial, j.covered_rial,
    j.payable_rial, j.status, j.reason, j.ledger_covered_rial, j.declined_rial,
    j.receipt_code, j.seen, j.updated_at, o.intent, o.enqueued_at, COALESCE(o.attempts, 0),
    COALESCE(o.sent, 0), o.next_attempt_at, o.last_error, j.answer, j.body, j.basket
FROM journal j LEFT JOIN outbox o ON o.redemption_id = j.id;
CREATE TABLE journal_events_v3 (
    seq INTEGER PRIMARY KEY,
    redemption_id TEXT NOT NULL REFERENCES journal(id),
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
INSERT INTO journal_events_v3 (seq, redemption_id, at, status, note)
SELECT e.seq, e.redemption_id, e.at, e.status, e.note FROM journal_events e
WHERE e.seq <> (SELECT MIN(f.seq) FROM journal_events f WHERE f.redemption_id = e.redemption_id);
DROP TABLE outbox;
DROP TABLE journal_events;
DROP TABLE journal;
ALTER TABLE journal_v3 RENAME TO journal;
ALTER TABLE journal_events_v3 RENAME TO journal_events;
CREATE TABLE journal_marks (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    open_from INTEGER NOT NULL
);
INSERT INTO journal_marks (id, open_from)
SELECT 1, COALESCE(
    (SELECT MIN(seq) FROM journal WHERE seen = 0 OR intent IS NOT NULL),
    (SELECT COALESCE(MAX(seq), 0) + 1 FROM journal)
);
CREATE TRIGGER journal_open_again AFTER UPDATE OF intent, seen ON journal
WHEN (NEW.intent IS NOT NULL OR NEW.seen = 0)
    AND NEW.seq < (SELECT open_from FROM journal_marks WHERE id = 1)
BEGIN
    UPDATE journal_marks SET open_from = NEW.seq WHERE id = 1;
END;
CREATE TABLE journal_days (
    business_date TEXT PRIMARY KEY,
    first_seq INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO journal_days (business_date, first_seq)
SELECT business_date, MIN(seq) FROM journal GROUP BY business_date;
CREATE INDEX journal_offline ON journal(seq) WHERE status = 'approved_offline';
CREATE TABLE used_tokens_v3 (
    jti TEXT PRIMARY KEY,
    redemption_id TEXT NOT NULL,
    used_at TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO used_tokens_v3 (jti, redemption_id, used_at)
SELECT jti, redemption_id, used_at FROM used_tokens;
DROP TABLE used_tokens;
ALTER TABLE used_tokens_v3 RENAME TO used_tokens;
-- What a new sale's row keeps, in its own INSERT: the day's first row, the open mark
-- (never above an open row), the token's single use (a used id breaks the key).
CREATE TRIGGER journal_on_insert AFTER INSERT ON journal
BEGIN
    INSERT OR IGNORE INTO journal_days (business_date, first_seq)
    VALUES (NEW.business_date, NEW.seq);
    UPDATE journal_marks SET open_from = NEW.seq WHERE id = 1 AND open_from > NEW.seq;
    INSERT INTO used_tokens (jti, redemption_id, used_at)
    SELECT NEW.token_jti, NEW.id, NEW.written_at WHERE NEW.token_jti IS NOT NULL;
END;
CREATE INDEX events_by_redemption ON journal_events(redemption_id);
"""

_CATALOG_SCHEMA_V1 = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE products (
    gtin TEXT PRIMARY KEY,
    name_fa TEXT NOT NULL,
    name_en TEXT NOT NULL,
    category TEXT NOT NULL,
    unit TEXT NOT NULL,
    groups TEXT NOT NULL,
    max_unit_price_rial INTEGER,
    generation INTEGER NOT NULL
) WITHOUT ROWID;
"""


class CatalogRefused(StoreError):
    """A catalog was not loaded (the last good one is kept)."""

    code = "catalog_refused"


@dataclass(frozen=True, slots=True)
class ZReportRecord:
    """A Z report as kept: its number per terminal, its JSON and its reconciliation, if any.

    ``status``: ``not_reconciled``, or what the reconciliation found.
    """

    terminal_id: str
    number: int
    business_date: date
    closed_at: datetime
    report: str = field(repr=False)
    status: str = "not_reconciled"
    reconciliation: str | None = field(default=None, repr=False)
    reconciled_at: datetime | None = None
    ledger_error: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogLoad:
    version: str
    full: bool
    upserted: int
    deleted: int
    total: int


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("times are stored timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def create_private_file(path: Path) -> None:
    """Create ``path`` with mode 0600 (its folder 0700) if missing; tighten it if it is looser."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
            return
        os.close(fd)
    except OSError as exc:
        raise StoreError(f"cannot create the store at {path}: {exc.strerror}") from None


def _translate(exc: sqlite3.Error, where: Path) -> StoreError:
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return StoreError(
            "the disk is full: nothing new was saved and nothing saved was lost; "
            "free some space and try again"
        )
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return StoreError(
            f"the store at {where} is read-only: nothing new can be saved, so no sale "
            "can be made; nothing saved was lost"
        )
    if name.startswith("SQLITE_BUSY") or "locked" in text:
        return StoreError("the store is busy (another program is using it); try again")
    if (
        name.startswith("SQLITE_CORRUPT")
        or name.startswith("SQLITE_NOTADB")
        or ("not a database" in text or "malformed" in text)
    ):
        return StoreError(f"the store at {where} is damaged; restore it from a backup")
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return StoreError(f"cannot open the store at {where}")
    if name.startswith("SQLITE_IOERR") or "disk i/o" in text:
        return StoreError(f"the disk under the store at {where} failed to read or write")
    return StoreError(f"the store at {where} failed ({exc})")


def answer_to_json(answer: RedemptionAnswer) -> str:
    """The ledger's answer as the journal keeps it (JSON text)."""
    return json.dumps(
        {
            "id": answer.id,
            "status": answer.status,
            "covered_rial": answer.covered_rial,
            "declined_rial": answer.declined_rial,
            "approved_at": None if answer.approved_at is None else answer.approved_at.isoformat(),
            "receipt_code": answer.receipt_code,
            "reason": answer.reason,
            "allocations": [
                {
                    "line": a.line,
                    "purse_id": a.purse_id,
                    "amount_rial": a.amount_rial,
                    "quantity_milli": a.quantity_milli,
                    "status": a.status,
                    "reason": a.reason,
                }
                for a in answer.allocations
            ],
            "purses_after": [
                {
                    "id": p.id,
                    "program": p.program,
                    "kind": p.kind.value,
                    "balance_rial": p.balance_rial,
                    "entitlements": [
                        {"group": e.group, "remaining_milli": e.remaining_milli}
                        for e in p.entitlements
                    ],
                }
                for p in answer.purses_after
            ],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _execute(
    conn: sqlite3.Connection,
    sql: str,
    args: Sequence[Any],
    refusals: Mapping[str, Callable[[], Exception]] | None,
) -> None:
    """Run one statement; a broken constraint named in ``refusals`` raises its error instead."""
    try:
        conn.execute(sql, args)
    except sqlite3.IntegrityError as exc:
        refusal = (refusals or {}).get(str(exc))
        if refusal is None:
            raise
        raise refusal() from None


class _Db:
    """One SQLite file: a connection, a lock and translated transactions."""

    def __init__(
        self,
        path: Path,
        *,
        schema: str,
        version: int,
        read_only: bool,
        max_size_bytes: int | None,
        upgrades: Mapping[int, str] | None = None,
        wal_autocheckpoint: int | None = None,
        readable_from: int = 1,
    ) -> None:
        self.path = path
        self.read_only = read_only
        self.lock = threading.RLock()
        self.batching = 0  # > 0 inside SqliteStore.batch: writes join its transaction
        self.commits = 0  # write transactions since the last checkpoint
        if not read_only:
            create_private_file(path)
        elif not path.exists():
            raise StoreError(f"there is no store at {path}")
        try:
            self.conn = self.connect()
            if not read_only:
                mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StoreError(f"the store at {path} cannot use write-ahead logging")
                if wal_autocheckpoint is not None:
                    self.conn.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
            if max_size_bytes is not None:
                page = int(self.conn.execute("PRAGMA page_size").fetchone()[0])
                self.conn.execute(f"PRAGMA max_page_count={max(1, max_size_bytes // page)}")
            current = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
            if current > version:
                raise StoreError(
                    f"the store at {path} was written by a newer pos-client (schema {current})"
                )
            if current < version:
                if read_only:
                    if current == 0:
                        raise StoreError(f"the store at {path} is not set up")
                    if current < readable_from:
                        raise StoreError(
                            f"the store at {path} was written by an older pos-client"
                            f" (schema {current}); start pos-client on this lane once"
                            " to bring it up to date"
                        )
                    # A schema this version still reads is read as it is (upgraded on write).
                else:
                    self._migrate(current, schema, version, upgrades or {})
        except sqlite3.Error as exc:
            raise _translate(exc, path) from None
        for suffix in ("-wal", "-shm"):
            extra = Path(f"{path}{suffix}")
            try:
                if extra.exists() and extra.stat().st_mode & 0o077:
                    os.chmod(extra, 0o600)
            except OSError:
                pass

    def connect(self) -> sqlite3.Connection:
        """A new connection to this file, set up as every connection here is."""
        if self.read_only:
            uri = f"file:{self.path.resolve().as_posix()}?mode=ro"
            conn = sqlite3.connect(
                uri, uri=True, isolation_level=None, check_same_thread=False, timeout=10.0
            )
        else:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @contextmanager
    def write_elsewhere(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on its own connection (long loads: readers go on meanwhile)."""
        try:
            conn = self.connect()
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from None
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise _translate(exc, self.path) from None
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from None
        finally:
            conn.close()

    def _migrate(
        self, current: int, schema: str, version: int, upgrades: Mapping[int, str]
    ) -> None:
        # Version 1 is ``schema``; each later version adds its step, each in one transaction.
        # Foreign keys are off while a step rebuilds tables (SQLite's own procedure) and
        # checked whole before the step commits.
        steps = {1: schema, **upgrades}
        self.conn.execute("PRAGMA foreign_keys=OFF")
        try:
            for target in range(current + 1, version + 1):
                try:
                    self.conn.executescript(
                        "BEGIN IMMEDIATE;" + steps[target] + f"PRAGMA user_version={target};"
                    )
                    broken = self.conn.execute("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StoreError(
                            f"the store at {self.path} could not be brought up to date:"
                            f" {len(broken)} rows lost their redemption (nothing was changed)"
                        )
                    self.conn.execute("COMMIT")
                except BaseException:
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                    raise
        finally:
            self.conn.execute("PRAGMA foreign_keys=ON")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            if self.batching:
                # Inside a batch: a savepoint keeps this write all-or-nothing on its own;
                # the batch's transaction commits it.
                yield from self._savepoint()
                return
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from None
            try:
                yield self.conn
                self.conn.execute("COMMIT")
                self.commits += 1
            except sqlite3.Error as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise _translate(exc, self.path) from None
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    def write_one(
        self,
        sql: str,
        args: Sequence[Any],
        *,
        refusals: Mapping[str, Callable[[], Exception]] | None = None,
    ) -> None:
        """One statement as a transaction of its own (SQLite's autocommit): all of it, or none.

        What :meth:`write` does for one statement, without the two statements
        that open and close a transaction around it (inside a batch: a write
        of the batch's transaction, as with :meth:`write`). ``refusals`` maps
        the message of a constraint the statement broke to the error to raise.
        """
        with self.lock:
            if self.batching:
                with self.write() as conn:
                    _execute(conn, sql, args, refusals)
                return
            try:
                _execute(self.conn, sql, args, refusals)
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from None
            self.commits += 1

    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        try:
            self.conn.execute("SAVEPOINT one_write")
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from None
        try:
            yield self.conn
            self.conn.execute("RELEASE one_write")
        except sqlite3.Error as exc:
            self.conn.execute("ROLLBACK TO one_write")
            self.conn.execute("RELEASE one_write")
            raise _translate(exc, self.path) from None
        except BaseException:
            self.conn.execute("ROLLBACK TO one_write")
            self.conn.execute("RELEASE one_write")
            raise

    def checkpoint(
        self, *, min_commits: int, restart: tuple[str, Sequence[Any]] | None = None
    ) -> bool:
        """Copy the WAL into the file (PASSIVE) after ``min_commits`` commits; never raises.

        With ``restart`` (a small write), once the whole WAL was copied, that
        write starts the WAL afresh now, paying the sync of its new header here
        rather than in the next caller's commit.
        """
        if self.read_only:
            return False
        with self.lock:
            if self.conn.in_transaction or self.commits < min_commits:
                return False
            try:
                busy, frames, copied = self.conn.execute(
                    "PRAGMA wal_checkpoint(PASSIVE)"
                ).fetchone()
                if restart is not None and not busy and frames > 0 and copied == frames:
                    self.conn.execute(*restart)
            except sqlite3.Error as exc:
                log.warning("checkpoint of %s skipped: %s", self.path, exc)
                return False
            self.commits = 0
        return True

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            try:
                yield self.conn
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from None

    def close(self) -> None:
        with self.lock:
            self.conn.close()


_JOURNAL_COLUMNS = (
    "seq, id, created_at, business_date, identity_kind, mode, offline, body,"
    " basket, total_rial, covered_rial, payable_rial, status, reason, answer,"
    " ledger_covered_rial, declined_rial, receipt_code, seen, nid_hash, nid_masked,"
    " beneficiary_ref, display_name, token_jti, updated_at, intent"
)
_JOURNAL_FROM = " FROM journal"
_INSERT_SALE = (
    "INSERT INTO journal(id, created_at, written_at, business_date, identity_kind, nid_hash,"
    " nid_masked, beneficiary_ref, display_name, token_jti, mode, body, basket, total_rial,"
    " covered_rial, payable_rial, status, updated_at, intent, enqueued_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# A token id already in used_tokens (the journal_on_insert trigger's INSERT refused).
_SALE_REFUSALS: Mapping[str, Callable[[], Exception]] = {
    "UNIQUE constraint failed: used_tokens.jti": lambda: TokenError(
        "token_used", "this token was already used on this terminal"
    )
}
# Where the open rows (unseen, or in the outbox) are: from the open mark on (see the
# module docstring). A range of the table's own key: no index written per sale.
_OPEN = "seq >= (SELECT open_from FROM journal_marks WHERE id = 1)"
# Into the outbox with ``intent`` (first enqueued when it first came in), due at once.
_ENQUEUE = (
    "UPDATE journal SET intent = ?, enqueued_at = COALESCE(enqueued_at, ?),"
    " next_attempt_at = NULL WHERE id = ?"
)
# Out of the outbox, forgetting its attempts (as a row deleted from a queue would).
_LEAVE_OUTBOX = (
    "intent = NULL, enqueued_at = NULL, attempts = 0, sent = 0, next_attempt_at = NULL,"
    " last_error = NULL"
)


def _entry(row: Sequence[Any]) -> JournalEntry:
    answer = row[14]
    return JournalEntry(
        seq=int(row[0]),
        id=row[1],
        created_at=datetime.fromisoformat(row[2]),
        business_date=date.fromisoformat(row[3]),
        identity_kind=row[4],
        mode=row[5],
        offline=bool(row[6]),
        body=bytes(row[7]),
        basket=row[8],
        total_rial=int(row[9]),
        covered_rial=int(row[10]),
        payable_rial=int(row[11]),
        status=RedemptionStatus(row[12]),
        reason=row[13],
        answer=None if answer is None else str(answer).encode("utf-8"),
        ledger_covered_rial=row[15],
        declined_rial=row[16],
        receipt_code=row[17],
        seen=bool(row[18]),
        nid_hash=row[19],
        nid_masked=row[20],
        beneficiary_ref=row[21],
        display_name=row[22],
        token_jti=row[23],
        updated_at=_time(row[24]),
        intent=row[25],
    )


class SqliteStore:
    """The lane store (see the module docstring). Thread-safe; calls are short."""

    def __init__(self, main: _Db, catalog: _Db, *, catalog_path: Path) -> None:
        self._db = main
        self._cat = catalog
        self.path = main.path
        self.catalog_path = catalog_path

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        max_size_bytes: int | None = None,
    ) -> SqliteStore:
        """Open (creating if need be) the store at ``path`` and its catalog file beside it.

        ``read_only`` opens existing files without writing; ``max_size_bytes``
        caps the lane store's size (it then behaves as a full disk would).
        """
        main_path = Path(path)
        catalog_path = main_path.with_name(main_path.stem + ".catalog.sqlite")
        main = _Db(
            main_path,
            schema=_SCHEMA_V1,
            version=SCHEMA_VERSION,
            upgrades={2: _SCHEMA_V2, 3: _SCHEMA_V3},
            readable_from=READABLE_FROM,
            read_only=read_only,
            max_size_bytes=max_size_bytes,
            wal_autocheckpoint=LANE_WAL_AUTOCHECKPOINT,
        )
        try:
            catalog = _Db(
                catalog_path,
                schema=_CATALOG_SCHEMA_V1,
                version=CATALOG_SCHEMA_VERSION,
                read_only=read_only and catalog_path.exists(),
                max_size_bytes=None,
            )
        except BaseException:
            main.close()
            raise
        store = cls(main, catalog, catalog_path=catalog_path)
        store.raise_open_mark()  # a lane that only runs one command at a time keeps it close too
        return store

    def close(self) -> None:
        self._db.close()
        self._cat.close()

    def __enter__(self) -> SqliteStore:
        return self

    @contextmanager
    def batch(self) -> Iterator[None]:
        """The writes made inside the block as one transaction: one commit for all, or none.

        Each write inside stays all-or-nothing on its own (a savepoint); an
        exception out of the block rolls every one of them back. The block holds
        the store's lock: keep it short and never ``await`` inside it.
        """
        with self._db.write():
            self._db.batching += 1
            try:
                yield
            finally:
                self._db.batching -= 1

    def checkpoint(self) -> bool:
        """Checkpoint the lane store's WAL when the lane is idle (see the module docstring).

        ``PRAGMA wal_checkpoint(PASSIVE)``: it copies what no reader needs and
        waits for no one. It runs only once :data:`CHECKPOINT_AFTER_COMMITS`
        commits have gone by since the last one: the first commit after a
        checkpoint starts the WAL afresh and pays an extra fsync of its header,
        so checkpointing after every sale would slow every sale; and once the
        whole WAL was copied, a one-row write here starts it afresh, so that
        extra sync is paid now, while the lane is idle, not by the next sale.
        Housekeeping only: it never raises; returns whether it ran. Raises the
        open mark first, if it fell behind (:meth:`raise_open_mark`).
        """
        self.raise_open_mark()
        restart = (
            "INSERT INTO meta(key, value) VALUES ('wal_restarted_at', ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (_utc(datetime.now(UTC)),),
        )
        return self._db.checkpoint(min_commits=CHECKPOINT_AFTER_COMMITS, restart=restart)

    def raise_open_mark(self, *, slack: int = OPEN_MARK_SLACK) -> bool:
        """Move the open mark up to the oldest open row, once it is ``slack`` rows behind the last.

        Housekeeping (from :meth:`checkpoint` and when the store opens to
        write): it never raises, and does nothing read-only or inside a
        transaction; returns whether the mark moved. The mark only ever rises
        to a row that is open (or past the last row); the triggers lower it.
        """
        db = self._db
        if db.read_only:
            return False
        with db.lock:
            if db.conn.in_transaction:
                return False
            try:
                if self._open_distance(db.conn) < slack:
                    return False
                with db.write() as conn:
                    row = conn.execute("SELECT open_from FROM journal_marks WHERE id = 1")
                    mark = int(row.fetchone()[0])
                    oldest, last = conn.execute(
                        "SELECT MIN(seq) FILTER (WHERE seen = 0 OR intent IS NOT NULL),"
                        " MAX(seq) FROM journal WHERE seq >= ?",
                        (mark,),
                    ).fetchone()
                    target = oldest if oldest is not None else (last or mark - 1) + 1
                    if target <= mark:
                        return False
                    conn.execute("UPDATE journal_marks SET open_from = ? WHERE id = 1", (target,))
            except (sqlite3.Error, StoreError) as exc:
                log.warning("the open mark of %s was left as it was: %s", self.path, exc)
                return False
        return True

    @staticmethod
    def _open_distance(conn: sqlite3.Connection) -> int:
        """How many rows were written from the open mark on (a bound on what queries scan)."""
        row = conn.execute(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM journal) - open_from + 1"
            " FROM journal_marks WHERE id = 1"
        ).fetchone()
        return int(row[0])

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ meta

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
        return _time(self.get_meta("last_contact"))

    def record_contact(self, at: datetime) -> None:
        self.set_meta("last_contact", _utc(at))

    # ------------------------------------------------------------------ journal and outbox

    def record_new_redemption(self, new: NewRedemption, *, at: datetime) -> None:
        """Write a redemption to the journal and the outbox in one transaction (before sending).

        A token id already used on this terminal is refused (``TokenError``).
        """
        now = _utc(at)
        row = (
            new.id,
            now if new.created_at is at else _utc(new.created_at),
            now,
            new.business_date.isoformat(),
            new.identity_kind,
            new.nid_hash,
            new.nid_masked,
            new.beneficiary_ref,
            new.display_name,
            new.token_jti,
            new.mode,
            new.body,
            new.basket,
            new.total_rial,
            new.covered_rial,
            new.payable_rial,
            RedemptionStatus.PENDING.value,
            now,
            new.intent,
            now,
        )
        # One statement, one transaction: the row and what its triggers keep (the
        # token's single use, the open mark, the day's first row).
        self._db.write_one(_INSERT_SALE, row, refusals=_SALE_REFUSALS)

    def redemption(self, redemption_id: str) -> JournalEntry | None:
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {_JOURNAL_COLUMNS}{_JOURNAL_FROM} WHERE id = ?",
                (redemption_id,),
            ).fetchone()
        return None if row is None else _entry(row)

    def journal(self, *, since_seq: int = 0) -> Iterator[JournalEntry]:
        """Every redemption in the order written (read in pages, not all at once)."""
        last = since_seq
        while True:
            with self._db.read() as conn:
                rows = conn.execute(
                    f"SELECT {_JOURNAL_COLUMNS}{_JOURNAL_FROM} WHERE seq > ?"
                    " ORDER BY seq LIMIT 500",
                    (last,),
                ).fetchall()
            if not rows:
                return
            for row in rows:
                yield _entry(row)
            last = int(rows[-1][0])

    def journal_on(self, business_date: date) -> list[JournalEntry]:
        """The redemptions made on ``business_date`` (the terminal's), in the order written."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_JOURNAL_COLUMNS}{_JOURNAL_FROM} WHERE seq >="
                " (SELECT first_seq FROM journal_days WHERE business_date = ?1)"
                " AND business_date = ?1 ORDER BY seq",
                (business_date.isoformat(),),
            ).fetchall()
        return [_entry(r) for r in rows]

    def last_sale(self) -> JournalEntry | None:
        """The most recent redemption that went ahead (or is on its way to)."""
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {_JOURNAL_COLUMNS}{_JOURNAL_FROM}"
                " WHERE status IN ('approved', 'partially_approved', 'approved_offline')"
                " ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        return None if row is None else _entry(row)

    def history(self, redemption_id: str) -> list[tuple[datetime, str, str]]:
        """What happened to a redemption, oldest first: written (pending), then each change."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT at, status, note FROM ("
                " SELECT 0 AS seq, written_at AS at, 'pending' AS status, 'written' AS note"
                " FROM journal WHERE id = ?1"
                " UNION ALL SELECT seq, at, status, note FROM journal_events"
                " WHERE redemption_id = ?1) ORDER BY seq",
                (redemption_id,),
            ).fetchall()
        return [(datetime.fromisoformat(r[0]), r[1], r[2]) for r in rows]

    def outbox(
        self, *, intents: Iterable[Intent] | None = None, due_at: datetime | None = None
    ) -> list[OutboxItem]:
        """Outbox items in the order written; only ``intents`` and, with ``due_at``, those due."""
        sql = (
            "SELECT id, intent, status, body, attempts, sent, enqueued_at, next_attempt_at,"
            " last_error, offline, covered_rial FROM journal"
        )
        args: list[Any] = []
        where = [_OPEN, "intent IS NOT NULL"]
        if intents is not None:
            wanted = list(intents)
            where.append(f"intent IN ({','.join('?' * len(wanted))})")
            args.extend(wanted)
        if due_at is not None:
            where.append("(next_attempt_at IS NULL OR next_attempt_at <= ?)")
            args.append(_utc(due_at))
        sql += " WHERE " + " AND ".join(where) + " ORDER BY seq"
        with self._db.read() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [
            OutboxItem(
                redemption_id=r[0],
                intent=r[1],
                status=RedemptionStatus(r[2]),
                body=bytes(r[3]),
                attempts=int(r[4]),
                sent=bool(r[5]),
                enqueued_at=datetime.fromisoformat(r[6]),
                next_attempt_at=_time(r[7]),
                last_error=r[8],
                offline=bool(r[9]),
                covered_rial=int(r[10]),
            )
            for r in rows
        ]

    def _current(self, conn: sqlite3.Connection, redemption_id: str) -> RedemptionStatus:
        row = conn.execute("SELECT status FROM journal WHERE id = ?", (redemption_id,)).fetchone()
        if row is None:
            raise StoreError(f"no redemption {redemption_id} in the journal")
        return RedemptionStatus(row[0])

    def _event(
        self, conn: sqlite3.Connection, redemption_id: str, at: str, status: str, note: str
    ) -> None:
        conn.execute(
            "INSERT INTO journal_events(redemption_id, at, status, note) VALUES (?, ?, ?, ?)",
            (redemption_id, at, status, note),
        )

    def set_status(
        self,
        redemption_id: str,
        status: RedemptionStatus,
        *,
        at: datetime,
        note: str = "",
        reason: str | None = None,
        answer: RedemptionAnswer | None = None,
        leave_outbox: bool = False,
        intent: Intent | None = None,
        problem: tuple[str, int, str] | None = None,
        release_token: bool = False,
    ) -> JournalEntry:
        """Move a redemption to ``status`` (checked against the state machine), in one transaction.

        With ``answer`` the ledger's answer is kept; ``leave_outbox`` takes it out
        of the outbox (only with a final answer); ``intent`` changes what the
        outbox owes; ``problem`` = ``(kind, collect_rial, detail)`` adds a problem
        for a person; ``release_token`` forgets the token id (a decline used none).
        """
        now = _utc(at)
        with self._db.write() as conn:
            current = self._current(conn, redemption_id)
            if status != current:
                transition(current, status)
            sets = ["status = ?", "updated_at = ?"]
            args: list[Any] = [status.value, now]
            if reason is not None:
                sets.append("reason = ?")
                args.append(reason)
            if answer is not None:
                sets += ["answer = ?", "ledger_covered_rial = ?", "declined_rial = ?"]
                args += [answer_to_json(answer), answer.covered_rial, answer.declined_rial]
                if answer.receipt_code:
                    sets.append("receipt_code = ?")
                    args.append(answer.receipt_code)
                if answer.reason and reason is None:
                    sets.append("reason = ?")
                    args.append(answer.reason)
            if leave_outbox:
                sets.append(_LEAVE_OUTBOX)
            elif intent is not None:
                sets.append("intent = ?, enqueued_at = COALESCE(enqueued_at, ?)")
                sets.append("next_attempt_at = NULL")
                args += [intent, now]
            conn.execute(
                f"UPDATE journal SET {', '.join(sets)} WHERE id = ?",
                (*args, redemption_id),
            )
            self._event(conn, redemption_id, now, status.value, note or (reason or ""))
            if problem is not None:
                self._add_problem(conn, redemption_id, problem[0], now, problem[1], problem[2])
            if release_token:
                conn.execute(
                    "DELETE FROM used_tokens WHERE redemption_id = ?1"
                    " AND jti = (SELECT token_jti FROM journal WHERE id = ?1)",
                    (redemption_id,),
                )
            row = conn.execute(
                f"SELECT {_JOURNAL_COLUMNS}{_JOURNAL_FROM} WHERE id = ?",
                (redemption_id,),
            ).fetchone()
        return _entry(row)

    def approve_offline(
        self,
        redemption_id: str,
        *,
        at: datetime,
        body: bytes | None,
        nid_hash: str | None,
        by_program: Mapping[str, int],
        business_date: date,
        note: str = "",
    ) -> JournalEntry:
        """Record the terminal's own approval: status, body (if made offline), totals, outbox."""
        now = _utc(at)
        with self._db.write() as conn:
            current = self._current(conn, redemption_id)
            transition(current, RedemptionStatus.APPROVED_OFFLINE)
            if body is not None:
                conn.execute(
                    "UPDATE journal SET body = ?, mode = 'offline' WHERE id = ?",
                    (body, redemption_id),
                )
            conn.execute(
                "UPDATE journal SET status = ?, offline = 1, updated_at = ? WHERE id = ?",
                (RedemptionStatus.APPROVED_OFFLINE.value, now, redemption_id),
            )
            self._event(conn, redemption_id, now, RedemptionStatus.APPROVED_OFFLINE.value, note)
            conn.execute(_ENQUEUE, ("deliver", now, redemption_id))
            if nid_hash is not None:
                for program, amount in by_program.items():
                    conn.execute(
                        "INSERT INTO offline_totals(business_date, nid_hash, program, covered_rial)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT(business_date, nid_hash, program)"
                        " DO UPDATE SET covered_rial = covered_rial + excluded.covered_rial",
                        (business_date.isoformat(), nid_hash, program, amount),
                    )
            row = conn.execute(
                f"SELECT {_JOURNAL_COLUMNS}{_JOURNAL_FROM} WHERE id = ?",
                (redemption_id,),
            ).fetchone()
        return _entry(row)

    def replace_body(self, redemption_id: str, body: bytes, *, mode: str, at: datetime) -> None:
        """Replace a stored body (only for one the ledger surely never received)."""
        with self._db.write() as conn:
            conn.execute(
                "UPDATE journal SET body = ?, mode = ?, updated_at = ? WHERE id = ?",
                (body, mode, _utc(at), redemption_id),
            )
            self._event(
                conn,
                redemption_id,
                _utc(at),
                self._current(conn, redemption_id).value,
                f"body made {mode}",
            )

    def set_intent(self, redemption_id: str, intent: Intent, *, at: datetime, note: str) -> None:
        now = _utc(at)
        with self._db.write() as conn:
            status = self._current(conn, redemption_id)
            conn.execute(_ENQUEUE, (intent, now, redemption_id))
            self._event(conn, redemption_id, now, status.value, note or f"outbox: {intent}")

    def mark_sent(self, redemption_ids: Sequence[str], *, at: datetime) -> None:
        """Note, before sending, that these may reach the ledger (resolve by id after a crash)."""
        with self._db.write() as conn:
            conn.executemany(
                "UPDATE journal SET sent = 1, attempts = attempts + 1"
                " WHERE id = ? AND intent IS NOT NULL",
                [(i,) for i in redemption_ids],
            )

    def mark_not_received(self, redemption_id: str) -> None:
        """The ledger said it never got it (404): it may be sent again."""
        with self._db.write() as conn:
            conn.execute(
                "UPDATE journal SET sent = 0 WHERE id = ? AND intent IS NOT NULL", (redemption_id,)
            )

    def schedule_retry(
        self, redemption_ids: Sequence[str], *, next_attempt_at: datetime | None, error: str
    ) -> None:
        when = None if next_attempt_at is None else _utc(next_attempt_at)
        with self._db.write() as conn:
            conn.executemany(
                "UPDATE journal SET next_attempt_at = ?, last_error = ?"
                " WHERE id = ? AND intent IS NOT NULL",
                [(when, error[:500], i) for i in redemption_ids],
            )

    def mark_seen(self, redemption_id: str) -> None:
        with self._db.write() as conn:
            conn.execute("UPDATE journal SET seen = 1 WHERE id = ?", (redemption_id,))

    def unseen(self) -> list[JournalEntry]:
        """Redemptions written whose outcome the cashier never saw (after a crash)."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_JOURNAL_COLUMNS}{_JOURNAL_FROM} WHERE {_OPEN} AND seen = 0 ORDER BY seq"
            ).fetchall()
        return [_entry(r) for r in rows]

    def outbox_stats(self) -> dict[str, Any]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT intent, COUNT(*), COALESCE(SUM(covered_rial), 0), MIN(enqueued_at)"
                f" FROM journal WHERE {_OPEN} AND intent IS NOT NULL GROUP BY intent"
            ).fetchall()
        by_intent = {r[0]: {"count": int(r[1]), "covered_rial": int(r[2])} for r in rows}
        oldest = min((r[3] for r in rows), default=None)
        return {
            "count": sum(v["count"] for v in by_intent.values()),
            "by_intent": by_intent,
            "oldest": oldest,
            "outstanding_offline_rial": self.outstanding_offline_rial(),
            "last_contact": self.get_meta("last_contact"),
        }

    # ------------------------------------------------------------------ Z reports

    _Z_COLUMNS = (
        "terminal_id, number, business_date, closed_at, report, status, reconciliation,"
        " reconciled_at, ledger_error"
    )

    @staticmethod
    def _z_record(row: Sequence[Any]) -> ZReportRecord:
        return ZReportRecord(
            terminal_id=row[0],
            number=int(row[1]),
            business_date=date.fromisoformat(row[2]),
            closed_at=datetime.fromisoformat(row[3]),
            report=row[4],
            status=row[5],
            reconciliation=row[6],
            reconciled_at=_time(row[7]),
            ledger_error=row[8],
        )

    def save_z_report(
        self, *, terminal_id: str, business_date: date, at: datetime, report: str
    ) -> tuple[ZReportRecord, bool]:
        """Close ``business_date``: keep its Z report under the terminal's next number.

        One transaction: the number is one more than the terminal's last. If the
        date is already closed, nothing is written and the report kept then is
        returned; the flag says whether this call made it.
        """
        with self._db.write() as conn:
            row = conn.execute(
                f"SELECT {self._Z_COLUMNS} FROM z_reports"
                " WHERE terminal_id = ? AND business_date = ?",
                (terminal_id, business_date.isoformat()),
            ).fetchone()
            if row is not None:
                return self._z_record(row), False
            number = int(
                conn.execute(
                    "SELECT COALESCE(MAX(number), 0) + 1 FROM z_reports WHERE terminal_id = ?",
                    (terminal_id,),
                ).fetchone()[0]
            )
            conn.execute(
                "INSERT INTO z_reports(terminal_id, number, business_date, closed_at, report)"
                " VALUES (?, ?, ?, ?, ?)",
                (terminal_id, number, business_date.isoformat(), _utc(at), report),
            )
            row = conn.execute(
                f"SELECT {self._Z_COLUMNS} FROM z_reports WHERE terminal_id = ? AND number = ?",
                (terminal_id, number),
            ).fetchone()
        return self._z_record(row), True

    def save_z_reconciliation(
        self,
        *,
        terminal_id: str,
        number: int,
        status: str,
        reconciliation: str | None,
        reconciled_at: datetime | None,
        ledger_error: str | None,
    ) -> ZReportRecord:
        """Keep what reconciling Z report ``number`` found (or why it could not be done)."""
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE z_reports SET status = ?, reconciliation = ?, reconciled_at = ?,"
                " ledger_error = ? WHERE terminal_id = ? AND number = ?",
                (
                    status,
                    reconciliation,
                    None if reconciled_at is None else _utc(reconciled_at),
                    ledger_error,
                    terminal_id,
                    number,
                ),
            )
            if cursor.rowcount != 1:
                raise StoreError(f"there is no Z report {number} for terminal {terminal_id}")
            row = conn.execute(
                f"SELECT {self._Z_COLUMNS} FROM z_reports WHERE terminal_id = ? AND number = ?",
                (terminal_id, number),
            ).fetchone()
        return self._z_record(row)

    def z_report(
        self, terminal_id: str, *, number: int | None = None, business_date: date | None = None
    ) -> ZReportRecord | None:
        """The terminal's Z report with that ``number`` or for that ``business_date``."""
        if (number is None) == (business_date is None):
            raise ValueError("a Z report is found by its number or by its business date")
        column, value = (
            ("number", number) if number is not None else ("business_date", str(business_date))
        )
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {self._Z_COLUMNS} FROM z_reports WHERE terminal_id = ? AND {column} = ?",
                (terminal_id, value),
            ).fetchone()
        return None if row is None else self._z_record(row)

    def z_reports(self, terminal_id: str) -> list[ZReportRecord]:
        """The terminal's Z reports, by number."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {self._Z_COLUMNS} FROM z_reports WHERE terminal_id = ? ORDER BY number",
                (terminal_id,),
            ).fetchall()
        return [self._z_record(r) for r in rows]

    # ------------------------------------------------------------------ problems

    def _add_problem(
        self,
        conn: sqlite3.Connection,
        redemption_id: str,
        kind: str,
        at: str,
        collect_rial: int,
        detail: str,
    ) -> None:
        conn.execute(
            "INSERT INTO problems(redemption_id, kind, created_at, collect_rial, detail)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT(redemption_id, kind) DO NOTHING",
            (redemption_id, kind, at, collect_rial, detail),
        )

    def add_problem(
        self, redemption_id: str, kind: str, *, at: datetime, collect_rial: int, detail: str
    ) -> None:
        with self._db.write() as conn:
            self._add_problem(conn, redemption_id, kind, _utc(at), collect_rial, detail)

    def problem_count(self) -> int:
        """How many problems are open (cheaper than ``len(problems())``)."""
        with self._db.read() as conn:
            row = conn.execute("SELECT count(*) FROM problems WHERE resolved_at IS NULL").fetchone()
        return int(row[0])

    def problems(self, *, include_resolved: bool = False) -> list[ProblemRecord]:
        sql = (
            "SELECT seq, redemption_id, kind, created_at, collect_rial, detail, resolved_at"
            " FROM problems"
        )
        if not include_resolved:
            sql += " WHERE resolved_at IS NULL"
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY seq").fetchall()
        return [
            ProblemRecord(
                seq=int(r[0]),
                redemption_id=r[1],
                kind=r[2],
                created_at=datetime.fromisoformat(r[3]),
                collect_rial=int(r[4]),
                detail=r[5],
                resolved_at=_time(r[6]),
            )
            for r in rows
        ]

    def resolve_problem(self, seq: int, *, at: datetime) -> bool:
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE problems SET resolved_at = ? WHERE seq = ? AND resolved_at IS NULL",
                (_utc(at), seq),
            )
            return cursor.rowcount == 1

    # ------------------------------------------------------------------ offline bookkeeping

    def offline_totals(self, *, business_date: date, nid_hash: str) -> dict[str, int]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT program, covered_rial FROM offline_totals"
                " WHERE business_date = ? AND nid_hash = ?",
                (business_date.isoformat(), nid_hash),
            ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def outstanding_offline_rial(self) -> int:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT COALESCE(SUM(covered_rial), 0) FROM journal"
                " WHERE status = 'approved_offline'",
            ).fetchone()
        return int(row[0])

    def token_used(self, jti: str) -> bool:
        with self._db.read() as conn:
            return (
                conn.execute("SELECT 1 FROM used_tokens WHERE jti = ?", (jti,)).fetchone()
                is not None
            )

    def cache_wallet(self, nid_hash: str, wallet_json: str, *, at: datetime) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO wallets(nid_hash, wallet, fetched_at) VALUES (?, ?, ?)"
                " ON CONFLICT(nid_hash) DO UPDATE SET wallet = excluded.wallet,"
                " fetched_at = excluded.fetched_at",
                (nid_hash, wallet_json, _utc(at)),
            )

    def cached_wallet(self, nid_hash: str) -> tuple[str, datetime] | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT wallet, fetched_at FROM wallets WHERE nid_hash = ?", (nid_hash,)
            ).fetchone()
        return None if row is None else (str(row[0]), datetime.fromisoformat(row[1]))

    # ------------------------------------------------------------------ rules and keys

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
                (version, body, signature, etag, _utc(at)),
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
                [(kid, raw, _utc(at)) for kid, raw in keys.items()],
            )

    # ------------------------------------------------------------------ prices

    def price(self, gtin: str) -> int | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT unit_price_rial FROM prices WHERE gtin = ?", (gtin,)
            ).fetchone()
        return None if row is None else int(row[0])

    def import_prices(
        self,
        rows: Iterable[tuple[str, int, str | None]],
        *,
        at: datetime,
    ) -> int:
        """Upsert ``(gtin, unit_price_rial, scale lookup key or None)`` rows in one transaction."""
        now = _utc(at)
        count = 0
        with self._db.write() as conn:
            for gtin, price, lookup in rows:
                conn.execute(
                    "INSERT INTO prices(gtin, unit_price_rial, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT(gtin) DO UPDATE SET unit_price_rial = excluded.unit_price_rial,"
                    " updated_at = excluded.updated_at",
                    (gtin, price, now),
                )
                if lookup:
                    conn.execute(
                        "INSERT INTO scale_items(lookup_key, gtin) VALUES (?, ?)"
                        " ON CONFLICT(lookup_key) DO UPDATE SET gtin = excluded.gtin",
                        (lookup, gtin),
                    )
                count += 1
        return count

    def scale_item(self, lookup_key: str) -> str | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT gtin FROM scale_items WHERE lookup_key = ?", (lookup_key,)
            ).fetchone()
        return None if row is None else str(row[0])

    # ------------------------------------------------------------------ catalog

    def product(self, gtin: str) -> Product | None:
        with self._cat.read() as conn:
            row = conn.execute(
                "SELECT gtin, name_fa, name_en, category, unit, groups, max_unit_price_rial"
                " FROM products WHERE gtin = ?",
                (gtin,),
            ).fetchone()
        if row is None:
            return None
        return Product(
            gtin=row[0],
            name_fa=row[1],
            name_en=row[2],
            category=row[3],
            unit=Unit(row[4]),
            groups=tuple(json.loads(row[5])),
            max_unit_price_rial=row[6],
        )

    def catalog_state(self) -> tuple[str | None, str | None, int]:
        """``(version, etag, product count)`` of the catalog held."""
        with self._cat.read() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            count = int(conn.execute("SELECT COUNT(*) FROM products").fetchone()[0])
        return meta.get("version"), meta.get("etag") or None, count

    def load_catalog(
        self,
        *,
        version: str,
        full: bool,
        products: Iterable[Product],
        etag: str | None,
        progress: Callable[[int], None] | None = None,
        min_keep_fraction: float = 0.5,
    ) -> CatalogLoad:
        """Stream ``products`` into the catalog in ONE transaction (never all in memory).

        Runs on its own connection, so lookups go on (seeing the old catalog)
        while it loads. A full catalog replaces what is held; one that would keep fewer than
        ``min_keep_fraction`` of the rows held is refused (:class:`CatalogRefused`)
        and the last good catalog stays. A delta upserts and deletes. Anything
        raised while reading ``products`` rolls the whole load back.
        """
        upserted = deleted = 0
        with self._cat.write_elsewhere() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            generation = int(meta.get("generation", "0")) + 1
            before = int(conn.execute("SELECT COUNT(*) FROM products").fetchone()[0])
            upserts: list[tuple[Any, ...]] = []
            deletes: list[tuple[str]] = []

            def flush() -> None:
                if upserts:
                    conn.executemany(
                        "INSERT INTO products(gtin, name_fa, name_en, category, unit, groups,"
                        " max_unit_price_rial, generation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT(gtin) DO UPDATE SET name_fa = excluded.name_fa,"
                        " name_en = excluded.name_en, category = excluded.category,"
                        " unit = excluded.unit, groups = excluded.groups,"
                        " max_unit_price_rial = excluded.max_unit_price_rial,"
                        " generation = excluded.generation",
                        upserts,
                    )
                    upserts.clear()
                if deletes:
                    conn.executemany("DELETE FROM products WHERE gtin = ?", deletes)
                    deletes.clear()

            # The same few group lists come back a million times: each is written out once.
            group_texts: dict[tuple[str, ...], str] = {}
            for product in products:
                if product.deleted:
                    if not full:
                        deletes.append((product.gtin,))
                        deleted += 1
                else:
                    groups = group_texts.get(product.groups)
                    if groups is None:
                        groups = json.dumps(list(product.groups))
                        if len(group_texts) < 1000:
                            group_texts[product.groups] = groups
                    upserts.append(
                        (
                            product.gtin,
                            product.name_fa,
                            product.name_en,
                            product.category,
                            product.unit.value,
                            groups,
                            product.max_unit_price_rial,
                            generation,
                        )
                    )
                    upserted += 1
                if len(upserts) + len(deletes) >= _BATCH:
                    flush()
                    if progress is not None:
                        progress(upserted + deleted)
            flush()
            if full:
                kept = int(
                    conn.execute(
                        "SELECT COUNT(*) FROM products WHERE generation = ?", (generation,)
                    ).fetchone()[0]
                )
                if before and kept < before * min_keep_fraction:
                    raise CatalogRefused(
                        f"the new catalog {version} would keep {kept} of {before} products;"
                        " refused, the last good catalog is kept"
                    )
                deleted = int(
                    conn.execute(
                        "DELETE FROM products WHERE generation <> ?", (generation,)
                    ).rowcount
                )
            for key, value in (
                ("version", version),
                ("etag", etag or ""),
                ("generation", str(generation)),
            ):
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES (?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )
            total = int(conn.execute("SELECT COUNT(*) FROM products").fetchone()[0])
        if progress is not None:
            progress(upserted + deleted)
        return CatalogLoad(
            version=version, full=full, upserted=upserted, deleted=deleted, total=total
        )
