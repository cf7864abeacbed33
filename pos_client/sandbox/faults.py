"""Fault injection: a misbehaving ledger, on purpose, for the client's tests.

A fault matches requests by path (an exact path or a shell-style pattern such
as ``/v1/redemptions*``) and optionally by method, and applies ``count`` times
(``None``: until cleared). Kinds:

- ``latency``: read the request, wait ``latency_ms``, then handle it normally
  (it is handled and committed even if the client stopped waiting);
- ``error_before``: answer ``status`` (5xx) without handling it: nothing committed;
- ``error_after``: handle it (the books commit), then answer ``status`` (5xx)
  instead of the real response;
- ``drop_after``: handle it (the books commit), then close the connection
  without a byte of response;
- ``rate_limit``: answer 429 with ``Retry-After: retry_after``, nothing committed;
- ``unavailable``: answer 503 with ``Retry-After: retry_after``, nothing committed;
- ``down``: an outage of ``duration_s`` seconds by the sandbox clock (from when
  it is added, whatever ``count``): every matching request has its connection
  reset before a byte is read or answered (``status: 503``: answered 503 with
  ``Retry-After: retry_after`` instead); it ends by itself, or when cleared.

Faults live in memory and never touch ``/sandbox/`` paths (so a test can
always clear them). :class:`FaultMiddleware` is a pure ASGI middleware.

Imports the standard library and the sandbox's problems only.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import itertools
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .problems import PROBLEM_CONTENT_TYPE, Problem, problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KINDS = (
    "latency",
    "error_before",
    "error_after",
    "drop_after",
    "rate_limit",
    "unavailable",
    "down",
)
_STATUS_CODES = {
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@dataclass(frozen=True, slots=True)
class Fault:
    id: int
    kind: str
    path: str
    method: str | None = None
    count: int | None = 1  # None: until cleared
    status: int = 500
    latency_ms: int = 0
    retry_after: int = 1
    until: str | None = None  # "down": the outage's end (RFC 3339, UTC)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return path == self.path or fnmatch.fnmatchcase(path, self.path)

    def wire(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    """The faults in force (thread-safe: the admin endpoint and requests share it)."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or (lambda: datetime.now(UTC))
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(
        self,
        *,
        kind: str,
        path: str,
        method: str | None = None,
        count: int | None = 1,
        status: int | None = None,
        latency_ms: int = 0,
        retry_after: int = 1,
        duration_s: int | None = None,
    ) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        until = None
        if kind == "down":
            if duration_s is None or duration_s < 1:
                raise ValueError("an outage (kind down) needs duration_s, at least 1 second")
            if status not in (None, 503):
                raise ValueError("an outage resets connections, or answers 503")
            end = self._now() + timedelta(seconds=duration_s)
            until = end.astimezone(UTC).isoformat()
            count = None
        elif duration_s is not None:
            raise ValueError("duration_s is only for an outage (kind down)")
        if kind == "down":
            status = 503 if status == 503 else 0
        elif kind in ("error_before", "error_after"):
            status = 500 if status is None else status
            if status not in _STATUS_CODES:
                raise ValueError("status must be 500, 502, 503 or 504")
        else:
            status = {"rate_limit": 429, "unavailable": 503}.get(kind, 500)
        with self._lock:
            fault = Fault(
                id=next(self._ids),
                kind=kind,
                path=path,
                method=method.upper() if method else None,
                count=count,
                status=status,
                latency_ms=latency_ms,
                retry_after=retry_after,
                until=until,
            )
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def _expire(self) -> None:
        """Drop the outages that are over (lock held)."""
        now = self._now()
        self._faults = [
            f for f in self._faults if f.until is None or now < datetime.fromisoformat(f.until)
        ]

    def outage(self, method: str, path: str) -> Fault | None:
        """The outage (kind ``down``) this request meets, if any."""
        if path.startswith("/sandbox/"):
            return None
        with self._lock:
            self._expire()
            return next(
                (f for f in self._faults if f.kind == "down" and f.matches(method, path)), None
            )

    def active(self) -> list[Fault]:
        with self._lock:
            self._expire()
            return list(self._faults)

    def take(self, method: str, path: str) -> list[Fault]:
        """The faults that apply to this request, each used once (counts go down)."""
        if path.startswith("/sandbox/"):
            return []
        taken: list[Fault] = []
        with self._lock:
            self._expire()
            kept: list[Fault] = []
            for fault in self._faults:
                if fault.kind != "down" and fault.matches(method, path):
                    taken.append(fault)
                    if fault.count is not None:
                        if fault.count > 1:
                            kept.append(Fault(**{**asdict(fault), "count": fault.count - 1}))
                        continue
                kept.append(fault)
            self._faults = kept
        return taken


def _fault_problem(fault: Fault) -> Problem:
    if fault.kind == "rate_limit":
        return problem(
            "too_many_requests",
            "injected fault: slow down",
            headers={"Retry-After": str(fault.retry_after)},
        )
    if fault.kind == "unavailable" or fault.status == 503:
        return problem(
            "service_unavailable",
            "injected fault: the ledger is unavailable",
            headers={"Retry-After": str(fault.retry_after)},
        )
    return problem(_STATUS_CODES[fault.status], f"injected fault ({fault.kind})")


async def send_problem(send: Send, prob: Problem) -> None:
    body = prob.body()
    headers = [
        (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in prob.headers.items()]
    await send({"type": "http.response.start", "status": prob.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drop_connection(send: Send) -> None:
    """Close the client's connection without answering (the server's transport, if reachable)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None:
        transport.close()
        for _ in range(3):  # let the server see the connection gone before we return
            await asyncio.sleep(0)
        return
    # No transport to close: start a response and break it off, which every
    # server answers by closing the connection mid-message.
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]}
    )
    raise ConnectionAbortedError("injected fault: connection dropped after committing")


async def _reset_connection(send: Send) -> None:
    """Break the connection off without a byte of answer (the ledger is not there)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:  # RST rather than FIN: a connection refused or reset
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.close()
        for _ in range(3):
            await asyncio.sleep(0)
        return
    raise ConnectionResetError("injected fault: the ledger is down")


async def _buffered(receive: Receive) -> Receive:
    """Read the request body now; a ``receive`` that replays it, then passes through."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return replay


class FaultMiddleware:
    """Applies the faults in force to each HTTP request before and after the app."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        taken = self.faults.take(scope["method"], scope["path"])
        if not taken:
            await self.app(scope, receive, send)
            return
        latency = sum(f.latency_ms for f in taken if f.kind == "latency")
        if latency:
            # Read the whole request first, then wait: a slow ledger still
            # commits what it received, even if the client gave up meanwhile.
            receive = await _buffered(receive)
            await asyncio.sleep(latency / 1000)
        before = next(
            (f for f in taken if f.kind in ("error_before", "rate_limit", "unavailable")), None
        )
        if before is not None:
            await send_problem(send, _fault_problem(before))
            return
        after = next((f for f in taken if f.kind in ("error_after", "drop_after")), None)
        if after is None:
            await self.app(scope, receive, send)
            return

        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)  # the books commit; the answer is lost
        if after.kind == "drop_after":
            await _drop_connection(send)
        else:
            await send_problem(send, _fault_problem(after))


class OutageGate:
    """The outermost layer: during an outage (kind ``down``) a request meets a reset
    connection (or a 503) before anything else of the sandbox sees it."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        down = None
        if scope["type"] == "http":
            down = self.faults.outage(scope["method"], scope["path"])
        if down is None:
            await self.app(scope, receive, send)
        elif down.status == 503:
            await send_problem(send, _fault_problem(down))
        else:
            await _reset_connection(send)
