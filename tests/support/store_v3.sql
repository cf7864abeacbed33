-- A lane store as the code before schema 4 wrote it (schema 3): bare SHA-256 household
-- hashes and full identities in the bodies. Made once by that code (two sales, one
-- answered, one approved offline, a cached wallet); read by tests/adapters/sqlite/
-- test_store_privacy.py to check the upgrade scrubs and re-keys it.
BEGIN TRANSACTION;
CREATE TABLE "journal" (
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
INSERT INTO "journal" VALUES(1,'done','2026-11-25T09:00:00.000000+00:00','2026-11-25T09:00:00.000000+00:00','2026-11-25','national_id','9973288da2a4d5587c0766872ea37197fd19ded41e8f2d98f2fb7c8cc5b1d160','003*****95',NULL,NULL,NULL,'online',0,1000,1000,0,'approved',NULL,1000,0,NULL,0,'2026-11-25T09:00:00.000000+00:00',NULL,NULL,0,0,NULL,NULL,'{"id":"done","status":"approved","covered_rial":1000,"declined_rial":0,"approved_at":null,"receipt_code":null,"reason":null,"allocations":[],"purses_after":[]}',X'7B226964223A22646F6E65222C227465726D696E616C5F6964223A22542D30303031222C226D6F6465223A226F6E6C696E65222C2262656E6566696369617279223A7B226E6174696F6E616C5F6964223A2230303334353637383935227D2C226F7470223A7B226368616C6C656E67655F6964223A22632D31222C22636F6465223A22343832393133227D2C226C696E6573223A5B7B226774696E223A2236323630303030303030303137222C227175616E746974795F6D696C6C69223A313030307D5D7D','{}');
INSERT INTO "journal" VALUES(2,'owed','2026-11-25T09:00:00.000000+00:00','2026-11-25T09:00:00.000000+00:00','2026-11-25','national_id','48992738cdf1b4f564505598db64aac220e24c1d22af1351387fe32c9fb25261','004*****11',NULL,NULL,NULL,'online',1,1000,1000,0,'approved_offline',NULL,NULL,NULL,NULL,0,'2026-11-25T09:00:00.000000+00:00','deliver','2026-11-25T09:00:00.000000+00:00',0,0,NULL,NULL,NULL,X'7B226964223A226F776564222C227465726D696E616C5F6964223A22542D30303031222C226D6F6465223A226F6E6C696E65222C2262656E6566696369617279223A7B226E6174696F6E616C5F6964223A2230303435363738393131227D2C226F7470223A7B226368616C6C656E67655F6964223A22632D31222C22636F6465223A22373731313030227D2C226C696E6573223A5B7B226774696E223A2236323630303030303030303137222C227175616E746974795F6D696C6C69223A313030307D5D7D','{}');
CREATE TABLE journal_days (
    business_date TEXT PRIMARY KEY,
    first_seq INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO "journal_days" VALUES('2026-11-25',1);
CREATE TABLE "journal_events" (
    seq INTEGER PRIMARY KEY,
    redemption_id TEXT NOT NULL REFERENCES journal(id),
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
INSERT INTO "journal_events" VALUES(1,'done','2026-11-25T09:00:00.000000+00:00','approved','');
INSERT INTO "journal_events" VALUES(2,'owed','2026-11-25T09:00:00.000000+00:00','approved_offline','');
CREATE TABLE journal_marks (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    open_from INTEGER NOT NULL
);
INSERT INTO "journal_marks" VALUES(1,1);
CREATE TABLE learned_keys (
    kid TEXT PRIMARY KEY,
    public_key BLOB NOT NULL,
    learned_at TEXT NOT NULL
);
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE offline_totals (
    business_date TEXT NOT NULL,
    nid_hash TEXT NOT NULL,
    program TEXT NOT NULL,
    covered_rial INTEGER NOT NULL,
    PRIMARY KEY (business_date, nid_hash, program)
);
INSERT INTO "offline_totals" VALUES('2026-11-25','48992738cdf1b4f564505598db64aac220e24c1d22af1351387fe32c9fb25261','kalabarg',1000);
CREATE TABLE prices (
    gtin TEXT PRIMARY KEY,
    unit_price_rial INTEGER NOT NULL CHECK (unit_price_rial >= 0),
    updated_at TEXT NOT NULL
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
CREATE TABLE scale_items (
    lookup_key TEXT PRIMARY KEY,
    gtin TEXT NOT NULL
);
CREATE TABLE "used_tokens" (
    jti TEXT PRIMARY KEY,
    redemption_id TEXT NOT NULL,
    used_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE wallets (
    nid_hash TEXT PRIMARY KEY,
    wallet TEXT NOT NULL,
    fetched_at TEXT NOT NULL
);
INSERT INTO "wallets" VALUES('9973288da2a4d5587c0766872ea37197fd19ded41e8f2d98f2fb7c8cc5b1d160','{"wallet":"a"}','2026-11-25T09:00:00.000000+00:00');
CREATE TABLE z_reports (
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
CREATE TRIGGER journal_open_again AFTER UPDATE OF intent, seen ON journal
WHEN (NEW.intent IS NOT NULL OR NEW.seen = 0)
    AND NEW.seq < (SELECT open_from FROM journal_marks WHERE id = 1)
BEGIN
    UPDATE journal_marks SET open_from = NEW.seq WHERE id = 1;
END;
CREATE INDEX journal_offline ON journal(seq) WHERE status = 'approved_offline';
CREATE TRIGGER journal_on_insert AFTER INSERT ON journal
BEGIN
    INSERT OR IGNORE INTO journal_days (business_date, first_seq)
    VALUES (NEW.business_date, NEW.seq);
    UPDATE journal_marks SET open_from = NEW.seq WHERE id = 1 AND open_from > NEW.seq;
    INSERT INTO used_tokens (jti, redemption_id, used_at)
    SELECT NEW.token_jti, NEW.id, NEW.written_at WHERE NEW.token_jti IS NOT NULL;
END;
CREATE INDEX events_by_redemption ON journal_events(redemption_id);
DELETE FROM "sqlite_sequence";
COMMIT;
PRAGMA user_version=3;
