"""X and Z reports against the sandbox ledger (real HTTP on loopback, real SQLite files).

Sales are made through the checkout service; the ledger's settlement is the
sandbox's own. The reports are checked against what the checkout said about
each sale and what the ledger's books hold, never against numbers written here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pos_client.adapters.store import SCHEMA_VERSION, SqliteStore
from pos_client.commands.report import finding_text
from pos_client.compose import App
from pos_client.domain.reconcile import Finding
from pos_client.domain.redemption import Identity, RedemptionDraft, redemption_body
from pos_client.errors import StoreError
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.checkout import Household
from pos_client.services.redemptions import SaleOutcome, new_redemption_id
from pos_client.services.reports import ReportError, XReport, ZReport
from tests.support.cli import cli, run_json
from tests.support.lane import (
    LENTILS,
    MILK_1L,
    NOT_IN_CATALOG,
    PASTA,
    RICE_5KG,
    SUGAR,
    lane,
    ledger_books,
    national_id,
    token_sale,
)


async def offline_sale(app: App, sandbox: RunningSandbox) -> tuple[SaleOutcome, Household]:
    """Milk for a token holder while the ledger takes no redemptions: approved offline."""
    session = app.checkout.new_session()
    who = await session.identify_token(sandbox.mint_token(national_id(sandbox, "kalabarg")))
    session.scan(MILK_1L, quantity_milli=3000)
    sandbox.add_fault("unavailable", "/v1/redemptions*", count=None, retry_after=1)
    try:
        outcome = await session.confirm()
    finally:
        sandbox.clear_faults()
    assert outcome.status == "approved_offline"
    return outcome, who


def by_program(sales: Iterable[tuple[SaleOutcome, Household]]) -> dict[str, tuple[int, int]]:
    """Per programme, from what the ledger applied and the household's purses."""
    totals: dict[str, tuple[int, int]] = {}
    for outcome, who in sales:
        program_of = {p.id: p.program for p in who.purses}
        mine: dict[str, int] = {}
        for a in outcome.allocations:
            if a.amount_rial > 0:
                program = program_of[a.purse_id]
                mine[program] = mine.get(program, 0) + a.amount_rial
        for program, amount in mine.items():
            count, rial = totals.get(program, (0, 0))
            totals[program] = (count + 1, rial + amount)
    return totals


def programs_of(report: XReport) -> dict[str, tuple[int, int]]:
    return {p.program: (p.count, p.covered_rial) for p in report.programs}


def findings(report: ZReport) -> dict[str, Finding]:
    assert report.reconciliation is not None
    return {line.id: line.finding for line in report.reconciliation.lines}


# --------------------------------------------------------------------------- X


async def test_x_totals_after_approved_declined_offline_and_voided_sales(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        empty = app.reports.x_report()
        assert empty.sales_count == 0 and all(s.count == 0 for s in empty.statuses)

        approved, who = await token_sale(app, sandbox, RICE_5KG, NOT_IN_CATALOG)
        assert approved.status == "approved" and approved.payable_rial > 0

        to_void, _ = await token_sale(app, sandbox, PASTA)
        assert (await app.checkout.void_last()).status == "voided"

        session = app.checkout.new_session()
        await session.identify_national_id(national_id(sandbox, "kalabarg"))
        await session.request_otp()
        session.enter_otp("000000")
        session.scan(SUGAR)
        declined = await session.confirm()
        assert declined.status == "declined"

        offline, who_offline = await offline_sale(app, sandbox)

        x = app.reports.x_report()
    assert x.business_date == app.reports.today() and x.closed_by is None
    a = x.status("approved")
    assert (a.count, a.total_rial) == (1, approved.total_rial)
    assert (a.credit_rial, a.household_rial) == (approved.covered_rial, approved.payable_rial)
    v = x.status("voided")
    assert (v.count, v.credit_rial, v.household_rial) == (1, to_void.covered_rial, 0)
    d = x.status("declined")
    assert (d.count, d.total_rial, d.household_rial) == (1, declined.total_rial, 0)
    o = x.status("approved_offline")
    assert (o.count, o.credit_rial) == (1, offline.covered_rial)
    assert x.status("partially_approved").count == 0 and x.status("unresolved").count == 0
    # Sales whose goods left: the approved one and the offline one.
    assert x.sales_count == 2
    assert x.covered_rial == approved.covered_rial + offline.covered_rial
    assert x.household_rial == approved.payable_rial + offline.payable_rial
    assert x.total_rial == x.covered_rial + x.household_rial + x.waived_rial
    # The voided and declined sales count for no programme; the offline one counts as planned.
    assert programs_of(x) == by_program([(approved, who), (offline, who_offline)])
    assert sum(p.covered_rial for p in x.programs) == x.covered_rial
    # The ledger's books agree on what it holds of these (the approved sale only).
    books = ledger_books(sandbox)
    assert books["redemption_ids"] == [approved.id]
    assert {k: (v["count"], v["covered_rial"]) for k, v in books["by_program"].items()} == (
        by_program([(approved, who)])
    )
    # What waits in the outbox: the offline sale, with its total.
    assert [(w.id, w.intent) for w in x.waiting] == [(offline.id, "deliver")]
    assert x.waiting_rial == offline.covered_rial
    assert x.problems == () and x.problems_collect_rial == 0
    data = x.to_json()
    assert XReport.from_json(json.loads(json.dumps(data))) == x


async def test_x_shows_open_problems_and_what_to_collect(sandbox: RunningSandbox) -> None:
    nid = national_id(sandbox, "low_balance")
    async with lane(sandbox) as a, lane(sandbox, "T-0002") as b:
        slow = a.checkout.new_session()
        await slow.identify_token(sandbox.mint_token(nid))
        slow.scan(LENTILS)
        fast = b.checkout.new_session()
        await fast.identify_token(sandbox.mint_token(nid))
        fast.scan(LENTILS)
        assert (await fast.confirm()).status == "approved"
        sandbox.add_fault("rate_limit", "/v1/redemptions", count=None, retry_after=60)
        outcome = await slow.confirm()
        sandbox.clear_faults()
        assert outcome.status == "approved_offline"
        await a.forwarder.sync(until_empty=True, timeout=30)
        x = a.reports.x_report()
    [problem] = x.problems
    assert problem.redemption_id == outcome.id and problem.kind == "declined_after_offline"
    assert x.problems_collect_rial == outcome.covered_rial
    # The goods left, the ledger declined: the household owes all of it, the credit nothing.
    assert x.status("declined").count == 1 and x.sales_count == 1
    assert x.covered_rial == 0 and x.household_rial == outcome.total_rial
    assert x.waiting == ()


# --------------------------------------------------------------------------- Z


async def test_z_is_numbered_kept_and_a_second_close_returns_the_same_report(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        first, _ = await token_sale(app, sandbox, PASTA)
        second, _ = await token_sale(app, sandbox, SUGAR)
        today = app.reports.today()
        z = await app.reports.close_day()
        assert z.number == 1 and z.business_date == today and z.terminal_id == "T-0001"
        assert z.status == "agreed" and z.reconciled and z.ledger_error is None
        assert z.totals.sales_count == 2 and z.totals.closed_by == 1
        assert z.totals.covered_rial == first.covered_rial + second.covered_rial
        assert set(findings(z)) == {first.id, second.id}
        assert set(findings(z).values()) == {Finding.MATCHED}
        assert z.unforwarded == ()

        # Closing the same date again: the same report, no new number.
        again = await app.reports.close_day(today)
        assert again == z
        # A sale after the close belongs to the next open day: a closed day takes no more
        # sales, and the Z keeps its own.
        late, _ = await token_sale(app, sandbox, PASTA)
        tomorrow = today + timedelta(days=1)
        late_entry = app.store.redemption(late.id)
        assert late_entry is not None and late_entry.business_date == tomorrow
        x = app.reports.x_report()
        assert x.closed_by == 1 and x.sales_count == 2
        assert (await app.reports.close_day(today)).totals.sales_count == 2

        # A date before the first sale or still to come cannot be closed and uses no number
        # (another date with sales gets the next number: tests/services/test_z_days.py).
        for day, code in (
            (today - timedelta(days=1), "before_first_sale"),
            (today + timedelta(days=2), "future_date"),
        ):
            with pytest.raises(ReportError) as caught:
                await app.reports.close_day(day, allow_empty=True)
            assert caught.value.code == code
        with pytest.raises(ReportError):
            await app.reports.reconcile(99)
        assert late.id not in findings(z)
    # Kept on disk: a new start reads the same reports.
    async with lane(sandbox, sync=False) as app:
        assert [r.number for r in app.reports.z_reports()] == [1]
        assert app.reports.z_report(1) == z
        assert app.reports.closed(today) == z


async def test_an_offline_sale_not_yet_forwarded_is_listed_then_reconciled_once_sent(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        online, _ = await token_sale(app, sandbox, PASTA)
        offline, _ = await offline_sale(app, sandbox)
        z = await app.reports.close_day()
        assert [(w.id, w.intent, w.covered_rial) for w in z.unforwarded] == [
            (offline.id, "deliver", offline.covered_rial)
        ]
        assert z.unforwarded_rial == offline.covered_rial
        assert findings(z) == {online.id: Finding.MATCHED, offline.id: Finding.NOT_FORWARDED}
        assert z.status == "explained"
        assert z.reconciliation is not None and z.reconciliation.ledger_count == 1

        report = await app.forwarder.sync(until_empty=True, timeout=30)
        assert report.remaining == 0 and report.approved == 1
        again = await app.reports.reconcile(z.number)
    assert again.number == z.number and again.totals == z.totals
    assert again.unforwarded == z.unforwarded  # what was unforwarded at the close
    assert findings(again) == {online.id: Finding.MATCHED, offline.id: Finding.MATCHED}
    assert again.status == "agreed" and again.reconciled_at is not None
    assert set(ledger_books(sandbox)["redemption_ids"]) == {online.id, offline.id}


async def test_a_sale_forwarded_after_midnight_is_counted_on_the_ledgers_next_date(
    sandbox: RunningSandbox,
) -> None:
    from .test_z_days import ShiftedClock, move  # (that module imports this one)

    clock = ShiftedClock()
    async with lane(sandbox, clock=clock) as app:
        offline, _ = await offline_sale(app, sandbox)
        today = app.reports.today()
        move(sandbox, clock, 24 * 3600)  # the ledger's day has turned when it arrives
        report = await app.forwarder.sync(until_empty=True, timeout=30)
        assert report.approved == 1
        z = await app.reports.close_day(today)
    assert findings(z) == {offline.id: Finding.COUNTED_ON_ANOTHER_DATE}
    assert z.status == "explained"
    assert z.reconciliation is not None
    [line] = z.reconciliation.lines
    assert line.journal_date == today and line.ledger_date == today + timedelta(days=1)
    assert line.forwarded is True and "forwarded later" in finding_text(line)
    assert z.reconciliation.ledger_count == 0
    assert offline.id in ledger_books(sandbox)["redemption_ids"]  # the ledger's today


async def test_a_redemption_only_on_the_ledger_is_a_discrepancy(sandbox: RunningSandbox) -> None:
    async with lane(sandbox) as app:
        mine, _ = await token_sale(app, sandbox, SUGAR)
        # The same terminal's token records a sale this journal never wrote.
        token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
        session = app.checkout.new_session()
        await session.identify_token(token)
        session.scan(PASTA)
        plan = session.plan()
        rules = app.rules.current()
        assert rules is not None
        now = app.clock.now()
        ghost_id = new_redemption_id(now)
        body = redemption_body(
            RedemptionDraft(
                id=ghost_id,
                terminal_id="T-0001",
                created_at=now,
                mode="online",
                identity=Identity.token(token),
                rules_version=rules.version,
                lines=tuple(item.line for item in session.basket().items),
                allocations=plan.allocations,
            )
        )
        with sandbox.client("T-0001") as client:
            response = client.post(
                "/v1/redemptions",
                content=body,
                headers={"Idempotency-Key": ghost_id, "Content-Type": "application/json"},
            )
        assert response.status_code == 201, response.text
        ghost_rial = response.json()["covered_rial"]
        assert app.store.redemption(ghost_id) is None

        z = await app.reports.close_day()
    assert z.status == "discrepancy"
    assert z.reconciliation is not None
    [serious] = z.reconciliation.serious
    assert serious.id == ghost_id and serious.finding is Finding.ONLY_ON_LEDGER
    assert serious.ledger_rial == ghost_rial  # looked up by id at the ledger
    assert findings(z)[mine.id or ""] is Finding.MATCHED
    assert z.reconciliation.unexplained_rial == 0
    assert z.reconciliation.ledger_rial == mine.covered_rial + ghost_rial


async def test_when_the_ledger_cannot_be_reached_the_z_is_kept_not_reconciled(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        sale, _ = await token_sale(app, sandbox, PASTA)
        sandbox.add_fault("unavailable", "/v1/settlements/*", count=None, retry_after=1)
        z = await app.reports.close_day()
        assert z.number == 1 and z.status == "not_reconciled" and not z.reconciled
        assert z.ledger_error and z.reconciliation is None
        assert z.totals.sales_count == 1
        still = await app.reports.close_day()  # closing again: same number, still down
        assert (still.number, still.status) == (1, "not_reconciled")
        assert (await app.reports.reconcile(1)).status == "not_reconciled"
        sandbox.clear_faults()
        later = await app.reports.reconcile(1)
    assert later.number == 1 and later.totals == z.totals
    assert later.status == "agreed" and later.ledger_error is None
    assert findings(later) == {sale.id: Finding.MATCHED}
    async with lane(sandbox, sync=False) as app:
        assert app.reports.z_report(1) == later


# --------------------------------------------------------------------------- CLI


async def test_the_report_commands(sandbox: RunningSandbox) -> None:
    async with lane(sandbox) as app:
        sale, _ = await token_sale(app, sandbox, SUGAR)
        today = app.reports.today()
    config = str(sandbox.config_path("T-0001"))
    x = run_json(cli("report", "x", "--config", config, "--json"))
    assert x["business_date"] == today.isoformat() and x["sales"]["count"] == 1
    assert x["by_status"]["approved"]["credit_rial"] == sale.covered_rial
    text = cli("report", "x", "--config", config)
    assert text.returncode == 0 and "Running report (X)" in text.stdout

    sandbox.add_fault("unavailable", "/v1/settlements/*", count=None, retry_after=1)
    down = cli("report", "z", "--config", config, "--json", "--date", today.isoformat())
    assert down.returncode == 1
    z = run_json(down)
    assert z["number"] == 1 and z["status"] == "not_reconciled" and z["ledger_error"]
    shown = cli("report", "z", "--config", config)
    assert shown.returncode == 1 and "NOT RECONCILED" in shown.stdout
    assert "report reconcile 1" in shown.stdout
    sandbox.clear_faults()

    done = cli("report", "reconcile", "1", "--config", config, "--json")
    assert done.returncode == 0, done.stderr
    reconciled = run_json(done)
    assert reconciled["status"] == "agreed" and reconciled["number"] == 1
    assert [line["id"] for line in reconciled["reconciliation"]["lines"]] == [sale.id]

    assert cli("report", "x", "--config", config, "--date", "2026-13-40").returncode == 2
    assert cli("report", "reconcile", "0", "--config", config).returncode == 2
    missing = cli("report", "reconcile", "7", "--config", config)
    assert missing.returncode == 1 and "no Z report number 7" in missing.stderr


# --------------------------------------------------------------------------- store


def test_an_older_store_is_upgraded_and_numbers_run_per_terminal(tmp_path: Path) -> None:
    from pos_client.adapters import store as store_module

    path = tmp_path / "lane.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(store_module._SCHEMA_V1 + "PRAGMA user_version=1;")
    conn.execute("INSERT INTO meta(key, value) VALUES ('kept', 'yes')")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="older pos-client"):  # never upgraded by a reader
        SqliteStore.open(path, read_only=True)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
    at = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    day = date(2026, 11, 23)
    with SqliteStore.open(path) as s:
        assert s.get_meta("kept") == "yes"
        one, made = s.save_z_report(terminal_id="T-0001", business_date=day, at=at, report="{}")
        assert (one.number, made, one.status) == (1, True, "not_reconciled")
        same, made = s.save_z_report(terminal_id="T-0001", business_date=day, at=at, report="[]")
        assert (same, made) == (one, False)
        other, _ = s.save_z_report(terminal_id="T-0002", business_date=day, at=at, report="{}")
        two, _ = s.save_z_report(
            terminal_id="T-0001", business_date=day - timedelta(days=3), at=at, report="{}"
        )
        assert (other.number, two.number) == (1, 2)
        with pytest.raises(StoreError):
            s.save_z_reconciliation(
                terminal_id="T-0002",
                number=5,
                status="agreed",
                reconciliation="{}",
                reconciled_at=at,
                ledger_error=None,
            )
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
