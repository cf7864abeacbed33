"""The forwarder's pacing kept in the store, so the next process knows how the last one ended.

A command run (``queue sync``, ``queue push``) is a process of its own: without
this, a fresh one would not know that the run before it failed to reach the
ledger, and would send a batch first, where the rules (``fleet-api.md``,
"Health, load and the drain after an outage") want a ``GET /v1/health``. Kept,
as one JSON value under :data:`PACING_META_KEY` in the store's meta table (no
new table, no migration):

- ``must_probe``: the last request failed to reach the ledger: probe first;
- ``failures``: consecutive failures (the probes' backoff grows with them);
- ``budget``: the retry budget's tokens left (a lane that only fails stays out
  of tokens across restarts; successes refill it, as in one process);
- ``failed_at``: when the last failure happened (the store's wall clock, UTC);
- ``retry_until``: the end of a ``Retry-After`` still running on the backlog,
  if any; the next process waits it out too (never undercut by a restart).
  None when the next request is a probe anyway.

Written only when it changes; a store that cannot be written (read-only, a
full disk) only loses this hint, never a sale. Imports the standard library,
the domain, the ports and the project's errors.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pos_client.domain.pacing import PacingPolicy
from pos_client.errors import StoreError
from pos_client.ports import Store

__all__ = ["PACING_META_KEY", "PacingState", "load_pacing", "save_pacing"]

log = logging.getLogger(__name__)

PACING_META_KEY = "forwarder.pacing"


@dataclass(frozen=True, slots=True)
class PacingState:
    """What a process tells the next one about its pacing."""

    must_probe: bool = False
    failures: int = 0
    budget: int | None = None  # None: full
    failed_at: datetime | None = None
    retry_until: datetime | None = None

    @classmethod
    def of(
        cls,
        policy: PacingPolicy,
        *,
        failed_at: datetime | None,
        retry_until: datetime | None,
    ) -> PacingState:
        tokens = policy.budget.tokens
        return cls(
            must_probe=policy.must_probe,
            failures=policy.failures,
            budget=None if tokens >= policy.budget.capacity else tokens,
            failed_at=failed_at if policy.failures else None,
            retry_until=retry_until,
        )

    def wire(self) -> str:
        return json.dumps(
            {
                "must_probe": self.must_probe,
                "failures": self.failures,
                "budget": self.budget,
                "failed_at": None if self.failed_at is None else self.failed_at.isoformat(),
                "retry_until": None if self.retry_until is None else self.retry_until.isoformat(),
            },
            sort_keys=True,
        )

    @classmethod
    def read(cls, text: str) -> PacingState:
        """Parse a kept value; anything unreadable is the state of a lane that knows nothing."""
        try:
            data: Any = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            failures = data.get("failures", 0)
            budget = data.get("budget")
            if type(failures) is not int or failures < 0:
                raise ValueError("failures")
            if budget is not None and (type(budget) is not int or budget < 0):
                raise ValueError("budget")
            return cls(
                must_probe=data.get("must_probe") is True,
                failures=failures,
                budget=budget,
                failed_at=_time(data.get("failed_at")),
                retry_until=_time(data.get("retry_until")),
            )
        except ValueError:
            log.warning("the kept pacing state cannot be read: the next request is a probe")
            return cls(must_probe=True)

    def apply(self, policy: PacingPolicy) -> None:
        """Carry this state into a fresh process's policy."""
        if self.must_probe:
            policy.suspect()
        policy.failures = max(policy.failures, self.failures)
        if self.budget is not None:
            policy.budget.tokens = min(policy.budget.capacity, self.budget)

    def retry_left(self, now: datetime) -> float:
        """Seconds of a kept ``Retry-After`` still to wait at ``now`` (0: none)."""
        if self.retry_until is None:
            return 0.0
        return max(0.0, (self.retry_until - now).total_seconds())


def _time(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("a time")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a time without an offset")
    return moment


def load_pacing(store: Store) -> PacingState | None:
    """The state the last process kept, or None (nothing kept, or the store cannot be read)."""
    try:
        text = store.get_meta(PACING_META_KEY)
    except StoreError:
        log.warning("the kept pacing state cannot be read", exc_info=True)
        return None
    return None if text is None else PacingState.read(text)


def save_pacing(store: Store, state: PacingState) -> bool:
    """Keep ``state`` for the next process; False if the store could not take it."""
    try:
        store.set_meta(PACING_META_KEY, state.wire())
    except StoreError:
        log.debug("the pacing state could not be kept", exc_info=True)
        return False
    return True


def retry_until(now: datetime, seconds: float) -> datetime:
    """The wall-clock end of a wait of ``seconds`` from ``now``."""
    return now + timedelta(seconds=max(0.0, seconds))
