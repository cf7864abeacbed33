"""Helpers to drive the checkout App under Pilot the way a cashier would."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.pilot import Pilot
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from pos_client.tui.widgets.text import BidiText
from tests.support.waiting import WITHIN, eventually_async


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until the checkout's current step is done (or waits on a dialog)."""
    app: Any = pilot.app
    await pilot.pause()
    while app.flow.busy and not isinstance(app.screen, ModalScreen):
        await _step_or_dialog(app)
        await pilot.pause()
    await pilot.pause()


async def _step_or_dialog(app: Any) -> None:
    """Await the checkout's running step (its worker) or a dialog it puts up, whichever is first."""
    dialog = asyncio.Event()

    def shown(screen: Screen[Any]) -> None:
        if isinstance(screen, ModalScreen):
            dialog.set()

    steps = [w for w in app.workers if w.group == "checkout" and not w.is_finished]
    app.screen_change_signal.subscribe(app, shown, immediate=True)
    waits = [
        asyncio.ensure_future(dialog.wait()),
        *(asyncio.ensure_future(_ended(w)) for w in steps),
    ]
    try:
        done, _ = await asyncio.wait(waits, timeout=WITHIN, return_when=asyncio.FIRST_COMPLETED)
    finally:
        app.screen_change_signal.unsubscribe(app)
        for wait in waits:
            wait.cancel()
    if not done:
        raise AssertionError("the checkout step did not finish")


async def _ended(worker: Worker[Any]) -> None:
    try:
        await worker.wait()
    except (WorkerCancelled, WorkerFailed):  # the step's own errors are sentences on screen
        pass


async def until(pilot: Pilot[Any], condition: Any, what: str) -> None:
    """Wait until ``condition()`` holds (a screen shown, a worker done)."""
    await eventually_async(condition, what, step=lambda: pilot.pause(0.02))


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
