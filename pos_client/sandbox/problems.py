"""RFC 9457 problem documents: the one way the sandbox ledger says no.

:class:`Problem` is raised anywhere below the routes (parsing, the books, the
ledger rules) and turned into an ``application/problem+json`` response by the
app's exception handler. Every problem has a machine ``code`` (the contract's
word, e.g. ``idempotency_conflict``), a ``title`` for people and a ``detail``.

Imports only the standard library; the HTTP layer renders it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

PROBLEM_CONTENT_TYPE = "application/problem+json"

#: The ``type`` URI of a problem: a ``tag:`` URI (RFC 4151), which names the
#: problem type for good without pretending to be a page one could fetch.
PROBLEM_TYPE_PREFIX = "tag:pos-client.sandbox,2026:problem/"

#: Titles of the problem codes the sandbox uses (status, title).
TITLES: Mapping[str, tuple[int, str]] = {
    "invalid_request": (400, "The request is malformed"),
    "authorization_pending": (400, "The enrolment is not approved yet"),
    "slow_down": (400, "Polling too fast; wait longer between polls"),
    "expired_token": (400, "The enrolment expired or was already collected"),
    "access_denied": (400, "The enrolment was denied"),
    "enrolment_code_invalid": (400, "The enrolment code is not valid"),
    "unauthorized": (401, "A valid bearer token is required"),
    "terminal_mismatch": (403, "The terminal does not match the token"),
    "forbidden": (403, "This token may not call this endpoint"),
    "beneficiary_blocked": (403, "The household is blocked"),
    "not_found": (404, "Not found"),
    "beneficiary_not_found": (404, "No household with that identity"),
    "method_not_allowed": (405, "Method not allowed"),
    "idempotency_conflict": (409, "The id was used before with a different body"),
    "enrolment_decided": (409, "The enrolment was already approved or denied"),
    "not_voidable": (409, "The redemption cannot be voided"),
    "nothing_offline": (409, "Nothing this household holds may be spent offline"),
    "payload_too_large": (413, "The request body is too large"),
    "unsupported_media_type": (415, "The request body must be application/json"),
    "invalid_national_id": (422, "The national ID is not valid"),
    "token_invalid": (422, "The token is not valid"),
    "token_expired": (422, "The token has expired"),
    "token_used": (422, "The token or code was already used"),
    "purchase_code_invalid": (422, "The purchase code is not valid"),
    "too_many_requests": (429, "Too many requests"),
    "too_many_attempts": (429, "Too many failed purchase-code or OTP attempts"),
    "internal_error": (500, "Internal error"),
    "bad_gateway": (502, "Bad gateway"),
    "service_unavailable": (503, "The ledger is unavailable"),
    "gateway_timeout": (504, "Gateway timeout"),
}


class Problem(Exception):
    """A problem document to answer with; raise it, the app renders it."""

    def __init__(
        self,
        *,
        status: int,
        code: str,
        detail: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.headers: dict[str, str] = dict(headers or {})

    @property
    def title(self) -> str:
        known = TITLES.get(self.code)
        return known[1] if known else self.code.replace("_", " ").capitalize()

    def document(self) -> dict[str, object]:
        return {
            "type": PROBLEM_TYPE_PREFIX + self.code,
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail or self.title,
        }

    def body(self) -> bytes:
        return json.dumps(self.document(), ensure_ascii=False, separators=(",", ":")).encode()


def problem(code: str, detail: str = "", *, headers: Mapping[str, str] | None = None) -> Problem:
    """A :class:`Problem` for a known ``code`` (its status from :data:`TITLES`)."""
    status = TITLES[code][0]
    return Problem(status=status, code=code, detail=detail, headers=dict(headers or {}))


def invalid(detail: str) -> Problem:
    """``400 invalid_request`` with ``detail`` saying what is wrong."""
    return problem("invalid_request", detail)
