"""GS1 labels as shops meet them, on the screen against the real sandbox ledger (Pilot)."""

from __future__ import annotations

from pos_client.domain.barcodes import GS
from pos_client.domain.money import line_amount
from pos_client.tui.screens.basket import BasketScreen

from .conftest import app_for, product
from .pilot import message, scan


def gtin14(gtin: str) -> str:
    return gtin.rjust(14, "0")


async def test_labels_with_any_gs1_data_add_their_product(sandbox, lane):
    app = app_for(lane)
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    chicken = product(sandbox, "chicken", unit="kg")
    rice = product(sandbox, "rice")
    fresh_meat = "".join(
        [
            "]C1" + "01" + gtin14(chicken["gtin"]) + "3103" + "001250",  # 1.250 kg
            "7003" + "2612311200" + GS,  # expiry date and time
            "8008" + "2612010830" + GS,  # production date and time
            "7030" + "364AB12",  # processor's approval number
        ]
    )
    databar = "01" + gtin14(rice["gtin"])  # only the GTIN, from a scanner without AIM ids
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, token)
        assert isinstance(app.screen, BasketScreen), message(app)
        await scan(pilot, fresh_meat)
        await scan(pilot, databar)
        lines = [item.line for item in app.screen.view.items]
        assert [(line.gtin, line.quantity_milli) for line in lines] == [
            (chicken["gtin"], 1250),
            (rice["gtin"], 1000),
        ], message(app)
        assert lines[0].amount_rial == line_amount(1250, chicken["price_rial"])


async def test_a_label_whose_date_is_no_date_is_refused_in_words(sandbox, lane):
    app = app_for(lane)
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    rice = product(sandbox, "rice")
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, token)
        await scan(pilot, rice["gtin"])
        await scan(pilot, "]C1" + "01" + gtin14(rice["gtin"]) + "17" + "261331")  # month 13
        assert [item.line.gtin for item in app.screen.view.items] == [rice["gtin"]]
        assert message(app) == app.texts.t("error.invalid_date")


async def test_a_label_price_the_rounding_cannot_charge_is_the_cashiers_choice(sandbox, lane):
    from textual.widgets import Input

    from pos_client.tui.screens.dialogs import PromptDialog

    from .pilot import settle, until

    app = app_for(lane)
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    chicken = product(sandbox, "chicken", unit="kg")
    # 5 kg for 100,003 Rials: no whole unit price charges that; 20,001 a kg charges 100,005.
    label = "]C1" + "01" + gtin14(chicken["gtin"]) + "3103" + "005000" + "3920" + "100003"
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, token)
        screen = app.screen
        await scan(pilot, label)
        await until(pilot, lambda: isinstance(app.screen, PromptDialog), "the label's question")
        assert app.screen.question == app.texts.t(
            "basket.label_price",
            label=app.texts.amount(100_003),
            quantity=app.texts.quantity(5000, "kg"),
            charged=app.texts.amount(100_005),
            unit=app.texts.currency_word(),
        )
        await pilot.press("enter")  # the amount the rule gives
        await settle(pilot)
        assert app.screen is screen, message(app)
        assert [i.line.amount_rial for i in screen.view.items] == [100_005], message(app)

        await scan(pilot, label)  # again, and this time the cashier types a unit price
        await until(pilot, lambda: isinstance(app.screen, PromptDialog), "the label's question")
        answer = app.screen.query_one("#answer", Input)
        await pilot.press(*["backspace"] * len(answer.value), *"30000", "enter")
        await settle(pilot)
        price = app.texts.price_from_input(30000)
        assert [i.line.amount_rial for i in screen.view.items] == [100_005, 5 * price]

        await scan(pilot, label)  # and once more, left out
        await until(pilot, lambda: isinstance(app.screen, PromptDialog), "the label's question")
        await pilot.press("escape")
        await settle(pilot)
        assert len(screen.view.items) == 2
