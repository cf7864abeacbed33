"""The problems list (what a person must look at) and the Z reports that closed business dates.

Imports the standard library, the project's errors and ports, and the sibling ``db`` module.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pos_client.adapters.sqlite.db import Db, parse_time, utc
from pos_client.errors import StoreError
from pos_client.ports import ProblemRecord

__all__ = ["ProblemTables", "ZReportRecord", "add_problem_row"]


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


def add_problem_row(
    conn: sqlite3.Connection,
    redemption_id: str,
    kind: str,
    at: str,
    collect_rial: int,
    detail: str,
) -> None:
    """File a problem inside the caller's transaction (one per redemption and kind)."""
    conn.execute(
        "INSERT INTO problems(redemption_id, kind, created_at, collect_rial, detail)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(redemption_id, kind) DO NOTHING",
        (redemption_id, kind, at, collect_rial, detail),
    )


class ProblemTables:
    """Problems and Z reports (a part of ``SqliteStore``)."""

    _db: Db

    def add_problem(
        self, redemption_id: str, kind: str, *, at: datetime, collect_rial: int, detail: str
    ) -> None:
        with self._db.write() as conn:
            add_problem_row(conn, redemption_id, kind, utc(at), collect_rial, detail)

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
                resolved_at=parse_time(r[6]),
            )
            for r in rows
        ]

    def resolve_problem(self, seq: int, *, at: datetime) -> bool:
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE problems SET resolved_at = ? WHERE seq = ? AND resolved_at IS NULL",
                (utc(at), seq),
            )
            return cursor.rowcount == 1

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
            reconciled_at=parse_time(row[7]),
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
                f"SELECT {self._Z_COLUMNS} FROM z_reports"  # noqa: S608
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
                (terminal_id, number, business_date.isoformat(), utc(at), report),
            )
            row = conn.execute(
                f"SELECT {self._Z_COLUMNS} FROM z_reports"  # noqa: S608
                " WHERE terminal_id = ? AND number = ?",
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
                    None if reconciled_at is None else utc(reconciled_at),
                    ledger_error,
                    terminal_id,
                    number,
                ),
            )
            if cursor.rowcount != 1:
                raise StoreError(f"there is no Z report {number} for terminal {terminal_id}")
            row = conn.execute(
                f"SELECT {self._Z_COLUMNS} FROM z_reports"  # noqa: S608
                " WHERE terminal_id = ? AND number = ?",
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
                f"SELECT {self._Z_COLUMNS} FROM z_reports"  # noqa: S608
                f" WHERE terminal_id = ? AND {column} = ?",
                (terminal_id, value),
            ).fetchone()
        return None if row is None else self._z_record(row)

    def z_reports(self, terminal_id: str) -> list[ZReportRecord]:
        """The terminal's Z reports, by number."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {self._Z_COLUMNS} FROM z_reports"  # noqa: S608
                " WHERE terminal_id = ? ORDER BY number",
                (terminal_id,),
            ).fetchall()
        return [self._z_record(r) for r in rows]
