"""The lane store's tables as SQL: each schema version's step, in one place.

Version 1 is the first schema; each later version is the step that brings the
version before it up to date (run once, in one transaction, foreign keys
checked before it commits: see :class:`pos_client.adapters.sqlite.db.Db`).
The catalog file has a schema of its own.

Version 4 keeps no identity for good: the lane's secret (``meta``
``household_secret``, made here) keys every household hash
(:func:`~pos_client.domain.privacy.household_key`), and the bodies of rows out
of the outbox lose the household's ID, token or purchase code and its
verification code (:func:`~pos_client.domain.privacy.scrub_identity`). A store
of version 3 kept bare SHA-256 hashes of IDs: they are re-keyed from the hash
itself, so every offline total and cached wallet still counts for its household
and no bare hash is left. The store's id (``meta`` ``store_id``, what the
lane's identity file names: :mod:`pos_client.adapters.sqlite.identity`) is made
here too.

Version 5 finds what a lane looks for often in time proportional to what it
finds, however long the journal: the open rows (in the outbox or unseen) by a
partial index on exactly those rows (``journal_open``), and a business date's
rows by ``journal_runs``, the first seq of each run of rows of one date (a
trigger adds a run when a new row's date differs from the run before it: once
a day, and again when the clock is set back or forward), so a date's rows are
its runs' seq ranges, each ending where the next run begins. A partial index
was measured against a side table kept by triggers (on a store of 50,000 final
sales and one old open row): both find the open rows with no scan, and a
sale's INSERT writes one more page with either (28 KB of WAL, from 24 KB); a
sale's whole round (written, answered, seen) wrote 65 KB with the index and
61 KB with the side table. The index is kept by SQLite itself (no trigger to
get wrong), and the same queries still answer, by a scan, on a store of an
older schema opened read-only.

Version 6 keeps a final row small: a row that leaves the outbox keeps its body
(scrubbed), basket and answer packed (:mod:`.packing`), which an older
pos-client could not read, hence the version. The step itself only notes up to
where rows were written before it (``meta`` ``packed_below``): those rows are
packed a few hundred at a time when the lane is idle
(:meth:`~pos_client.adapters.sqlite.archive.ArchiveTables.pack_old_rows`), not
in one long transaction at start. A new store is made with
``auto_vacuum=INCREMENTAL`` (set before its tables exist), so the space of rows
moved to an archive is given back at idle; an older store is converted once by
a ``VACUUM`` (:meth:`~pos_client.adapters.sqlite.archive.ArchiveTables.give_space_back`).
Imports the standard library, the domain and the sibling ``db`` and ``packing`` modules.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Mapping

from pos_client.adapters.sqlite.db import Step
from pos_client.adapters.sqlite.packing import pack, unpack
from pos_client.domain.privacy import SECRET_BYTES, rekey, scrub_identity

SCHEMA_VERSION = 6
#: The oldest lane store schema a read-only open reads as it is (3 moved the outbox).
READABLE_FROM = 3
#: The lane store's automatic checkpoint threshold in pages: a backstop (see the module docstring).
LANE_WAL_AUTOCHECKPOINT = 10_000
#: Idle checkpoints run once this many commits went by (see SqliteStore.checkpoint).
CHECKPOINT_AFTER_COMMITS = 50
#: The open mark is raised once this many rows were written past it (see raise_open_mark).
OPEN_MARK_SLACK = 200
CATALOG_SCHEMA_VERSION = 1

SCHEMA_V1 = """
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
SCHEMA_V2 = """
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
SCHEMA_V3 = """
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

# Version 5: open rows and a date's rows found in time proportional to themselves, whatever
# the journal's age (see the module docstring).
SCHEMA_V5 = """
CREATE INDEX IF NOT EXISTS journal_open ON journal(seq) WHERE intent IS NOT NULL OR seen = 0;
CREATE TABLE IF NOT EXISTS journal_runs (
    first_seq INTEGER PRIMARY KEY,
    business_date TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_runs_by_date ON journal_runs(business_date);
DELETE FROM journal_runs;
INSERT INTO journal_runs (first_seq, business_date)
SELECT seq, business_date FROM (
    SELECT seq, business_date, LAG(business_date) OVER (ORDER BY seq) AS before FROM journal
) WHERE before IS NULL OR before <> business_date;
DROP TRIGGER IF EXISTS journal_run_on_insert;
CREATE TRIGGER journal_run_on_insert AFTER INSERT ON journal
WHEN NEW.business_date IS NOT (
    SELECT business_date FROM journal_runs WHERE first_seq < NEW.seq
    ORDER BY first_seq DESC LIMIT 1
)
BEGIN
    INSERT INTO journal_runs (first_seq, business_date) VALUES (NEW.seq, NEW.business_date);
END;
"""

CATALOG_SCHEMA_V1 = """
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


#: ``meta`` keys: the store's id, and the lane's secret for household keys (hex).
STORE_ID_KEY = "store_id"
SECRET_KEY = "household_secret"  # noqa: S105 - the meta key, not a secret
#: The SQL function that makes a final row's body: scrubbed and packed (registered on
#: every lane store connection).
SCRUB_FUNCTION = "scrub_identity"
#: The SQL function that packs a final row's basket or answer (see :mod:`.packing`).
PACK_FUNCTION = "pos_pack"
#: ``meta`` key: rows below this seq were written before schema 6 (packed at idle).
PACKED_BELOW_KEY = "packed_below"
#: The lane store's ``auto_vacuum`` (set when the file is made: see the module docstring).
LANE_AUTO_VACUUM = "INCREMENTAL"


def register_functions(conn: sqlite3.Connection) -> None:
    """The lane store's own SQL functions, on ``conn``."""
    conn.create_function(SCRUB_FUNCTION, 1, _final_body, deterministic=True)
    conn.create_function(PACK_FUNCTION, 1, pack, deterministic=True)


def _scrub(body: bytes | str | None) -> bytes | None:
    if body is None:
        return None
    return scrub_identity(body.encode("utf-8") if isinstance(body, str) else bytes(body))


def _final_body(body: bytes | str | None) -> bytes | None:
    return pack(_scrub(unpack(body)))


def upgrade_to_v4(conn: sqlite3.Connection) -> None:
    """Version 4 (see the module docstring), inside the step's transaction."""
    conn.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?), (?, ?)",
        (STORE_ID_KEY, str(uuid.uuid4()), SECRET_KEY, os.urandom(SECRET_BYTES).hex()),
    )
    secret = bytes.fromhex(
        conn.execute("SELECT value FROM meta WHERE key = ?", (SECRET_KEY,)).fetchone()[0]
    )
    conn.create_function(
        "pos_rekey", 1, lambda h: None if h is None else rekey(str(h), secret), deterministic=True
    )
    try:
        conn.execute("UPDATE journal SET nid_hash = pos_rekey(nid_hash) WHERE nid_hash IS NOT NULL")
        conn.execute("UPDATE offline_totals SET nid_hash = pos_rekey(nid_hash)")
        conn.execute("UPDATE wallets SET nid_hash = pos_rekey(nid_hash)")
        conn.create_function("pos_scrub_v4", 1, _scrub, deterministic=True)
        # Out of the outbox: final, never sent again (a void sends only the id).
        conn.execute("UPDATE journal SET body = pos_scrub_v4(body) WHERE intent IS NULL")
    finally:
        conn.create_function("pos_rekey", 1, None)
        conn.create_function("pos_scrub_v4", 1, None)


def upgrade_to_v6(conn: sqlite3.Connection) -> None:
    """Version 6 (see the module docstring), inside the step's transaction."""
    conn.execute(
        "INSERT OR IGNORE INTO meta(key, value)"
        " SELECT ?, CAST(COALESCE(MAX(seq), 0) + 1 AS TEXT) FROM journal",
        (PACKED_BELOW_KEY,),
    )


#: The lane store's steps after version 1 (:data:`SCHEMA_V1`).
LANE_UPGRADES: Mapping[int, Step] = {
    2: SCHEMA_V2,
    3: SCHEMA_V3,
    4: upgrade_to_v4,
    5: SCHEMA_V5,
    6: upgrade_to_v6,
}
