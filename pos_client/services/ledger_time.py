"""The lane's last measured offset from the ledger's clock, and the ledger's time now.

Fed by :class:`~pos_client.adapters.ledger_http.HttpLedger` from every answer
(its ``Date`` header, ``/v1/health``'s ``time``); kept in memory and in the
store's meta (``clock_offset``) so that a lane restarted without network still
knows it, with its age. The rules are pure, in :mod:`pos_client.domain.clock`.

Imports the standard library, the domain, the errors and the ports.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from pos_client.domain.clock import (
    ClockOffset,
    clock_trouble,
    corrected,
    measure_offset,
)
from pos_client.domain.errors import TokenError
from pos_client.domain.tokens import TokenClaims, check_token_time
from pos_client.errors import CheckoutRefused, StoreError
from pos_client.ports import Clock

__all__ = ["CLOCK_META", "LedgerTime"]

log = logging.getLogger(__name__)

CLOCK_META = "clock_offset"
#: How often a measurement is written to the store (every answer is measured in memory).
WRITE_INTERVAL = 60.0


class _Meta(Protocol):
    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


class LedgerTime:
    """The measured offset and the corrected time: a :class:`~pos_client.ports.Clock`.

    One per lane; the lane's services read the time from it, so a sale's
    ``created_at``, its business date and a token's window are the ledger's
    time as well as the lane can tell (the lane's own clock until the first
    answer). :meth:`lane_now` is the lane's own clock.
    """

    def __init__(self, *, clock: Clock, store: _Meta | None = None) -> None:
        self._clock = clock
        self._store = store
        self._offset: ClockOffset | None = None
        self._written: float | None = None
        if store is not None:
            try:
                self._offset = ClockOffset.from_meta(store.get_meta(CLOCK_META))
            except StoreError:
                log.warning("could not read the clock offset")

    def observe_answer(
        self, server_time: datetime, round_trip: float, resolution: timedelta
    ) -> ClockOffset:
        """Note one answer: the ledger's time, the exchange's length (seconds), its resolution."""
        received = self._clock.now()
        sent = received - timedelta(seconds=max(0.0, round_trip))
        offset = measure_offset(
            sent=sent, received=received, server_time=server_time, resolution=resolution
        )
        self._offset = offset
        now = self._clock.monotonic()
        if self._store is not None and (
            self._written is None or now - self._written >= WRITE_INTERVAL
        ):
            try:
                self._store.set_meta(CLOCK_META, offset.to_meta())
                self._written = now
            except StoreError:
                log.warning("could not record the clock offset")
        return offset

    def lane_now(self) -> datetime:
        """The lane's own clock, uncorrected."""
        return self._clock.now()

    def monotonic(self) -> float:
        return self._clock.monotonic()

    async def sleep(self, seconds: float) -> None:
        await self._clock.sleep(seconds)

    def offset(self) -> ClockOffset | None:
        """The last measured offset (``None`` before any)."""
        return self._offset

    def now(self) -> datetime:
        """The ledger's time now as well as the lane knows it (its own clock if never measured)."""
        lane_now = self._clock.now()
        return corrected(lane_now, self._offset) or lane_now

    def trouble(self) -> str | None:
        """``clock_unknown`` / ``clock_wrong`` / ``None`` (see :func:`clock_trouble`)."""
        return clock_trouble(self._clock.now(), self._offset)

    def check_token_offline(self, claims: TokenClaims, *, cause: Exception) -> None:
        """Without the ledger, judge a QR token's time here, if this clock can be trusted.

        Raises ``CheckoutRefused`` (``clock_unknown`` / ``clock_wrong``, or the
        token's ``token_expired`` / ``token_not_yet_valid`` at the ledger's time).
        """
        trouble = self.trouble()
        if trouble is not None:
            why = (
                "has not been checked against the ledger's"
                if trouble == "clock_unknown"
                else "is too far from the ledger's"
            )
            raise CheckoutRefused(
                f"the ledger cannot be reached and this terminal's clock {why}", code=trouble
            ) from cause
        try:
            check_token_time(claims, now=self.now())
        except TokenError as exc:
            raise CheckoutRefused(exc.message, code=exc.reason) from None
