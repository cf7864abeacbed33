"""A redemption on the wire: who pays (the identity), the body sent, and the ledger's answers.

- :class:`Identity`: how the household is named (a national ID, a KB1 token or
  an 8-digit purchase code), exactly one; it never shows its value in ``repr``.
- :func:`redemption_body`: the exact bytes of ``POST /v1/redemptions``. They are
  made once, written to disk, and sent as they are, however many times (the
  ledger compares bodies for idempotency). Only the lines that a purse pays
  are sent, with the allocations' ``line`` renumbered to match: the ledger
  needs nothing else, and what else a household buys is none of its business.
  :func:`body_with_mode` is the one change ever made to stored bytes: an online
  redemption that surely never reached the ledger becomes an offline one.
- ``parse_*``: readers of the ledger's answers (a redemption, a problem
  document, an OTP challenge, a void, a settlement), tolerant as the contract
  asks: unknown members are ignored and an optional one may be absent, null or
  empty. A wrong type, a missing required field or an answer about another id
  is a ``ContractError("malformed")``: the caller treats it as an unknown
  outcome, never as a guess.

Pure: imports the standard library and the domain only; "now" is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pos_client.domain.contract import dump_json, format_time, load_json, parse_purse, parse_time
from pos_client.domain.errors import ContractError
from pos_client.domain.models import Allocation, BasketLine, Purse
from pos_client.domain.national_id import normalize_national_id, to_ascii_digits

__all__ = [
    "LEDGER_STATUSES",
    "AppliedAllocation",
    "BatchItemResult",
    "Identity",
    "IdentityKind",
    "OtpAnswer",
    "OtpChallenge",
    "ProblemDocument",
    "RedemptionAnswer",
    "RedemptionDraft",
    "Settlement",
    "VoidAnswer",
    "body_mode",
    "body_with_mode",
    "parse_otp_challenge",
    "parse_problem",
    "parse_redemption_answer",
    "parse_settlement",
    "parse_void_answer",
    "redemption_body",
    "sent_lines",
]

#: What a redemption answer's ``status`` may be.
LEDGER_STATUSES = frozenset({"approved", "partially_approved", "declined"})
_PURCHASE_CODE = re.compile(r"[0-9]{8}")
_MAX_INT64 = 2**63 - 1


class IdentityKind(StrEnum):
    NATIONAL_ID = "national_id"
    TOKEN = "token"  # noqa: S105 - a kind of identity, not a secret
    PURCHASE_CODE = "purchase_code"


@dataclass(frozen=True, slots=True)
class Identity:
    """How the household is named in an inquiry or a redemption; ``value`` is never shown."""

    kind: IdentityKind
    value: str = field(repr=False)

    @classmethod
    def national_id(cls, text: str) -> Identity:
        """A typed or scanned national ID, normalised (``InvalidNationalId`` if it is none)."""
        return cls(IdentityKind.NATIONAL_ID, normalize_national_id(text))

    @classmethod
    def token(cls, text: str) -> Identity:
        return cls(IdentityKind.TOKEN, text.strip())

    @classmethod
    def purchase_code(cls, text: str) -> Identity:
        """An 8-digit purchase code (Persian or Arabic-Indic digits are accepted)."""
        digits = to_ascii_digits(text.strip()) if isinstance(text, str) else None
        if digits is None or _PURCHASE_CODE.fullmatch(digits) is None:
            raise ContractError("purchase_code_invalid", "a purchase code is 8 digits")
        return cls(IdentityKind.PURCHASE_CODE, digits)

    def wire(self) -> dict[str, str]:
        return {self.kind.value: self.value}

    @property
    def online_only(self) -> bool:
        """A typed national ID or a purchase code can be checked only by the ledger."""
        return self.kind is not IdentityKind.TOKEN


@dataclass(frozen=True, slots=True)
class OtpAnswer:
    challenge_id: str
    code: str = field(repr=False)

    def wire(self) -> dict[str, str]:
        return {"challenge_id": self.challenge_id, "code": self.code}


@dataclass(frozen=True, slots=True)
class RedemptionDraft:
    """Everything a redemption body is made of."""

    id: str
    terminal_id: str
    created_at: datetime
    mode: str  # online | offline
    identity: Identity
    rules_version: str
    lines: tuple[BasketLine, ...]
    allocations: tuple[Allocation, ...]
    otp: OtpAnswer | None = None


def sent_lines(
    lines: Sequence[BasketLine], allocations: Sequence[Allocation]
) -> tuple[tuple[int, ...], tuple[Allocation, ...]]:
    """The basket indexes of the lines a purse pays, and the allocations renumbered to them."""
    kept = sorted({a.line for a in allocations})
    for index in kept:
        if not 0 <= index < len(lines):
            raise ContractError("malformed", "an allocation names no basket line")
    position = {index: n for n, index in enumerate(kept)}
    renumbered = tuple(
        Allocation(
            line=position[a.line],
            purse_id=a.purse_id,
            amount_rial=a.amount_rial,
            quantity_milli=a.quantity_milli,
        )
        for a in allocations
    )
    return tuple(kept), renumbered


def redemption_body(draft: RedemptionDraft) -> bytes:
    """The exact bytes of ``POST /v1/redemptions`` for ``draft`` (compact UTF-8 JSON)."""
    if draft.mode not in ("online", "offline"):
        raise ContractError("malformed", "mode: online or offline")
    kept, allocations = sent_lines(draft.lines, draft.allocations)
    if not kept:
        raise ContractError("nothing_covered", "no basket line is paid by a purse")
    body: dict[str, Any] = {
        "id": draft.id,
        "terminal_id": draft.terminal_id,
        "created_at": format_time(draft.created_at, "created_at"),
        "mode": draft.mode,
        "beneficiary": draft.identity.wire(),
    }
    if draft.otp is not None:
        body["otp"] = draft.otp.wire()
    body["rules_version"] = draft.rules_version
    body["lines"] = [
        {
            "gtin": draft.lines[i].gtin,
            "quantity_milli": draft.lines[i].quantity_milli,
            "unit_price_rial": draft.lines[i].unit_price_rial,
            "amount_rial": draft.lines[i].amount_rial,
        }
        for i in kept
    ]
    body["allocations"] = [
        {
            "line": a.line,
            "purse_id": a.purse_id,
            "amount_rial": a.amount_rial,
            "quantity_milli": a.quantity_milli,
        }
        for a in allocations
    ]
    return dump_json(body)


def body_mode(body: bytes) -> str:
    """The ``mode`` of a stored body."""
    data = load_json(body)
    if not isinstance(data, dict) or data.get("mode") not in ("online", "offline"):
        raise ContractError("malformed", "mode: not online or offline")
    return str(data["mode"])


def body_with_mode(body: bytes, mode: str) -> bytes:
    """``body`` with its ``mode`` changed (every other field and their order kept).

    Only for a redemption the ledger surely never received: it would refuse
    the changed body under the same id (``409 idempotency_conflict``).
    """
    if mode not in ("online", "offline"):
        raise ContractError("malformed", "mode: online or offline")
    data = load_json(body)
    if not isinstance(data, dict) or "mode" not in data:
        raise ContractError("malformed", "not a redemption body")
    data["mode"] = mode
    return dump_json(data)


# --------------------------------------------------------------------------- answers


def _fail(path: str, what: str) -> ContractError:
    return ContractError("malformed", f"{path}: {what}")


def _obj(data: object, path: str) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise _fail(path, "not an object")
    return data


def _str(obj: Mapping[str, Any], key: str, path: str, *, optional: bool = False) -> str | None:
    """A text member; an optional one may be absent, null or empty (all mean "not given")."""
    value = obj.get(key)
    if value is None or (optional and value == ""):
        if optional:
            return None
        raise _fail(f"{path}{key}", "missing")
    if not isinstance(value, str) or not value or len(value) > 2048:
        raise _fail(f"{path}{key}", "not a string")
    return value


def _req_str(obj: Mapping[str, Any], key: str, path: str = "") -> str:
    value = _str(obj, key, path)
    assert value is not None
    return value


def _int(obj: Mapping[str, Any], key: str, path: str, *, default: int | None = None) -> int:
    value = obj.get(key)
    if value is None:
        if default is None:
            raise _fail(f"{path}{key}", "missing")
        return default
    if type(value) is not int or not 0 <= value <= _MAX_INT64:
        raise _fail(f"{path}{key}", "not a whole number of 0 or more")
    return value


def _list(obj: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(f"{path}{key}", "not a list")
    return value


@dataclass(frozen=True, slots=True)
class AppliedAllocation:
    """One allocation as the ledger applied it (``status`` and, when refused, ``reason``)."""

    line: int
    purse_id: str
    amount_rial: int
    quantity_milli: int = 0
    status: str = "applied"
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RedemptionAnswer:
    """The ledger's answer to a redemption (``POST``, batch item or ``GET`` by id)."""

    id: str
    status: str  # approved | partially_approved | declined
    covered_rial: int
    declined_rial: int = 0
    approved_at: datetime | None = None
    receipt_code: str | None = None
    reason: str | None = None
    allocations: tuple[AppliedAllocation, ...] = ()
    purses_after: tuple[Purse, ...] = ()

    @property
    def goes_ahead(self) -> bool:
        return self.status in ("approved", "partially_approved")


def _applied(data: object, path: str) -> AppliedAllocation:
    obj = _obj(data, path)
    return AppliedAllocation(
        line=_int(obj, "line", path + "."),
        purse_id=_req_str(obj, "purse_id", path + "."),
        amount_rial=_int(obj, "amount_rial", path + "."),
        quantity_milli=_int(obj, "quantity_milli", path + ".", default=0),
        status=_str(obj, "status", path + ".", optional=True) or "applied",
        reason=_str(obj, "reason", path + ".", optional=True),
    )


def parse_redemption_answer(data: object, *, expected_id: str) -> RedemptionAnswer:
    """A redemption answer about ``expected_id``; ``ContractError("malformed")`` otherwise."""
    obj = _obj(data, "(answer)")
    answer_id = _req_str(obj, "id")
    if answer_id != expected_id:
        raise _fail("id", "the answer is about another redemption")
    status = _req_str(obj, "status")
    if status not in LEDGER_STATUSES:
        raise _fail("status", "not approved, partially_approved or declined")
    approved_at_raw = obj.get("approved_at")
    approved_at = (
        None if approved_at_raw in (None, "") else parse_time(approved_at_raw, "approved_at")
    )
    purses: list[Purse] = []
    for i, item in enumerate(_list(obj, "purses_after", "")):
        try:
            purses.append(parse_purse(item))
        except ContractError as exc:
            raise _fail(f"purses_after[{i}]", exc.message) from None
    answer = RedemptionAnswer(
        id=answer_id,
        status=status,
        covered_rial=_int(obj, "covered_rial", "", default=0 if status == "declined" else None),
        declined_rial=_int(obj, "declined_rial", "", default=0),
        approved_at=approved_at,
        receipt_code=_str(obj, "receipt_code", "", optional=True),
        reason=_str(obj, "reason", "", optional=True),
        allocations=tuple(
            _applied(a, f"allocations[{i}]") for i, a in enumerate(_list(obj, "allocations", ""))
        ),
        purses_after=tuple(purses),
    )
    if status == "declined" and answer.covered_rial != 0:
        raise _fail("covered_rial", "a declined redemption covers nothing")
    if status == "approved" and answer.declined_rial != 0:
        raise _fail("declined_rial", "an approved redemption declines nothing")
    return answer


@dataclass(frozen=True, slots=True)
class ProblemDocument:
    """An RFC 9457 problem document with the contract's machine ``code``."""

    status: int
    code: str
    title: str = ""
    detail: str = ""


def _problem_text(obj: Mapping[str, Any], key: str) -> str:
    """``title``/``detail`` of a problem: RFC 9457 says a member of the wrong type is ignored."""
    value = obj.get(key)
    return value[:2048] if isinstance(value, str) else ""


def parse_problem(data: object, *, http_status: int) -> ProblemDocument:
    """A problem document answered with ``http_status``; ``ContractError`` if it is none.

    Its ``code`` is what counts: ``type`` may be ``about:blank``, ``title`` and
    ``detail`` may be absent, null, empty or (RFC 9457, 3.1) of another type,
    and are then ignored; a ``status`` that is there must be the HTTP status.
    """
    obj = _obj(data, "(problem)")
    code = _req_str(obj, "code")
    status = obj.get("status")
    if status is None:
        status = http_status
    if type(status) is not int or status != http_status:
        raise _fail("status", "does not match the HTTP status")
    return ProblemDocument(
        status=status,
        code=code,
        title=_problem_text(obj, "title"),
        detail=_problem_text(obj, "detail"),
    )


@dataclass(frozen=True, slots=True)
class BatchItemResult:
    """What the ledger said about one item of a batch.

    ``kind``: ``answer`` (a final answer in ``answer``), ``rejected`` (a
    problem document in ``problem``: nothing changed), ``unknown`` (a 5xx or a
    malformed item: resolve by id), ``not_processed`` (429: send again later,
    not before ``retry_after`` seconds when the item said so).
    """

    id: str
    kind: Literal["answer", "rejected", "unknown", "not_processed"]
    answer: RedemptionAnswer | None = None
    problem: ProblemDocument | None = None
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class OtpChallenge:
    challenge_id: str
    expires_at: datetime | None = None


def parse_otp_challenge(data: object) -> OtpChallenge:
    obj = _obj(data, "(challenge)")
    expires = obj.get("expires_at")
    return OtpChallenge(
        challenge_id=_req_str(obj, "challenge_id"),
        expires_at=None if expires in (None, "") else parse_time(expires, "expires_at"),
    )


@dataclass(frozen=True, slots=True)
class VoidAnswer:
    id: str
    status: str  # voided
    purses_after: tuple[Purse, ...] = ()


def parse_void_answer(data: object, *, expected_id: str) -> VoidAnswer:
    obj = _obj(data, "(void)")
    answer_id = _req_str(obj, "id")
    if answer_id != expected_id:
        raise _fail("id", "the answer is about another redemption")
    if _req_str(obj, "status") != "voided":
        raise _fail("status", "not voided")
    purses: list[Purse] = []
    for i, item in enumerate(_list(obj, "purses_after", "")):
        try:
            purses.append(parse_purse(item))
        except ContractError as exc:
            raise _fail(f"purses_after[{i}]", exc.message) from None
    return VoidAnswer(id=answer_id, status="voided", purses_after=tuple(purses))


@dataclass(frozen=True, slots=True)
class Settlement:
    terminal_id: str
    business_date: date
    count: int
    covered_rial: int
    by_program: Mapping[str, tuple[int, int]]  # program -> (count, covered_rial)
    redemption_ids: tuple[str, ...]


def parse_settlement(data: object) -> Settlement:
    obj = _obj(data, "(settlement)")
    try:
        day = date.fromisoformat(_req_str(obj, "business_date"))
    except ValueError:
        raise _fail("business_date", "not a date") from None
    by_program: dict[str, tuple[int, int]] = {}
    raw_programs = obj.get("by_program") or {}
    for program, value in _obj(raw_programs, "by_program").items():
        item = _obj(value, f"by_program.{program}")
        by_program[str(program)] = (
            _int(item, "count", f"by_program.{program}."),
            _int(item, "covered_rial", f"by_program.{program}."),
        )
    ids = _list(obj, "redemption_ids", "")
    if not all(isinstance(i, str) for i in ids):
        raise _fail("redemption_ids", "not a list of ids")
    return Settlement(
        terminal_id=_req_str(obj, "terminal_id"),
        business_date=day,
        count=_int(obj, "count", ""),
        covered_rial=_int(obj, "covered_rial", ""),
        by_program=by_program,
        redemption_ids=tuple(ids),
    )
