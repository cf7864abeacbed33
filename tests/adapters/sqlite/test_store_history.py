"""A lane's long history on a real SQLite file: what a scan costs does not grow with it.

Each store holds one sale from its first days left open (pending, unseen,
owed to the ledger: an interrupted sale) and every later sale final, filled
through the store's own SQL (:mod:`pos_client.bench.history_fill`). The work
SQLite does for each query is counted in virtual-machine steps (a progress
handler called every :data:`STEP` steps): the same on a store of 5,000 sales
and one of 50,000, however old the open row. Counts, never timings.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from pos_client.adapters.sqlite.db import Db
from pos_client.adapters.sqlite.schema import LANE_UPGRADES, SCHEMA_V1
from pos_client.adapters.store import SCHEMA_VERSION, SqliteStore
from pos_client.bench.history_fill import FIRST_DAY, Filled, fill
from pos_client.domain.states import RedemptionStatus as S
from pos_client.services.forwarder import OWED_INTENTS
from pos_client.services.reports import ReportService
from tests.support.fakes import StoppedClock
from tests.support.journal import NOW, answer, new

STEP = 100
SMALL, LARGE = 5_000, 50_000
OPEN_AT = 100  # the open sale: in the first day's sales
PAST = FIRST_DAY + timedelta(days=2)  # a past date early in the history


@dataclass
class History:
    store: SqliteStore
    filled: Filled


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, History]]:
    stores: dict[int, History] = {}
    try:
        for size in (SMALL, LARGE):
            store = SqliteStore.open(tmp_path_factory.mktemp(f"h{size}") / "lane.sqlite")
            stores[size] = History(store, fill(store, sales=size, open_at=OPEN_AT))
            store.raise_open_mark(slack=0)  # as far up as it goes: to the open row
        yield stores
    finally:
        for history in stores.values():
            history.store.close()


def _steps(store: SqliteStore, work: Callable[[], Any]) -> int:
    """How many times SQLite's progress handler ran (every STEP steps) while ``work`` ran."""
    count = 0

    def tick() -> int:
        nonlocal count
        count += 1
        return 0

    store._db.conn.set_progress_handler(tick, STEP)
    try:
        work()
    finally:
        store._db.conn.set_progress_handler(None, STEP)
    return count


def _forwarder_pick(h: History) -> object:
    return h.store.outbox(intents=OWED_INTENTS, due_at=datetime.now(UTC))


def _status_bar(h: History) -> object:
    return h.store.outbox_stats(), h.store.unseen(), h.store.outbox(intents=("hold",))


def _checkpoint(h: History) -> object:
    h.store._db.commits = 50  # a checkpoint is due, as after the 50th sale
    return h.store.checkpoint()


def _past_report(h: History) -> object:
    past = PAST
    at = datetime.combine(h.filled.last_day, time(12), tzinfo=UTC)
    reports = ReportService(
        store=h.store,
        ledger=None,  # type: ignore[arg-type]  # an X report asks the ledger nothing
        clock=StoppedClock(at),
        terminal_id="T-0001",
    )
    report = reports.x_report(past)
    assert report.business_date == past
    return report


WORK: dict[str, Callable[[History], object]] = {
    "forwarder pick": _forwarder_pick,
    "status bar": _status_bar,
    "unseen sales": lambda h: h.store.unseen(),
    "outbox list": lambda h: h.store.outbox(),
    "checkpoint": _checkpoint,
    "past-date rows": lambda h: h.store.journal_on(PAST),
    "past-date X report": _past_report,
    "past-date export": lambda h: list(h.store.journal_between(PAST, PAST)),
}


@pytest.mark.parametrize("name", list(WORK))
def test_one_old_open_row_costs_the_same_however_long_the_history(
    histories: dict[int, History], name: str
) -> None:
    work = WORK[name]
    small = _steps(histories[SMALL].store, lambda: work(histories[SMALL]))
    large = _steps(histories[LARGE].store, lambda: work(histories[LARGE]))
    # Ten times the history: about the same work (it was ten times as much).
    assert large <= small * 1.2 + 2, (name, small, large)


def test_the_open_row_and_a_past_date_are_found_all_the_same(
    histories: dict[int, History],
) -> None:
    h = histories[LARGE]
    open_id = h.filled.open_id
    assert [i.redemption_id for i in h.store.outbox()] == [open_id]
    assert [e.id for e in h.store.unseen()] == [open_id]
    assert h.store.outbox_stats()["count"] == 1
    for day in (PAST, h.filled.last_day - timedelta(days=5)):
        rows = h.store.journal_on(day)
        assert len(rows) == 800 and {e.business_date for e in rows} == {day}
    assert [e.seq for e in rows] == sorted(e.seq for e in rows)


def test_the_queries_read_the_open_rows_index_and_the_runs_of_a_date(
    histories: dict[int, History],
) -> None:
    conn = histories[SMALL].store._db.conn

    def plan(sql: str, *args: object) -> str:
        return " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, args))

    from pos_client.adapters.sqlite.journal import _ON_DATE, _OPEN

    assert "journal_open" in plan(f"SELECT id FROM journal WHERE {_OPEN} AND intent IS NOT NULL")
    assert "journal_open" in plan(f"SELECT id FROM journal WHERE {_OPEN} AND seen = 0")
    on_date = plan(_ON_DATE.format(columns="j.id"), "2025-03-22")
    assert "rowid>? AND rowid<?" in on_date  # each run: a bounded range of the key


def test_a_date_set_back_to_again_and_again_is_found_whole(tmp_path: Path) -> None:
    with SqliteStore.open(tmp_path / "lane.sqlite") as s:
        first = new("x").business_date
        days = [0, 0, 1, 1, 0, 2, 0, 0, 1, 2, 2, 0]
        for n, d in enumerate(days):
            s.record_new_redemption(
                replace(new(f"r{n}"), business_date=first + timedelta(days=d)), at=NOW
            )
        for d in (0, 1, 2):
            want = [f"r{n}" for n, day in enumerate(days) if day == d]
            assert [e.id for e in s.journal_on(first + timedelta(days=d))] == want
        assert s.journal_on(first + timedelta(days=3)) == []


# --------------------------------------------------------------------------- upgrade from 4


def _schema_4_store(path: Path) -> None:
    """A lane store as the code of schema 4 left it: its steps, and sales written by its SQL."""
    db = Db(
        path,
        schema=SCHEMA_V1,
        version=4,
        upgrades=LANE_UPGRADES,
        read_only=False,
        max_size_bytes=None,
    )
    try:
        conn = db.conn
        days = ["2026-11-24", "2026-11-25", "2026-11-24", "2026-11-26", "2026-11-26"]
        for n, day in enumerate(days):
            conn.execute(
                "INSERT INTO journal(id, created_at, written_at, business_date, identity_kind,"
                " mode, body, basket, total_rial, covered_rial, payable_rial, status, updated_at,"
                " intent, enqueued_at, seen) VALUES (?, ?, ?, ?, 'token', 'online', ?, '{}',"
                " 1010, 1000, 10, 'pending', ?, 'hold', ?, 0)",
                (
                    f"r{n}",
                    NOW.isoformat(),
                    NOW.isoformat(),
                    day,
                    b"{}",
                    NOW.isoformat(),
                    NOW.isoformat(),
                ),
            )
        # r1 and r3 answered and seen (final); r0 left open, r2 seen but owed, r4 unseen.
        conn.execute(
            "UPDATE journal SET status = 'approved', intent = NULL, enqueued_at = NULL, seen = 1"
            " WHERE id IN ('r1', 'r3')"
        )
        conn.execute("UPDATE journal SET seen = 1 WHERE id = 'r2'")
        conn.execute("UPDATE journal SET intent = NULL, enqueued_at = NULL WHERE id = 'r4'")
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
    finally:
        db.close()


def test_a_schema_4_store_gets_the_open_rows_index_and_the_runs(tmp_path: Path) -> None:
    path = tmp_path / "lane.sqlite"
    _schema_4_store(path)
    with SqliteStore.open(path, read_only=True) as reader:  # read as it is, without the index
        assert [i.redemption_id for i in reader.outbox()] == ["r0", "r2"]
        assert [e.id for e in reader.journal_on(NOW.date() - timedelta(days=1))] == ["r0", "r2"]
    with SqliteStore.open(path) as s:
        assert [i.redemption_id for i in s.outbox()] == ["r0", "r2"]
        assert [e.id for e in s.unseen()] == ["r0", "r4"]
        day = NOW.date()
        assert [e.id for e in s.journal_on(day - timedelta(days=1))] == ["r0", "r2"]
        assert [e.id for e in s.journal_on(day)] == ["r1"]
        assert [e.id for e in s.journal_on(day + timedelta(days=1))] == ["r3", "r4"]
        # A sale after the upgrade, of a date set back: its run is kept by the trigger.
        s.record_new_redemption(replace(new("r5"), business_date=day - timedelta(days=1)), at=NOW)
        assert [e.id for e in s.journal_on(day - timedelta(days=1))] == ["r0", "r2", "r5"]
        s.set_status("r0", S.APPROVED, at=NOW, answer=answer("r0"), leave_outbox=True)
        s.mark_seen("r0")
        assert [i.redemption_id for i in s.outbox()] == ["r2", "r5"]
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "journal_open" in indexes
        runs = conn.execute("SELECT first_seq, business_date FROM journal_runs ORDER BY 1")
        assert runs.fetchall() == [
            (1, "2026-11-24"),
            (2, "2026-11-25"),
            (3, "2026-11-24"),
            (4, "2026-11-26"),
            (6, "2026-11-24"),
        ]
    finally:
        conn.close()
