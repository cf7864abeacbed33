"""Schemathesis hooks for the sandbox: the contract's rules no OpenAPI schema can state.

``openapi.yaml`` states every shape the ledger checks; a few rules tie members
together or need arithmetic, and are written only in its descriptions:

- ``Idempotency-Key`` equals the body's ``id`` (``void-`` and the path's id for a void);
- a body's ``terminal_id`` is the calling terminal's (else ``403``);
- a national ID ends in its mod-11 check digit and its serial (digits 4-9) is not all zeros;
- a GTIN ends in its GS1 check digit;
- a line's ``amount_rial`` is ``round_half_up(quantity_milli * unit_price_rial / 1000)``
  and fits its declared maximum;
- an allocation's ``line`` names one of the lines;
- a new redemption has an id of its own (see :func:`_own_id`);
- an integer is written as a JSON integer: to JSON Schema ``1.0`` *is* the
  integer 1, to the contract it is a float, refused.

Which households exist is not the schema's business either: with
``SANDBOX_NATIONAL_ID`` set, positive requests name that household.

For *positive* cases only (data the schema calls valid, which the ledger must
then accept), :func:`map_case` makes generated requests keep these rules, so
that ``positive_data_acceptance`` tests the shapes and not the arithmetic.
Negative cases are sent exactly as generated. Load with
``SCHEMATHESIS_HOOKS=tests.sandbox.schemathesis_hooks`` (the sandbox's
``schemathesis.toml`` names it).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from typing import Any

import schemathesis

from pos_client.domain.money import line_amount
from pos_client.domain.national_id import national_id_check_digit

TERMINAL_ID = os.environ.get("SANDBOX_TERMINAL_ID", "T-0001")
#: A household of the sandbox under test: positive requests name it, so that
#: they reach the ledger's rules (and a redemption is recorded, which the
#: stateful phase's links then read, void and replay).
NATIONAL_ID = os.environ.get("SANDBOX_NATIONAL_ID")
#: One of that merchant's stores: positive requests name it (another's is a 404).
STORE_ID = "S-001"
MAX_AMOUNT_RIAL = 10**15
DIGITS = re.compile(r"[0-9]+")


def valid_national_id(text: str) -> str:
    """``text`` (10 ASCII digits) with its check digit set and a serial not all zeros.

    (A serial not all zeros also keeps the ID from being one digit repeated.)
    """
    first_nine = text[:9]
    if first_nine[3:9] == "000000":  # the serial is never all zeros
        first_nine = first_nine[:8] + "1"
    return first_nine + str(national_id_check_digit(first_nine))


def valid_gtin(gtin: str) -> str:
    """``gtin`` with its last digit replaced by its GS1 check digit."""
    body = [int(d) for d in gtin[:-1]]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return gtin[:-1] + str((10 - total % 10) % 10)


def _json_integers(value: Any) -> Any:
    """``value`` with every integral float written as an integer (``1.0`` -> ``1``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _json_integers(member) for key, member in value.items()}
    if isinstance(value, list):
        return [_json_integers(item) for item in value]
    return value


def _fix_identities(value: Any) -> None:
    if isinstance(value, dict):
        nid = value.get("national_id")
        if isinstance(nid, str) and len(nid) == 10 and DIGITS.fullmatch(nid):
            value["national_id"] = NATIONAL_ID or valid_national_id(nid)
        for member in value.values():
            _fix_identities(member)
    elif isinstance(value, list):
        for item in value:
            _fix_identities(item)


def _fix_redemption(body: Any) -> None:
    if not isinstance(body, dict):
        return
    if isinstance(body.get("terminal_id"), str):
        body["terminal_id"] = TERMINAL_ID
    lines = body.get("lines")
    if isinstance(lines, list):
        for line in lines:
            if not isinstance(line, dict):
                continue
            gtin = line.get("gtin")
            if isinstance(gtin, str) and DIGITS.fullmatch(gtin):
                line["gtin"] = valid_gtin(gtin)
            quantity, price = line.get("quantity_milli"), line.get("unit_price_rial")
            if type(quantity) is int and type(price) is int and quantity > 0 and price >= 0:
                price = min(price, (MAX_AMOUNT_RIAL * 1000) // quantity)
                line["unit_price_rial"] = price
                line["amount_rial"] = line_amount(quantity, price)
    allocations = body.get("allocations")
    if isinstance(allocations, list) and isinstance(lines, list) and lines:
        for allocation in allocations:
            if isinstance(allocation, dict) and type(allocation.get("line")) is int:
                allocation["line"] %= len(lines)


def _own_id(body: Any) -> None:
    """Give a redemption body an id of its own: a UUID of everything else in it.

    A new redemption needs a new id; hypothesis draws the same few ids over
    and over, and each reuse with another body is (rightly) a 409. Deriving
    the id from the body keeps "same id, same body" and "new body, new id".
    """
    if isinstance(body, dict) and isinstance(body.get("id"), str):
        rest = {key: value for key, value in body.items() if key != "id"}
        text = json.dumps(rest, sort_keys=True, default=str)
        body["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "redemption:" + text))


def _is_positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is None or meta.generation.mode.is_positive


def _keep_rules(case: Any) -> Any:
    """``case`` with its body keeping the rules above (headers: see :func:`before_call`)."""
    if isinstance(case.body, (dict, list)):
        case.body = _json_integers(case.body)
    _fix_identities(case.body)
    route = (case.operation.method.upper(), case.operation.path)
    if route == ("POST", "/v1/redemptions"):
        _fix_redemption(case.body)
        _own_id(case.body)
    elif route in {("POST", "/v1/enrolment-codes"), ("POST", "/v1/enrolments/approve")}:
        if isinstance(case.body, dict) and "store_id" in case.body:
            case.body["store_id"] = STORE_ID
    elif route == ("POST", "/v1/redemptions/batch") and isinstance(case.body, dict):
        items = case.body.get("redemptions")
        for item in items if isinstance(items, list) else ():
            _fix_redemption(item)
            _own_id(item)
    return case


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    """Generated cases (coverage, fuzzing, stateful): positive ones keep the rules."""
    return _keep_rules(case) if _is_positive(case) else case


@schemathesis.hook
def before_add_examples(context: Any, examples: list[Any]) -> None:
    """The examples phase's cases (built from the schema's examples) keep the rules too."""
    for case in examples:
        if _is_positive(case):
            _keep_rules(case)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Just before sending (after the stateful links filled in what they carry),
    a positive case's ``Idempotency-Key`` names its redemption."""
    if not _is_positive(case):
        return
    route = (case.operation.method.upper(), case.operation.path)
    key = None
    if route == ("POST", "/v1/redemptions") and isinstance(case.body, dict):
        key = case.body.get("id")
    elif route == ("POST", "/v1/redemptions/{redemption_id}/void"):
        redemption_id = (case.path_parameters or {}).get("redemption_id")
        key = f"void-{redemption_id}" if isinstance(redemption_id, str) else None
    if isinstance(key, str):
        case.headers = {**(case.headers or {}), "Idempotency-Key": key}
