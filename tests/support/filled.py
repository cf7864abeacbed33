"""A lane store filled quickly with many final sales, for tests of long journals (no tests here).

The rows go in through the store's own INSERT (its triggers keep each date's
first row, the open mark and the used tokens), all in one transaction, then
take the state a sale has once the ledger answered: approved, out of the
outbox, seen, its body scrubbed of the household's identity. Each row is a
realistic sale of a few lines (the bench's basket and allocation).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pos_client.adapters.sqlite.db import utc
from pos_client.adapters.sqlite.journal import _INSERT_SALE
from pos_client.adapters.sqlite.schema import SCRUB_FUNCTION
from pos_client.adapters.store import SqliteStore
from pos_client.bench.world import new_redemption

FIRST_DAY = date(2026, 1, 1)


def fill_journal(
    path: Path, count: int, *, per_day: int = 100, first_day: date = FIRST_DAY, lines: int = 3
) -> None:
    """Write ``count`` final sales into the lane store at ``path``, ``per_day`` to a business date.

    The business dates run from ``first_day`` on; sale ``n`` is ``S-{n:06d}``.
    """
    start = datetime(first_day.year, first_day.month, first_day.day, 6, 0, tzinfo=UTC)
    sale = new_redemption(start, lines=lines)
    rows = []
    for n in range(count):
        at = start + timedelta(days=n // per_day, seconds=20 * (n % per_day))
        when = utc(at)
        rows.append(
            (
                f"S-{n:06d}",
                when,
                when,
                (first_day + timedelta(days=n // per_day)).isoformat(),
                sale.identity_kind,
                None,
                f"39{n % 10}*****15",
                None,
                None,
                None,
                sale.mode,
                sale.body.replace(sale.id.encode(), f"S-{n:06d}".encode()),
                sale.basket,
                sale.total_rial,
                sale.covered_rial,
                sale.payable_rial,
                "pending",
                when,
                "deliver",
                when,
            )
        )
    with SqliteStore.open(path) as store:
        with store._db.write() as conn:
            conn.executemany(_INSERT_SALE, rows)
            conn.execute(
                "UPDATE journal SET status = 'approved', ledger_covered_rial = covered_rial,"
                " declined_rial = 0, receipt_code = 'R-' || seq, seen = 1, intent = NULL,"
                f" enqueued_at = NULL, body = {SCRUB_FUNCTION}(body)"
            )
        store.raise_open_mark(slack=0)
