"""Guessing throttled: failed purchase-code and OTP attempts, per terminal, in a sliding minute.

A purchase code spends without a texted code and an OTP is six digits, so a
terminal that may guess freely would find one. After :data:`MAX_FAILURES`
failed attempts by one terminal within :data:`WINDOW`, every further attempt
of that terminal (and every new OTP challenge it asks for) is refused with
``429 too_many_attempts`` and ``Retry-After``: the seconds until the oldest of
those failures is a minute old. What is refused is not evaluated at all, so
even the right code gets nowhere until then.

An attempt counts as failed from the moment it starts until it is known to
have succeeded (:meth:`Attempt.succeeded`), so that many attempts sent at
once cannot slip past the limit while the first of them are being evaluated.
Times are the sandbox clock's; the counts live in memory (a restart forgets
them).

Imports the standard library and the sandbox's problems only.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from .problems import problem

__all__ = ["MAX_FAILURES", "WINDOW", "Attempt", "GuessThrottle"]

MAX_FAILURES = 10
WINDOW = timedelta(minutes=1)


class Attempt:
    """One purchase-code or OTP attempt under way; failed unless it says otherwise."""

    __slots__ = ("_ok",)

    def __init__(self) -> None:
        self._ok = False

    def succeeded(self) -> None:
        self._ok = True

    @property
    def ok(self) -> bool:
        return self._ok


class GuessThrottle:
    """The failed attempts of each terminal within the last minute (thread-safe)."""

    def __init__(
        self,
        *,
        limit: int = MAX_FAILURES,
        window: timedelta = WINDOW,
        what: str = "failed purchase-code or OTP attempts by this terminal",
    ) -> None:
        self.limit = limit
        self.window = window
        self.what = what
        self._failures: dict[str, list[tuple[datetime, Attempt]]] = {}
        self._lock = threading.Lock()

    def _recent(self, terminal_id: str, now: datetime) -> list[tuple[datetime, Attempt]]:
        """The terminal's failures since ``now - window`` (pruned in place; lock held).

        An attempt stamped a moment after ``now`` (another thread read the clock
        later but took the lock first) counts too: it is never dropped as if it
        were not there, or many attempts sent at once would slip past the limit.
        """
        since = now - self.window
        kept = [(at, a) for at, a in self._failures.get(terminal_id, []) if since < at]
        if kept:
            self._failures[terminal_id] = kept
        else:
            self._failures.pop(terminal_id, None)
        return kept

    def _refuse_if_over(self, terminal_id: str, now: datetime) -> None:
        recent = self._recent(terminal_id, now)
        if len(recent) >= self.limit:
            oldest = min(at for at, _ in recent)
            wait = max(1, math.ceil((oldest + self.window - now).total_seconds()))
            raise problem(
                "too_many_attempts",
                f"more than {self.limit} {self.what} within a minute: try again in {wait} seconds",
                headers={"Retry-After": str(wait)},
            )

    def check(self, terminal_id: str, now: datetime) -> None:
        """``429 too_many_attempts`` if the terminal has used up its attempts for now."""
        with self._lock:
            self._refuse_if_over(terminal_id, now)

    @contextmanager
    def attempt(self, terminal_id: str, now: datetime) -> Iterator[Attempt]:
        """An attempt (``429`` first if there is none left); failed unless it succeeded."""
        attempt = Attempt()
        entry = (now, attempt)
        with self._lock:
            self._refuse_if_over(terminal_id, now)
            self._failures.setdefault(terminal_id, []).append(entry)
        try:
            yield attempt
        finally:
            if attempt.ok:
                with self._lock:
                    entries = self._failures.get(terminal_id, [])
                    self._failures[terminal_id] = [e for e in entries if e[1] is not attempt]
