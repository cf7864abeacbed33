"""The retention policy as a lane runs it: once a day at idle, and now from the command line.

A real sandbox ledger on loopback, the lane's real store; old days of sales
written through the store's own code before the lane or the command runs.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pos_client.adapters.store import SqliteStore
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.retention import Retention
from tests.support.cli import cli
from tests.support.fakes import StoppedClock
from tests.support.history import exported, fill_days, sell
from tests.support.lane import lane, lane_config
from tests.support.waiting import eventually_async

# Old enough for the default 400 days whatever day the tests run on (after 2026).
OLD = date(2024, 3, 1)


async def test_a_running_lane_archives_old_rows_at_idle_once_a_day(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        fill_days(app.store, OLD, 20)
        sell(app.store, app.clock.now())  # today's sale: the last row
        before = exported(app.store.journal())
        stop = asyncio.Event()
        runner = asyncio.create_task(app.forwarder.run(stop))
        try:
            await eventually_async(
                lambda: app.store.archived_months() == {"2024-03": 40},
                "the idle pass archived March 2024",
            )
        finally:
            stop.set()
            await runner
        assert [e.business_date.year for e in app.store.journal()] == [app.clock.now().year]
        assert exported(app.store.journal_between()) == before
        assert exported(app.records.journal()) == before  # what journal export reads
        assert await app.retention.at_idle() is None  # once a day


def test_journal_archive_says_what_it_moves_and_export_is_unchanged(
    sandbox: RunningSandbox,
) -> None:
    async def prepare() -> None:
        async with lane(sandbox):  # the lane's store, known to its identity file
            pass

    asyncio.run(prepare())
    path = lane_config(sandbox).store.path
    with SqliteStore.open(path) as store:
        fill_days(store, OLD, 3)
        fill_days(store, OLD + timedelta(days=31), 1)
        sell(store, datetime.now(UTC))
    config = str(sandbox.config_path("T-0001"))
    export_before = cli("journal", "export", "--config", config, "--json")
    assert export_before.returncode == 0, export_before.stderr

    dry = cli("journal", "archive", "--dry-run", "--config", config)
    assert dry.returncode == 0, dry.stderr
    assert "2024-03: would move 6 rows" in dry.stdout and "2024-04: would move 2" in dry.stdout
    assert not (path.parent / f"{path.stem}.archive").exists()

    done = cli("journal", "archive", "--config", config, "--json")
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["months"] == {"2024-03": 6, "2024-04": 2} and run["rows"] == 8
    assert run["dry_run"] is False and run["kept_live"] == 0

    export_after = cli("journal", "export", "--config", config, "--json")
    assert export_after.returncode == 0, export_after.stderr
    assert export_after.stdout == export_before.stdout
    again = cli("journal", "archive", "--config", config)
    assert "nothing to archive" in again.stdout


def test_the_policy_keeps_keep_days_and_archive_false_moves_nothing(tmp_path: Path) -> None:
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    with SqliteStore.open(tmp_path / "lane.sqlite") as store:
        fill_days(store, date(2025, 12, 1), 60)  # 1 December to 29 January
        sell(store, now)
        kept = Retention(store=store, clock=StoppedClock(now), keep_days=60, archive=False)
        assert kept.cutoff() == date(2025, 12, 31)
        run = kept.run()
        assert run.archive.dry_run and dict(run.archive.months) == {"2025-12": 60}
        assert store.archived_months() == {}
        policy = Retention(store=store, clock=StoppedClock(now), keep_days=60)
        assert dict(policy.run().archive.months) == {"2025-12": 60}
        live = [e.business_date for e in store.journal()]
        assert min(live) == date(2025, 12, 31) and len(live) == 2 * 30 + 1  # 31 Dec to 29 Jan


def test_a_row_written_later_under_an_old_date_stays_live(tmp_path: Path) -> None:
    # A clock set back: the row's date is old, but it was written after newer rows.
    with SqliteStore.open(tmp_path / "lane.sqlite") as store:
        fill_days(store, date(2025, 5, 1), 2)
        sell(store, datetime(2026, 1, 20, 8, tzinfo=UTC))
        late = sell(store, datetime(2025, 5, 2, 9, tzinfo=UTC))
        sell(store, datetime(2026, 1, 21, 8, tzinfo=UTC))
        before = exported(store.journal())
        run = store.archive_before(date(2026, 1, 1))
        assert run.rows == 4 and late in {e.id for e in store.journal()}
        assert exported(store.journal_between()) == before
        assert len(store.journal_on(date(2025, 5, 2))) == 3
