"""Rotating the terminal token: on a schedule and on ``pos-client token rotate``.

One rotation, in this order:

1. the store notes that a rotation has begun (``token_rotation_pending_since``);
2. ``POST /v1/terminal-tokens/rotate`` gives the new token (the one sent keeps
   working 10 minutes more, by the ledger's clock);
3. the new token is written to the config file, atomically and 0600, before
   anything uses it (:func:`pos_client.adapters.lane_token.write_token`);
4. the ledger client sends it from the next request on (requests in flight
   keep the old one, which still works: no sale fails in between);
5. the store notes when, and the pending mark goes.

A crash between 2 and 3 loses the new token, not the lane: the config still
holds the old token, which works for 10 more minutes, and the pending mark
makes the next start (or the next check of the schedule) rotate again at once
with it, which the ledger allows for a token in its grace period. Only a lane
that stays down for more than those 10 minutes after such a crash must be
enrolled again; it says so (``401`` with the doctor's sentence). Nothing
retries a lost rotation blindly while running: the mark does it on the next
check.

The token is never logged, printed or put into an error message. Imports
the standard library, the ports and the project's errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Protocol

from pos_client.domain.errors import PosError
from pos_client.errors import CheckoutError, CheckoutRefused, LedgerRejected
from pos_client.ports import Clock, MetaStore

__all__ = ["DEFAULT_ROTATE_DAYS", "TokenRotation"]

log = logging.getLogger(__name__)

#: How often a lane rotates its token when the config does not say.
DEFAULT_ROTATE_DAYS = 30

PENDING_KEY = "token_rotation_pending_since"
ROTATED_KEY = "token_rotated_at"


class _RotatingLedger(Protocol):
    async def rotate_token(self) -> tuple[str, datetime]: ...

    def use_token(self, token: str) -> None: ...


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


class TokenRotation:
    """Rotates the lane's terminal token, and knows when it is due."""

    def __init__(
        self,
        *,
        ledger: _RotatingLedger,
        store: MetaStore,
        clock: Clock,
        save_token: Callable[[str], None],
        every: timedelta = timedelta(days=DEFAULT_ROTATE_DAYS),
        may_rotate: Callable[[], None] = lambda: None,
        exclusive: Callable[[], AbstractContextManager[bool]] = lambda: nullcontext(True),
    ) -> None:
        self._ledger = ledger
        self._store = store
        self._clock = clock
        self._save = save_token
        self.every = every
        self._may_rotate = may_rotate
        self._exclusive = exclusive

    @property
    def pending_since(self) -> datetime | None:
        """When a rotation began that never finished (a crash between answer and write)."""
        return _time(self._store.get_meta(PENDING_KEY))

    @property
    def rotated_at(self) -> datetime | None:
        return _time(self._store.get_meta(ROTATED_KEY))

    def due(self) -> bool:
        """A rotation is owed: one was left unfinished, or the last is ``every`` old.

        A lane that never rotated counts from the first time it asks.
        """
        if self.pending_since is not None:
            return True
        last = self.rotated_at
        now = self._clock.now()
        if last is None:
            self._store.set_meta(ROTATED_KEY, now.isoformat())
            return False
        return now - last >= self.every

    async def rotate(self) -> datetime:
        """Rotate now; returns when the token it replaced stops working.

        Raises :class:`LedgerUnavailable` / :class:`LedgerRejected` (nothing
        changed on the lane but the pending mark, which the next check honours),
        :class:`CheckoutRefused` for a revoked or retired lane,
        :class:`CheckoutError` while another process rotates it, or
        :class:`ConfigError` when the config file cannot take the new token.
        """
        self._may_rotate()
        with self._exclusive() as mine:
            if not mine:
                raise CheckoutError(
                    "another process is rotating this lane's token right now; try again",
                    code="rotation_in_progress",
                )
            self._store.set_meta(PENDING_KEY, self._clock.now().isoformat())
            token, previous_valid_until = await self._ledger.rotate_token()
            self._save(token)  # on disk, 0600, before anything sends it
            self._ledger.use_token(token)
            self._store.set_meta(ROTATED_KEY, self._clock.now().isoformat())
            self._store.set_meta(PENDING_KEY, "")
        log.info("the terminal token was rotated; the old one works until %s", previous_valid_until)
        return previous_valid_until

    async def rotate_if_due(self) -> bool:
        """Rotate when :meth:`due` (between sales); a failure is logged and tried next time."""
        if not self.due():
            return False
        try:
            await self.rotate()
        except (CheckoutRefused, CheckoutError):  # revoked, retired, or rotating elsewhere
            return False
        except LedgerRejected as exc:
            log.warning("the token rotation was refused (%s)", exc.code)
            return False
        except (PosError, OSError) as exc:  # the ledger away, a full disk: the old one works
            log.warning(
                "the token rotation failed (%s); it is tried again later", type(exc).__name__
            )
            return False
        return True
