"""The sandbox ledger's HTTP face: Starlette routes, thin, over :class:`~.ledger.Ledger`.

Routes read the request (auth, content type, a capped body), hand it to the
ledger or the admin in a worker thread (the books are synchronous SQLite), and
write the bytes they get back. Every refusal is a problem document
(``application/problem+json``); unknown paths and methods too, and an
unexpected exception becomes ``500 internal_error`` without details. What is
refused before a route runs (malformed HTTP, a path or query that is not
UTF-8) is answered by :mod:`.edge`, as a problem document too.

Choices where the contract is silent (also in ``openapi.yaml``):

- bodies are capped at 1 MiB (a batch at 8 MiB): ``413 payload_too_large``;
- a POST with a body must say ``Content-Type: application/json``:
  ``415 unsupported_media_type``;
- unknown fields and unknown query parameters are refused (``400 invalid_request``);
- a missing or unknown bearer token: ``401 unauthorized`` with ``WWW-Authenticate``;
  a body for another terminal: ``403 terminal_mismatch``.

Imports starlette, the standard library and the sandbox's modules.
"""

from __future__ import annotations

import email.utils
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from pos_client.domain.contract import dump_json

from . import auth, terminal_tokens
from .books import TerminalRow
from .catalog import NDJSON
from .clock import parse_date, parse_rfc3339, to_rfc3339
from .edge import StrictTarget
from .faults import KINDS
from .ledger import Answer
from .load import LoadSettings
from .problems import PROBLEM_CONTENT_TYPE, Problem, invalid, problem
from .requests import (
    Fields,
    parse_batch,
    parse_inquiry,
    parse_json,
    parse_otp_request,
    parse_redemption,
    parse_void,
)

if TYPE_CHECKING:
    from .server import Sandbox

MAX_BODY = 1 << 20
MAX_BATCH_BODY = 8 << 20
JSON = "application/json"
OPENAPI_FILE = Path(__file__).with_name("openapi.yaml")

Handler = Callable[[Request], Awaitable[Response]]


# --------------------------------------------------------------------------- plumbing


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def _json(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(content=body, status_code=status, media_type=JSON, headers=headers)


def _answer(answer: Answer) -> Response:
    return _json(answer.status, answer.body)


def _problem_response(exc: Problem) -> Response:
    return Response(
        content=exc.body(),
        status_code=exc.status,
        media_type=PROBLEM_CONTENT_TYPE,
        headers=exc.headers,
    )


async def _read_body(request: Request, *, limit: int = MAX_BODY, required: bool = True) -> bytes:
    """The request body, refused when too large (413) or not JSON-typed (415)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise invalid("Content-Length is not a number")
        if int(declared) > limit:
            raise problem("payload_too_large", f"bodies are limited to {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise problem("payload_too_large", f"bodies are limited to {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body and not required:
        return body
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != JSON:
        raise problem("unsupported_media_type", "send the body as Content-Type: application/json")
    return body


async def _terminal(request: Request) -> TerminalRow:
    digest = auth.bearer_digest(request.headers.get("authorization"))
    books = _sandbox(request).books
    now = _sandbox(request).clock.now()
    result: TerminalRow = await run_in_threadpool(auth.terminal, books, digest, now)
    return result


def _no_query(request: Request, allowed: tuple[str, ...] = ()) -> None:
    unknown = sorted(set(request.query_params.keys()) - set(allowed))
    if unknown:
        raise invalid(f"unknown query parameter(s): {', '.join(unknown)}")


def _not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


# --------------------------------------------------------------------------- contract


async def health(request: Request) -> Response:
    _no_query(request)
    sandbox = _sandbox(request)
    now = sandbox.clock.now()
    window = sandbox.load.drain_window_s()
    return _json(
        200, dump_json({"status": "ok", "time": to_rfc3339(now), "drain_window_s": window})
    )


async def rules(request: Request) -> Response:
    _no_query(request)
    await _terminal(request)
    body, signature, version = await run_in_threadpool(_sandbox(request).ledger.rules)
    etag = f'"{version}"'
    headers = {"ETag": etag, "X-Signature": signature, "Cache-Control": "no-cache"}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return _json(200, body, headers)


async def catalog(request: Request) -> Response:
    _no_query(request, ("since",))
    since = request.query_params.get("since")
    if since is not None and not since:
        raise invalid("since must name a catalog version")
    await _terminal(request)
    body = await run_in_threadpool(_sandbox(request).catalog.body, since)
    headers = {"ETag": body.etag, "X-Signature": body.signature, "Cache-Control": "no-cache"}
    if _not_modified(request, body.etag):
        return Response(status_code=304, headers=headers)
    return FileResponse(body.path, media_type=NDJSON, headers=headers)


async def wallet_inquiries(request: Request) -> Response:
    _no_query(request)
    terminal = await _terminal(request)
    identity = parse_inquiry(await _read_body(request))
    return _answer(await run_in_threadpool(_sandbox(request).ledger.inquire, terminal, identity))


async def otp_challenges(request: Request) -> Response:
    _no_query(request)
    terminal = await _terminal(request)
    national_id = parse_otp_request(await _read_body(request))
    ledger = _sandbox(request).ledger
    return _answer(await run_in_threadpool(ledger.otp_challenge, terminal, national_id))


async def redemptions(request: Request) -> Response:
    _no_query(request)
    terminal = await _terminal(request)
    redemption = parse_redemption(parse_json(await _read_body(request)))
    key = request.headers.get("idempotency-key")
    if key is None:
        raise invalid("send the redemption id as the Idempotency-Key header")
    if key != redemption.id:
        raise invalid("the Idempotency-Key header must equal the redemption id")
    ledger = _sandbox(request).ledger
    return _answer(await run_in_threadpool(ledger.redeem, terminal, redemption))


async def redemptions_batch(request: Request) -> Response:
    _no_query(request)
    terminal = await _terminal(request)
    items = parse_batch(await _read_body(request, limit=MAX_BATCH_BODY))
    return _answer(await run_in_threadpool(_sandbox(request).ledger.batch, terminal, items))


async def redemption_by_id(request: Request) -> Response:
    if request.path_params["redemption_id"] == "batch":
        # /v1/redemptions/batch takes only POST; it is not a redemption id
        raise problem(
            "method_not_allowed", "this path does not take that method", headers={"Allow": "POST"}
        )
    _no_query(request)
    terminal = await _terminal(request)
    redemption_id = request.path_params["redemption_id"]
    ledger = _sandbox(request).ledger
    return _answer(await run_in_threadpool(ledger.redemption, terminal, redemption_id))


async def void(request: Request) -> Response:
    _no_query(request)
    terminal = await _terminal(request)
    redemption_id = request.path_params["redemption_id"]
    parse_void(await _read_body(request, required=False))
    if request.headers.get("idempotency-key") != f"void-{redemption_id}":
        raise invalid("send Idempotency-Key: void-<redemption id>")
    ledger = _sandbox(request).ledger
    return _answer(await run_in_threadpool(ledger.void, terminal, redemption_id))


async def settlements(request: Request) -> Response:
    _no_query(request)
    terminal = await _terminal(request)
    day = parse_date(request.path_params["business_date"])
    if day is None:
        raise invalid("the business date must be YYYY-MM-DD")
    ledger = _sandbox(request).ledger
    return _answer(await run_in_threadpool(ledger.settlement, terminal, day))


async def rotate_token(request: Request) -> Response:
    _no_query(request)
    await _terminal(request)
    body = await _read_body(request, required=False)
    if body:
        Fields(parse_json(body), "body", required=(), optional=())
    ledger = _sandbox(request).ledger
    digest = auth.bearer_digest(request.headers.get("authorization"))
    return _answer(await run_in_threadpool(ledger.rotate_token, digest))


async def revoke_terminal(request: Request) -> Response:
    _no_query(request)
    sandbox = _sandbox(request)
    digest = auth.bearer_digest(request.headers.get("authorization"))
    who = await run_in_threadpool(auth.admin, sandbox.books, digest)
    body = await _read_body(request, required=False)
    if body:
        Fields(parse_json(body), "body", required=(), optional=())
    terminal_id = request.path_params["terminal_id"]
    now = sandbox.clock.now()

    def work() -> datetime:
        with sandbox.books.write() as tx:
            auth.own_terminal(tx, who, terminal_id)
            return terminal_tokens.revoke(tx, terminal_id, merchant_id=who.merchant_id, now=now)

    revoked_at = await run_in_threadpool(work)
    document = {"terminal_id": terminal_id, "revoked_at": to_rfc3339(revoked_at)}
    return _json(200, dump_json(document))


async def openapi(request: Request) -> Response:
    return FileResponse(OPENAPI_FILE, media_type="application/yaml")


# --------------------------------------------------------------------------- sandbox only


async def _admin_fields(request: Request, **kw: Any) -> Fields:
    return Fields(parse_json(await _read_body(request)), "body", **kw)


async def sandbox_info(request: Request) -> Response:
    info = await run_in_threadpool(_sandbox(request).info)
    return _json(200, dump_json(info))


async def sandbox_tokens(request: Request) -> Response:
    fields = await _admin_fields(
        request,
        required=("national_id",),
        optional=("ttl_seconds", "offline_allowance_rial", "version"),
    )
    ttl = fields.integer("ttl_seconds", low=1, high=10**8) if fields.has("ttl_seconds") else None
    off = (
        fields.integer("offline_allowance_rial", low=0, high=10**15)
        if fields.has("offline_allowance_rial")
        else None
    )
    version = fields.integer("version", low=1, high=2) if fields.has("version") else 1
    admin = _sandbox(request).admin
    document = await run_in_threadpool(
        lambda: admin.mint_token(
            fields.text("national_id"),
            ttl_seconds=ttl,
            offline_allowance_rial=off,
            version=version,
        )
    )
    return _json(201, dump_json(document))


async def sandbox_purchase_codes(request: Request) -> Response:
    fields = await _admin_fields(request, required=("national_id",))
    admin = _sandbox(request).admin
    document = await run_in_threadpool(admin.mint_purchase_code, fields.text("national_id"))
    return _json(201, dump_json(document))


async def sandbox_otp(request: Request) -> Response:
    admin = _sandbox(request).admin
    document = await run_in_threadpool(admin.otp_code, request.path_params["challenge_id"])
    return _json(200, dump_json(document))


async def sandbox_faults(request: Request) -> Response:
    faults = _sandbox(request).faults
    if request.method == "DELETE":
        faults.clear()
        return Response(status_code=204)
    if request.method == "POST":
        fields = await _admin_fields(
            request,
            required=("kind", "path"),
            optional=("method", "count", "status", "latency_ms", "retry_after", "duration_s"),
        )
        kind = fields.text("kind")
        if kind not in KINDS:
            raise invalid(f"kind must be one of {', '.join(KINDS)}")
        path = fields.text("path")
        if not path.startswith("/") or path.startswith("/sandbox/"):
            raise invalid("path must start with / and not be under /sandbox/")
        if "count" not in fields.value:
            count: int | None = 1
        elif fields.value["count"] is None:
            count = None  # until cleared
        else:
            count = fields.integer("count", low=1, high=10**6)
        try:
            fault = faults.add(
                kind=kind,
                path=path,
                method=fields.text("method") if fields.has("method") else None,
                count=count,
                status=fields.integer("status", low=500, high=599)
                if fields.has("status")
                else None,
                latency_ms=fields.integer("latency_ms", low=0, high=120_000, default=0),
                retry_after=fields.integer("retry_after", low=0, high=86_400, default=1),
                duration_s=fields.integer("duration_s", low=1, high=86_400)
                if fields.has("duration_s")
                else None,
            )
        except ValueError as exc:
            raise invalid(str(exc)) from None
        return _json(201, dump_json(fault.wire()))
    return _json(200, dump_json({"faults": [f.wire() for f in faults.active()]}))


_LOAD_FIELDS = (
    "terminal_rate",
    "terminal_burst",
    "max_in_flight",
    "queue",
    "busy_retry_after",
    "queue_cap",
    "service_rate",
    "target_rate",
    "drain_window_cap_s",
    "seen_window_s",
)


async def sandbox_load(request: Request) -> Response:
    """The load limits and their counts; POST sets new limits (fields left out: off/default)."""
    load = _sandbox(request).load
    if request.method == "POST":
        fields = await _admin_fields(request, required=(), optional=_LOAD_FIELDS)
        values: dict[str, Any] = {}
        for name in _LOAD_FIELDS:
            if not fields.has(name):
                continue
            value = fields.value[name]
            if name == "queue" and value == "auto":
                values["queue_auto"] = True
                continue
            if name.endswith("_rate"):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise invalid(f"{name} must be a number of requests per second")
                if not 0 <= value <= 1_000_000:
                    raise invalid(f"{name} must be between 0 and 1,000,000")
                values[name] = float(value)
            else:
                values[name] = fields.integer(name, low=0, high=1_000_000)
        try:
            load.configure(LoadSettings(**values))
        except ValueError as exc:
            raise invalid(str(exc)) from None
    return _json(200, dump_json(load.document()))


async def sandbox_clock(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "POST":
        fields = await _admin_fields(
            request, required=(), optional=("advance_seconds", "offset_seconds")
        )
        if fields.has("advance_seconds") == fields.has("offset_seconds"):
            raise invalid("send exactly one of advance_seconds, offset_seconds")
        try:
            if fields.has("advance_seconds"):
                seconds = fields.integer("advance_seconds", low=-(10**9), high=10**9)
                sandbox.clock.advance(timedelta(seconds=seconds))
            else:
                seconds = fields.integer("offset_seconds", low=-(10**9), high=10**9)
                sandbox.clock.set_offset(timedelta(seconds=seconds))
        except ValueError as exc:
            raise invalid(str(exc)) from None
    return _json(200, dump_json(sandbox.admin.clock_document()))


async def sandbox_hot_list(request: Request) -> Response:
    fields = await _admin_fields(request, required=("national_id", "blocked"))
    blocked = fields.value["blocked"]
    if not isinstance(blocked, bool):
        raise invalid("blocked must be true or false")
    admin = _sandbox(request).admin
    document = await run_in_threadpool(
        lambda: admin.set_blocked(fields.text("national_id"), blocked=blocked)
    )
    return _json(200, dump_json(document))


async def sandbox_rules(request: Request) -> Response:
    """The rules' settable members; POST ``{"next_unlock_at": "<RFC 3339>"}`` (null or "": none)."""
    admin = _sandbox(request).admin
    if request.method == "GET":
        return _json(200, dump_json(await run_in_threadpool(admin.rules_settings)))
    fields = await _admin_fields(request, required=("next_unlock_at",))
    raw = fields.value["next_unlock_at"]
    when = None if raw is None or raw == "" else parse_rfc3339(raw)
    if when is None and raw not in (None, ""):
        raise invalid("next_unlock_at must be an RFC 3339 time with an offset, null or empty")
    document = await run_in_threadpool(lambda: admin.set_next_unlock(when))
    return _json(200, dump_json(document))


async def sandbox_catalog_revisions(request: Request) -> Response:
    body = await _read_body(request, required=False)
    changes = 6
    if body:
        fields = Fields(parse_json(body), "body", required=(), optional=("changes",))
        changes = fields.integer("changes", low=1, high=10_000, default=6)
    admin = _sandbox(request).admin
    document = await run_in_threadpool(lambda: admin.revise_catalog(changes=changes))
    return _json(201, dump_json(document))


# --------------------------------------------------------------------------- errors


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return _problem_response(exc)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        prob = problem("method_not_allowed", "this path does not take that method")
        prob.headers.update(exc.headers or {})
        return _problem_response(prob)
    if exc.status_code == 404:
        return _problem_response(problem("not_found", "no such path"))
    return _problem_response(
        Problem(status=exc.status_code, code="http_error", detail=str(exc.detail))
    )


async def _on_disconnect(request: Request, exc: Exception) -> Response:
    # nobody is listening any more; the answer is still a problem document
    return _problem_response(invalid("the client closed the connection mid-request"))


async def _on_error(request: Request, exc: Exception) -> Response:
    return _problem_response(problem("internal_error", "the sandbox ledger failed"))


from .config_routes import CONFIG_ROUTES  # noqa: E402  (its handlers use the helpers above)

ROUTES = [
    Route("/v1/health", health, methods=["GET"]),
    Route("/v1/rules", rules, methods=["GET"]),
    Route("/v1/catalog", catalog, methods=["GET"]),
    Route("/v1/wallet-inquiries", wallet_inquiries, methods=["POST"]),
    Route("/v1/otp-challenges", otp_challenges, methods=["POST"]),
    Route("/v1/redemptions", redemptions, methods=["POST"]),
    Route("/v1/redemptions/batch", redemptions_batch, methods=["POST"]),
    Route("/v1/redemptions/{redemption_id}", redemption_by_id, methods=["GET"]),
    Route("/v1/redemptions/{redemption_id}/void", void, methods=["POST"]),
    Route("/v1/settlements/{business_date}", settlements, methods=["GET"]),
    Route("/v1/terminal-tokens/rotate", rotate_token, methods=["POST"]),
    Route("/v1/terminals/{terminal_id}/revoke", revoke_terminal, methods=["POST"]),
    *CONFIG_ROUTES,
    Route("/openapi.yaml", openapi, methods=["GET"]),
    Route("/sandbox/info", sandbox_info, methods=["GET"]),
    Route("/sandbox/tokens", sandbox_tokens, methods=["POST"]),
    Route("/sandbox/purchase-codes", sandbox_purchase_codes, methods=["POST"]),
    Route("/sandbox/otp-challenges/{challenge_id}", sandbox_otp, methods=["GET"]),
    Route("/sandbox/faults", sandbox_faults, methods=["GET", "POST", "DELETE"]),
    Route("/sandbox/clock", sandbox_clock, methods=["GET", "POST"]),
    Route("/sandbox/load", sandbox_load, methods=["GET", "POST"]),
    Route("/sandbox/hot-list", sandbox_hot_list, methods=["POST"]),
    Route("/sandbox/catalog/revisions", sandbox_catalog_revisions, methods=["POST"]),
    Route("/sandbox/rules", sandbox_rules, methods=["GET", "POST"]),
]


def _has_date(message: Any) -> bool:
    return any(k.lower() == b"date" for k, _ in message.get("headers", []))


class ClockDate:
    """Every answer's ``Date`` header from the sandbox's clock (which tests may move)."""

    def __init__(self, app: Any, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Any) -> None:
            if message["type"] == "http.response.start" and not _has_date(message):
                stamp = email.utils.format_datetime(self.sandbox.clock.now(), usegmt=True)
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"date", stamp.encode("ascii"))],
                }
            await send(message)

        # A failure after a whole answer is the outer guard's (edge.ProblemGuard) to log.
        await self.app(scope, receive, dated)


def create_app(sandbox: Sandbox) -> Starlette:
    """The Starlette app over a built sandbox (see :func:`.server.build_sandbox`)."""
    from .fleet_app import FLEET_ROUTES  # its routes share this module's plumbing

    app = Starlette(
        routes=[*ROUTES, *FLEET_ROUTES],
        middleware=[Middleware(StrictTarget)],
        exception_handlers={
            Problem: _on_problem,
            HTTPException: _on_http,
            ClientDisconnect: _on_disconnect,
            Exception: _on_error,
        },
    )
    app.state.sandbox = sandbox
    return app
