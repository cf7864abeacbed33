"""The journal's layout on a real SQLite file: one row per sale, the open mark, days, upgrades."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pos_client.adapters import store as store_module
from pos_client.adapters.store import SCHEMA_VERSION, SqliteStore
from pos_client.domain.errors import TokenError
from pos_client.domain.states import RedemptionStatus as S
from pos_client.errors import StoreError
from tests.support.journal import NOW, answer, new

DAY = date(2026, 11, 25)


def _open_rows(path: Path) -> tuple[list[str], list[str]]:
    """The outbox and the unseen rows found the slow way: every row, no mark."""
    conn = sqlite3.connect(path)
    try:
        outbox = [r[0] for r in conn.execute("SELECT id FROM journal WHERE intent IS NOT NULL")]
        unseen = [r[0] for r in conn.execute("SELECT id FROM journal WHERE seen = 0")]
    finally:
        conn.close()
    return outbox, unseen


def _mark(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT open_from FROM journal_marks").fetchone()[0])
    finally:
        conn.close()


def test_a_sale_is_one_row_and_its_history_starts_with_it(tmp_path: Path) -> None:
    with SqliteStore.open(tmp_path / "lane.sqlite") as s:
        s.record_new_redemption(new("a"), at=NOW)
        s.set_status("a", S.APPROVED, at=NOW + timedelta(seconds=1), answer=answer("a"))
        s.set_status("a", S.APPROVED, at=NOW + timedelta(seconds=2), leave_outbox=True)
        history = s.history("a")
    assert [(h[1], h[2]) for h in history] == [
        ("pending", "written"),
        ("approved", ""),
        ("approved", ""),
    ]
    assert [h[0] for h in history] == [NOW + timedelta(seconds=n) for n in range(3)]
    conn = sqlite3.connect(tmp_path / "lane.sqlite")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    counters = {r[0] for r in conn.execute("SELECT name FROM sqlite_sequence")}
    conn.close()
    assert "outbox" not in tables
    assert not counters & {"journal", "journal_events"}  # no counter page written per sale


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["write", "answer", "seen", "void", "hold", "raise"]),
            st.integers(min_value=0, max_value=30),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_the_open_mark_never_hides_an_open_row(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, int]]
) -> None:
    path = tmp_path_factory.mktemp("mark") / "lane.sqlite"
    written: list[str] = []
    with SqliteStore.open(path) as s:
        for action, n in steps:
            if action == "write" or not written:
                rid = f"r{len(written)}"
                s.record_new_redemption(new(rid), at=NOW)
                written.append(rid)
                continue
            rid = written[n % len(written)]
            entry = s.redemption(rid)
            assert entry is not None
            if action == "answer" and entry.status is S.PENDING:
                s.set_status(rid, S.APPROVED, at=NOW, answer=answer(rid), leave_outbox=True)
            elif action == "seen":
                s.mark_seen(rid)
            elif action == "void":  # an old sale back in the outbox
                s.set_intent(rid, "void", at=NOW, note="void")
            elif action == "hold" and entry.intent is not None:
                s.set_status(rid, entry.status, at=NOW, intent="hold")
            elif action == "raise":
                s.raise_open_mark(slack=n % 3)
            outbox, unseen = _open_rows(path)
            assert [i.redemption_id for i in s.outbox()] == outbox
            assert [e.id for e in s.unseen()] == unseen
            assert s.outbox_stats()["count"] == len(outbox)
        s.raise_open_mark(slack=0)
        outbox, unseen = _open_rows(path)
        assert [i.redemption_id for i in s.outbox()] == outbox
        assert [e.id for e in s.unseen()] == unseen
    # Raised all the way: to the oldest open row, or past the last one.
    expected = min((written.index(rid) + 1 for rid in outbox + unseen), default=len(written) + 1)
    assert _mark(path) == expected


def test_the_mark_rises_when_idle_and_only_as_far_as_the_oldest_open_row(tmp_path: Path) -> None:
    path = tmp_path / "lane.sqlite"
    with SqliteStore.open(path) as s:
        for n in range(5):
            s.record_new_redemption(new(f"r{n}"), at=NOW)
        for n in (0, 1, 3):
            s.set_status(f"r{n}", S.APPROVED, at=NOW, answer=answer(f"r{n}"), leave_outbox=True)
            s.mark_seen(f"r{n}")
        assert s.raise_open_mark() is False  # a few rows behind: left for later
        assert s.raise_open_mark(slack=0) is True
        assert _mark(path) == 3  # r2, the oldest still open
        s.set_intent("r0", "void", at=NOW, note="void")  # an old sale opens again
        assert _mark(path) == 1
        assert [i.redemption_id for i in s.outbox()] == ["r0", "r2", "r4"]
    with SqliteStore.open(path, read_only=True) as reader:
        assert reader.raise_open_mark(slack=0) is False  # a reader never writes


def test_a_day_is_found_whole_when_the_clock_was_set_back(tmp_path: Path) -> None:
    with SqliteStore.open(tmp_path / "lane.sqlite") as s:
        days = [DAY, DAY + timedelta(days=1), DAY, DAY + timedelta(days=1), DAY]
        for n, day in enumerate(days):
            s.record_new_redemption(replace(new(f"r{n}"), business_date=day), at=NOW)
        assert [e.id for e in s.journal_on(DAY)] == ["r0", "r2", "r4"]
        assert [e.id for e in s.journal_on(DAY + timedelta(days=1))] == ["r1", "r3"]
        assert s.journal_on(DAY - timedelta(days=1)) == []


# --------------------------------------------------------------------------- upgrade from 2


def _schema_2_store(path: Path) -> None:
    """A lane store as schema 2 left it: sales in the journal, outbox rows, events."""
    conn = sqlite3.connect(path)
    conn.executescript(store_module._SCHEMA_V1 + store_module._SCHEMA_V2 + "PRAGMA user_version=2;")
    rows = [
        # id, business date, status, seen, offline, outbox (intent, attempts, sent, error)
        ("old", "2026-11-24", "approved", 1, 0, None),
        ("held", "2026-11-24", "pending", 0, 0, ("hold", 0, 0, None)),
        ("owed", "2026-11-25", "approved_offline", 1, 1, ("deliver", 3, 1, "timeout")),
        ("done", "2026-11-25", "approved", 1, 0, None),
    ]
    for n, (rid, day, status, seen, offline, outbox) in enumerate(rows):
        at = (NOW + timedelta(minutes=n)).isoformat()
        conn.execute(
            "INSERT INTO journal(id, created_at, business_date, identity_kind, mode, offline,"
            " body, basket, total_rial, covered_rial, payable_rial, status, seen, updated_at,"
            " receipt_code) VALUES (?, ?, ?, 'token', 'online', ?, ?, '{}', 1010, 1000, 10, ?,"
            " ?, ?, ?)",
            (rid, at, day, offline, b'{"id":"%s"}' % rid.encode(), status, seen, at, "R-" + rid),
        )
        conn.execute(
            "INSERT INTO journal_events(redemption_id, at, status, note)"
            " VALUES (?, ?, 'pending', 'written')",
            (rid, at),
        )
        if status != "pending":
            conn.execute(
                "INSERT INTO journal_events(redemption_id, at, status, note) VALUES (?, ?, ?, 'x')",
                (rid, at, status),
            )
        if outbox is not None:
            intent, attempts, sent, error = outbox
            conn.execute(
                "INSERT INTO outbox(redemption_id, intent, enqueued_at, attempts, sent,"
                " last_error) VALUES (?, ?, ?, ?, ?, ?)",
                (rid, intent, at, attempts, sent, error),
            )
    conn.execute(
        "INSERT INTO used_tokens(jti, redemption_id, used_at) VALUES ('jti-held', 'held', ?)",
        (NOW.isoformat(),),
    )
    conn.commit()
    conn.close()


def test_a_schema_2_store_is_brought_up_to_date_with_nothing_lost(tmp_path: Path) -> None:
    path = tmp_path / "lane.sqlite"
    _schema_2_store(path)
    with pytest.raises(StoreError, match="older pos-client"):
        SqliteStore.open(path, read_only=True)  # a reader leaves it as it is
    with SqliteStore.open(path) as s:
        entries = list(s.journal())
        assert [(e.seq, e.id, e.status.value, e.intent) for e in entries] == [
            (1, "old", "approved", None),
            (2, "held", "pending", "hold"),
            (3, "owed", "approved_offline", "deliver"),
            (4, "done", "approved", None),
        ]
        assert [e.receipt_code for e in entries] == ["R-old", "R-held", "R-owed", "R-done"]
        owed = {i.redemption_id: i for i in s.outbox()}
        assert list(owed) == ["held", "owed"]
        assert (owed["owed"].attempts, owed["owed"].sent, owed["owed"].last_error) == (
            3,
            True,
            "timeout",
        )
        assert owed["owed"].enqueued_at == NOW + timedelta(minutes=2)
        assert [e.id for e in s.unseen()] == ["held"]
        assert s.outstanding_offline_rial() == 1000
        assert [e.id for e in s.journal_on(DAY)] == ["owed", "done"]
        assert [e.id for e in s.journal_on(DAY - timedelta(days=1))] == ["old", "held"]
        assert [(h[1], h[2]) for h in s.history("owed")] == [
            ("pending", "written"),
            ("approved_offline", "x"),
        ]
        assert s.history("owed")[0][0] == NOW + timedelta(minutes=2)
        assert s.token_used("jti-held")  # still refused a second time
        with pytest.raises(TokenError):
            s.record_new_redemption(new("again", jti="jti-held"), at=NOW)
        # New sales go on after the old ones; the forwarder's work goes on as it was.
        s.record_new_redemption(new("after"), at=NOW)
        assert s.redemption("after").seq == 5  # type: ignore[union-attr]
        s.set_status("owed", S.APPROVED, at=NOW, answer=answer("owed"), leave_outbox=True)
        assert [i.redemption_id for i in s.outbox()] == ["held", "after"]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_an_upgrade_that_would_orphan_rows_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "lane.sqlite"
    _schema_2_store(path)
    conn = sqlite3.connect(path)
    conn.execute(  # an event whose sale is not in the journal (foreign keys were off)
        "INSERT INTO journal_events(redemption_id, at, status, note)"
        " VALUES ('ghost', '2026-11-25T09:00:00+00:00', 'approved', 'x')"
    )
    conn.execute(
        "INSERT INTO journal_events(redemption_id, at, status, note)"
        " VALUES ('ghost', '2026-11-25T09:00:00+00:00', 'approved', 'y')"
    )
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="could not be brought up to date"):
        SqliteStore.open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 2
    conn.close()
