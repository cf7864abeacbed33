"""The sandbox's HTTP edge: refusals made around the app are problem documents too.

The routes answer every refusal they make with a problem document. A few
requests are refused before a route sees them, and these pieces make those
answers problem documents as well:

- :class:`ProblemH11Protocol` is uvicorn's h11 protocol with its one refusal
  (``400``, sent when the bytes are not HTTP/1.1: a malformed request line or
  header, a bad or repeated ``Content-Length``, a broken chunked body, headers
  too large) answered as ``400 invalid_request`` instead of plain text;
- :class:`StrictTarget` refuses a path or query that is not UTF-8 once
  percent-decoded (``400 invalid_request``), where Starlette would quietly
  decode it into replacement characters;
- :class:`ProblemGuard`, the outermost layer, turns an exception that escapes
  the app before it answered into ``500 internal_error`` (uvicorn would send
  plain text).

What no layer can answer at all (the connection just closes, no status) is
listed in ``openapi.yaml``.

Imports uvicorn, h11, the standard library and the sandbox's problems.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .problems import PROBLEM_CONTENT_TYPE, Problem, invalid, problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)

NOT_HTTP = (
    "the request is not well-formed HTTP/1.1 (request line, header fields, "
    "Content-Length or chunked body)"
)


def _headers(prob: Problem, body: bytes) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in prob.headers.items()]
    return headers


async def send_problem(send: Send, prob: Problem) -> None:
    """Answer ``prob`` as a whole ASGI response."""
    body = prob.body()
    await send(
        {"type": "http.response.start", "status": prob.status, "headers": _headers(prob, body)}
    )
    await send({"type": "http.response.body", "body": body})


class ProblemH11Protocol(H11Protocol):
    """uvicorn's h11 protocol whose "not HTTP" refusal is a problem document."""

    def send_400_response(self, msg: str) -> None:
        prob = invalid(NOT_HTTP)
        body = prob.body()
        headers = [*_headers(prob, body), (b"connection", b"close")]
        try:
            for event in (
                h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                h11.Data(data=body),
                h11.EndOfMessage(),
            ):
                self.transport.write(self.conn.send(event))
        except h11.LocalProtocolError:
            # A response was already under way on this connection: nothing
            # more can be said on it, only closing it is honest.
            pass
        self.transport.close()


def _is_utf8(raw: bytes) -> bool:
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class StrictTarget:
    """Refuse a request whose path or query is not UTF-8 after percent-decoding."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            if not _is_utf8(raw_path):
                await send_problem(send, invalid("the request path is not UTF-8 text"))
                return
            if not _is_utf8(scope.get("query_string", b"")):
                await send_problem(send, invalid("the query string is not UTF-8 text"))
                return
        await self.app(scope, receive, send)


class ProblemGuard:
    """The outermost layer: an exception no inner layer answered is ``500 internal_error``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = finished = False

        async def watched(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            if finished:
                # Starlette's error middleware sends the 500 problem, then raises again: the
                # answer is whole, so the connection stays usable (a client that reuses it
                # must not meet a reset).
                log.exception("the sandbox ledger failed; its 500 answer was sent")
                return
            if started:
                raise  # half an answer is out: the server closes the connection
            log.exception("the sandbox ledger failed outside its routes")
            await send_problem(send, problem("internal_error", "the sandbox ledger failed"))


__all__ = ["NOT_HTTP", "ProblemGuard", "ProblemH11Protocol", "StrictTarget", "send_problem"]
