"""Closing the checkout screen: in the lane's language, and never silently mid-sale."""

from __future__ import annotations

from pos_client.tui.screens.dialogs import ConfirmDialog
from pos_client.tui.screens.result import ResultScreen

from .conftest import app_for, product
from .pilot import scan, settle, until


async def test_ctrl_c_says_how_to_close_in_persian_never_textuals_english(sandbox, lane):
    app = app_for(lane)  # a Persian lane
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, token)
        await pilot.press("ctrl+c")
        await pilot.pause()
        told = [(n.title, n.message) for n in app._notifications]
        texts = app.texts  # as the terminal shows a line: shaped and ordered
        assert told == [(texts.line("key.quit"), texts.line("app.ctrl_c", keys="Ctrl+Q"))]
        assert app.is_running


async def _sending(sandbox, app, pilot) -> None:
    """A sale confirmed on a slow ledger, still being sent."""
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    await scan(pilot, token)
    await scan(pilot, product(sandbox, "pasta")["gtin"])
    sandbox.add_fault("latency", "/v1/redemptions", method="POST", latency_ms=3000)
    await pilot.press("f2")
    await settle(pilot)
    await pilot.press("enter")  # confirm: the ledger takes its time
    await until(pilot, lambda: app.sending, "the sale being sent")


async def test_ctrl_q_while_a_sale_is_sending_asks_and_says_it_is_finished_at_next_start(
    sandbox, lane
):
    app = app_for(lane)
    async with app.run_test(size=(80, 24)) as pilot:
        await _sending(sandbox, app, pilot)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        assert app.screen.question == app.texts.t("app.quit_while_sending")
        await pilot.press("escape")  # stay: the sale goes on to its answer
        await until(pilot, lambda: isinstance(app.screen, ResultScreen), "the result screen")
        assert app.is_running and app.screen.outcome.status == "approved"
    sandbox.clear_faults()


async def test_closing_mid_send_when_the_cashier_says_so(sandbox, lane):
    app = app_for(lane)
    async with app.run_test(size=(80, 24)) as pilot:
        await _sending(sandbox, app, pilot)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await pilot.press("enter")
        await until(pilot, lambda: not app.is_running, "the screen closed")
    sandbox.clear_faults()
