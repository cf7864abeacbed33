"""Training only: switch the demo's own sandbox ledger "down" and back from the screen.

The checkout screen in training mode offers a key that makes the ledger
unreachable for the lane, so that a newcomer sees an offline sale happen
(a QR token carried by the household, approved from its card) and then the
backlog sent once the ledger is back. The switch is a :class:`SandboxOutage`:
it is made here, by the command that started the sandbox, from that running
sandbox and the lane's configured ledger, and handed to the screen through
its :class:`~pos_client.tui.app.DemoGuide`. The screen never learns a URL
and can switch nothing else: a lane whose ledger is not this sandbox gets no
switch at all (:class:`~pos_client.errors.ConfigError`), and a lane without a
guide (every real lane) has no key for it.

While the ledger is down every ``/v1/`` request is answered ``503`` with
``Retry-After``, before the sandbox handles it (nothing is recorded): the lane
takes that, like a refused connection, as a ledger that cannot be reached.
Switching it back on clears the sandbox's faults.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

from pos_client.errors import ConfigError

__all__ = ["OUTAGE_PATH", "SandboxOutage"]

log = logging.getLogger(__name__)

#: Every request of the contract (the sandbox's own /sandbox/ paths are never faulted).
OUTAGE_PATH = "/v1/*"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port)


class SandboxOutage:
    """Switches a running sandbox ledger unreachable (``True``) or back (``False``).

    ``sandbox`` is a :class:`~pos_client.sandbox.server.RunningSandbox` (its
    ``url``, ``add_fault`` and ``clear_faults``); ``ledger_url`` is the lane's
    configured ledger, which must be that very sandbox.
    """

    def __init__(self, sandbox: Any, ledger_url: str) -> None:
        if _origin(str(sandbox.url)) != _origin(ledger_url):
            raise ConfigError(
                "the training switch works only against the demo's own sandbox ledger",
                key="ledger.url",
            )
        self._sandbox = sandbox
        self._lock = asyncio.Lock()

    async def __call__(self, down: bool) -> None:
        async with self._lock:
            await asyncio.to_thread(self._switch, down)

    def _switch(self, down: bool) -> None:
        if down:
            self._sandbox.clear_faults()  # one outage, never two stacked
            self._sandbox.add_fault("unavailable", OUTAGE_PATH, count=None)
            log.info("training: the sandbox ledger is switched off")
        else:
            self._sandbox.clear_faults()
            log.info("training: the sandbox ledger is switched on again")
