"""The journal and the outbox: one row per sale, the outbox as that row's columns.

One sale, one row: the outbox is the journal row's ``intent`` and delivery
columns (``intent`` NULL: not in the outbox), and the row's ``written_at`` is
its first history event. Writing a sale is one INSERT, and its commit writes
the row's page (and the overflow page of its body and basket, stored last in
the row) and the id index: the pages a bare one-row queue writes. Schema 2's
separate outbox and event rows, AUTOINCREMENT counters and three indexes wrote
three times as many (``pos-client bench`` measures it).

- Open rows (unseen, or in the outbox) are found by the partial index
  ``journal_open`` (schema 5), which holds those rows and no others: every
  query for them names its condition (:data:`_OPEN`), so SQLite reads only the
  open rows, however old the oldest is and however long the journal. (Before
  schema 5 they were found from an open mark, so one row left open for a
  month made every scan run from it to the end of the journal.) The open mark
  (``journal_marks.open_from``, kept by triggers: every open row's seq is at
  or above it) is still kept, and :meth:`JournalTables.raise_open_mark` raises
  it to the oldest open row, found by the same index, when the lane is idle.
- A business date's rows are found from ``journal_runs`` (schema 5): the seq
  of the first row of each run of rows of one date, written by a trigger when
  a new row's date differs from the run before it (once a day; again when the
  clock is set back or forward). A date's rows are the seq ranges of its runs,
  each up to the next run's first row: found whole when the clock was set back,
  without scanning to the end of the journal.
- A row in the outbox keeps its body's exact bytes (the ledger compares a
  resent body byte for byte); the row that leaves the outbox (final) loses
  the household's identity from its body in the same statement
  (:func:`~pos_client.domain.privacy.scrub_identity`). The offline totals per
  household and day are keyed by the lane's keyed hash, never the ID.

Imports the standard library, the domain, the project's errors and ports, and
the sibling modules.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pos_client.adapters.sqlite.db import Db, parse_time, utc
from pos_client.adapters.sqlite.packing import pack, unpack, unpack_text
from pos_client.adapters.sqlite.problems import add_problem_row
from pos_client.adapters.sqlite.schema import OPEN_MARK_SLACK, PACK_FUNCTION, SCRUB_FUNCTION
from pos_client.domain.errors import TokenError
from pos_client.domain.redemption import RedemptionAnswer
from pos_client.domain.states import RedemptionStatus, transition
from pos_client.errors import StoreError
from pos_client.ports import Intent, JournalEntry, NewRedemption, OutboxItem

log = logging.getLogger(__name__)

__all__ = ["JournalTables", "answer_to_json"]


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


_JOURNAL_COLUMNS = (
    "seq, id, created_at, business_date, identity_kind, mode, offline, body,"
    " basket, total_rial, covered_rial, payable_rial, status, reason, answer,"
    " ledger_covered_rial, declined_rial, receipt_code, seen, nid_hash, nid_masked,"
    " beneficiary_ref, display_name, token_jti, updated_at, intent"
)
_JOURNAL_FROM = " FROM journal"
# Rows read at a time by :meth:`JournalTables.journal` (what an export holds at most).
_PAGE = 500
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
# The open rows (unseen, or in the outbox): the condition of the partial index
# journal_open, named as it is there, so SQLite reads that index (see the module docstring).
_OPEN = "(intent IS NOT NULL OR seen = 0)"
# A date's rows: its runs' seq ranges, each up to the next run (see the module docstring).
_ON_DATE = (
    "SELECT {columns} FROM journal_runs r CROSS JOIN journal j"
    " ON j.seq >= r.first_seq AND j.seq < COALESCE("
    " (SELECT n.first_seq FROM journal_runs n WHERE n.first_seq > r.first_seq"
    " ORDER BY n.first_seq LIMIT 1), 9223372036854775807)"
    " WHERE r.business_date = ?1 AND j.business_date = ?1 ORDER BY j.seq"
)
# The runs of a range of dates, each with where the next run (of any date) begins.
_RUNS_BETWEEN = (
    "SELECT r.first_seq, (SELECT n.first_seq FROM journal_runs n WHERE n.first_seq > r.first_seq"
    " ORDER BY n.first_seq LIMIT 1) FROM journal_runs r"
    " WHERE r.business_date BETWEEN ?1 AND ?2 ORDER BY r.first_seq"
)
# Before schema 5 (a store of an older schema opened read-only): from the date's first row on.
_ON_DATE_BEFORE_RUNS = (
    "SELECT {columns} FROM journal WHERE seq >="
    " (SELECT first_seq FROM journal_days WHERE business_date = ?1)"
    " AND business_date = ?1 ORDER BY seq"
)
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
    return JournalEntry(
        seq=int(row[0]),
        id=row[1],
        created_at=datetime.fromisoformat(row[2]),
        business_date=date.fromisoformat(row[3]),
        identity_kind=row[4],
        mode=row[5],
        offline=bool(row[6]),
        body=unpack(row[7]) or b"",
        basket=unpack_text(row[8]) or "",
        total_rial=int(row[9]),
        covered_rial=int(row[10]),
        payable_rial=int(row[11]),
        status=RedemptionStatus(row[12]),
        reason=row[13],
        answer=unpack(row[14]),
        ledger_covered_rial=row[15],
        declined_rial=row[16],
        receipt_code=row[17],
        seen=bool(row[18]),
        nid_hash=row[19],
        nid_masked=row[20],
        beneficiary_ref=row[21],
        display_name=row[22],
        token_jti=row[23],
        updated_at=parse_time(row[24]),
        intent=row[25],
    )


class JournalTables:
    """The journal, the outbox, used token ids and offline totals (a part of ``SqliteStore``)."""

    _db: Db
    path: Path

    def last_seq(self) -> int:
        """The last journal row's seq (0: none yet); rows are never deleted."""
        with self._db.read() as conn:
            row = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()
        return int(row[0])

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
                if self._open_distance(db.conn) < slack or not self._mark_behind(db.conn):
                    return False  # read first: no write transaction when the mark is right
                with db.write() as conn:
                    target = self._mark_behind(conn)
                    if not target:
                        return False
                    conn.execute("UPDATE journal_marks SET open_from = ? WHERE id = 1", (target,))
            except (sqlite3.Error, StoreError) as exc:
                log.warning("the open mark of %s was left as it was: %s", self.path, exc)
                return False
        return True

    @staticmethod
    def _mark_behind(conn: sqlite3.Connection) -> int:
        """Where the open mark should rise to, if it is below the oldest open row (else 0).

        The oldest open row is the first of the open rows' index (one lookup);
        with none open, the mark goes past the last row.
        """
        mark = int(conn.execute("SELECT open_from FROM journal_marks WHERE id = 1").fetchone()[0])
        row = conn.execute(
            f"SELECT seq FROM journal WHERE {_OPEN} ORDER BY seq LIMIT 1"  # noqa: S608
        ).fetchone()
        if row is None:
            row = conn.execute("SELECT COALESCE(MAX(seq), ?) + 1 FROM journal", (mark - 1,))
            row = row.fetchone()
        target = int(row[0])
        return target if target > mark else 0

    @staticmethod
    def _open_distance(conn: sqlite3.Connection) -> int:
        """How many rows were written from the open mark on."""
        row = conn.execute(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM journal) - open_from + 1"
            " FROM journal_marks WHERE id = 1"
        ).fetchone()
        return int(row[0])

    def record_new_redemption(self, new: NewRedemption, *, at: datetime) -> None:
        """Write a redemption to the journal and the outbox in one transaction (before sending).

        A token id already used on this terminal is refused (``TokenError``).
        """
        now = utc(at)
        row = (
            new.id,
            now if new.created_at is at else utc(new.created_at),
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

    def journal(
        self, *, since_seq: int = 0, since: date | None = None, until: date | None = None
    ) -> Iterator[JournalEntry]:
        """Every redemption in the order written (read in pages, not all at once).

        ``since``/``until``: only those of these business dates (inclusive). The
        rows are read by the runs of those dates (``journal_runs``: the seq
        ranges of rows of one date), so nothing of another date is read however
        long the journal, and a row of the range written after the clock was set
        back is still found: it began a run of its own.
        """
        if since is None and until is None:
            yield from self._pages(since_seq + 1, None)
            return
        dates = (
            "0000-01-01" if since is None else since.isoformat(),
            "9999-12-31" if until is None else until.isoformat(),
        )
        for low, high in self._date_ranges(dates):
            yield from self._pages(max(low, since_seq + 1), high, dates)

    def _date_ranges(self, dates: tuple[str, str]) -> list[tuple[int, int | None]]:
        """The seq ranges ``[low, high)`` of the rows of these dates, in order, adjacent ones
        joined (``high`` ``None``: to the end). One row a run: about one a day."""
        with self._db.read() as conn:
            try:
                runs = conn.execute(_RUNS_BETWEEN, dates).fetchall()
            except sqlite3.OperationalError:
                if conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'journal_runs'"
                ).fetchone():
                    raise
                # A store of an older schema opened read-only: from the range's first row on.
                first = conn.execute(
                    "SELECT MIN(first_seq) FROM journal_days WHERE business_date BETWEEN ? AND ?",
                    dates,
                ).fetchone()[0]
                return [] if first is None else [(int(first), None)]
        ranges: list[tuple[int, int | None]] = []
        for low, high in runs:
            if ranges and ranges[-1][1] == low:
                ranges[-1] = (ranges[-1][0], high)
            else:
                ranges.append((int(low), None if high is None else int(high)))
        return ranges

    def _pages(
        self, low: int, high: int | None, dates: tuple[str, str] | None = None
    ) -> Iterator[JournalEntry]:
        """The rows ``low <= seq < high`` (of ``dates``, if given), a page at a time."""
        where = "seq >= :low" + ("" if high is None else " AND seq < :high")
        if dates is not None:
            # ``+``: the pages stay ranges of the table's own key, whatever index a date has.
            where += " AND +business_date BETWEEN :since AND :until"
        sql = f"SELECT {_JOURNAL_COLUMNS}{_JOURNAL_FROM} WHERE {where} ORDER BY seq LIMIT {_PAGE}"
        args: dict[str, object] = {"high": high}
        if dates is not None:
            args.update(since=dates[0], until=dates[1])
        while True:
            args["low"] = low
            with self._db.read() as conn:
                rows = conn.execute(sql, args).fetchall()
            if not rows:
                return
            for row in rows:
                yield _entry(row)
            low = int(rows[-1][0]) + 1

    def journal_on(self, business_date: date) -> list[JournalEntry]:
        """The redemptions made on ``business_date`` (the terminal's), in the order written."""
        columns = ", ".join(f"j.{c.strip()}" for c in _JOURNAL_COLUMNS.split(","))
        day = (business_date.isoformat(),)
        with self._db.read() as conn:
            try:
                rows = conn.execute(_ON_DATE.format(columns=columns), day).fetchall()
            except sqlite3.OperationalError:
                if conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'journal_runs'"
                ).fetchone():
                    raise
                sql = _ON_DATE_BEFORE_RUNS.format(columns=_JOURNAL_COLUMNS)
                rows = conn.execute(sql, day).fetchall()
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
            args.append(utc(due_at))
        sql += " WHERE " + " AND ".join(where) + " ORDER BY seq"
        with self._db.read() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [
            OutboxItem(
                redemption_id=r[0],
                intent=r[1],
                status=RedemptionStatus(r[2]),
                body=unpack(r[3]) or b"",
                attempts=int(r[4]),
                sent=bool(r[5]),
                enqueued_at=datetime.fromisoformat(r[6]),
                next_attempt_at=parse_time(r[7]),
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
        now = utc(at)
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
                kept = answer_to_json(answer)
                args += [pack(kept) if leave_outbox else kept, answer.covered_rial]
                args.append(answer.declined_rial)
                if answer.receipt_code:
                    sets.append("receipt_code = ?")
                    args.append(answer.receipt_code)
                if answer.reason and reason is None:
                    sets.append("reason = ?")
                    args.append(answer.reason)
            if leave_outbox:
                # Final: never sent again, so the body keeps no identity from here on;
                # its documents are kept packed (see .packing).
                sets.append(_LEAVE_OUTBOX)
                sets.append(f"body = {SCRUB_FUNCTION}(body), basket = {PACK_FUNCTION}(basket)")
                if answer is None:
                    sets.append(f"answer = {PACK_FUNCTION}(answer)")
            elif intent is not None:
                sets.append("intent = ?, enqueued_at = COALESCE(enqueued_at, ?)")
                sets.append("next_attempt_at = NULL")
                args += [intent, now]
            conn.execute(
                f"UPDATE journal SET {', '.join(sets)} WHERE id = ?",  # noqa: S608
                (*args, redemption_id),
            )
            self._event(conn, redemption_id, now, status.value, note or (reason or ""))
            if problem is not None:
                add_problem_row(conn, redemption_id, problem[0], now, problem[1], problem[2])
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
        now = utc(at)
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
                (body, mode, utc(at), redemption_id),
            )
            self._event(
                conn,
                redemption_id,
                utc(at),
                self._current(conn, redemption_id).value,
                f"body made {mode}",
            )

    def set_intent(self, redemption_id: str, intent: Intent, *, at: datetime, note: str) -> None:
        now = utc(at)
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
        when = None if next_attempt_at is None else utc(next_attempt_at)
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

    def oldest_open(self) -> JournalEntry | None:
        """The oldest open row (unseen, or in the outbox), if any: one lookup in their index."""
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {_JOURNAL_COLUMNS}{_JOURNAL_FROM} WHERE {_OPEN} ORDER BY seq LIMIT 1"
            ).fetchone()
        return None if row is None else _entry(row)

    def outbox_stats(self) -> dict[str, Any]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT intent, COUNT(*), COALESCE(SUM(covered_rial), 0), MIN(enqueued_at)"  # noqa: S608
                f" FROM journal WHERE {_OPEN} AND intent IS NOT NULL GROUP BY intent"
            ).fetchall()
        by_intent = {r[0]: {"count": int(r[1]), "covered_rial": int(r[2])} for r in rows}
        oldest = min((r[3] for r in rows), default=None)
        return {
            "count": sum(v["count"] for v in by_intent.values()),
            "by_intent": by_intent,
            "oldest": oldest,
            "outstanding_offline_rial": self.outstanding_offline_rial(),
            "last_contact": self._last_contact_text(),
        }

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

    def _last_contact_text(self) -> str | None:
        with self._db.read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'last_contact'").fetchone()
        return None if row is None else str(row[0])
