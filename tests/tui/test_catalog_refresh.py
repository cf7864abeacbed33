"""A catalog refresh while a basket is open, on the screen (Pilot, the real sandbox ledger):
the basket is planned again and the cashier is told which line changed; a signed catalog
that drops many products is taken with a warning the cashier sees."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pos_client.domain.models import Product
from pos_client.sandbox.products import ANCHOR_COUNT, gtin_for_index
from pos_client.sandbox.server import RunningSandbox
from pos_client.tui.screens.basket import BasketScreen
from pos_client.tui.screens.review import ReviewScreen
from tests.services.test_catalog_text import publish

from .conftest import app_for, product
from .pilot import message, scan, settle, until
from .test_checkout import review_and_confirm


def approved(sandbox: RunningSandbox, gtins: list[str]) -> list[Product]:
    catalog = sandbox.sandbox.catalog
    with sandbox.sandbox.books.write() as tx:
        found = [catalog.lookup(tx, gtin) for gtin in gtins]
    return [p for p in found if p is not None]


def warnings(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications if n.severity == "warning"]


async def test_a_refresh_plans_the_open_basket_again_and_says_which_line_changed(
    sandbox, lane
) -> None:
    app = app_for(lane, language="en")
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    rice, pasta = product(sandbox, "rice"), product(sandbox, "pasta")
    async with app.run_test(size=(100, 30)) as pilot:
        await scan(pilot, token)
        await scan(pilot, rice["gtin"])
        await scan(pilot, pasta["gtin"])
        screen = app.screen
        assert isinstance(screen, BasketScreen), message(app)
        before = screen.view
        assert before.items[0].covered_rial == rice["price_rial"]
        # The programme removes the rice, and with it a quarter of the catalog (signed).
        held = lane.store.catalog_state()[2]
        others = [gtin_for_index(i) for i in range(ANCHOR_COUNT + 1, ANCHOR_COUNT + 800)]
        doomed = approved(sandbox, [rice["gtin"], *others])[: held * 3 // 10]
        assert doomed[0].gtin == rice["gtin"]
        publish(sandbox, *(replace(p, deleted=True) for p in doomed))

        await pilot.press("f2")  # the cashier is looking at the review when it comes
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen), message(app)
        app.refresh_rules()  # the app's own refresh (as its timer runs it)
        await until(pilot, lambda: isinstance(app.screen, BasketScreen), "back to the basket")
        await settle(pilot)
        screen = app.screen
        view = screen.view
        assert view.items[0].covered_rial == 0 and view == app.flow.session.basket()
        assert not view.items[0].in_catalog
        assert view.items[1].line == before.items[1].line  # the pasta: still covered in full
        assert view.items[1].covered_rial == before.items[1].covered_rial
        assert view.covered_rial == before.covered_rial - rice["price_rial"]
        said = message(app)
        assert said.startswith("The product list has changed for: "), said
        name = app.flow.names.get(rice["gtin"]) or before.items[0].line.name
        assert name in said and "pasta" not in said.lower().split(":", 1)[1]
        totals = str(screen.query_one("#totals").text)
        assert app.texts.amount(view.covered_rial) in totals
        # the large drop is warned about on the screen
        await until(pilot, lambda: warnings(app), "the catalog warning")
        version = lane.store.catalog_state()[0]
        percent = len(doomed) * 100 // held
        told = app.texts.t(
            "catalog.dropped_warning",
            version=version,
            dropped=len(doomed),
            before=held,
            percent=percent,
        )
        assert told in warnings(app), warnings(app)

        result = await review_and_confirm(pilot)
        assert result.outcome.status == "approved", message(app)
        assert result.outcome.covered_rial == pasta["price_rial"]


async def test_a_confirm_overtaken_by_a_refresh_goes_back_to_the_basket_and_says_so(
    sandbox, lane
) -> None:
    """The refresh came while a step ran (no recheck then): the confirm finds it itself."""
    app = app_for(lane, language="en")
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    rice, pasta = product(sandbox, "rice"), product(sandbox, "pasta")
    async with app.run_test(size=(100, 30)) as pilot:
        await scan(pilot, token)
        await scan(pilot, rice["gtin"])
        await scan(pilot, pasta["gtin"])
        (gone,) = approved(sandbox, [rice["gtin"]])
        publish(sandbox, replace(gone, deleted=True))
        await lane.refresh.sync_catalog()  # not through the app: the screen was not told
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await until(pilot, lambda: isinstance(app.screen, BasketScreen), "back to the basket")
        assert message(app) == app.texts.t("error.catalog_changed")
        assert app.screen.view.items[0].covered_rial == 0
        assert app.flow.session.redemption_id is None  # nothing sent
        result = await review_and_confirm(pilot)
        assert result.outcome.status == "approved", message(app)
        assert result.outcome.covered_rial == pasta["price_rial"]
