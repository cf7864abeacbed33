"""Helpers to drive the checkout App under Pilot the way a cashier would."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.screen import ModalScreen

from pos_client.tui.widgets.text import BidiText

#: How many short pauses a step may take before the test gives up (a bound, not a timing).
MAX_PAUSES = 600


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until the checkout's current step is done (or waits on a dialog)."""
    app: Any = pilot.app
    for _ in range(MAX_PAUSES):
        await pilot.pause(0.02)
        if not app.flow.busy or isinstance(app.screen, ModalScreen):
            await pilot.pause()
            return
    raise AssertionError("the checkout step did not finish")


async def until(pilot: Pilot[Any], condition: Any, what: str) -> None:
    """Wait until ``condition()`` holds (a screen shown, a worker done)."""
    for _ in range(MAX_PAUSES):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


async def type_line(pilot: Pilot[Any], text: str) -> None:
    """Type ``text`` and press Enter, then wait for what it started."""
    await pilot.press(*list(text), "enter")
    await settle(pilot)


async def scan(pilot: Pilot[Any], text: str) -> None:
    """A scan as a scanner's reader thread delivers it (see the virtual scanner test)."""
    from pos_client.tui.messages import ScanArrived

    pilot.app.post_message(ScanArrived(text, source="test"))
    await pilot.pause()
    await settle(pilot)


def message(app: Any) -> str:
    """The logical text of the message line of the screen on top."""
    return str(app.screen.query_one("#message", BidiText).text)


def texts_of_screen(app: Any) -> str:
    """Every BidiText of the screen on top, logical, one per line."""
    return "\n".join(str(w.text) for w in app.screen.query(BidiText))
