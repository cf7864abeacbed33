"""F7 (Z report) after midnight, on the screen against the real sandbox (Pilot).

The lane's clock is injected and moved with the sandbox's: at 00:20 the Z
report names and closes the day the shop sold on, and a day with no sales is
closed only after a plain question naming it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from pos_client.compose import Lane, build_app
from pos_client.config import load_config
from pos_client.sandbox.server import RunningSandbox
from pos_client.tui.screens.dialogs import ConfirmDialog
from pos_client.tui.screens.identify import IdentifyScreen
from pos_client.tui.screens.reports import ReportScreen
from pos_client.tui.widgets.text import BidiText
from tests.support.fakes import ShiftedClock
from tests.support.lane import midnight, move, seconds_to

from .conftest import app_for, product
from .pilot import message, settle, until


@pytest.fixture
async def shifted(sandbox: RunningSandbox) -> AsyncIterator[tuple[Lane, ShiftedClock]]:
    clock = ShiftedClock()
    built = build_app(load_config(sandbox.config_path("T-0001")), clock=clock, devices=True)
    try:
        await built.refresh.sync_rules()
        await built.refresh.sync_catalog()
        prices = [(p["gtin"], p["price_rial"], None) for p in sandbox.info["sample_products"]]
        built.store.import_prices(prices, at=built.clock.now())
        yield built, clock
    finally:
        await built.aclose()


async def test_f7_after_midnight_names_and_closes_the_day_that_had_sales(
    sandbox: RunningSandbox, shifted: tuple[Lane, ShiftedClock]
) -> None:
    lane, clock = shifted
    session = lane.checkout.new_session()
    await session.identify_token(sandbox.mint_token(sandbox.household("kalabarg")["national_id"]))
    session.scan(product(sandbox, "sugar")["gtin"])
    sale = await session.confirm()
    session.acknowledge()
    day = lane.reports.today()
    move(sandbox, clock, seconds_to(midnight() + timedelta(minutes=20)))  # 00:20, the next day
    new_day = day + timedelta(days=1)

    app = app_for(lane, language="en")
    texts = app.texts
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, IdentifyScreen)
        await pilot.press("f7")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        question = app.screen.question
        assert question == texts.t("report.z_confirm_day", date=texts.date_of(day), count=1)
        await pilot.press("enter")
        screen = app.screen
        await until(
            pilot,
            lambda: isinstance(screen, ReportScreen) and screen.report is not None,
            "the Z report",
        )
        report = screen.report
        assert (report.number, report.business_date) == (1, day)
        assert report.totals.covered_rial == sale.covered_rial
        assert message(app) == texts.t("report.z_done_day", date=texts.date_of(day))
        shown = screen.query_one("#report-text", BidiText).text
        assert texts.t("report.business_date", date=texts.date_of(day)) in shown
        await pilot.press("escape")
        await settle(pilot)

        # Again: the new day has no sales; the question says so and names it. No: nothing closed.
        await pilot.press("f7")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        assert app.screen.question == texts.t("report.z_confirm_empty", date=texts.date_of(new_day))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "the idle screen")
    assert [z.number for z in lane.reports.z_reports()] == [1]


async def test_f7_on_a_lane_without_sales_says_there_is_nothing_to_close(lane: Lane) -> None:
    app = app_for(lane, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f7")
        await until(pilot, lambda: isinstance(app.screen, ReportScreen), "the Z screen")
        await until(pilot, lambda: bool(message(app)), "a sentence")
        assert message(app) == app.texts.t("error.no_sales_yet")
        assert isinstance(app.screen, ReportScreen) and app.screen.report is None
    assert lane.reports.z_reports() == []
