"""A progress line while a sale is being sent: what it does and for how long, each second.

"Recording the sale… (3 s)", then "No answer yet; asking the ledger again… (5 s)"
once the ledger is asked by id: never a silent minute. It holds no rule: the
checkout says which :class:`~pos_client.services.checkout.SendPhase` it is in.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from pos_client.services.checkout import SendPhase
from pos_client.services.redemptions import SaleOutcome

if TYPE_CHECKING:
    from .app import PosApp

__all__ = ["Step", "with_progress"]

#: A sending step, given where to tell its phase.
Step = Callable[[Callable[[SendPhase], None]], Awaitable[SaleOutcome]]


async def with_progress(app: PosApp, say: Callable[[str], None], step: Step) -> SaleOutcome:
    """Run ``step``; each second (and at each new phase) ``say`` what it does and for how long."""
    started = time.monotonic()
    phase = [SendPhase.SENDING]

    def tick() -> None:
        seconds = int(time.monotonic() - started)
        key = "review.asking_again" if phase[0] is SendPhase.ASKING_AGAIN else "review.sending_for"
        if seconds:
            say(app.texts.t(key, seconds=app.texts.number(seconds)))

    def told(now: SendPhase) -> None:
        phase[0] = now
        tick()

    ticker = app.set_interval(1.0, tick)
    app.sending = True  # Ctrl+Q asks first
    try:
        return await step(told)
    finally:
        app.sending = False
        ticker.stop()
