"""A keyboard-mode scanner types into the App: a burst ending in Enter is a scan."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input

from pos_client.tui.messages import ScanArrived
from pos_client.tui.screens.basket import BasketScreen
from pos_client.tui.screens.identify import IdentifyScreen
from pos_client.tui.screens.otp import OtpScreen

from .conftest import app_for, product
from .pilot import scan, settle, until


class Ticker:
    """A monotonic clock that moves ``step`` seconds each time it is read (one key each)."""

    def __init__(self, step: float) -> None:
        self.now = 1000.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


async def test_a_burst_is_a_scan_and_typing_is_typing(sandbox, lane):
    nid = sandbox.household("kalabarg")["national_id"]
    for step, is_scan in ((0.004, True), (0.25, False)):
        messages: list[Any] = []
        app = app_for(lane, keyboard_scanner=True, monotonic=Ticker(step))
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await pilot.press(*list(nid), "enter")
            await settle(pilot)
            await until(pilot, lambda app=app: isinstance(app.screen, OtpScreen), "the OTP screen")
            scans = [m for m in messages if isinstance(m, ScanArrived) and m.source == "keyboard"]
            assert [m.text for m in scans] == ([nid] if is_scan else [])


async def test_a_burst_while_typing_a_quantity_is_still_a_scan(sandbox, lane):
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    eggs = product(sandbox, "eggs")
    ticker = Ticker(0.25)  # a person at first
    app = app_for(lane, keyboard_scanner=True, monotonic=ticker)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, token)
        assert isinstance(app.screen, BasketScreen)
        field = app.screen.query_one("#scan-input", Input)
        await pilot.press("1", "2")  # the cashier starts typing something...
        ticker.now += 1.0  # a moment later...
        ticker.step = 0.004  # ...the scanner fires
        await pilot.press(*list(eggs["gtin"]), "enter")
        await settle(pilot)
        await until(pilot, lambda: bool(app.screen.view.items), "the scanned product")
        assert [i.line.gtin for i in app.screen.view.items] == [eggs["gtin"]]
        # the scanner's keys are taken out of the field; what the person typed stays
        await until(pilot, lambda: field.value == "12", "the field cleaned")


async def test_without_the_detector_enter_submits_the_field(sandbox, lane):
    app = app_for(lane, keyboard_scanner=False)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, IdentifyScreen)
        await pilot.press(*list(sandbox.household("kalabarg")["national_id"]), "enter")
        await settle(pilot)
        assert isinstance(app.screen, OtpScreen)
