"""Fetching the rules and catalog ahead of a tranche unlock, each lane at its own moment.

On a tranche unlock day every household's credit opens the same morning, so
every lane of every chain would want fresh rules and a fresh catalog at the
same moment: a herd without any outage. The rule set may say when the next
unlock is (``next_unlock_at``, optional); the lane then fetches the rules and
the catalog once ahead of it, at a moment drawn uniformly over a window before
the unlock (:func:`pos_client.domain.pacing.prefetch_at`: by default the six
hours that end an hour before it), its own random source injected, so the
lanes of a chain do not ask in the same second. No unlock announced (absent,
null or empty): nothing is fetched ahead, the lane refreshes as it always
does. A fetch that fails is tried again at a moment drawn over what is left
of the window; once the window has passed, the regular refresh carries on.

:meth:`UnlockPrefetch.run` is the background loop (the screen runs it beside
its regular refresh, with its own refresh as the fetch); :meth:`plan` is the
moment, for the status and the tests.

Imports the standard library, the domain, the ports and the project's errors.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from pos_client.domain.models import RuleSet
from pos_client.domain.pacing import RandomSource, prefetch_at
from pos_client.errors import LedgerError, PosError
from pos_client.ports import Clock

__all__ = ["PREFETCH_LEAD", "PREFETCH_WINDOW", "RECHECK_S", "UnlockPrefetch"]

log = logging.getLogger(__name__)

#: The window the moment is drawn over, and how long before the unlock it ends.
PREFETCH_WINDOW = timedelta(hours=6)
PREFETCH_LEAD = timedelta(hours=1)
#: How often the loop looks at the rules again while nothing is due (seconds):
#: the regular refresh may have brought another unlock.
RECHECK_S = 600.0


class _Rules(Protocol):
    def current(self) -> RuleSet | None: ...


class _Refresh(Protocol):
    async def sync_rules(self) -> object: ...

    async def sync_catalog(self) -> object: ...


class UnlockPrefetch:
    """When this lane fetches ahead of the next unlock the rules announce, and the fetching."""

    def __init__(
        self,
        *,
        rules: _Rules,
        refresh: _Refresh,
        clock: Clock,
        rng: RandomSource | None = None,
        window: timedelta = PREFETCH_WINDOW,
        lead: timedelta = PREFETCH_LEAD,
    ) -> None:
        if window <= timedelta(0) or lead < timedelta(0):
            raise ValueError("the prefetch window must be positive and its lead not negative")
        self.rules = rules
        self.refresh = refresh
        self.clock = clock
        self.rng: RandomSource = rng or random.Random()
        self.window = window
        self.lead = lead
        self._planned: tuple[datetime, datetime | None] | None = None  # (unlock, moment)
        self._done: datetime | None = None  # the unlock already fetched ahead of
        #: The moments this lane fetched ahead (for the status and the tests).
        self.fetched_at: list[datetime] = []

    def unlock(self) -> datetime | None:
        """The next unlock the rules held announce (None: none, or no rules yet)."""
        try:
            rules = self.rules.current()
        except PosError:
            return None
        return None if rules is None else rules.next_unlock_at

    def plan(self) -> datetime | None:
        """The moment to fetch ahead of the announced unlock; None: nothing to fetch ahead.

        Drawn once per unlock (a later refresh announcing the same unlock keeps
        the moment), again for another unlock; none once fetched, or when the
        window has passed.
        """
        unlock = self.unlock()
        if unlock is None or unlock == self._done:
            return None
        if self._planned is None or self._planned[0] != unlock:
            self._planned = (unlock, self._draw(unlock))
        return self._planned[1]

    def _draw(self, unlock: datetime) -> datetime | None:
        return prefetch_at(unlock, self.clock.now(), self.rng, window=self.window, lead=self.lead)

    async def fetch(self) -> bool:
        """The rules, then the catalog; whether both went through."""
        try:
            await self.refresh.sync_rules()
            await self.refresh.sync_catalog()
        except LedgerError as exc:
            log.info("the fetch ahead of the unlock failed: %s", exc.message)
            return False
        except PosError as exc:
            log.warning("the fetch ahead of the unlock was refused: %s", exc.message)
            return False
        return True

    async def due(self, fetch: Callable[[], Awaitable[bool]] | None = None) -> bool:
        """Fetch now if the planned moment has come; whether a fetch was made."""
        moment = self.plan()
        if moment is None or self.clock.now() < moment or self._planned is None:
            return False
        unlock = self._planned[0]
        went = await (fetch or self.fetch)()
        self.fetched_at.append(self.clock.now())
        if went:
            self._done = unlock
        else:  # again, at a moment over what is left of the window
            self._planned = (unlock, self._draw(unlock))
            if self._planned[1] is None:
                self._done = unlock
        return True

    async def run(
        self,
        stop: asyncio.Event,
        fetch: Callable[[], Awaitable[bool]] | None = None,
        *,
        recheck: float = RECHECK_S,
    ) -> None:
        """Until ``stop``: wait for the planned moment, then fetch (``fetch``, or :meth:`fetch`)."""
        while not stop.is_set():
            if await self.due(fetch):
                continue
            moment = self.plan()
            pause = recheck
            if moment is not None:
                pause = min(recheck, max(0.0, (moment - self.clock.now()).total_seconds()))
            await self._pause(stop, pause)

    async def _pause(self, stop: asyncio.Event, seconds: float) -> None:
        waiters = [
            asyncio.ensure_future(stop.wait()),
            asyncio.ensure_future(self.clock.sleep(seconds)),
        ]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
