"""Monthly archives of old rows: what moves, what never does, and nothing lost on the way.

A real SQLite file filled through the store's own code (``tests/support/history.py``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import stat
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from pos_client.adapters.sqlite.archive import MANIFEST, ArchiveTables
from pos_client.adapters.store import SqliteStore
from pos_client.domain.redemption import RedemptionAnswer
from pos_client.domain.states import RedemptionStatus as S
from pos_client.errors import StoreError
from tests.support.history import close_day, exported, fill_days, sell

FIRST = date(2025, 1, 1)
CUTOFF = date(2026, 1, 1)
NOW = datetime(2026, 1, 20, 9, tzinfo=UTC)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def year_store(path: Path) -> SqliteStore:
    """A year of sales (two a day, each day reconciled) and a few of this month's."""
    store = SqliteStore.open(path)
    fill_days(store, FIRST, 365)
    fill_days(store, date(2026, 1, 10), 3)
    return store


def test_a_year_archived_exports_the_same_rows_byte_for_byte(tmp_path: Path) -> None:
    with year_store(tmp_path / "lane.sqlite") as store:
        before = exported(store.journal())
        day = date(2025, 3, 7)
        day_before = exported(store.journal_on(day))
        run = store.archive_before(CUTOFF)
        assert not run.dry_run and run.rows == 730 and run.kept_live == 0
        assert sorted(run.months) == [f"2025-{m:02d}" for m in range(1, 13)]
        assert [e.business_date.year for e in store.journal()] == [2026] * 6  # only these live
        assert exported(store.journal_between()) == before
        assert exported(store.journal_on(day)) == day_before and len(day_before) == 2
        march = exported(store.journal_between(date(2025, 3, 1), date(2025, 3, 31)))
        assert march == [r for r in before if '"business_date":"2025-03-' in r]
        # Twice is harmless: nothing more moves, nothing changes.
        again = store.archive_before(CUTOFF)
        assert again.rows == 0
        assert exported(store.journal_between()) == before
    folder = tmp_path / "lane.archive"
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted([".lock", MANIFEST, *(f"2025-{m:02d}.1.jsonl.gz" for m in range(1, 13))])
    assert mode(folder) == 0o700
    assert all(mode(folder / name) == 0o600 for name in files)
    with SqliteStore.open(tmp_path / "lane.sqlite") as store:  # read again after a restart
        assert exported(store.journal_between()) == before


def test_rows_owed_open_unseen_or_unreconciled_stay_live_and_join_their_month_later(
    tmp_path: Path,
) -> None:
    at = datetime(2025, 2, 3, 8, tzinfo=UTC)
    with SqliteStore.open(tmp_path / "lane.sqlite") as store:
        done = sell(store, at)
        pending = sell(store, at, final=False)  # in the outbox, no answer
        offline = sell(store, at, final=False)
        store.approve_offline(
            offline, at=at, body=None, nid_hash=None, by_program={}, business_date=at.date()
        )
        unseen = sell(store, at, final=False)
        store.set_status(
            unseen,
            S.APPROVED,
            at=at,
            leave_outbox=True,
            answer=RedemptionAnswer(id=unseen, status="approved", covered_rial=1),
        )
        problem = sell(store, at)
        store.add_problem(problem, "void_refused", at=at, collect_rial=0, detail="x")
        close_day(store, at.date())
        later = datetime(2025, 2, 4, 8, tzinfo=UTC)
        unreconciled = sell(store, later)
        close_day(store, later.date(), status="discrepancy")
        not_closed = sell(store, datetime(2025, 2, 5, 8, tzinfo=UTC))
        sell(store, datetime(2026, 1, 20, 8, tzinfo=UTC))  # the last row, recent
        before = exported(store.journal())

        run = store.archive_before(CUTOFF, dry_run=True)
        assert run.dry_run and dict(run.months) == {"2025-02": 1} and run.kept_live == 6
        assert len(list(store.journal())) == 8  # a dry run moves nothing
        assert not (tmp_path / "lane.archive").exists()

        run = store.archive_before(CUTOFF)
        assert dict(run.months) == {"2025-02": 1} and run.kept_live == 6
        live = {e.id for e in store.journal()}
        assert done not in live
        for kept in (pending, offline, unseen, problem, unreconciled, not_closed):
            assert kept in live
        assert exported(store.journal_between()) == before

        # Its problem resolved, the row joins its month's archive (written again, whole).
        (record,) = [p for p in store.problems() if p.redemption_id == problem]
        store.resolve_problem(record.seq, at=at)
        assert dict(store.archive_before(CUTOFF).months) == {"2025-02": 1}
        assert problem not in {e.id for e in store.journal()}
        assert store.archived_months() == {"2025-02": 2}
        names = sorted(p.name for p in (tmp_path / "lane.archive").iterdir())
        assert names == [".lock", "2025-02.2.jsonl.gz", MANIFEST]  # the old file went
        assert exported(store.journal_between()) == before


def test_a_crash_between_the_archive_and_the_delete_loses_and_doubles_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SqliteStore.open(tmp_path / "lane.sqlite") as store:
        fill_days(store, date(2025, 5, 1), 40)
        sell(store, datetime(2026, 1, 20, 8, tzinfo=UTC))
        before = exported(store.journal())

        def crash(self: ArchiveTables, written: object, cut: str) -> int:
            raise KeyboardInterrupt("the lane was stopped here")

        monkeypatch.setattr(ArchiveTables, "_remove_archived", crash)
        with pytest.raises(KeyboardInterrupt):
            store.archive_before(CUTOFF)
        monkeypatch.undo()
        assert store.archived_months() == {"2025-05": 62}  # written, not yet deleted
        assert len(list(store.journal())) == len(before)
        assert exported(store.journal_between()) == before  # each row once: the live one
        assert exported(store.journal_on(date(2025, 5, 9))) == [
            r for r in before if '"business_date":"2025-05-09"' in r
        ]
        run = store.archive_before(CUTOFF)  # the next run finishes the work
        assert dict(run.months) == {"2025-05": 62, "2025-06": 18}
        assert len(list(store.journal())) == 1
        assert exported(store.journal_between()) == before


def test_an_archive_that_cannot_be_written_removes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SqliteStore.open(tmp_path / "lane.sqlite") as store:
        fill_days(store, date(2025, 5, 1), 3)
        sell(store, datetime(2026, 1, 20, 8, tzinfo=UTC))
        before = exported(store.journal())

        def full_disk(*args: object) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr("pos_client.adapters.sqlite.archive._publish", full_disk)
        with pytest.raises(StoreError) as caught:
            store.archive_before(CUTOFF)
        assert "nothing was removed" in caught.value.message
        monkeypatch.undo()
        assert exported(store.journal()) == before
        assert store.archived_months() == {}
        assert [p.name for p in (tmp_path / "lane.archive").iterdir()] == [".lock"]  # no stray file
        assert store.archive_before(CUTOFF).rows == 6
        assert exported(store.journal_between()) == before


def test_a_damaged_archive_is_reported_and_never_read(tmp_path: Path) -> None:
    with SqliteStore.open(tmp_path / "lane.sqlite") as store:
        late = fill_days(store, date(2025, 5, 30), 4)[0]
        store.add_problem(late, "void_refused", at=NOW, collect_rial=0, detail="x")
        sell(store, datetime(2026, 1, 20, 8, tzinfo=UTC))
        store.archive_before(CUTOFF)
        folder = tmp_path / "lane.archive"
        damaged = folder / "2025-05.1.jsonl.gz"
        data = bytearray(damaged.read_bytes())
        data[len(data) // 2] ^= 0x01
        damaged.write_bytes(bytes(data))
        given = []
        with pytest.raises(StoreError) as caught:
            given.extend(store.journal_between())
        assert caught.value.code == "archive_damaged" and "SHA-256" in caught.value.message
        assert given == []  # not one row of a damaged archive (nor any other) was given
        with pytest.raises(StoreError):
            store.journal_on(date(2025, 5, 31))
        assert len(store.journal_on(date(2025, 6, 1))) == 2  # another month still reads
        # A month that would be written again from a damaged file: nothing is deleted.
        (problem,) = store.problems()
        store.resolve_problem(problem.seq, at=NOW)
        with pytest.raises(StoreError):
            store.archive_before(CUTOFF)
        assert late in {e.id for e in store.journal()}


def test_an_archive_is_gzip_json_lines_with_a_checksummed_manifest(tmp_path: Path) -> None:
    with SqliteStore.open(tmp_path / "lane.sqlite") as store:
        ids = fill_days(store, date(2025, 7, 1), 2)
        sell(store, datetime(2026, 1, 20, 8, tzinfo=UTC))
        store.archive_before(CUTOFF)
    folder = tmp_path / "lane.archive"
    manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    entry = manifest["months"]["2025-07"]
    assert entry["rows"] == 4 and entry["dates"] == {"2025-07-01": 2, "2025-07-02": 2}
    raw = (folder / entry["file"]).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == entry["sha256"]
    lines = gzip.decompress(raw).decode("utf-8").splitlines()
    rows = [json.loads(line) for line in lines[1:]]
    assert [r["id"] for r in rows] == ids
    assert all(r["events"] and r["basket"].startswith("{") for r in rows)
    assert all('"beneficiary":{"token":"removed"}' in r["body"] for r in rows)


def test_the_last_row_stays_live_so_no_seq_is_used_twice(tmp_path: Path) -> None:
    with SqliteStore.open(tmp_path / "lane.sqlite") as store:
        fill_days(store, date(2025, 7, 1), 2)
        last = store.last_seq()
        run = store.archive_before(CUTOFF)
        assert run.rows == 3 and [e.seq for e in store.journal()] == [last]
        new = sell(store, datetime.combine(date(2026, 1, 20), time(8), tzinfo=UTC))
        entry = store.redemption(new)
        assert entry is not None and entry.seq == last + 1


def test_one_archiving_run_at_a_time(tmp_path: Path) -> None:
    fcntl = pytest.importorskip("fcntl")
    with SqliteStore.open(tmp_path / "lane.sqlite") as store:
        fill_days(store, date(2025, 5, 1), 2)
        sell(store, datetime(2026, 1, 20, 8, tzinfo=UTC))
        folder = tmp_path / "lane.archive"
        folder.mkdir(mode=0o700)
        with (folder / ".lock").open("w") as other:  # another program archiving now
            fcntl.flock(other.fileno(), fcntl.LOCK_EX)
            with pytest.raises(StoreError) as caught:
                store.archive_before(CUTOFF)
            assert caught.value.code == "archive_busy"
            assert len(list(store.journal())) == 5 and store.archived_months() == {}
        assert store.archive_before(CUTOFF).rows == 4
