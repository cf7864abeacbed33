"""Strict reading of request bodies: bytes in, typed requests out, or ``400 invalid_request``.

The ledger is strict where a client might be lenient, because a lenient
sandbox hides client bugs:

- the body must be UTF-8 JSON: no duplicate keys, no ``NaN``/``Infinity``, no
  lone surrogates, not nested absurdly deep;
- objects have exactly the documented fields: an unknown field is refused
  (``invalid_request``), not ignored, so a misspelt ``quantity_mili`` cannot
  silently become "no quantity";
- integers are JSON integers (``1.0`` and ``true`` are not), inside sane bounds;
- identifiers have their documented shape (a redemption id is a lowercase UUID).

Whether a national ID, token or purchase code is *valid* is the ledger's
business (422 codes), not this module's: here only its type is checked.

Imports the standard library and the sandbox's problems and clock only.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .clock import parse_rfc3339
from .problems import Problem, invalid

MAX_LINES = 500
MAX_ALLOCATIONS = 1000
MAX_BATCH = 100
MAX_RIAL = 10**15
MAX_UNIT_PRICE_RIAL = 10**13
MAX_QUANTITY_MILLI = 10**9
MAX_TEXT = 2048

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
GTIN = re.compile(r"[0-9]{8}|[0-9]{12,14}")
SHORT_ID = re.compile(r"[A-Za-z0-9._~:-]{1,64}")


# --------------------------------------------------------------------------- JSON


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> Any:
    """The JSON value of ``body``, strictly; ``400 invalid_request`` when it is not JSON."""
    if not body:
        raise invalid("the request needs a JSON body")
    try:
        text = body.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
        # lone surrogates ("\ud800") parse, but are not Unicode text
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeError:
        raise invalid("the body is not UTF-8 text") from None
    except RecursionError:
        raise invalid("the body is nested too deeply") from None
    except ValueError as exc:
        raise invalid(f"the body is not valid JSON ({exc})") from None
    return value


def canonical_hash(value: Any) -> str:
    """SHA-256 of the canonical form of a JSON value (sorted keys, no spaces).

    Two bodies are "the same" for idempotency when they are the same JSON value:
    key order and whitespace do not matter, every value does.
    """
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- fields


class Fields:
    """Typed access to the fields of one JSON object, refusing anything undocumented."""

    def __init__(
        self,
        value: Any,
        where: str,
        *,
        required: Sequence[str],
        optional: Sequence[str] = (),
    ) -> None:
        if not isinstance(value, dict):
            raise invalid(f"{where} must be a JSON object")
        unknown = sorted(set(value) - set(required) - set(optional))
        if unknown:
            raise invalid(f"{where} has unknown field(s): {', '.join(unknown)}")
        missing = [name for name in required if name not in value]
        if missing:
            raise invalid(f"{where} lacks field(s): {', '.join(missing)}")
        self.value: Mapping[str, Any] = value
        self.where = where

    def has(self, name: str) -> bool:
        return name in self.value and self.value[name] is not None

    def text(self, name: str, *, pattern: re.Pattern[str] | None = None, what: str = "") -> str:
        value = self.value.get(name)
        if not isinstance(value, str):
            raise invalid(f"{self.where}.{name} must be a string")
        if not value or len(value) > MAX_TEXT:
            raise invalid(f"{self.where}.{name} must be 1 to {MAX_TEXT} characters")
        if pattern is not None and pattern.fullmatch(value) is None:
            raise invalid(f"{self.where}.{name} must be {what or 'well formed'}")
        return value

    def integer(self, name: str, *, low: int, high: int, default: int | None = None) -> int:
        if name not in self.value and default is not None:
            return default
        value = self.value.get(name)
        if type(value) is not int:
            raise invalid(f"{self.where}.{name} must be an integer")
        if not low <= value <= high:
            raise invalid(f"{self.where}.{name} must be between {low} and {high}")
        return value

    def array(self, name: str, *, low: int, high: int) -> list[Any]:
        value = self.value.get(name)
        if not isinstance(value, list):
            raise invalid(f"{self.where}.{name} must be an array")
        if not low <= len(value) <= high:
            raise invalid(f"{self.where}.{name} must hold {low} to {high} items")
        return value


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class Identity:
    """How the household is named: exactly one of the three."""

    national_id: str | None = None
    token: str | None = None
    purchase_code: str | None = None


def gtin_is_valid(gtin: str) -> bool:
    """Whether ``gtin`` (8, 12, 13 or 14 ASCII digits) ends in its GS1 check digit."""
    digits = [int(d) for d in gtin]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def parse_identity(value: Any, where: str) -> Identity:
    if not isinstance(value, dict):
        raise invalid(f"{where} must be a JSON object")
    fields = Fields(value, where, required=(), optional=("national_id", "token", "purchase_code"))
    given = [name for name in ("national_id", "token", "purchase_code") if name in value]
    if len(given) != 1:
        raise invalid(f"{where} must hold exactly one of national_id, token, purchase_code")
    name = given[0]
    text = fields.text(name)
    return Identity(**{name: text})


def parse_inquiry(body: bytes) -> Identity:
    return parse_identity(parse_json(body), "body")


def parse_otp_request(body: bytes) -> str:
    fields = Fields(parse_json(body), "body", required=("national_id",))
    return fields.text("national_id")


@dataclass(frozen=True, slots=True)
class LineRequest:
    gtin: str
    quantity_milli: int
    unit_price_rial: int
    amount_rial: int


@dataclass(frozen=True, slots=True)
class AllocationRequest:
    line: int
    purse_id: str
    amount_rial: int
    quantity_milli: int


@dataclass(frozen=True, slots=True)
class OtpAnswer:
    challenge_id: str
    code: str


@dataclass(frozen=True, slots=True)
class RedemptionRequest:
    id: str
    terminal_id: str
    created_at: datetime
    mode: str  # online | offline
    identity: Identity
    otp: OtpAnswer | None
    rules_version: str
    lines: tuple[LineRequest, ...]
    allocations: tuple[AllocationRequest, ...]
    body_sha256: str


REDEMPTION_FIELDS = (
    "id",
    "terminal_id",
    "created_at",
    "mode",
    "beneficiary",
    "rules_version",
    "lines",
    "allocations",
)


def parse_redemption(value: Any, where: str = "body") -> RedemptionRequest:
    """A redemption body as a typed request, or ``400 invalid_request``."""
    fields = Fields(value, where, required=REDEMPTION_FIELDS, optional=("otp",))
    redemption_id = fields.text("id", pattern=UUID, what="a lowercase UUID")
    terminal_id = fields.text("terminal_id", pattern=SHORT_ID, what="a terminal id")
    created_at = parse_rfc3339(fields.value["created_at"])
    if created_at is None:
        raise invalid(f"{where}.created_at must be an RFC 3339 time with an offset")
    mode = fields.text("mode")
    if mode not in ("online", "offline"):
        raise invalid(f"{where}.mode must be online or offline")
    identity = parse_identity(fields.value["beneficiary"], f"{where}.beneficiary")
    otp = None
    if fields.has("otp"):
        otp_fields = Fields(fields.value["otp"], f"{where}.otp", required=("challenge_id", "code"))
        otp = OtpAnswer(challenge_id=otp_fields.text("challenge_id"), code=otp_fields.text("code"))
    rules_version = fields.text("rules_version", pattern=SHORT_ID, what="a rule set version")
    lines = []
    for i, raw in enumerate(fields.array("lines", low=1, high=MAX_LINES)):
        line = Fields(
            raw,
            f"{where}.lines[{i}]",
            required=("gtin", "quantity_milli", "unit_price_rial", "amount_rial"),
        )
        gtin = line.text("gtin", pattern=GTIN, what="a GTIN of 8, 12, 13 or 14 ASCII digits")
        if not gtin_is_valid(gtin):
            raise invalid(f"{where}.lines[{i}].gtin has a wrong check digit")
        lines.append(
            LineRequest(
                gtin=gtin,
                quantity_milli=line.integer("quantity_milli", low=1, high=MAX_QUANTITY_MILLI),
                unit_price_rial=line.integer("unit_price_rial", low=0, high=MAX_UNIT_PRICE_RIAL),
                amount_rial=line.integer("amount_rial", low=0, high=MAX_RIAL),
            )
        )
    allocations = []
    for i, raw in enumerate(fields.array("allocations", low=1, high=MAX_ALLOCATIONS)):
        alloc = Fields(
            raw,
            f"{where}.allocations[{i}]",
            required=("line", "purse_id", "amount_rial"),
            optional=("quantity_milli",),
        )
        allocations.append(
            AllocationRequest(
                line=alloc.integer("line", low=0, high=len(lines) - 1),
                purse_id=alloc.text("purse_id", pattern=SHORT_ID, what="a purse id"),
                amount_rial=alloc.integer("amount_rial", low=0, high=MAX_RIAL),
                quantity_milli=alloc.integer(
                    "quantity_milli", low=0, high=MAX_QUANTITY_MILLI, default=0
                ),
            )
        )
    return RedemptionRequest(
        id=redemption_id,
        terminal_id=terminal_id,
        created_at=created_at,
        mode=mode,
        identity=identity,
        otp=otp,
        rules_version=rules_version,
        lines=tuple(lines),
        allocations=tuple(allocations),
        body_sha256=canonical_hash(value),
    )


def parse_batch(body: bytes) -> list[Any]:
    """The items of a batch (each still raw: each is read and answered on its own)."""
    fields = Fields(parse_json(body), "body", required=("redemptions",))
    return fields.array("redemptions", low=1, high=MAX_BATCH)


def parse_void(body: bytes) -> None:
    """A void takes no body, or an empty JSON object."""
    if body.strip():
        Fields(parse_json(body), "body", required=())


def item_id(value: Any) -> str | None:
    """The ``id`` of a batch item, if it has a string one (for the result row)."""
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


__all__ = [
    "AllocationRequest",
    "Fields",
    "Identity",
    "LineRequest",
    "OtpAnswer",
    "Problem",
    "RedemptionRequest",
    "canonical_hash",
    "item_id",
    "parse_batch",
    "parse_inquiry",
    "parse_json",
    "parse_otp_request",
    "parse_redemption",
    "parse_void",
]
