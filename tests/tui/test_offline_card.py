"""On the screen: a household never seen here, the ledger down, served from its KB2 card."""

from __future__ import annotations

import pytest

from pos_client.tui.screens.basket import BasketScreen
from pos_client.tui.screens.result import ResultScreen

from .conftest import app_for, product
from .pilot import message, scan, texts_of_screen
from .test_checkout import review_and_confirm


@pytest.mark.parametrize("language", ["en", "fa"])
async def test_the_screen_says_offline_from_the_households_card(sandbox, lane, language):
    app = app_for(lane, language=language)
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"], version=2)
    milk = product(sandbox, "milk-lowfat")
    sandbox.add_fault("rate_limit", "/v1/*", count=None, retry_after=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan(pilot, token)
        assert isinstance(app.screen, BasketScreen), message(app)
        assert app.texts.t("status.from_card") in texts_of_screen(app)
        await scan(pilot, milk["gtin"])
        result = await review_and_confirm(pilot)
        assert isinstance(result, ResultScreen)
        assert result.outcome.status == "approved_offline"
        assert app.texts.t("result.from_card") in texts_of_screen(app)
    sandbox.clear_faults()
    if language == "fa":
        assert app.texts.t("result.from_card") == "آفلاین، از روی کارت خانوار"
