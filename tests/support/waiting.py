"""Waiting for what a test cannot await: one helper, with a deadline.

Tests await what the code offers (a worker, a future, an event, a queue). Where
only polling is possible (a child process behind a pty, a server thread, a
screen's state under Pilot), they ask :func:`eventually` or
:func:`eventually_async`: try the condition, take one step (a read, a pause),
try again, and fail with a sentence naming what never happened once the
deadline has passed. The deadline is a bound for a machine under load, not a
timing the test asserts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

#: The longest a test waits for something that should happen (seconds): a bound, not a timing.
WITHIN = 60.0

#: The pause between two tries when the caller has no step of its own to take (seconds).
PAUSE = 0.02


def eventually(
    condition: Callable[[], T],
    what: str,
    *,
    within: float = WITHIN,
    step: Callable[[], object] | None = None,
) -> T:
    """``condition()`` once it is true; between tries ``step()`` (or a short pause)."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        if step is None:
            time.sleep(PAUSE)
        else:
            step()


async def eventually_async(
    condition: Callable[[], T],
    what: str,
    *,
    within: float = WITHIN,
    step: Callable[[], Awaitable[object]] | None = None,
) -> T:
    """As :func:`eventually`, in a running loop: ``await step()`` between tries."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        if step is None:
            await asyncio.sleep(PAUSE)
        else:
            await step()
