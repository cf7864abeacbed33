"""A final row keeps its documents packed, and the store gives freed space back.

Bytes per sale measured as the issue does: page count times page size over
the sales, on a real store filled with realistic final sales.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

from pos_client.adapters.sqlite.journal import answer_to_json
from pos_client.adapters.sqlite.packing import PACKED, pack, unpack
from pos_client.adapters.sqlite.schema import PACKED_BELOW_KEY
from pos_client.adapters.store import SCHEMA_VERSION, SqliteStore
from pos_client.bench.world import household_purses, new_redemption
from pos_client.domain.privacy import scrub_identity
from pos_client.domain.redemption import RedemptionAnswer
from pos_client.domain.states import RedemptionStatus as S
from tests.support.history import fill_days, sell

AT = datetime(2025, 3, 1, 8, tzinfo=UTC)


def bytes_per_sale(path: Path, sales: int) -> float:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    return pages * size / sales


def raw_row(path: Path, rid: str) -> tuple[bytes, bytes, bytes | None]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(  # type: ignore[no-any-return]
            "SELECT body, basket, answer FROM journal WHERE id = ?", (rid,)
        ).fetchone()
    finally:
        conn.close()


def test_a_final_row_is_read_back_as_written_and_kept_packed(tmp_path: Path) -> None:
    path = tmp_path / "lane.sqlite"
    with SqliteStore.open(path) as store:
        new = new_redemption(AT, lines=9)
        store.record_new_redemption(new, at=AT)
        answer = RedemptionAnswer(
            id=new.id,
            status="approved",
            covered_rial=new.covered_rial,
            approved_at=AT,
            receipt_code="R-1",
            purses_after=household_purses(AT),
        )
        owed = store.redemption(new.id)
        assert owed is not None and owed.body == new.body  # owed: the exact bytes, unpacked
        assert raw_row(path, new.id)[0] == new.body
        store.set_status(new.id, S.APPROVED, at=AT, answer=answer, leave_outbox=True)
        entry = store.redemption(new.id)
        assert entry is not None
        assert entry.body == scrub_identity(new.body)
        assert entry.basket == new.basket
        assert entry.answer == answer_to_json(answer).encode("utf-8")
        body, basket, kept = raw_row(path, new.id)
        assert all(bytes(v).startswith(PACKED) for v in (body, basket, kept or b""))
        assert len(basket) * 3 < len(new.basket.encode("utf-8"))


def test_a_sale_costs_less_than_half_the_bytes_it_did(tmp_path: Path) -> None:
    # Realistic final sales (3 to 10 lines, the ledger's answer with six purses):
    # 6.9 KB per sale before final rows were packed; about 2.5 KB now.
    path = tmp_path / "lane.sqlite"
    with SqliteStore.open(path) as store:
        ids = fill_days(store, date(2025, 1, 1), 150, per_day=4)
    assert bytes_per_sale(path, len(ids)) < 3_200


def test_rows_written_before_schema_6_are_packed_at_idle_with_nothing_changed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lane.sqlite"
    with SqliteStore.open(path) as store:
        ids = [sell(store, AT) for _ in range(7)]
        before = [store.redemption(i) for i in ids]
    # As schema 4 kept them: the documents as plain text, the version before 6.
    conn = sqlite3.connect(path)
    conn.create_function("plain", 1, lambda v: None if v is None else unpack(v))
    conn.execute("UPDATE journal SET body = plain(body), basket = CAST(plain(basket) AS TEXT)")
    conn.execute("UPDATE journal SET answer = CAST(plain(answer) AS TEXT)")
    conn.execute("DELETE FROM meta WHERE key = ?", (PACKED_BELOW_KEY,))
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    with SqliteStore.open(path) as store:
        assert store.get_meta(PACKED_BELOW_KEY) == str(max(e.seq for e in before if e) + 1)
        assert isinstance(raw_row(path, ids[0])[1], str)  # plain text, as it was
        assert store.pack_old_rows(limit=5) == 5
        assert store.pack_old_rows(limit=5) == 2
        assert store.pack_old_rows(limit=5) == 0
        assert store.get_meta(PACKED_BELOW_KEY) is None
        assert [store.redemption(i) for i in ids] == before
    assert all(bytes(raw_row(path, i)[1]).startswith(PACKED) for i in ids)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_packing_is_exact_and_leaves_plain_values_as_they_are() -> None:
    text = json.dumps({"lines": [{"name": "برنج طارم", "gtin": "6260000000000"}]})
    assert unpack(pack(text)) == text.encode("utf-8")
    assert pack(pack(text)) == pack(text)
    assert unpack(b'{"id":"x"}') == b'{"id":"x"}'
    assert pack(None) is None and unpack(None) is None


def test_a_new_store_gives_space_back_incrementally(tmp_path: Path) -> None:
    path = tmp_path / "lane.sqlite"
    with SqliteStore.open(path) as store:
        fill_days(store, date(2025, 1, 1), 60, per_day=4)
        sell(store, datetime(2026, 1, 20, 8, tzinfo=UTC))
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
        conn.close()
        store.checkpoint()
        pages = store._db.conn.execute("PRAGMA page_count").fetchone()[0]
        assert store.archive_before(date(2026, 1, 1)).rows == 240
        freed = store.give_space_back(pages=100_000)
        assert freed > pages // 2
        assert store._db.conn.execute("PRAGMA freelist_count").fetchone()[0] == 0


def test_an_older_store_is_converted_to_incremental_vacuum_once(tmp_path: Path) -> None:
    path = tmp_path / "lane.sqlite"
    with SqliteStore.open(path) as store:
        fill_days(store, date(2025, 1, 1), 20)
        sell(store, datetime(2026, 1, 20, 8, tzinfo=UTC))
        before = list(store.journal())
    conn = sqlite3.connect(path)  # as a store made before: no auto_vacuum
    conn.execute("PRAGMA auto_vacuum = NONE")
    conn.execute("VACUUM")
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    conn.close()
    with SqliteStore.open(path) as store:
        store.archive_before(date(2026, 1, 1))
        store.give_space_back(convert=True)
        assert store._db.conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        assert store._db.conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
        assert list(store.journal_between()) == before
