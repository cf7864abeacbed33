"""Editing a basket line on the screen (Pilot, against the real sandbox ledger)."""

from __future__ import annotations

from textual.widgets import Input

from pos_client.tui.screens.basket import BasketScreen
from pos_client.tui.screens.dialogs import PromptDialog
from pos_client.tui.widgets.table import BidiTable

from .conftest import app_for, product
from .pilot import message, scan, settle, until
from .test_checkout import review_and_confirm


async def test_a_price_edit_keeps_the_line_in_its_place_and_updates_the_split(sandbox, lane):
    app = app_for(lane, language="en")
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    rice = product(sandbox, "rice")
    gtins = [rice["gtin"], product(sandbox, "eggs")["gtin"], product(sandbox, "pasta")["gtin"]]
    async with app.run_test(size=(100, 30)) as pilot:
        await scan(pilot, token)
        for gtin in gtins:
            await scan(pilot, gtin)
        screen = app.screen
        assert isinstance(screen, BasketScreen), message(app)
        before = screen.view
        assert [item.line.gtin for item in before.items] == gtins
        assert before.items[0].covered_rial == rice["price_rial"]  # the credit pays the rice
        # The cashier moves up to the rice, presses F4 and types the shelf price.
        await pilot.press("up", "up")
        assert screen.selected_index() == 0
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, PromptDialog), "the price question")
        answer = app.screen.query_one("#answer", Input)
        current = app.texts.price_from_input(int(answer.value))
        assert current == rice["price_rial"]  # the question shows the price it has
        typed = "1250"
        await pilot.press(*["backspace"] * len(answer.value), *typed, "enter")
        await settle(pilot)
        assert app.screen is screen
        view = screen.view
        new_price = app.texts.price_from_input(int(typed))
        assert [item.line.gtin for item in view.items] == gtins  # in its place, not at the end
        assert view.items[0].line.unit_price_rial == new_price
        assert view.items[0].line.quantity_milli == before.items[0].line.quantity_milli
        assert [i.line for i in view.items[1:]] == [i.line for i in before.items[1:]]
        # the split is planned again for the new price
        assert view.items[0].covered_rial == new_price
        assert view.total_rial == before.total_rial - rice["price_rial"] + new_price
        assert view.covered_rial == before.covered_rial - rice["price_rial"] + new_price
        assert view == app.flow.session.basket()
        # the table shows the line in its place, the cursor still on it
        table = screen.query_one("#basket", BidiTable)
        assert table.row_count == 3 and screen.selected_index() == 0
        totals = str(screen.query_one("#totals").text)
        assert app.texts.amount(view.total_rial) in totals
        assert app.texts.amount(view.covered_rial) in totals
        # and the ledger approves the sale at that price
        result = await review_and_confirm(pilot)
        assert result.outcome.status == "approved", message(app)
        assert result.outcome.lines[0].unit_price_rial == new_price
        assert result.outcome.covered_rial == view.covered_rial


async def test_a_refused_price_leaves_the_line_as_it_was(sandbox, lane):
    app = app_for(lane, language="en")
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    rice, eggs = product(sandbox, "rice"), product(sandbox, "eggs")
    async with app.run_test(size=(100, 30)) as pilot:
        await scan(pilot, token)
        await scan(pilot, rice["gtin"])
        await scan(pilot, eggs["gtin"])
        screen = app.screen
        before = screen.view
        await pilot.press("up", "f4")
        await until(pilot, lambda: isinstance(app.screen, PromptDialog), "the price question")
        answer = app.screen.query_one("#answer", Input)
        await pilot.press(*["backspace"] * len(answer.value), "0", "enter")
        await settle(pilot)
        assert app.screen is screen
        assert message(app) == app.texts.t("error.invalid_price")
        assert screen.view == before == app.flow.session.basket()
