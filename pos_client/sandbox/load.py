"""Load shedding: a per-terminal token bucket, a global concurrency limit, the drain window.

The real ledger protects itself when thousands of lanes come back at once
(``fleet-api.md``, "Health, load and the drain after an outage"); the sandbox
does the same, when asked (:class:`LoadSettings`, every limit off by default):

- each terminal (its bearer credential) has a token bucket of ``terminal_burst``
  requests refilled at ``terminal_rate`` per second; a request that finds it
  empty is ``429 too_many_requests`` with ``Retry-After`` (whole seconds until
  one request's worth is back, at least 1);
- at most ``max_in_flight`` requests are handled at once; with ``queue``, up
  to that many more wait for a slot, in order of arrival, each at most
  ``busy_retry_after`` seconds (a small queue keeps the slots busy when a herd
  arrives in a clump, as a ledger's accept queue does); one more is
  ``503 service_unavailable`` with ``Retry-After: busy_retry_after`` at once;
- with ``queue_auto`` the queue is sized from the service rate instead:
  ``ceil(rate x busy_retry_after)`` requests, at least ``max_in_flight``, at
  most ``queue_cap``, where the rate is ``service_rate`` (requests per second
  the slots serve) when set, else the rate they served over the last
  ``RATE_WINDOW_S`` seconds. By Little's law a queue that small still drains
  within one ``busy_retry_after`` (no request waits longer than it may), and
  one that large still holds work while the lanes it refused wait out their
  ``Retry-After``: the slots never idle between waves;
- ``GET /v1/health`` says ``drain_window_s``: the terminals seen within the
  last ``seen_window_s`` divided by ``target_rate`` (the first requests per
  second the ledger wants from lanes coming back), rounded up, at most
  ``drain_window_cap_s``; 0 without a target rate.

Refusals are answered by :class:`LoadMiddleware` before the request's body is
read and before the books are touched, so that they stay cheap under any
load. ``/v1/health`` (the probe a lane sends after a failure), the OpenAPI
document and ``/sandbox/*`` are never limited. A slot of the concurrency limit
is given back however the request ends: answered, failed, or its client gone
mid-request. Bucket refills and "seen" use the sandbox clock (so a test may
move time on); counts live in memory (a restart forgets them).

Imports the standard library and the sandbox's problems and faults only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from .faults import ASGIApp, Receive, Scope, Send, send_problem
from .problems import problem

__all__ = ["LoadLimits", "LoadMiddleware", "LoadSettings"]

#: Paths never limited: the probe after a failure, the document, the sandbox's own.
UNLIMITED = ("/v1/health", "/openapi.yaml")
#: The seconds over which a measured service rate (``queue_auto``) is counted.
RATE_WINDOW_S = 2.0
#: The seconds of per-second counts kept (``per_second`` in the document).
TIMELINE_S = 3600


@dataclass(frozen=True, slots=True)
class LoadSettings:
    """How much load the sandbox takes before it refuses (0: that limit is off)."""

    terminal_rate: float = 0.0  # requests per second per terminal, refilled
    terminal_burst: int = 10  # the bucket's size
    max_in_flight: int = 0  # requests handled at once, over all terminals
    queue: int = 0  # requests that may wait for a slot (0: refused at once)
    busy_retry_after: int = 1  # Retry-After (seconds) on 503
    queue_auto: bool = False  # the queue sized from the service rate, not ``queue``
    service_rate: float = 0.0  # requests per second the slots serve (0: measured)
    queue_cap: int = 1024  # the largest queue ``queue_auto`` sizes
    target_rate: float = 0.0  # requests per second wanted from lanes coming back
    drain_window_cap_s: int = 300
    seen_window_s: int = 3600

    def __post_init__(self) -> None:
        if self.terminal_rate < 0 or self.target_rate < 0 or self.service_rate < 0:
            raise ValueError("rates must not be negative")
        if self.terminal_burst < 1:
            raise ValueError("the bucket holds at least one request")
        if self.max_in_flight < 0 or self.queue < 0 or self.queue_cap < 0:
            raise ValueError("max_in_flight and the queue must not be negative")
        if self.busy_retry_after < 1 or self.drain_window_cap_s < 0 or self.seen_window_s < 1:
            raise ValueError("Retry-After is at least 1 s; windows are not negative")

    def wire(self) -> dict[str, Any]:
        return asdict(self)


class LoadLimits:
    """The buckets, the requests in flight and the terminals seen (thread-safe)."""

    def __init__(
        self,
        settings: LoadSettings | None = None,
        *,
        now: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or LoadSettings()
        self._now = now
        self._monotonic = monotonic
        self._wall = wall
        #: per Unix second (wall clock): [admitted, refused 429, refused 503]
        self._timeline: dict[int, list[int]] = {}
        self._served: deque[float] = deque()  # when admitted requests ended, last RATE_WINDOW_S
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, datetime]] = {}
        self._seen: dict[str, datetime] = {}
        self._in_flight = 0
        self._waiting: deque[asyncio.Future[None]] = deque()  # each handed a slot in turn
        self.admitted = 0
        self.refused_429 = 0
        self.refused_503 = 0

    # ------------------------------------------------------------------ counts

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def seen(self) -> int:
        """Terminals seen within the last ``seen_window_s`` (older ones forgotten)."""
        now = self._now()
        window = self.settings.seen_window_s
        with self._lock:
            for key, at in list(self._seen.items()):
                if (now - at).total_seconds() > window:
                    del self._seen[key]
            return len(self._seen)

    def drain_window_s(self) -> int:
        """How widely lanes coming back should spread their first backlog request."""
        settings = self.settings
        if settings.target_rate <= 0:
            return 0
        return min(settings.drain_window_cap_s, math.ceil(self.seen() / settings.target_rate))

    def _count(self, kind: int) -> None:
        """Count an admission (0), a ``429`` (1) or a ``503`` (2) in its second (lock held)."""
        second = int(self._wall())
        counts = self._timeline.get(second)
        if counts is None:
            counts = self._timeline[second] = [0, 0, 0]
            if len(self._timeline) > TIMELINE_S:
                del self._timeline[min(self._timeline)]
        counts[kind] += 1

    def _served_rate(self) -> float:
        """Requests per second the slots served over the last ``RATE_WINDOW_S`` (lock held)."""
        horizon = self._monotonic() - RATE_WINDOW_S
        served = self._served
        while served and served[0] < horizon:
            served.popleft()
        return len(served) / RATE_WINDOW_S

    def _queue_size(self) -> int:
        """How many requests may wait for a slot now (lock held)."""
        settings = self.settings
        if not settings.queue_auto:
            return settings.queue
        rate = settings.service_rate or self._served_rate()
        wanted = math.ceil(rate * settings.busy_retry_after)
        return min(settings.queue_cap, max(settings.max_in_flight, wanted))

    def queue_size(self) -> int:
        """How many requests may wait for a slot now (``queue``, or sized by ``queue_auto``)."""
        with self._lock:
            return self._queue_size()

    def configure(self, settings: LoadSettings) -> None:
        """New limits from now on (the buckets start full again, the counts at 0)."""
        with self._lock:
            self.settings = settings
            self._buckets.clear()
            self._served.clear()
            self._timeline.clear()
            self.admitted = self.refused_429 = self.refused_503 = 0

    def document(self) -> dict[str, Any]:
        """The limits in force and what they did since they were set (``/sandbox/load``)."""
        seen = self.seen()
        window = self.drain_window_s()
        with self._lock:
            return {
                "settings": self.settings.wire(),
                "in_flight": self._in_flight,
                "waiting": len(self._waiting),
                "queue_size": self._queue_size(),
                "terminals_seen": seen,
                "drain_window_s": window,
                "admitted": self.admitted,
                "refused_429": self.refused_429,
                "refused_503": self.refused_503,
                # what each second (Unix time, wall clock) admitted and refused
                "per_second": {str(k): list(v) for k, v in sorted(self._timeline.items())},
            }

    # ------------------------------------------------------------------ admission

    def take_token(self, terminal: str) -> int | None:
        """Take one request from ``terminal``'s bucket; the seconds to wait if it is empty."""
        settings = self.settings
        now = self._now()
        with self._lock:
            self._seen[terminal] = now
            if settings.terminal_rate <= 0:
                return None
            burst = float(settings.terminal_burst)
            tokens, at = self._buckets.get(terminal, (burst, now))
            elapsed = max(0.0, (now - at).total_seconds())
            tokens = min(burst, tokens + elapsed * settings.terminal_rate)
            if tokens >= 1.0:
                self._buckets[terminal] = (tokens - 1.0, now)
                return None
            self._buckets[terminal] = (tokens, now)
            self.refused_429 += 1
            self._count(1)
            return max(1, math.ceil((1.0 - tokens) / settings.terminal_rate))

    async def admit(self) -> bool:
        """Take a slot, waiting for one in the queue if there is room (on the server's loop);
        False: refused (every slot taken and the queue full, or no slot within the wait)."""
        settings = self.settings
        with self._lock:
            limit = settings.max_in_flight
            if not limit or self._in_flight < limit:
                self._in_flight += 1
                self.admitted += 1
                self._count(0)
                return True
            if len(self._waiting) >= self._queue_size():
                self.refused_503 += 1
                self._count(2)
                return False
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.append(turn)
        try:
            await asyncio.wait_for(asyncio.shield(turn), settings.busy_retry_after)
        except BaseException as exc:
            with self._lock:
                handed = turn.done() and not turn.cancelled()
                if not handed:
                    turn.cancel()
                    with contextlib.suppress(ValueError):
                        self._waiting.remove(turn)
                    if isinstance(exc, TimeoutError):
                        self.refused_503 += 1
                        self._count(2)
            if handed:  # the slot came as it gave up: it goes to the next in turn
                self.leave(served=False)
            if isinstance(exc, TimeoutError):
                return False
            raise
        return True

    def leave(self, *, served: bool = True) -> None:
        """Give a slot back: to the first request waiting for one, if any."""
        with self._lock:
            if served and self.settings.queue_auto and not self.settings.service_rate:
                self._served.append(self._monotonic())
                self._served_rate()  # forgets what is older than the window
            while self._waiting:
                turn = self._waiting.popleft()
                if not turn.done():
                    self.admitted += 1
                    self._count(0)
                    turn.set_result(None)  # the slot passes on: in flight stays the same
                    return
            self._in_flight -= 1


def _terminal_key(scope: Scope) -> str:
    """The caller's credential, hashed (never kept as it was sent); '' without one."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            return hashlib.sha256(value).hexdigest()
    return ""


class LoadMiddleware:
    """Refuses what is over the limits before the app reads a byte of the body."""

    def __init__(self, app: ASGIApp, limits: LoadLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in UNLIMITED or not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        limits = self.limits
        wait = limits.take_token(_terminal_key(scope))
        if wait is not None:
            await send_problem(
                send,
                problem(
                    "too_many_requests",
                    f"this terminal sends more than the ledger takes: try again in {wait} s",
                    headers={"Retry-After": str(wait)},
                ),
            )
            return
        if not await limits.admit():
            retry = limits.settings.busy_retry_after
            await send_problem(
                send,
                problem(
                    "service_unavailable",
                    f"the ledger is busy: try again in {retry} s",
                    headers={"Retry-After": str(retry)},
                ),
            )
            return
        try:
            await self.app(scope, receive, send)
        finally:
            limits.leave()
