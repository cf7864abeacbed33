"""The sandbox ledger's books on disk: the schema, and the rows a transaction reads and writes.

:mod:`.books` runs the transactions over these. Imports the standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "Effect",
    "HouseholdRow",
    "OtpRow",
    "PurchaseCodeRow",
    "PurseRow",
    "RedemptionRow",
    "RuleSetRow",
    "TerminalRow",
    "from_utc_text",
    "utc_text",
]

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS terminals (
    id TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    city TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    shop_name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS previous_tokens (
    token_sha256 TEXT PRIMARY KEY,
    terminal_id TEXT NOT NULL REFERENCES terminals(id),
    valid_until TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked_terminals (
    terminal_id TEXT PRIMARY KEY REFERENCES terminals(id),
    revoked_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS households (
    ref TEXT PRIMARY KEY,
    national_id TEXT NOT NULL UNIQUE,
    key TEXT NOT NULL,
    display_name TEXT NOT NULL,
    household_size INTEGER,
    city TEXT,
    blocked INTEGER NOT NULL DEFAULT 0,
    offline_allowance_rial INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS purses (
    id TEXT PRIMARY KEY,
    household_ref TEXT NOT NULL REFERENCES households(ref),
    ord INTEGER NOT NULL,
    doc TEXT NOT NULL,                 -- the purse as on the wire (JSON)
    carry_over_to TEXT,                -- the purse its balance moves into when that one unlocks
    carried_over INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS purses_by_household ON purses(household_ref, ord);
CREATE TABLE IF NOT EXISTS used_tokens (
    jti TEXT PRIMARY KEY,
    household_ref TEXT NOT NULL,
    redemption_id TEXT NOT NULL,
    used_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS purchase_codes (
    code TEXT PRIMARY KEY,
    household_ref TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_by TEXT,
    used_at TEXT
);
CREATE TABLE IF NOT EXISTS otp_challenges (
    id TEXT PRIMARY KEY,
    household_ref TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    code TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used_by TEXT
);
CREATE INDEX IF NOT EXISTS otp_by_household ON otp_challenges(household_ref, created_at);
CREATE TABLE IF NOT EXISTS redemptions (
    id TEXT PRIMARY KEY,
    terminal_id TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    household_ref TEXT,
    recorded_at TEXT NOT NULL,
    business_date TEXT NOT NULL,
    covered_rial INTEGER NOT NULL,
    response BLOB NOT NULL,            -- the stored response, byte for byte
    voided_at TEXT,
    void_response BLOB
);
CREATE INDEX IF NOT EXISTS redemptions_by_day ON redemptions(terminal_id, business_date);
CREATE TABLE IF NOT EXISTS redemption_programs (
    redemption_id TEXT NOT NULL REFERENCES redemptions(id),
    program TEXT NOT NULL,
    covered_rial INTEGER NOT NULL,
    PRIMARY KEY (redemption_id, program)
);
CREATE TABLE IF NOT EXISTS redemption_effects (
    redemption_id TEXT NOT NULL REFERENCES redemptions(id),
    purse_id TEXT NOT NULL,
    field TEXT NOT NULL,               -- balance | limit:<category> | entitlement:<group>
    taken INTEGER NOT NULL             -- how much the redemption took from it
);
CREATE INDEX IF NOT EXISTS effects_by_redemption ON redemption_effects(redemption_id);
CREATE TABLE IF NOT EXISTS offline_approvals (
    redemption_id TEXT NOT NULL REFERENCES redemptions(id),
    terminal_id TEXT NOT NULL,
    household_ref TEXT NOT NULL,
    sale_date TEXT NOT NULL,           -- the business date of the redemption's created_at
    program TEXT NOT NULL,
    approved_rial INTEGER NOT NULL,    -- what the terminal approved offline (as requested)
    PRIMARY KEY (redemption_id, program)
);
CREATE INDEX IF NOT EXISTS offline_approvals_by_day
    ON offline_approvals(terminal_id, household_ref, sale_date, program);
-- What each terminal approved offline per household, day and programme, not voided: kept by
-- the triggers below, so the per-day offline limit is one lookup, however busy the day.
CREATE TABLE IF NOT EXISTS offline_day_totals (
    terminal_id TEXT NOT NULL,
    household_ref TEXT NOT NULL,
    sale_date TEXT NOT NULL,
    program TEXT NOT NULL,
    approved_rial INTEGER NOT NULL,
    PRIMARY KEY (terminal_id, household_ref, sale_date, program)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS offline_day_totals_add AFTER INSERT ON offline_approvals
BEGIN
    INSERT OR IGNORE INTO offline_day_totals
        VALUES (NEW.terminal_id, NEW.household_ref, NEW.sale_date, NEW.program, 0);
    UPDATE offline_day_totals SET approved_rial = approved_rial + NEW.approved_rial
        WHERE terminal_id = NEW.terminal_id AND household_ref = NEW.household_ref
        AND sale_date = NEW.sale_date AND program = NEW.program;
END;
CREATE TRIGGER IF NOT EXISTS offline_day_totals_void AFTER UPDATE OF voided_at ON redemptions
    WHEN OLD.voided_at IS NULL AND NEW.voided_at IS NOT NULL
BEGIN
    UPDATE offline_day_totals SET approved_rial = approved_rial - (
        SELECT o.approved_rial FROM offline_approvals o
        WHERE o.redemption_id = NEW.id AND o.terminal_id = offline_day_totals.terminal_id
        AND o.household_ref = offline_day_totals.household_ref
        AND o.sale_date = offline_day_totals.sale_date AND o.program = offline_day_totals.program)
    WHERE EXISTS (
        SELECT 1 FROM offline_approvals o
        WHERE o.redemption_id = NEW.id AND o.terminal_id = offline_day_totals.terminal_id
        AND o.household_ref = offline_day_totals.household_ref
        AND o.sale_date = offline_day_totals.sale_date AND o.program = offline_day_totals.program);
END;
CREATE TABLE IF NOT EXISTS rule_sets (
    seq INTEGER PRIMARY KEY,
    version TEXT NOT NULL UNIQUE,
    issued_at TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    body BLOB NOT NULL,
    signature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS catalog_versions (
    seq INTEGER PRIMARY KEY,
    version TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS catalog_changes (
    seq INTEGER NOT NULL,
    gtin TEXT NOT NULL,
    doc TEXT NOT NULL,                 -- the product as on the wire (JSON)
    price_rial INTEGER NOT NULL,
    PRIMARY KEY (seq, gtin)
);
CREATE INDEX IF NOT EXISTS catalog_changes_by_gtin ON catalog_changes(gtin, seq);
"""


def utc_text(moment: datetime) -> str:
    """How the books store a time: UTC, ISO 8601, microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_utc_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class TerminalRow:
    id: str
    city: str
    merchant_id: str
    shop_name: str


@dataclass(frozen=True, slots=True)
class HouseholdRow:
    ref: str
    national_id: str
    key: str
    display_name: str
    household_size: int | None
    city: str | None
    blocked: bool
    offline_allowance_rial: int


@dataclass(frozen=True, slots=True)
class PurseRow:
    id: str
    household_ref: str
    ord: int
    doc: dict[str, Any]
    carry_over_to: str | None
    carried_over: bool


@dataclass(frozen=True, slots=True)
class RedemptionRow:
    id: str
    terminal_id: str
    body_sha256: str
    mode: str
    status: str
    household_ref: str | None
    recorded_at: datetime
    business_date: date
    covered_rial: int
    response: bytes
    voided_at: datetime | None
    void_response: bytes | None


@dataclass(frozen=True, slots=True)
class OtpRow:
    id: str
    household_ref: str
    terminal_id: str
    code: str
    created_at: datetime
    expires_at: datetime
    attempts: int
    used_by: str | None


@dataclass(frozen=True, slots=True)
class PurchaseCodeRow:
    code: str
    household_ref: str
    created_at: datetime
    expires_at: datetime
    used_by: str | None


@dataclass(frozen=True, slots=True)
class RuleSetRow:
    seq: int
    version: str
    issued_at: datetime
    valid_until: datetime
    body: bytes
    signature: str


@dataclass(frozen=True, slots=True)
class Effect:
    """What a redemption took from one field of a purse (kept to give it back on a void).

    ``field`` is ``balance``, ``limit:<category>`` or ``entitlement:<group>``.
    """

    purse_id: str
    field: str
    taken: int
