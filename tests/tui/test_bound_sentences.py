"""The screen's sentence for each bound of a basket names the bound, in Persian and English."""

from __future__ import annotations

import pytest

from pos_client.domain.bounds import (
    MAX_LINE_AMOUNT_RIAL,
    MAX_LINES,
    MAX_QUANTITY_MILLI,
    MAX_TOTAL_RIAL,
    check_basket,
    check_quantity_milli,
)
from pos_client.domain.errors import ContractError
from pos_client.domain.models import BasketLine
from pos_client.domain.money import format_amount
from pos_client.errors import ScaleError
from pos_client.tui.i18n import Texts


def _number(value: int, lang: str) -> str:
    return format_amount(
        value, unit="rial", with_unit=False, digits="fa" if lang == "fa" else "ascii"
    )


@pytest.mark.parametrize("lang", ["fa", "en"])
@pytest.mark.parametrize(
    ("code", "bound"),
    [
        ("quantity_too_large", MAX_QUANTITY_MILLI // 1000),
        ("line_too_large", MAX_LINE_AMOUNT_RIAL),
        ("total_too_large", MAX_TOTAL_RIAL),
        ("too_many_lines", MAX_LINES),
    ],
)
def test_each_bound_has_a_sentence_naming_it(lang: str, code: str, bound: int) -> None:
    texts = Texts(lang=lang)  # type: ignore[arg-type]
    sentence = texts.error(ContractError(code, "in English for the log"))
    assert sentence == texts.t(f"error.{code}")
    assert _number(bound, lang) in sentence
    assert sentence != texts.t("error.unexpected")


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_refusals_of_the_checks_reach_the_screen_as_those_sentences(lang: str) -> None:
    texts = Texts(lang=lang)  # type: ignore[arg-type]
    with pytest.raises(ContractError) as caught:
        check_quantity_milli(123_456_789_000)
    assert _number(1_000_000, lang) in texts.error(caught.value)
    line = BasketLine(gtin="6260000000019", quantity_milli=1000, unit_price_rial=1)
    with pytest.raises(ContractError) as caught:
        check_basket([line] * (MAX_LINES + 1))
    assert _number(500, lang) in texts.error(caught.value)


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_a_weight_over_the_scales_capacity_is_its_own_sentence(lang: str) -> None:
    texts = Texts(lang=lang)  # type: ignore[arg-type]
    over = ScaleError("the scale read 123,456.789 kg", code="scale_over_capacity")
    assert texts.error(over) == texts.t("error.scale_over_capacity")
    assert texts.error(over) != texts.t("error.scale_error")


@pytest.mark.parametrize("lang", ["fa", "en"])
async def test_too_large_a_quantity_typed_says_the_bound_never_more_than_zero(
    sandbox, lane, lang: str
) -> None:
    from pos_client.tui.screens.dialogs import PromptDialog

    from .conftest import app_for, product
    from .pilot import message, scan, settle, until

    app = app_for(lane, language=lang)
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, token)
        await scan(pilot, product(sandbox, "rice")["gtin"])
        screen = app.screen
        before = screen.view
        await pilot.press("f3")  # the line's quantity
        await until(pilot, lambda: isinstance(app.screen, PromptDialog), "the quantity question")
        await pilot.press(*"2000000", "enter")
        await settle(pilot)
        assert app.screen is screen and screen.view == before
        assert message(app) == app.texts.t("error.quantity_too_large")
        assert _number(1_000_000, lang) in message(app)

        await scan(pilot, product(sandbox, "chicken", unit="kg")["gtin"])  # no scale: typed
        await until(pilot, lambda: isinstance(app.screen, PromptDialog), "the weight question")
        await pilot.press(*"123456789", "enter")
        await settle(pilot)
        assert message(app) == app.texts.t("error.quantity_too_large")
        assert screen.view == before
