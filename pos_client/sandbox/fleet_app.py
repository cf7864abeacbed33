"""The fleet contract's HTTP face (``fleet-api.md``): enrolment and the admin endpoints.

Thin routes over :class:`~.enrolments.Enrolments`, in the manner of
:mod:`.app` (whose plumbing they share): a capped JSON body, unknown fields
refused, the work in a worker thread, every refusal a problem document. Who
may call what is decided in :mod:`.auth`.

Imports starlette, the standard library and the sandbox's modules.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pos_client.domain.contract import dump_json

from . import auth
from .app import _json, _no_query, _read_body, _sandbox
from .enrolments import DEFAULT_CODE_TTL_S, MAX_CODE_TTL_S, MAX_CODES, check_terminal_id
from .problems import invalid
from .requests import Fields, parse_json

MAX_NAME = 253
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


async def _admin(request: Request) -> auth.MerchantAdmin:
    digest = auth.bearer_digest(request.headers.get("authorization"))
    who: auth.MerchantAdmin = await run_in_threadpool(auth.admin, _sandbox(request).books, digest)
    return who


def _short(fields: Fields, name: str, *, limit: int = MAX_NAME) -> str:
    value = fields.text(name)
    if len(value) > limit or _CONTROL.search(value):
        raise invalid(f"{fields.where}.{name} must be 1 to {limit} characters, no controls")
    return value


def _source(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


async def enrolments(request: Request) -> Response:
    """``POST /v1/enrolments``: start the device flow, or enrol at once with a store code."""
    _no_query(request)
    value = parse_json(await _read_body(request))
    sandbox = _sandbox(request)
    enrol = sandbox.enrolments
    if isinstance(value, dict) and "enrolment_code" in value:
        fields = Fields(
            value, "body", required=("enrolment_code", "hostname"), optional=("software_version",)
        )
        code = fields.text("enrolment_code")
        _short(fields, "hostname")
        if "software_version" in fields.value:
            _short(fields, "software_version", limit=64)
        body: dict[str, Any] = await run_in_threadpool(
            lambda: enrol.redeem_code(code=code, source=_source(request), ledger_url=sandbox.url)
        )
        return _json(200, dump_json(body))
    fields = Fields(value, "body", required=("hostname",), optional=("software_version",))
    hostname = _short(fields, "hostname")
    version = (
        _short(fields, "software_version", limit=64) if "software_version" in fields.value else ""
    )
    body = await run_in_threadpool(
        lambda: enrol.start(hostname=hostname, software_version=version, ledger_url=sandbox.url)
    )
    return _json(201, dump_json(body), {"Cache-Control": "no-store"})


async def enrolment_token(request: Request) -> Response:
    """``POST /v1/enrolments/token``: the lane polls with its device code."""
    _no_query(request)
    fields = Fields(parse_json(await _read_body(request)), "body", required=("device_code",))
    device_code = fields.text("device_code")
    sandbox = _sandbox(request)
    body: dict[str, Any] = await run_in_threadpool(
        lambda: sandbox.enrolments.poll(device_code=device_code, ledger_url=sandbox.url)
    )
    return _json(200, dump_json(body), {"Cache-Control": "no-store"})


async def enrolment_approve(request: Request) -> Response:
    _no_query(request)
    who = await _admin(request)
    fields = Fields(
        parse_json(await _read_body(request)),
        "body",
        required=("user_code", "store_id"),
        optional=("terminal_id", "label"),
    )
    user_code = fields.text("user_code")
    store_id = fields.text("store_id")
    terminal_id = (
        check_terminal_id(fields.text("terminal_id")) if "terminal_id" in fields.value else None
    )
    label = _short(fields, "label", limit=100) if "label" in fields.value else None
    enrol = _sandbox(request).enrolments
    body: dict[str, Any] = await run_in_threadpool(
        lambda: enrol.approve(
            who, user_code=user_code, store_id=store_id, terminal_id=terminal_id, label=label
        )
    )
    return _json(200, dump_json(body))


async def enrolment_deny(request: Request) -> Response:
    _no_query(request)
    who = await _admin(request)
    fields = Fields(parse_json(await _read_body(request)), "body", required=("user_code",))
    user_code = fields.text("user_code")
    enrol = _sandbox(request).enrolments
    body: dict[str, Any] = await run_in_threadpool(lambda: enrol.deny(who, user_code=user_code))
    return _json(200, dump_json(body))


async def enrolment_codes(request: Request) -> Response:
    _no_query(request)
    who = await _admin(request)
    fields = Fields(
        parse_json(await _read_body(request)),
        "body",
        required=("store_id", "count"),
        optional=("ttl_s",),
    )
    store_id = fields.text("store_id")
    count = fields.integer("count", low=1, high=MAX_CODES)
    ttl_s = fields.integer("ttl_s", low=60, high=MAX_CODE_TTL_S, default=DEFAULT_CODE_TTL_S)
    enrol = _sandbox(request).enrolments
    body: dict[str, Any] = await run_in_threadpool(
        lambda: enrol.make_codes(who, store_id=store_id, count=count, ttl_s=ttl_s)
    )
    return _json(201, dump_json(body), {"Cache-Control": "no-store"})


FLEET_ROUTES = [
    Route("/v1/enrolments", enrolments, methods=["POST"]),
    Route("/v1/enrolments/token", enrolment_token, methods=["POST"]),
    Route("/v1/enrolments/approve", enrolment_approve, methods=["POST"]),
    Route("/v1/enrolments/deny", enrolment_deny, methods=["POST"]),
    Route("/v1/enrolment-codes", enrolment_codes, methods=["POST"]),
]
