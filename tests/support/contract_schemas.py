"""Valid ledger documents generated from the project's OpenAPI schemas, and the variations
that the contract's "Conventions" allow a newer ledger to make to them.

- :func:`documents` is a hypothesis strategy of valid documents for one schema
  (``hypothesis-jsonschema``), with the few rules that a JSON schema cannot say
  (real RFC 3339 times, ids that are ids, unique ids in a list, a validity window
  that ends after it starts, a declined answer covers nothing, an Ed25519 key is
  32 bytes) kept by :data:`REFINED` and :func:`repaired`.
- :func:`varied` applies, at random places, what a reader must tolerate: unknown
  members added to any record, optional members dropped, sent as ``null`` or, for
  text, as ``""``. It gives the varied document and its *baseline*: the same
  document with those optional members simply absent and no unknown member, which
  a tolerant reader must read exactly as it reads the varied one.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import yaml
from hypothesis import strategies as st
from hypothesis.internal.conjecture import utils as _conjecture_utils
from hypothesis_jsonschema import _from_schema, from_schema
from jsonschema import Draft202012Validator

from pos_client.domain.contract import format_time, parse_time
from pos_client.domain.contract_fields import MAX_INT64
from pos_client.sandbox.app import OPENAPI_FILE

# --------------------------------------------------------------------------- library shim


class _ManyWithMore:
    """``hypothesis-jsonschema`` 0.23 drives ``many`` by ``more()``; newer Hypothesis
    iterates it instead. This adapter gives the old calls on top of the new protocol."""

    def __init__(self, data: Any, **sizes: Any) -> None:
        self._inner = _conjecture_utils.many(data, **sizes)
        self._elements: Any = None

    def more(self) -> bool:
        if self._elements is None:
            self._inner.__enter__()
            self._elements = iter(self._inner)
        try:
            next(self._elements)
        except StopIteration:
            self._inner.__exit__(None, None, None)
            return False
        return True

    def reject(self, why: str | None = None) -> None:
        self._inner.reject(why)


if not hasattr(_conjecture_utils.many, "more"):

    class _Utils:
        def __getattr__(self, name: str) -> Any:
            return getattr(_conjecture_utils, name)

        many = _ManyWithMore

    _from_schema.cu = _Utils()  # type: ignore[attr-defined]

# --------------------------------------------------------------------------- the schemas

OPENAPI: dict[str, Any] = yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))
COMPONENTS: dict[str, Any] = OPENAPI["components"]["schemas"]

_ID = {"type": "string", "pattern": "^[A-Za-z0-9_.:~آ-ی-]{1,24}$"}
_ID_KEYS = frozenset(
    {
        "id",
        "program",
        "kid",
        "ref",
        "group",
        "purse_id",
        "challenge_id",
        "terminal_id",
        "version",
        "category",
        "city",
        "parent",
        "code",
        "receipt_code",
    }
)
_ID_LIST_KEYS = frozenset({"categories", "groups"})
_RFC3339 = {"type": "string", "format": "rfc3339"}
_ED25519_KEY = {"type": "string", "pattern": "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"}

#: Parts of the schemas made precise for generation (what a JSON schema cannot say).
REFINED = {"Time": _RFC3339}


def _refine(node: Any, key: str | None = None) -> Any:
    """``node`` with every ``$ref`` resolved and ids, times and keys made precise."""
    if isinstance(node, list):
        return [_refine(item) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        return copy.deepcopy(REFINED[name]) if name in REFINED else _refine(COMPONENTS[name], key)
    out = {k: v for k, v in node.items() if k not in ("description", "properties", "items")}
    if "properties" in node:
        out["properties"] = {k: _refine(v, k) for k, v in node["properties"].items()}
    if "items" in node:
        out["items"] = _refine(node["items"])
        out.setdefault("maxItems", 3)  # short lists keep generation quick
        if key in _ID_LIST_KEYS and out["items"].get("type") == "string":
            out["items"] = dict(_ID)
            out["uniqueItems"] = True
    for combinator in ("oneOf", "anyOf", "allOf"):
        if combinator in node:
            out[combinator] = [_refine(branch, key) for branch in node[combinator]]
    for sub in ("additionalProperties", "if", "then", "else"):
        if isinstance(node.get(sub), dict):
            out[sub] = _refine(node[sub])
    if key in _ID_KEYS and out.get("type") in ("string", ["string", "null"]):
        out = {"anyOf": [dict(_ID), {"type": "null"}]} if out["type"] != "string" else dict(_ID)
    if key == "category_limits_rial":
        out["propertyNames"] = dict(_ID)
    if key == "public_key":
        out = dict(_ED25519_KEY)
    if key == "alg":
        out = {"const": "Ed25519"}
    kinds = out.get("type")
    if (kinds == "integer" or (isinstance(kinds, list) and "integer" in kinds)) and (
        "maximum" not in out
    ):
        out["maximum"] = MAX_INT64  # the contract's integers fit a signed 64-bit integer
    return out


def component(name: str) -> dict[str, Any]:
    """A component schema of the OpenAPI document, refs resolved and refined."""
    return _refine(COMPONENTS[name])


def response(path: str, method: str, status: str) -> dict[str, Any]:
    """The JSON schema of one documented answer, refs resolved and refined."""
    content = OPENAPI["paths"][path][method]["responses"][status]["content"]
    media = content.get("application/json") or content["application/problem+json"]
    return _refine(media["schema"])


_OFFSETS = [UTC, timezone(timedelta(hours=3, minutes=30)), timezone(timedelta(hours=-5))]


@st.composite
def _times(draw: st.DrawFn) -> str:
    moment = draw(
        st.datetimes(
            min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
        )
    ).astimezone(draw(st.sampled_from(_OFFSETS)))
    if draw(st.booleans()):
        moment = moment.replace(microsecond=0)
    text = format_time(moment)
    return text.replace("+00:00", "Z") if draw(st.booleans()) else text


FORMATS = {"rfc3339": _times()}


@cache
def _strategy(schema_json: str) -> st.SearchStrategy[Any]:
    return from_schema(json.loads(schema_json), custom_formats=FORMATS)


def _unconditional(node: Any) -> Any:
    """``node`` as generated: no ``if``/``then`` (slow; :func:`repaired` keeps them)."""
    if isinstance(node, list):
        return [_unconditional(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _unconditional(v) for k, v in node.items() if k not in ("if", "then")}
    if "properties" in out:  # unknown members are added by :func:`varied`, smaller and quicker
        out["additionalProperties"] = False
    return out


def documents(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Valid documents of ``schema`` (see :func:`repaired` for the rules beyond it)."""
    strategy = _strategy(json.dumps(_unconditional(schema), sort_keys=True))
    return strategy.map(lambda document: repaired(copy.deepcopy(document)))


# --------------------------------------------------------------------------- cross-field rules


def _unique_by(items: Any, key: str) -> Any:
    if not isinstance(items, list):
        return items
    seen: set[Any] = set()
    kept = []
    for item in items:
        mark = item.get(key) if isinstance(item, dict) else None
        if mark in seen:
            continue
        seen.add(mark)
        kept.append(item)
    return kept


def _after(obj: dict[str, Any], start: str, end: str) -> None:
    first, last = obj.get(start), obj.get(end)
    if isinstance(first, str) and isinstance(last, str):
        if parse_time(last) <= parse_time(first):
            obj[end] = format_time(parse_time(first) + timedelta(days=1))


def repaired(document: Any) -> Any:
    """``document`` with the rules that its schema cannot say kept (in place, and returned)."""
    if isinstance(document, list):
        for item in document:
            repaired(item)
        return document
    if not isinstance(document, dict):
        return document
    for value in document.values():
        repaired(value)
    if "issued_at" in document and "valid_until" in document:
        _after(document, "issued_at", "valid_until")
    _after(document, "valid_from", "expires_at")
    for key, mark in (
        ("purses", "id"),
        ("purses_after", "id"),
        ("signing_keys", "kid"),
        ("categories", "id"),
        ("programs", "id"),
        ("entitlements", "group"),
    ):
        if key in document and isinstance(document[key], list):
            if all(isinstance(item, dict) for item in document[key]):
                document[key] = _unique_by(document[key], mark)
    if document.get("kind") == "amount" and "program" in document:  # an amount purse
        document.setdefault("balance_rial", 0)
    status = document.get("status")
    if status == "declined" and "covered_rial" in document:
        document["covered_rial"] = 0
    if status == "approved" and "declined_rial" in document:
        document["declined_rial"] = 0
    return document


# --------------------------------------------------------------------------- variations

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=None)


def _branch(schema: dict[str, Any], value: Any) -> dict[str, Any]:
    """The branch of a ``oneOf``/``anyOf`` that ``value`` is an instance of."""
    for combinator in ("oneOf", "anyOf"):
        for branch in schema.get(combinator, ()):
            if _validator(branch).is_valid(value):
                return _branch(branch, value)
    return schema


def _texty(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    if kinds == "string" or (isinstance(kinds, list) and "string" in kinds):
        return True
    if "enum" in schema and all(isinstance(v, str) for v in schema["enum"]):
        return True
    return any(_texty(b) for c in ("oneOf", "anyOf") for b in schema.get(c, ()))


def _required(schema: dict[str, Any], value: dict[str, Any]) -> set[str]:
    required = set(schema.get("required", ()))
    condition = schema.get("if")
    if isinstance(condition, dict) and _validator(condition).is_valid(value):
        required |= set(schema.get("then", {}).get("required", ()))
    return required


def varied(
    draw: st.DrawFn, document: Any, schema: dict[str, Any], *, keep: frozenset[str] = frozenset()
) -> tuple[Any, Any]:
    """``(varied, baseline)``: ``document`` as a newer ledger may send it, and as it means.

    ``keep`` names members never varied (e.g. a problem's ``status``, whose
    absence a reader fills from the HTTP status).
    """
    schema = _branch(schema, document)
    if isinstance(document, list):
        item_schema = schema.get("items", {})
        pairs = [varied(draw, item, item_schema) for item in document]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    if not isinstance(document, dict):
        return document, document
    properties = schema.get("properties")
    if properties is None:  # a map (e.g. category limits): its keys are data, not members
        values = schema.get("additionalProperties")
        inner = values if isinstance(values, dict) else {}
        pairs_by_key = {k: varied(draw, v, inner) for k, v in document.items()}
        return (
            {k: p[0] for k, p in pairs_by_key.items()},
            {k: p[1] for k, p in pairs_by_key.items()},
        )
    required = _required(schema, document) | keep
    out: dict[str, Any] = {}
    base: dict[str, Any] = {}
    for key, value in document.items():
        member = properties.get(key, {})
        if key not in required:
            choices = ["keep", "drop", "null"] + (["empty"] if _texty(member) else [])
            choice = draw(st.sampled_from(choices))
            if choice == "drop":
                continue
            if choice in ("null", "empty"):
                out[key] = None if choice == "null" else ""
                continue
        out[key], base[key] = varied(draw, value, member)
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        name = "x_" + draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8))
        if name not in properties:
            out[name] = draw(json_values)
    order = draw(st.permutations(list(out)))
    return {k: out[k] for k in order}, base
