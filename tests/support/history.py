"""A store with a history: days of realistic final sales, each day closed and reconciled.

Written through the store's own code (not a test module): each sale as the
lane writes it (a bench-world basket and body), answered by the ledger with
allocations and the purses after it, taken out of the outbox, seen by the
cashier; each day closed by a Z report that reconciled (``agreed``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

from pos_client.adapters.store import SqliteStore
from pos_client.bench.world import household_purses, new_redemption
from pos_client.commands.journal import entry_json
from pos_client.domain.redemption import AppliedAllocation, RedemptionAnswer
from pos_client.domain.states import RedemptionStatus
from pos_client.ports import JournalEntry

TERMINAL = "T-0001"


def sell(store: SqliteStore, at: datetime, *, lines: int = 6, final: bool = True) -> str:
    """One sale made at ``at``; ``final``: answered (approved), out of the outbox and seen."""
    new = new_redemption(at, lines=lines)
    store.record_new_redemption(new, at=at)
    if not final:
        return new.id
    basket = json.loads(new.basket)
    allocations = tuple(
        AppliedAllocation(
            line=n,
            purse_id=a["purse_id"],
            amount_rial=a["amount_rial"],
            quantity_milli=a.get("quantity_milli", 0),
        )
        for n, a in enumerate(basket.get("allocations", []))
    )
    answer = RedemptionAnswer(
        id=new.id,
        status="approved",
        covered_rial=new.covered_rial,
        approved_at=at,
        receipt_code=f"R-{new.id[:8]}",
        allocations=allocations,
        purses_after=household_purses(at),
    )
    store.set_status(new.id, RedemptionStatus.APPROVED, at=at, answer=answer, leave_outbox=True)
    store.mark_seen(new.id)
    return new.id


def close_day(store: SqliteStore, day: date, *, status: str = "agreed") -> None:
    """Close ``day`` with a Z report and keep its reconciliation (``status``)."""
    at = datetime.combine(day + timedelta(days=1), time(1), tzinfo=UTC)
    record, _ = store.save_z_report(terminal_id=TERMINAL, business_date=day, at=at, report="{}")
    store.save_z_reconciliation(
        terminal_id=TERMINAL,
        number=record.number,
        status=status,
        reconciliation="{}" if status != "not_reconciled" else None,
        reconciled_at=at if status != "not_reconciled" else None,
        ledger_error=None,
    )


def fill_days(store: SqliteStore, first: date, days: int, *, per_day: int = 2) -> list[str]:
    """``per_day`` final sales on each of ``days`` days from ``first``, each day reconciled."""
    ids = []
    for n in range(days):
        day = first + timedelta(days=n)
        with store.batch():
            for k in range(per_day):
                # 08:00 UTC is 11:30 in Tehran: the sale's business date is ``day``.
                at = datetime.combine(day, time(8, k), tzinfo=UTC)
                ids.append(sell(store, at, lines=3 + (n + k) % 8))
        close_day(store, day)
    return ids


def exported(entries: list[JournalEntry] | object) -> list[str]:
    """Each entry as ``journal export`` serializes it (one JSON text per row)."""
    return [
        json.dumps(entry_json(e), ensure_ascii=False, separators=(",", ":"))
        for e in entries  # type: ignore[attr-defined]
    ]
