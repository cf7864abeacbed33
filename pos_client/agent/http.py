"""The lane agent's HTTP API: routes, body limits, problem documents, one checkout at a time.

Every error is an RFC 9457 problem document (``application/problem+json``)
with a machine ``code``, like the ledger's: ``malformed_json`` and
``bad_input`` (400), ``unknown_operation`` (404), ``method_not_allowed``
(405), ``lane_busy`` (409: a checkout is under way on this lane; nothing was
done), ``body_too_large`` (413, refused before the body is read),
``ledger_unavailable`` (503) and ``internal_error`` (500), and the services'
own codes (e.g. ``beneficiary_blocked``, ``receipt_not_found``).

A checkout (redeem, void, finishing or cancelling an interrupted sale) runs in
a task of its own: a client that goes away does not stop it. It completes as
a sale at the screen does; when its client is gone before the answer, the sale
is not acknowledged and stays among the interrupted sales
(``GET /v1/interrupted``), as a sale whose screen died before the cashier saw
it: the crash-recovery rules apply, nothing is sent twice.

Imports Starlette, the agent's operations and the error tree.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pos_client.compose import Lane
from pos_client.domain.errors import DomainError, PosError
from pos_client.errors import (
    BadInput,
    CheckoutError,
    CheckoutRefused,
    ConfigError,
    LedgerRejected,
    LedgerUnavailable,
    PrinterError,
    ReceiptError,
    ReportError,
    StoreError,
    UnknownOutcome,
)
from pos_client.services.telemetry import LaneTelemetry

from . import operations as ops
from .held import HeldInquiries

__all__ = ["MAX_BODY_BYTES", "AgentState", "build_http_app"]

log = logging.getLogger(__name__)

#: The largest request body the agent reads (a basket file's limit).
MAX_BODY_BYTES = 1024 * 1024
PROBLEM = "application/problem+json"

#: The HTTP status of a service error's code, where its class alone does not say it.
_STATUS_OF_CODE = {
    "problem_not_found": 404,
    "not_interrupted": 404,
    "not_found": 404,
    "ledger_unavailable": 503,
}


@dataclass
class AgentState:
    """What the agent's requests share: the lane, whether a checkout is under way, its tasks."""

    lane: Lane
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    busy: bool = False
    #: Checkouts under way (each in a task a departing client cannot cancel).
    checkouts: set[asyncio.Task[Any]] = field(default_factory=set)
    #: The lane's telemetry (publishes nothing when no broker is configured).
    telemetry: LaneTelemetry | None = None
    #: Wallets inquired shortly before, for the redeem of the same credential.
    held: HeldInquiries = field(default_factory=HeldInquiries)

    def changed(self) -> None:
        """Something a request did may have changed the lane's state: tell the telemetry."""
        if self.telemetry is not None:
            self.telemetry.changed()

    async def finish_checkouts(self) -> None:
        """Wait for every checkout under way (at a stop: no sale is left half-done)."""
        while self.checkouts:
            await asyncio.gather(*list(self.checkouts), return_exceptions=True)


def problem(status: int, code: str, detail: str, *, title: str | None = None) -> JSONResponse:
    """An RFC 9457 problem document."""
    body = {
        "type": "about:blank",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


_TITLES = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def error_response(exc: Exception) -> JSONResponse:
    """The problem document of an error a service raised (never a traceback)."""
    if isinstance(exc, PosError):
        status = _STATUS_OF_CODE.get(exc.code)
        if status is None:
            if isinstance(exc, BadInput | CheckoutError | DomainError | ConfigError):
                status = 400
            elif isinstance(exc, ReceiptError):
                status = 404
            elif isinstance(exc, CheckoutRefused | ReportError):
                status = 422
            elif isinstance(exc, LedgerUnavailable | UnknownOutcome | PrinterError | StoreError):
                status = 503
            elif isinstance(exc, LedgerRejected):
                status = 502
            else:
                status = 500
        return problem(status, exc.code, exc.message)
    log.error("internal error in the lane agent", exc_info=exc)
    return problem(500, "internal_error", f"internal error ({type(exc).__name__})")


def _json(value: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(value, status_code=status)


async def read_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, read to :data:`MAX_BODY_BYTES` at most.

    Raises :class:`BadInput` (``malformed_json``, ``body_too_large``) or
    :class:`ClientDisconnect`. A ``Content-Length`` above the limit is refused
    before a byte of the body is read; a body without one, once it passes it.
    """
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        raise BadInput(f"the body is larger than {MAX_BODY_BYTES} bytes", code="body_too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BadInput(f"the body is larger than {MAX_BODY_BYTES} bytes", code="body_too_large")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadInput("the body is not JSON", code="malformed_json") from None
    if not isinstance(data, dict):
        raise BadInput("the body must be a JSON object", code="malformed_json")
    return data


Handler = Callable[[Request, AgentState], Awaitable[Response]]


def _endpoint(handler: Handler, state: AgentState) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request, state)
        except ClientDisconnect:
            log.info("the client went away before its request was read: nothing was done")
            return Response(status_code=400)
        except BadInput as exc:
            if exc.code == "body_too_large":
                return problem(413, exc.code, exc.message)
            if exc.code == "malformed_json":
                return problem(400, exc.code, exc.message)
            return error_response(exc)
        except Exception as exc:  # noqa: BLE001 - a problem document, never a traceback
            return error_response(exc)
        finally:
            if request.method != "GET":  # a sale, a void, a forward: the state may have moved
                state.changed()

    return endpoint


async def _checkout(
    request: Request, state: AgentState, work: Callable[[], Awaitable[tuple[Any, Any]]]
) -> Response:
    """Run ``work`` as the lane's one checkout, in a task a departing client cannot cancel.

    ``work`` returns ``(answer, session)``; the session is acknowledged only when
    the client is still there to read the answer.
    """
    if state.busy:
        return problem(
            409,
            "lane_busy",
            "a checkout is already under way on this lane; nothing was done:"
            " send this one again when that one has its answer",
        )
    state.busy = True

    async def run() -> tuple[Any, Any]:
        try:
            return await work()
        finally:
            state.held.checkout_ended()  # balances may have moved
            state.busy = False

    task = asyncio.create_task(run())
    state.checkouts.add(task)
    task.add_done_callback(state.checkouts.discard)
    answer, session = await asyncio.shield(task)
    if await request.is_disconnected():
        log.warning(
            "the client went away before it had the answer; the sale stays among the"
            " interrupted ones (GET /v1/interrupted)"
        )
        return Response(status_code=499)
    if session is None:
        return _json(answer)

    def seen() -> None:
        try:
            ops.acknowledge(session)
        except StoreError as exc:  # it stays interrupted: finishing it asks the ledger
            log.warning("the sale could not be marked as seen: %s", exc.message)

    # Marked as seen once the answer is written to the client (as `redeem` does once it has
    # printed it); an answer that could not be written leaves the sale interrupted.
    return JSONResponse(answer, background=BackgroundTask(seen))


# ---------------------------------------------------------------------- the operations


async def _health(request: Request, state: AgentState) -> Response:
    return _json(ops.health(state.lane, busy=state.busy, started_at=state.started_at))


async def _doctor(request: Request, state: AgentState) -> Response:
    return _json(await ops.doctor(state.lane))


async def _inquiry(request: Request, state: AgentState) -> Response:
    return _json(await ops.inquiry(state.lane, await read_body(request), state.held))


async def _otp(request: Request, state: AgentState) -> Response:
    return _json(await ops.otp(state.lane, await read_body(request)), 201)


async def _redeem(request: Request, state: AgentState) -> Response:
    body = await read_body(request)
    ops.redeem_args(body)  # bad input is refused before the lane is taken

    async def work() -> tuple[Any, Any]:
        _, result, session = await ops.redeem(state.lane, body, state.held)
        return result, session

    return await _checkout(request, state, work)


async def _void(request: Request, state: AgentState) -> Response:
    body = await read_body(request)

    async def work() -> tuple[Any, Any]:
        return await ops.void(state.lane, body), None

    return await _checkout(request, state, work)


async def _receipt(request: Request, state: AgentState) -> Response:
    return _json(ops.receipt(state.lane, request.path_params["sale"]))


async def _print(request: Request, state: AgentState) -> Response:
    lane, sale = state.lane, request.path_params["sale"]
    return _json(await asyncio.to_thread(ops.print_receipt, lane, sale))


async def _queue(request: Request, state: AgentState) -> Response:
    return _json(ops.queue(state.lane))


async def _stats(request: Request, state: AgentState) -> Response:
    return _json(ops.queue_stats(state.lane))


async def _push(request: Request, state: AgentState) -> Response:
    return _json(ops.queue_push(state.lane), 202)


async def _problems(request: Request, state: AgentState) -> Response:
    every = request.query_params.get("all", "false").lower() in ("1", "true", "yes")
    return _json(ops.problems(state.lane, include_resolved=every))


async def _resolve(request: Request, state: AgentState) -> Response:
    return _json(ops.resolve_problem(state.lane, request.path_params["seq"]))


async def _x(request: Request, state: AgentState) -> Response:
    return _json(ops.report_x(state.lane, request.query_params.get("date")))


async def _z(request: Request, state: AgentState) -> Response:
    return _json(await ops.report_z(state.lane, await read_body(request)))


async def _reconcile(request: Request, state: AgentState) -> Response:
    return _json(await ops.reconcile(state.lane, request.path_params["number"]))


async def _interrupted(request: Request, state: AgentState) -> Response:
    return _json(await ops.interrupted(state.lane))


def _settle(action: str) -> Handler:
    async def handler(request: Request, state: AgentState) -> Response:
        sale = request.path_params["sale"]

        async def work() -> tuple[Any, Any]:
            return await ops.settle_interrupted(state.lane, sale, action), None

        return await _checkout(request, state, work)

    return handler


#: Every operation: (method, path, handler).
OPERATIONS: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/v1/health", _health),
    ("GET", "/v1/doctor", _doctor),
    ("POST", "/v1/wallet-inquiries", _inquiry),
    ("POST", "/v1/otp-challenges", _otp),
    ("POST", "/v1/redemptions", _redeem),
    ("POST", "/v1/voids", _void),
    ("GET", "/v1/receipts/{sale}", _receipt),
    ("POST", "/v1/receipts/{sale}/print", _print),
    ("GET", "/v1/queue", _queue),
    ("GET", "/v1/queue/stats", _stats),
    ("POST", "/v1/queue/push", _push),
    ("GET", "/v1/problems", _problems),
    ("POST", "/v1/problems/{seq:int}/resolve", _resolve),
    ("GET", "/v1/reports/x", _x),
    ("POST", "/v1/reports/z", _z),
    ("POST", "/v1/reports/z/{number:int}/reconcile", _reconcile),
    ("GET", "/v1/interrupted", _interrupted),
    ("POST", "/v1/interrupted/{sale}/finish", _settle("finish")),
    ("POST", "/v1/interrupted/{sale}/cancel", _settle("cancel")),
)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return problem(
            404, "unknown_operation", f"no such operation: {request.method} {request.url.path}"
        )
    if exc.status_code == 405:
        return problem(
            405, "method_not_allowed", f"{request.method} is not an operation of {request.url.path}"
        )
    return problem(exc.status_code, "http_error", str(exc.detail))


async def _server_error(request: Request, exc: Exception) -> Response:
    return error_response(exc)


def build_http_app(state: AgentState, *, lifespan: Any = None) -> Starlette:
    """The Starlette app serving :data:`OPERATIONS` over ``state``'s lane."""
    routes = [
        Route(path, _endpoint(handler, state), methods=[method])
        for method, path, handler in OPERATIONS
    ]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
