"""The few figures a lane's telemetry reports, read in one short pass (a part of ``SqliteStore``).

Each is one lookup in an index the lane already keeps: the open outbox rows
(``journal_open``), today's rows (``journal_by_date``), the open problems,
the last contact and the catalog's version. Nothing is scanned whole, so the
figures can be read after every sale without the next one waiting.

Imports the standard library, the ports' values and the sibling modules.
"""

from __future__ import annotations

from datetime import date, datetime

from pos_client.adapters.sqlite.db import Db, parse_time
from pos_client.ports import LaneFigures

__all__ = ["LaneFigureTables"]

# Today's rows by their runs' seq ranges (``journal_runs``, as ``journal_on`` reads a date),
# never a scan of the journal.
_SALES_ON = (
    "SELECT COUNT(*) FROM journal_runs r CROSS JOIN journal j"
    " ON j.seq >= r.first_seq AND j.seq < COALESCE("
    " (SELECT n.first_seq FROM journal_runs n WHERE n.first_seq > r.first_seq"
    " ORDER BY n.first_seq LIMIT 1), 9223372036854775807)"
    " WHERE r.business_date = ?1 AND j.business_date = ?1"
    " AND j.status IN ('approved', 'approved_offline', 'partially_approved')"
)


class LaneFigureTables:
    """:meth:`lane_figures` (a part of ``SqliteStore``)."""

    _db: Db
    _cat: Db

    def lane_figures(self, business_date: date) -> LaneFigures:
        with self._db.read() as conn:
            queue = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(covered_rial), 0), MIN(enqueued_at) FROM journal"
                " WHERE (intent IS NOT NULL OR seen = 0) AND intent IS NOT NULL"
            ).fetchone()
            sales = conn.execute(_SALES_ON, (business_date.isoformat(),)).fetchone()
            problems = conn.execute(
                "SELECT COUNT(*) FROM problems WHERE resolved_at IS NULL"
            ).fetchone()
            contact = conn.execute("SELECT value FROM meta WHERE key = 'last_contact'").fetchone()
        with self._cat.read() as conn:
            catalog = conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        oldest: datetime | None = parse_time(queue[2]) if queue[2] else None
        return LaneFigures(
            queue_count=int(queue[0]),
            queue_rial=int(queue[1]),
            oldest_queued_at=oldest,
            sales_today=int(sales[0]),
            problems=int(problems[0]),
            last_contact=parse_time(contact[0]) if contact else None,
            catalog_version=str(catalog[0]) if catalog and catalog[0] else None,
        )
