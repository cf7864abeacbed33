"""The store's batch transaction and idle checkpoint; the forwarder recording a batch at once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pos_client.adapters.store import LANE_WAL_AUTOCHECKPOINT, SqliteStore
from pos_client.domain.errors import TransitionError
from pos_client.domain.redemption import BatchItemResult, ProblemDocument, RedemptionAnswer
from pos_client.domain.states import RedemptionStatus as S
from pos_client.ports import NewRedemption
from pos_client.services.forwarder import Forwarder
from tests.support.fakes import BatchLedger, StoppedClock

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def new(rid: str, *, covered: int = 1000) -> NewRedemption:
    return NewRedemption(
        id=rid,
        created_at=NOW,
        business_date=date(2026, 11, 25),
        identity_kind="token",
        mode="offline",
        body=b'{"id":"%s","mode":"offline"}' % rid.encode(),
        basket='{"lines":[]}',
        total_rial=covered,
        covered_rial=covered,
        payable_rial=0,
        intent="hold",
        nid_hash="h" * 64,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore.open(tmp_path / "lane.sqlite")
    yield s
    s.close()


def _offline(store: SqliteStore, rid: str, covered: int = 1000) -> None:
    store.record_new_redemption(new(rid, covered=covered), at=NOW)
    store.approve_offline(
        rid,
        at=NOW,
        body=None,
        nid_hash="h" * 64,
        by_program={"kalabarg": covered},
        business_date=date(2026, 11, 25),
    )


def _other_reader(store: SqliteStore) -> sqlite3.Connection:
    return sqlite3.connect(store.path)


def test_a_batch_is_one_transaction_seen_whole_or_not_at_all(store: SqliteStore) -> None:
    for rid in ("a", "b"):
        _offline(store, rid)
    reader = _other_reader(store)
    with store.batch():
        store.set_status("a", S.APPROVED, at=NOW, leave_outbox=True)
        store.set_status("b", S.APPROVED, at=NOW, leave_outbox=True)
        assert store.redemption("a").status is S.APPROVED  # type: ignore[union-attr]
        outside = reader.execute(
            "SELECT count(*) FROM journal WHERE intent IS NOT NULL"
        ).fetchone()[0]
        assert outside == 2  # nothing is visible (nor durable) before the batch ends
    assert (
        reader.execute("SELECT count(*) FROM journal WHERE intent IS NOT NULL").fetchone()[0] == 0
    )
    reader.close()


def test_an_exception_out_of_a_batch_rolls_every_write_back(store: SqliteStore) -> None:
    for rid in ("a", "b"):
        _offline(store, rid)
    with pytest.raises(RuntimeError), store.batch():
        store.set_status("a", S.APPROVED, at=NOW, leave_outbox=True)
        raise RuntimeError("boom")
    assert store.redemption("a").status is S.APPROVED_OFFLINE  # type: ignore[union-attr]
    assert len(store.outbox()) == 2
    # The store is usable afterwards, outside any batch.
    store.set_status("b", S.APPROVED, at=NOW, leave_outbox=True)
    assert [i.redemption_id for i in store.outbox()] == ["a"]


def test_a_refused_write_inside_a_batch_leaves_nothing_of_itself(store: SqliteStore) -> None:
    _offline(store, "a")
    _offline(store, "b")
    with store.batch():
        with pytest.raises(TransitionError):
            store.set_status("a", S.PENDING, at=NOW, leave_outbox=True)
        store.set_status("b", S.DECLINED, at=NOW, leave_outbox=True)
    assert store.redemption("a").status is S.APPROVED_OFFLINE  # type: ignore[union-attr]
    assert [i.redemption_id for i in store.outbox()] == ["a"]
    assert [e[1] for e in store.history("a")] == ["pending", "approved_offline"]


def test_problem_count_counts_open_problems(store: SqliteStore) -> None:
    assert store.problem_count() == 0
    for rid in ("a", "b"):
        store.add_problem(rid, "rejected", at=NOW, collect_rial=5, detail="x")
    store.add_problem("a", "rejected", at=NOW, collect_rial=5, detail="again")  # same: ignored
    assert store.problem_count() == len(store.problems()) == 2
    store.resolve_problem(store.problems()[0].seq, at=NOW)
    assert store.problem_count() == len(store.problems()) == 1


def test_the_lane_store_checkpoints_when_told_not_inside_a_sale(store: SqliteStore) -> None:
    size = store.path.stat().st_size
    # Over 1,000 pages of WAL (SQLite's default threshold): no sale's commit checkpointed.
    wal = Path(f"{store.path}-wal")
    sales = 0
    while sales < 1000 and wal.stat().st_size <= 1000 * 4096:
        _offline(store, f"r{sales}")
        sales += 1
    assert wal.stat().st_size > 1000 * 4096 and store.path.stat().st_size == size
    assert store.checkpoint() is True
    assert store.path.stat().st_size > size  # the WAL went into the file
    reader = sqlite3.connect(store.path)
    assert reader.execute("SELECT count(*) FROM journal").fetchone()[0] == sales
    # The WAL was started afresh by then (one small write): the next sale pays no restart.
    busy, frames, _copied = reader.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and 0 < frames < 10
    reader.close()
    assert LANE_WAL_AUTOCHECKPOINT >= 10_000
    with store.batch():
        assert store.checkpoint() is False  # never inside a transaction


async def test_a_batch_of_answers_is_recorded_with_one_commit(store: SqliteStore) -> None:
    ids = ["ok", "no", "part", "bad"]
    for rid in ids:
        _offline(store, rid)
    ledger = BatchLedger(
        {
            "ok": BatchItemResult("ok", "answer", RedemptionAnswer("ok", "approved", 1000)),
            "no": BatchItemResult(
                "no", "answer", RedemptionAnswer("no", "declined", 0, reason="insufficient")
            ),
            "part": BatchItemResult(
                "part",
                "answer",
                RedemptionAnswer("part", "partially_approved", 600, declined_rial=400),
            ),
            "bad": BatchItemResult(
                "bad", "rejected", problem=ProblemDocument(status=400, code="bad_body")
            ),
        }
    )
    commits: list[str] = []
    store._db.conn.set_trace_callback(  # counting commits
        lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None
    )
    forwarder = Forwarder(ledger=ledger, store=store, clock=StoppedClock(NOW))  # type: ignore[arg-type]
    report = await forwarder.drain_once()
    store._db.conn.set_trace_callback(None)
    assert ledger.batches == 1 and report.remaining == 0 and report.sent == 4
    assert (report.approved, report.declined, report.partially_approved) == (1, 2, 1)
    # mark_sent, the three answers together, the rejected one on its own.
    assert len(commits) == 3
    assert report.problems == 3 == store.problem_count()
    kinds = {p.redemption_id: (p.kind, p.collect_rial) for p in store.problems()}
    assert kinds == {
        "no": ("declined_after_offline", 1000),
        "part": ("partially_approved", 400),
        "bad": ("rejected", 1000),
    }
    statuses = {rid: store.redemption(rid).status for rid in ids}  # type: ignore[union-attr]
    assert statuses == {
        "ok": S.APPROVED,
        "no": S.DECLINED,
        "part": S.PARTIALLY_APPROVED,
        "bad": S.DECLINED,
    }


def test_a_used_token_refused_inside_a_batch_undoes_only_that_sale(store: SqliteStore) -> None:
    from dataclasses import replace

    from pos_client.domain.errors import TokenError

    store.record_new_redemption(replace(new("a"), token_jti="jti-1"), at=NOW)
    with store.batch():
        store.record_new_redemption(replace(new("b"), token_jti="jti-2"), at=NOW)
        with pytest.raises(TokenError):
            store.record_new_redemption(replace(new("c"), token_jti="jti-1"), at=NOW)
    assert [e.id for e in store.journal()] == ["a", "b"]
    assert store.token_used("jti-2") and store.redemption("c") is None
