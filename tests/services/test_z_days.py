"""Which day a Z report closes, around midnight, against the sandbox ledger (real HTTP, SQLite).

The lane's clock is injected (:class:`ShiftedClock`) and moved together with
the sandbox's, so both sides agree on the time unless a test wants them apart.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from pos_client.domain.business_day import VOID_OTHER_DAY
from pos_client.domain.reconcile import Finding
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.redemptions import TEHRAN
from pos_client.services.reports import ReportError, sale_business_date, void_refusal_reason
from pos_client.tui.i18n import Texts
from tests.support.cli import cli, run_json
from tests.support.fakes import ShiftedClock
from tests.support.lane import (
    PASTA,
    SUGAR,
    lane,
    midnight,
    move,
    national_id,
    seconds_to,
    token_sale,
)


async def test_after_midnight_the_z_closes_the_day_with_sales_and_an_empty_day_only_if_asked(
    sandbox: RunningSandbox,
) -> None:
    clock = ShiftedClock()
    async with lane(sandbox, clock=clock) as app:
        sale, _ = await token_sale(app, sandbox, PASTA)
        day = app.reports.today()
        move(sandbox, clock, seconds_to(midnight() + timedelta(minutes=20)))  # 00:20
        assert app.reports.today() == day + timedelta(days=1)

        # The shop closes at 00:20: the Z closes the day it sold on.
        assert app.reports.day_to_close() == day
        plan = app.reports.plan_close()
        assert (plan.business_date, plan.entries, plan.closed, plan.refusal) == (day, 1, None, None)
        z = await app.reports.close_day()
        assert (z.number, z.business_date) == (1, day)
        assert z.totals.sales_count == 1 and z.totals.covered_rial == sale.covered_rial

        # Now nothing open has sales: the new day is empty and closed only when asked.
        new_day = app.reports.day_to_close()
        assert new_day == day + timedelta(days=1)
        assert app.reports.plan_close().refusal == "empty_day"
        with pytest.raises(ReportError) as caught:
            await app.reports.close_day()
        assert caught.value.code == "empty_day"
        assert [r.number for r in app.reports.z_reports()] == [1]  # no number used
        empty = await app.reports.close_day(allow_empty=True)
        assert (empty.number, empty.business_date, empty.totals.sales_count) == (2, new_day, 0)
        assert empty.status == "agreed" and empty.reconciliation is not None
        assert empty.reconciliation.lines == ()

        # The closed dates are kept; a sale made now belongs to the next open day.
        assert app.reports.closed_dates() == (day, new_day)
        after = day + timedelta(days=2)
        assert app.reports.sale_date() == after
        assert sale_business_date(app.store, "T-0001", app.clock.now()) == after
        # Closing again shows the report of the last closed day; a day not begun is refused.
        assert (await app.reports.close_day()).number == 2
        with pytest.raises(ReportError) as caught:
            await app.reports.close_day(after, allow_empty=True)
        assert caught.value.code == "future_date"
        assert [r.number for r in app.reports.z_reports()] == [1, 2]


async def test_a_z_for_a_day_before_the_first_sale_uses_up_no_number(
    sandbox: RunningSandbox,
) -> None:
    config = str(sandbox.config_path("T-0001"))
    async with lane(sandbox) as app:
        with pytest.raises(ReportError) as caught:  # no sale yet: nothing to close
            await app.reports.close_day(allow_empty=True)
        assert caught.value.code == "no_sales_yet"
        sale, _ = await token_sale(app, sandbox, SUGAR)
        with pytest.raises(ReportError) as caught:
            await app.reports.close_day(date(1999, 1, 1), allow_empty=True)
        assert caught.value.code == "before_first_sale"
        assert app.reports.z_reports() == []
    refused = cli("report", "z", "--config", config, "--date", "1999-01-01", "--allow-empty")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "before this terminal's first sale" in refused.stderr
    closed = cli("report", "z", "--config", config, "--json")
    z = run_json(closed)
    assert z["number"] == 1 and z["business_date"] == sale_day(sandbox, sale.id or "")
    assert z["closed_before"] is False and z["totals"]["sales"]["count"] == 1
    named = cli("report", "z", "--config", config)
    assert f"business date {z['business_date']} was closed before, by Z report 1" in named.stdout
    assert (
        f"End-of-day report (Z) number 1, terminal T-0001, business date {z['business_date']}"
        in (named.stdout)
    )


def sale_day(sandbox: RunningSandbox, redemption_id: str) -> str:
    with sandbox.client("T-0001") as client:
        answer = client.get(f"/v1/redemptions/{redemption_id}").json()
    return datetime.fromisoformat(answer["approved_at"]).astimezone(TEHRAN).date().isoformat()


async def test_an_online_sale_that_crossed_midnight_is_not_called_forwarded_later(
    sandbox: RunningSandbox,
) -> None:
    clock = ShiftedClock()
    async with lane(sandbox, clock=clock) as app:
        # Both clocks 50 s before midnight; the household is identified (the lane measures
        # its clock against the ledger's then).
        move(sandbox, clock, seconds_to(midnight()) - 50)
        day = app.reports.today()
        session = app.checkout.new_session()
        await session.identify_token(sandbox.mint_token(national_id(sandbox, "kalabarg")))
        session.scan(PASTA)
        # The ledger's clock is then 5 s past midnight; the lane's, not yet there, has not
        # heard of it since: the sale is sent on the lane's date and arrives on the next.
        sandbox.advance_clock(55)
        sale = await session.confirm()
        session.acknowledge()
        assert sale.status == "approved"
        entry = app.store.redemption(sale.id or "")
        assert entry is not None and entry.business_date == day
        assert sale_day(sandbox, entry.id) == (day + timedelta(days=1)).isoformat()
        z = await app.reports.close_day()
    assert z.business_date == day and z.reconciliation is not None
    [line] = z.reconciliation.lines
    assert line.finding is Finding.COUNTED_ON_ANOTHER_DATE
    assert line.forwarded is False and line.explanation == "counted_on_another_date.online"
    # The CLI and the screen's words say so, not "forwarded later".
    shown = cli("report", "z", "--config", str(sandbox.config_path("T-0001")))
    [said] = [x for x in shown.stdout.splitlines() if entry.id in x]
    assert "midnight" in said and "forwarded" not in said
    for lang in ("en", "fa"):
        texts = Texts(lang=lang)  # type: ignore[arg-type]
        words = texts.t("finding.counted_on_another_date.online")
        assert words != texts.t("finding.counted_on_another_date.forwarded")


async def test_a_void_refused_after_midnight_gets_its_reason(sandbox: RunningSandbox) -> None:
    clock = ShiftedClock()
    async with lane(sandbox, clock=clock) as app:
        sale, _ = await token_sale(app, sandbox, PASTA)
        move(sandbox, clock, 24 * 3600)  # the next business day, on both sides
        outcome = await app.checkout.void_last()
        # The ledger refuses it (``not_voidable``); the void service says why: another day.
        assert outcome.status == "refused" and outcome.reason == VOID_OTHER_DAY
        entry = app.store.redemption(sale.id or "")
        assert entry is not None
        reason = void_refusal_reason(entry, outcome.reason, app.clock.now())
    assert reason == VOID_OTHER_DAY
    for lang in ("en", "fa"):
        texts = Texts(lang=lang)  # type: ignore[arg-type]
        said = texts.reason(reason)
        assert said not in (texts.t("error.not_voidable"), texts.reason("no_such_code"))
        assert texts.t("void.refused", reason=said).endswith(said)
