"""Whether this lane may sell at all: not when its terminal was revoked, nor once retired.

A lane learns it was revoked from the ledger (``401 terminal_revoked`` on any
call; the ledger client reports it here); it is retired by ``pos-client lane
retire``. Either is kept in the store's meta as the SHA-256 of the token it
applies to, never the token: a lane enrolled again gets a new token in its
config, and with it may sell again, keeping its store and outbox.

Why a revoked lane stops offline selling too: an offline approval is the
terminal's promise, made for the programme, that the ledger will honour the
sale when it is forwarded; a revoked terminal is no longer a terminal of the
programme, so the ledger will not take its redemptions, and every offline
"approved" would be a sale the shop gives away. Its outbox is kept: what it
approved before it was revoked is still owed, and goes out when the lane is
enrolled again (or is read from the store file by whoever settles it).

Imports the standard library, the ports and the project's errors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from pos_client.errors import TERMINAL_REVOKED_SENTENCE, CheckoutRefused
from pos_client.ports import MetaStore

__all__ = [
    "RETIRED_SENTENCE",
    "REVOKED_SENTENCE",
    "LaneStanding",
]

REVOKED_KEY = "terminal_revoked_token"
RETIRED_KEY = "lane_retired_token"
RETIRED_AT_KEY = "lane_retired_at"

#: What a revoked lane says, in one sentence (the screen has its own catalog text).
REVOKED_SENTENCE = TERMINAL_REVOKED_SENTENCE
RETIRED_SENTENCE = (
    "this lane was retired: it sells nothing until it is enrolled again (its store is kept)"
)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class LaneStanding:
    """Revoked or retired, for the token the lane holds now."""

    def __init__(self, *, store: MetaStore, token: Callable[[], str]) -> None:
        self._store = store
        self._token = token

    def _applies(self, key: str) -> bool:
        kept = self._store.get_meta(key)
        return bool(kept) and kept == _digest(self._token())

    @property
    def revoked(self) -> bool:
        return self._applies(REVOKED_KEY)

    @property
    def retired(self) -> bool:
        return self._applies(RETIRED_KEY)

    def reason(self) -> str | None:
        """``terminal_revoked``, ``lane_retired`` or ``None`` (the lane may sell)."""
        if self.revoked:
            return "terminal_revoked"
        if self.retired:
            return "lane_retired"
        return None

    def check(self) -> None:
        """Raise :class:`CheckoutRefused` with the one sentence when the lane may not sell."""
        reason = self.reason()
        if reason == "terminal_revoked":
            raise CheckoutRefused(REVOKED_SENTENCE, code=reason)
        if reason == "lane_retired":
            raise CheckoutRefused(RETIRED_SENTENCE, code=reason)

    def note_revoked(self) -> None:
        """The ledger said ``terminal_revoked`` for the token the lane holds."""
        self._store.set_meta(REVOKED_KEY, _digest(self._token()))

    def note_retired(self, at: datetime) -> None:
        self._store.set_meta(RETIRED_KEY, _digest(self._token()))
        self._store.set_meta(RETIRED_AT_KEY, at.isoformat())
