"""The lane store on a real SQLite file: durability rules, the outbox, the catalog, failures."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from pos_client.adapters.store import SCHEMA_VERSION, CatalogRefused, SqliteStore
from pos_client.domain.errors import TokenError, TransitionError
from pos_client.domain.models import Product, Unit
from pos_client.domain.states import RedemptionStatus as S
from pos_client.errors import StoreError
from tests.support.journal import NOW, answer, new


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore.open(tmp_path / "lane" / "lane.sqlite")
    yield s
    s.close()


def test_files_are_private_and_use_wal(tmp_path: Path, store: SqliteStore) -> None:
    for path in (store.path, store.catalog_path):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_a_redemption_is_written_with_its_outbox_row_and_survives_reopening(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lane.sqlite"
    with SqliteStore.open(path) as s:
        s.record_new_redemption(new("r1", jti="j1"), at=NOW)
    with SqliteStore.open(path) as s:
        entry = s.redemption("r1")
        assert entry is not None and entry.status is S.PENDING and entry.intent == "hold"
        assert s.token_used("j1")
        assert [i.redemption_id for i in s.outbox()] == ["r1"]
        assert [e.id for e in s.unseen()] == ["r1"]


def test_it_leaves_the_outbox_only_with_a_final_answer(store: SqliteStore) -> None:
    store.record_new_redemption(new("r1"), at=NOW)
    store.set_status("r1", S.UNKNOWN_OUTCOME, at=NOW, note="timeout")
    assert store.redemption("r1").intent == "hold"  # type: ignore[union-attr]
    entry = store.set_status("r1", S.APPROVED, at=NOW, answer=answer("r1"), leave_outbox=True)
    assert entry.intent is None and entry.receipt_code == "R-1"
    assert entry.ledger_covered_rial == 1000
    assert [h[1] for h in store.history("r1")] == ["pending", "unknown_outcome", "approved"]
    with pytest.raises(TransitionError):
        store.set_status("r1", S.DECLINED, at=NOW)


def test_a_token_id_is_refused_twice_and_released_by_a_decline(store: SqliteStore) -> None:
    store.record_new_redemption(new("r1", jti="j1"), at=NOW)
    with pytest.raises(TokenError):
        store.record_new_redemption(new("r2", jti="j1"), at=NOW)
    assert store.redemption("r2") is None  # the failed write left nothing behind
    store.set_status("r1", S.DECLINED, at=NOW, leave_outbox=True, release_token=True)
    store.record_new_redemption(new("r2", jti="j1"), at=NOW)


def test_offline_approval_counts_totals_and_outstanding(store: SqliteStore) -> None:
    store.record_new_redemption(new("r1", covered=700), at=NOW)
    store.approve_offline(
        "r1",
        at=NOW,
        body=b'{"mode":"offline"}',
        nid_hash="h" * 64,
        by_program={"kalabarg": 700},
        business_date=date(2026, 11, 25),
    )
    entry = store.redemption("r1")
    assert entry is not None and entry.status is S.APPROVED_OFFLINE and entry.offline
    assert entry.mode == "offline" and entry.intent == "deliver"
    assert store.offline_totals(business_date=date(2026, 11, 25), nid_hash="h" * 64) == {
        "kalabarg": 700
    }
    assert store.outstanding_offline_rial() == 700
    store.set_status(
        "r1",
        S.PARTIALLY_APPROVED,
        at=NOW,
        answer=answer("r1", "partially_approved", 500),
        leave_outbox=True,
        problem=("partially_approved", 200, "collect"),
    )
    assert store.outstanding_offline_rial() == 0
    [problem] = store.problems()
    assert problem.collect_rial == 200 and problem.redemption_id == "r1"
    assert store.resolve_problem(problem.seq, at=NOW)
    assert store.problems() == []


def products(n: int, *, start: int = 0) -> list[Product]:
    return [
        Product(gtin=f"{i:013d}", name_fa=f"کالا {i}", category="rice", unit=Unit.PIECE)
        for i in range(start, start + n)
    ]


def test_catalog_full_delta_and_a_big_drop_refused(store: SqliteStore) -> None:
    first = store.load_catalog(version="c-1", full=True, products=iter(products(100)), etag="e1")
    assert first.total == 100
    assert store.catalog_state() == ("c-1", "e1", 100)
    delta = [
        *products(2, start=200),
        Product(gtin=f"{5:013d}", name_fa="", category="", deleted=True),
    ]
    store.load_catalog(version="c-2", full=False, products=iter(delta), etag="e2")
    assert store.catalog_state()[2] == 101
    assert store.product(f"{5:013d}") is None and store.product(f"{200:013d}") is not None
    with pytest.raises(CatalogRefused):
        store.load_catalog(version="c-3", full=True, products=iter(products(40)), etag="e3")
    assert store.catalog_state() == ("c-2", "e2", 101)  # the last good one is kept
    store.load_catalog(version="c-4", full=True, products=iter(products(60)), etag="e4")
    assert store.catalog_state() == ("c-4", "e4", 60)


def test_a_failure_while_streaming_the_catalog_changes_nothing(store: SqliteStore) -> None:
    store.load_catalog(version="c-1", full=True, products=iter(products(10)), etag=None)

    def broken() -> object:
        yield from products(6000, start=1000)
        raise ValueError("line 6001 is bad")

    with pytest.raises(ValueError):
        store.load_catalog(version="c-2", full=False, products=broken(), etag=None)  # type: ignore[arg-type]
    assert store.catalog_state()[0::2] == ("c-1", 10)


def test_a_full_disk_refuses_new_writes_and_keeps_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "lane.sqlite"
    with SqliteStore.open(path) as s:
        s.record_new_redemption(new("kept"), at=NOW)
    with SqliteStore.open(path, max_size_bytes=os.path.getsize(path) + 4096) as s:
        with pytest.raises(StoreError, match="disk is full"):
            for n in range(200):
                s.record_new_redemption(replace(new(f"r{n}"), body=b"x" * 20000), at=NOW)
        assert s.redemption("kept") is not None
    with SqliteStore.open(path) as s:
        entries = list(s.journal())
        assert entries[0].id == "kept"
        assert all(e.intent == "hold" for e in entries)  # each written whole or not at all
        assert len(s.outbox()) == len(entries)


def test_a_read_only_store_refuses_writes_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "lane.sqlite"
    with SqliteStore.open(path) as s:
        s.record_new_redemption(new("kept"), at=NOW)
    with SqliteStore.open(path, read_only=True) as s:
        assert s.redemption("kept") is not None
        with pytest.raises(StoreError, match="read-only"):
            s.record_new_redemption(new("r2"), at=NOW)


def test_a_newer_schema_and_a_damaged_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "lane.sqlite"
    SqliteStore.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        SqliteStore.open(path)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="damaged"):
        SqliteStore.open(junk)


def test_contact_time_prices_and_scale_items(store: SqliteStore) -> None:
    assert store.last_contact() is None
    store.record_contact(NOW)
    assert store.last_contact() == NOW
    assert store.import_prices([("6260000000019", 14_500_000, "2012345")], at=NOW) == 1
    assert store.price("6260000000019") == 14_500_000
    assert store.scale_item("2012345") == "6260000000019"
    store.cache_wallet("h" * 64, "{}", at=NOW - timedelta(hours=1))
    assert store.cached_wallet("h" * 64) == ("{}", NOW - timedelta(hours=1))
