"""How a lane paces its requests to the ledger: the probe, the window, the budget.

One pure, clock-free policy, :class:`PacingPolicy`, that the forwarder follows
and the herd simulator (``pos-client bench --group herd``) drives on a virtual
clock. It never sleeps and never reads a clock: every decision is a
:class:`Step` (what to ask next, and after how many seconds), and every bit of
randomness comes from the ``rng`` passed in. The rules (``fleet-api.md``,
"Health, load and the drain after an outage"):

1. After any failure to reach the ledger (a connection refused, a timeout, an
   answer that is not one) the next request is ``GET /v1/health``, never a
   batch (:meth:`PacingPolicy.on_unreachable`).
2. On a healthy answer the lane waits ``uniform(0, drain_window_s)`` (absent:
   0), then drains (:meth:`PacingPolicy.on_health`).
3. At most one request is in flight per lane (:meth:`PacingPolicy.begin` raises
   :class:`~pos_client.domain.errors.TransitionError` otherwise).
4. A ``429`` or ``503`` with ``Retry-After``: the lane waits at least that
   long, plus 0-10 % jitter, never less (:meth:`PacingPolicy.on_refused`).
5. A retry budget, a token bucket as in the AWS SDKs' standard mode (500
   tokens; a retry costs 5, a retry after a timeout 10; each success gives 1
   back): a lane that only fails runs out and falls back to health probes at a
   capped backoff, so it stops hammering a ledger that is shedding load.
   Probes themselves never cost a token: they are what a lane does instead.
6. Probes back off exponentially (``probe_base`` doubling up to
   ``probe_cap``) with jitter over the upper half of the interval, so a fleet
   that lost the ledger at the same moment does not probe in step.
7. Before a tranche unlock day (every household's credit opens the same
   morning) the rules and catalog are fetched ahead, each lane at its own
   moment drawn uniformly over a window that ends ``lead`` before the unlock
   (:func:`prefetch_at`), so the lanes of a chain do not ask in the same second.

Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple, Protocol

from pos_client.domain.errors import TransitionError

__all__ = [
    "Action",
    "PacingPolicy",
    "PacingSettings",
    "RandomSource",
    "RetryBudget",
    "Step",
    "prefetch_at",
    "retry_after_delay",
]


class RandomSource(Protocol):
    """What the policy needs of a random source (``random.Random`` has it)."""

    def uniform(self, a: float, b: float) -> float: ...


class Action(StrEnum):
    """The next request a lane makes."""

    PROBE = "probe"  # GET /v1/health
    DRAIN = "drain"  # the outbox: a batch, a lookup by id, a void


class Step(NamedTuple):
    """Make ``action`` after ``delay`` seconds (0: now). A tuple: the simulator makes millions."""

    action: Action
    delay: float


#: The jitter added to a ``Retry-After``: 0 to 10 % more, never less.
RETRY_AFTER_JITTER = 0.10


def retry_after_delay(retry_after: float, rng: RandomSource) -> float:
    """The wait for a ``Retry-After`` of ``retry_after`` seconds: it plus 0-10 %, never less."""
    base = max(0.0, retry_after)
    return base * (1.0 + rng.uniform(0.0, RETRY_AFTER_JITTER))


@dataclass(frozen=True, slots=True)
class PacingSettings:
    """The policy's numbers (the defaults are the lane's)."""

    retry_capacity: int = 500
    retry_cost: int = 5
    timeout_cost: int = 10
    success_refund: int = 1
    probe_base: float = 1.0
    probe_cap: float = 6.0

    def __post_init__(self) -> None:
        if self.retry_capacity < 0 or self.retry_cost < 0 or self.timeout_cost < 0:
            raise ValueError("retry budget numbers must not be negative")
        if self.success_refund < 0:
            raise ValueError("success_refund must not be negative")
        if not 0 < self.probe_base <= self.probe_cap:
            raise ValueError("0 < probe_base <= probe_cap")


@dataclass(slots=True)
class RetryBudget:
    """A token bucket for retries: full at first, spent by retries, refilled by successes."""

    capacity: int = 500
    tokens: int = -1  # -1: full

    def __post_init__(self) -> None:
        if self.tokens < 0 or self.tokens > self.capacity:
            self.tokens = self.capacity

    def spend(self, cost: int) -> bool:
        """Take ``cost`` tokens for a retry; False (nothing taken) when there are too few."""
        if cost > self.tokens:
            return False
        self.tokens -= cost
        return True

    def refund(self, amount: int) -> None:
        self.tokens = min(self.capacity, self.tokens + amount)


@dataclass(slots=True)
class PacingPolicy:
    """One lane's pacing: feed it each request's outcome, follow the :class:`Step` it returns."""

    rng: RandomSource
    settings: PacingSettings = field(default_factory=PacingSettings)
    budget: RetryBudget = field(init=False)
    failures: int = 0  # consecutive failures since the last drain that went through
    must_probe: bool = False  # the last failure was one to reach the ledger
    in_flight: Action | None = None

    def __post_init__(self) -> None:
        self.budget = RetryBudget(self.settings.retry_capacity)

    # ------------------------------------------------------------------ asking

    def next_step(self) -> Step:
        """What to ask now, with no outcome pending (a wake-up, ``queue push --now``)."""
        return Step(Action.PROBE if self.must_probe else Action.DRAIN, 0.0)

    def suspect(self) -> None:
        """The lane does not know that the ledger is reachable (a fresh start, a person's
        push): the next request is a health probe."""
        self.must_probe = True

    def begin(self, action: Action) -> None:
        """A request of ``action`` leaves now: refused if one is already in flight, or if a
        batch would leave when the rules ask for a health probe first."""
        if self.in_flight is not None:
            raise TransitionError(f"a {self.in_flight} request is already in flight")
        if action is Action.DRAIN and self.must_probe:
            raise TransitionError("the ledger was not reached: probe its health first")
        self.in_flight = action

    def _done(self) -> Action | None:
        action, self.in_flight = self.in_flight, None
        return action

    # ------------------------------------------------------------------ outcomes

    def on_drained(self) -> Step:
        """A drain request went through: the next one may leave at once."""
        self._done()
        self.failures = 0
        self.must_probe = False
        self.budget.refund(self.settings.success_refund)
        return Step(Action.DRAIN, 0.0)

    def on_health(self, drain_window_s: float | None) -> Step:
        """``/v1/health`` answered ok: drain after ``uniform(0, drain_window_s)``."""
        self._done()
        self.must_probe = False  # no refund: only a drain that goes through refills the budget
        window = drain_window_s if drain_window_s is not None and drain_window_s > 0 else 0.0
        return Step(Action.DRAIN, self.rng.uniform(0.0, window) if window else 0.0)

    def on_unreachable(self, *, timeout: bool = False, retry_after: float | None = None) -> Step:
        """The ledger could not be reached (``timeout``: a request that timed out).

        The next request is a health probe, after the probe backoff (and never
        sooner than a ``Retry-After`` that came with it).
        """
        action = self._done()
        self.failures += 1
        self.must_probe = True
        if action is Action.DRAIN:  # the retry it leads to draws on the budget
            cost = self.settings.timeout_cost if timeout else self.settings.retry_cost
            self.budget.spend(cost)
        delay = self.probe_delay()
        if retry_after is not None:
            delay = max(delay, retry_after_delay(retry_after, self.rng))
        return Step(Action.PROBE, delay)

    def on_refused(self, retry_after: float | None) -> Step:
        """The ledger answered ``429``/``503``: it was reached, and asks the lane to wait.

        Without a ``Retry-After`` this counts as not reaching it. With one,
        the lane waits that long plus 0-10 %, then asks again what it asked,
        if the retry budget allows a drain; otherwise it probes, at the
        probe backoff, and never sooner than the ``Retry-After``.
        """
        if retry_after is None:
            return self.on_unreachable()
        action = self._done()
        self.failures += 1
        wait = retry_after_delay(retry_after, self.rng)
        if action is Action.PROBE:
            self.must_probe = True
            return Step(Action.PROBE, wait)
        if self.budget.spend(self.settings.retry_cost):
            return Step(Action.DRAIN, wait)
        self.must_probe = True
        return Step(Action.PROBE, max(wait, self.probe_delay()))

    # ------------------------------------------------------------------ the backoff

    def probe_delay(self) -> float:
        """The pause before the next probe: ``probe_base`` doubling per failure up to
        ``probe_cap``, drawn from the upper half of that interval."""
        settings = self.settings
        exponent = min(max(self.failures - 1, 0), 30)
        ceiling = min(settings.probe_cap, settings.probe_base * (2**exponent))
        return self.rng.uniform(ceiling / 2, ceiling)


def prefetch_at(
    unlock_at: datetime,
    now: datetime,
    rng: RandomSource,
    *,
    window: timedelta = timedelta(hours=6),
    lead: timedelta = timedelta(hours=1),
) -> datetime | None:
    """When this lane fetches the rules and catalog ahead of ``unlock_at``.

    A moment drawn uniformly over ``window`` ending ``lead`` before the
    unlock; if ``now`` is already inside it, over what is left of it; None
    when it has passed (the lane refreshes as it always does).
    """
    if window < timedelta(0) or lead < timedelta(0):
        raise ValueError("window and lead must not be negative")
    end = unlock_at - lead
    start = max(end - window, now)
    if start >= end:
        return None
    span = (end - start).total_seconds()
    return start + timedelta(seconds=rng.uniform(0.0, span))
