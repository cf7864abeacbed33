"""A lane store with a long history, filled fast through the store's own SQL.

:func:`fill` writes ``sales`` sales, ``per_day`` a business day, in one
transaction: each row by the INSERT the checkout's
:meth:`~pos_client.adapters.sqlite.journal.JournalTables.record_new_redemption`
runs (so its triggers keep what they keep for a real sale), then given its
final answer by the same column changes
:meth:`~pos_client.adapters.sqlite.journal.JournalTables.set_status` makes
when a sale leaves the outbox (the body scrubbed by the store's own SQL
function), with its history event. Final states as a lane has them: mostly
approved, some partially approved, declined, voided, and approvals made offline
later confirmed. With ``open_at`` the sale of that index is left as an
interrupted sale is: pending, unseen, still owed to the ledger.

Rows are built from a few realistic redemptions (an 8-line basket over six
purses, the ledger's answer with its allocations and purses after), each with
its own id, time, token id and business date. Used by the "history" figure
group and by the tests that count a scan's work on an old store.

Imports the standard library, the domain, the ports, the store adapter and
the benchmark's world.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pos_client.adapters.sqlite.journal import _INSERT_SALE, _LEAVE_OUTBOX, answer_to_json
from pos_client.adapters.sqlite.schema import SCRUB_FUNCTION
from pos_client.adapters.store import SqliteStore
from pos_client.domain.redemption import AppliedAllocation, RedemptionAnswer
from pos_client.ports import NewRedemption

from .world import household_purses, new_redemption

__all__ = ["FIRST_DAY", "Filled", "fill", "final_state"]

#: The first business date of a filled store.
FIRST_DAY = date(2025, 3, 21)
_CHUNK = 5_000
_FINAL = (
    "UPDATE journal SET status = ?, updated_at = ?, reason = ?, answer = ?,"  # noqa: S608
    " ledger_covered_rial = ?, declined_rial = ?, receipt_code = ?, offline = ?, seen = 1,"
    f" {_LEAVE_OUTBOX}, body = {SCRUB_FUNCTION}(body) WHERE id = ?"
)
_EVENT = "INSERT INTO journal_events(redemption_id, at, status, note) VALUES (?, ?, ?, ?)"


@dataclasses.dataclass(frozen=True, slots=True)
class Filled:
    """What :func:`fill` wrote: how many sales, the open one's id, the last business date."""

    sales: int
    open_id: str | None
    last_day: date
    body_bytes: int  # the bare size of one redemption body as sent


def final_state(n: int) -> str:
    """The final status of the ``n``-th sale (a fixed mix, the same for every store size)."""
    k = n % 100
    if k < 2:
        return "declined"
    if k < 6:
        return "partially_approved"
    if k < 7:
        return "voided"
    return "approved"


def _template() -> tuple[NewRedemption, str]:
    now = datetime.combine(FIRST_DAY, time(9), tzinfo=UTC)
    new = new_redemption(now)
    purses = household_purses(now)
    answer = RedemptionAnswer(
        id=new.id,
        status="approved",
        covered_rial=new.covered_rial,
        approved_at=now,
        receipt_code="R-00000000",
        allocations=tuple(
            AppliedAllocation(line=n, purse_id=purses[n % 3].id, amount_rial=100_000)
            for n in range(8)
        ),
        purses_after=purses,
    )
    return new, answer_to_json(answer)


def fill(
    store: SqliteStore,
    *,
    sales: int,
    per_day: int = 800,
    open_at: int | None = None,
    first_day: date = FIRST_DAY,
) -> Filled:
    """Write ``sales`` sales into ``store`` in one transaction (see the module docstring)."""
    new, answer = _template()
    body, basket = new.body, new.basket
    open_id: str | None = None
    last_day = first_day
    with store._db.write() as conn:
        for start in range(0, sales, _CHUNK):
            inserts: list[tuple[Any, ...]] = []
            finals: list[tuple[Any, ...]] = []
            events: list[tuple[Any, ...]] = []
            for n in range(start, min(sales, start + _CHUNK)):
                day = first_day + timedelta(days=n // per_day)
                last_day = day
                at = datetime.combine(day, time(5), tzinfo=UTC) + timedelta(
                    seconds=(n % per_day) * 50
                )
                stamp = at.isoformat(timespec="microseconds")
                rid = str(uuid.UUID(int=(n + 1) << 64 | 0x7000_0000_8000_0000))
                token = n % 3 != 0
                offline = n % 50 == 7
                inserts.append(
                    (
                        rid,
                        stamp,
                        stamp,
                        day.isoformat(),
                        "token" if token else "national_id",
                        new.nid_hash,
                        new.nid_masked,
                        new.beneficiary_ref,
                        new.display_name,
                        str(uuid.UUID(int=n + 1)) if token else None,
                        "offline" if offline else "online",
                        body.replace(new.id.encode(), rid.encode()),
                        basket,
                        new.total_rial,
                        new.covered_rial,
                        new.payable_rial,
                        "pending",
                        stamp,
                        "deliver" if offline else "hold",
                        stamp,
                    )
                )
                if n == open_at:
                    open_id = rid
                    continue
                status = final_state(n)
                later = (at + timedelta(seconds=2)).isoformat(timespec="microseconds")
                declined = status == "declined"
                finals.append(
                    (
                        status,
                        later,
                        "insufficient_balance" if declined else None,
                        None if status == "voided" else answer.replace(new.id, rid),
                        0 if declined else new.covered_rial,
                        new.covered_rial if declined else 0,
                        None if declined else f"R-{n:08d}",
                        1 if offline else 0,
                        rid,
                    )
                )
                events.append((rid, later, status, ""))
            conn.executemany(_INSERT_SALE, inserts)
            conn.executemany(_FINAL, finals)
            conn.executemany(_EVENT, events)
    return Filled(sales=sales, open_id=open_id, last_day=last_day, body_bytes=len(body))
