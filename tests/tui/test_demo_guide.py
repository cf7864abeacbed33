"""The demo as a shopkeeper tries it: the purchase codes its guide offers, typing right away.

Against the real sandbox ledger and the real App under Pilot.
"""

from __future__ import annotations

import re
from pathlib import Path

from textual import events
from textual.widgets import Input

from pos_client.commands.demo import _guide
from pos_client.sandbox.admin import PURCHASE_CODE_LIFETIME
from pos_client.sandbox.server import RunningSandbox
from pos_client.tui.screens.basket import BasketScreen
from pos_client.tui.screens.help import HelpScreen
from pos_client.tui.screens.identify import IdentifyScreen

from .conftest import app_for, product
from .pilot import message, scan, texts_of_screen, type_line, until
from .test_checkout import review_and_confirm

CODE = re.compile(r"\b\d{8}\b")


async def test_the_help_offers_purchase_codes_that_work_after_those_printed_at_start_expired(
    sandbox: RunningSandbox, lane, tmp_path: Path
) -> None:
    guide, printed = _guide(sandbox, "codes", tmp_path)
    assert guide.purchase_codes and guide.purchase_codes[0] in printed
    # The demo has been played with for longer than a purchase code lives.
    sandbox.advance_clock(int(PURCHASE_CODE_LIFETIME.total_seconds()) + 60)
    app = app_for(lane, training=True, guide=guide, language="en")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        heading = app.texts.t("help.demo.purchase_codes")

        def offered() -> list[str]:
            shown = texts_of_screen(app)
            return (
                CODE.findall(shown.split(heading, 1)[1].split("\n")[1]) if heading in shown else []
            )

        await until(pilot, lambda: bool(offered()), "purchase codes in the help")
        codes = offered()
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "the idle screen")
        await type_line(pilot, codes[0])
        assert isinstance(app.screen, BasketScreen), message(app)
        # F1 again: other fresh codes, none of them the one just taken
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        await until(pilot, lambda: bool(offered()), "purchase codes in the help")
        assert codes[0] not in offered()
    assert "F1 shows fresh ones" in printed  # and the printed guide says so


async def test_digits_typed_right_after_new_sale_all_reach_the_idle_screen(
    sandbox: RunningSandbox, lane
) -> None:
    """Keys a terminal delivers in one burst: Enter (next sale), then the next household's ID."""
    eggs = product(sandbox, "eggs")
    nid = sandbox.household("yasna")["national_id"]
    app = app_for(lane, training=True, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, sandbox.mint_token(sandbox.household("kalabarg")["national_id"]))
        assert isinstance(app.screen, BasketScreen), message(app)
        await type_line(pilot, eggs["gtin"])
        result = await review_and_confirm(pilot)
        assert result.outcome.status == "approved"
        # Posted as the terminal driver posts keys: no pause between them.
        app.post_message(events.Key("enter", "\r"))
        for digit in nid:
            app.post_message(events.Key(digit, digit))
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "the idle screen")
        field = app.screen.query_one("#identify-input", Input)
        await until(pilot, lambda: len(field.value) >= len(nid), "every digit typed")
        assert field.value == nid
