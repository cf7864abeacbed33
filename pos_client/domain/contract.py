"""The one definition of the ledger contract's JSON: tolerant parsing into models, and back.

``parse_*`` turn decoded JSON (``dict``/``list``/``str``/``int``/...) from the
ledger, the sandbox or a file into the frozen values of
:mod:`pos_client.domain.models`; ``*_to_wire`` turn those values back into
JSON-ready dicts. The sandbox ledger and the ledger client both use these, so
the wire is written down once. Readers are tolerant, writers strict (the
contract's "Conventions"):

- required fields must be there, with the right JSON type; unknown extra
  fields are ignored anywhere (a newer ledger may add some);
- an optional field may be absent, ``null`` or, for text, ``""``: all three
  mean "not given" (a category's ``parent``, a purse's ``label_fa``,
  ``city``, ``valid_from``/``expires_at``, a beneficiary's ``display_name``,
  a product's ``name_en``/``unit``/``groups``, ...);
- integers are JSON integers: not ``true``/``false``, not ``1.0``; money and
  quantities are never negative and fit a signed 64-bit integer;
- times are RFC 3339 with an offset (``Z`` or ``±hh:mm``); a time without one
  is refused;
- public keys are unpadded base64url (an Ed25519 key is 32 bytes);
- ids within one list (categories, programs, key ids, purses) are unique.

Every refusal is ``ContractError("malformed", "<field path>: <what is wrong>")``,
e.g. ``"programs[1].offline.allowed: not a boolean"``; nothing else is raised for
bad input. Messages name the field, never quote a value that could be personal.

This module holds the signed documents (rule set, catalog); the shared field
readers live in :mod:`pos_client.domain.contract_fields`, the wallet in
:mod:`pos_client.domain.contract_wallet`; every public name is importable
from here.

Pure: imports the standard library and the domain only; no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

from pos_client.domain.contract_fields import (
    _MAX_ID_CHARS,
    MAX_INT64,
    JsonObject,
    _at,
    _bool,
    _check_text,
    _check_unique,
    _enum,
    _fail,
    _id,
    _ids,
    _int,
    _items,
    _list,
    _object,
    _optional_id,
    _optional_int,
    _required,
    _text,
    _time,
    dump_json,
    format_time,
    load_json,
    parse_time,
)
from pos_client.domain.contract_wallet import (
    parse_purse,
    parse_wallet,
    purse_to_wire,
    wallet_to_wire,
)
from pos_client.domain.errors import ContractError
from pos_client.domain.models import (
    Category,
    OfflinePolicy,
    Product,
    Program,
    ProgramKind,
    RuleSet,
    SigningKey,
    Unit,
)
from pos_client.domain.signing import ED25519_ALG, PUBLIC_KEY_BYTES, b64url_decode, b64url_encode

__all__ = [
    "CatalogDocument",
    "catalog_header_to_wire",
    "catalog_to_ndjson",
    "dump_json",
    "format_time",
    "load_json",
    "parse_catalog",
    "parse_catalog_header",
    "parse_product",
    "parse_purse",
    "parse_rule_set",
    "parse_time",
    "parse_wallet",
    "product_to_wire",
    "purse_to_wire",
    "rule_set_to_wire",
    "wallet_to_wire",
]

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_GTIN = re.compile(r"[0-9]{8,14}")


# --------------------------------------------------------------------------- rule set


def _signing_key(data: object, path: str) -> SigningKey:
    obj = _object(data, path)
    kid = _id(obj, "kid", path)
    alg = _id(obj, "alg", path)
    where = _at(path, "public_key")
    encoded = _check_text(_required(obj, "public_key", path), where)
    try:
        raw = b64url_decode(encoded)
    except ContractError:
        raise _fail(where, "not base64url") from None
    if alg == ED25519_ALG and len(raw) != PUBLIC_KEY_BYTES:
        raise _fail(where, f"an {ED25519_ALG} public key is {PUBLIC_KEY_BYTES} bytes")
    if not raw:
        raise _fail(where, "empty")
    return SigningKey(kid=kid, alg=alg, public_key=raw)


def _category(data: object, path: str) -> Category:
    obj = _object(data, path)
    return Category(
        id=_id(obj, "id", path),
        name_fa=_text(obj, "name_fa", path),
        name_en=_text(obj, "name_en", path, default=""),
        parent=_optional_id(obj, "parent", path),
    )


def _offline_policy(data: object, path: str) -> OfflinePolicy:
    obj = _object(data, path)
    return OfflinePolicy(
        allowed=_bool(obj, "allowed", path),
        max_rial_per_transaction=_int(obj, "max_rial_per_transaction", path, default=0),
        max_rial_per_beneficiary_per_day=_int(
            obj, "max_rial_per_beneficiary_per_day", path, default=0
        ),
    )


def _program(data: object, path: str) -> Program:
    obj = _object(data, path)
    offline = obj.get("offline")
    return Program(
        id=_id(obj, "id", path),
        name_fa=_text(obj, "name_fa", path),
        kind=_enum(obj, "kind", path, ProgramKind),
        categories=_ids(obj, "categories", path, unique=True),
        per_transaction_max_rial=_optional_int(obj, "per_transaction_max_rial", path),
        offline=OfflinePolicy()
        if offline is None
        else _offline_policy(offline, _at(path, "offline")),
    )


def _sha256_hex(value: object, path: str) -> str:
    if not isinstance(value, str) or _SHA256_HEX.fullmatch(value) is None:
        raise _fail(path, "not a SHA-256 hex digest")
    return value.lower()


def parse_rule_set(data: object) -> RuleSet:
    """A rule set (``GET /v1/rules`` body, already JSON-decoded). Check its signature first."""
    obj = _object(data, "")
    signing_keys = _items(obj, "signing_keys", "", _signing_key)
    _check_unique((k.kid for k in signing_keys), "signing_keys")
    categories = _items(obj, "categories", "", _category)
    _check_unique((c.id for c in categories), "categories")
    programs = _items(obj, "programs", "", _program)
    _check_unique((p.id for p in programs), "programs")
    catalog = _object(_required(obj, "catalog", ""), "catalog")
    hot_list_raw = _list(_required(obj, "hot_list", ""), "hot_list")
    issued_at = _time(obj, "issued_at", "")
    valid_until = _time(obj, "valid_until", "")
    if valid_until <= issued_at:
        raise _fail("valid_until", "not after issued_at")
    return RuleSet(
        version=_id(obj, "version", ""),
        issued_at=issued_at,
        valid_until=valid_until,
        signing_keys=signing_keys,
        categories=categories,
        programs=programs,
        catalog_version=_id(catalog, "version", "catalog"),
        hot_list=frozenset(_sha256_hex(v, _at("hot_list", i)) for i, v in enumerate(hot_list_raw)),
        next_unlock_at=_advisory_time(obj.get("next_unlock_at")),
    )


def _advisory_time(value: object) -> datetime | None:
    """An optional time that only advises (``next_unlock_at``): absent, null, empty or
    unreadable is none, never a reason to refuse the document around it."""
    if value is None or value == "":
        return None
    try:
        return parse_time(value, "next_unlock_at")
    except ContractError:
        return None


def _offline_to_wire(policy: OfflinePolicy) -> JsonObject:
    if not policy.allowed:
        return {"allowed": False}
    return {
        "allowed": True,
        "max_rial_per_transaction": policy.max_rial_per_transaction,
        "max_rial_per_beneficiary_per_day": policy.max_rial_per_beneficiary_per_day,
    }


def _program_to_wire(program: Program) -> JsonObject:
    wire: JsonObject = {
        "id": program.id,
        "name_fa": program.name_fa,
        "kind": program.kind.value,
        "categories": list(program.categories),
    }
    if program.per_transaction_max_rial is not None:
        wire["per_transaction_max_rial"] = program.per_transaction_max_rial
    wire["offline"] = _offline_to_wire(program.offline)
    return wire


def rule_set_to_wire(rules: RuleSet) -> JsonObject:
    """The JSON object of a rule set, in the contract's field order (hot list sorted)."""
    return {
        "version": rules.version,
        "issued_at": format_time(rules.issued_at, "issued_at"),
        "valid_until": format_time(rules.valid_until, "valid_until"),
        "signing_keys": [
            {"kid": k.kid, "alg": k.alg, "public_key": b64url_encode(k.public_key)}
            for k in rules.signing_keys
        ],
        "categories": [
            {"id": c.id, "name_fa": c.name_fa, "name_en": c.name_en, "parent": c.parent}
            for c in rules.categories
        ],
        "programs": [_program_to_wire(p) for p in rules.programs],
        "catalog": {"version": rules.catalog_version},
        "hot_list": sorted(rules.hot_list),
        **(
            {}
            if rules.next_unlock_at is None
            else {"next_unlock_at": format_time(rules.next_unlock_at, "next_unlock_at")}
        ),
    }


# --------------------------------------------------------------------------- catalog


def _gtin(obj: Mapping[str, Any], path: str) -> str:
    value = _required(obj, "gtin", path)
    if not isinstance(value, str) or _GTIN.fullmatch(value) is None:
        raise _fail(_at(path, "gtin"), "not 8 to 14 ASCII digits")
    return value


def _product(data: object, path: str) -> Product:
    obj = _object(data, path)
    gtin = _gtin(obj, path)
    deleted = _bool(obj, "deleted", path, default=False)
    # A delta may name a removed product by its GTIN alone.
    blank = "" if deleted else None
    return Product(
        gtin=gtin,
        name_fa=_text(obj, "name_fa", path, default=blank),
        category=""
        if deleted and obj.get("category") in (None, "")
        else _id(obj, "category", path),
        unit=_enum(obj, "unit", path, Unit, default=Unit.PIECE),
        groups=_ids(obj, "groups", path, unique=True),
        max_unit_price_rial=_optional_int(obj, "max_unit_price_rial", path),
        deleted=deleted,
        name_en=_text(obj, "name_en", path, default=""),
    )


_UNITS = {unit.value: unit for unit in Unit}


def _plain_text(value: object) -> TypeGuard[str]:
    """A ``str`` that is valid text (as ``_check_text`` accepts it)."""
    if type(value) is not str:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _plain_id(value: object) -> TypeGuard[str]:
    """A ``str`` that ``_ident`` accepts."""
    return _plain_text(value) and 0 < len(value) <= _MAX_ID_CHARS and value == value.strip()


def _product_at_once(data: object) -> Product | None:
    """``_product`` for a line that keeps every rule, in one pass; None for anything else.

    A catalog holds a million lines, nearly all good: this checks each field by
    the same rules as ``_product`` without building a path string per field,
    and gives up (None) at the first doubt, so that ``_product`` reads the line
    again and names what is wrong. A property test holds it to ``_product``.
    """
    if type(data) is not dict or not all(type(key) is str for key in data):
        return None
    get = data.get
    gtin = get("gtin")
    if type(gtin) is not str or _GTIN.fullmatch(gtin) is None:
        return None
    deleted = get("deleted", False)
    if type(deleted) is not bool:
        return None
    name_fa = get("name_fa", "" if deleted else None)
    if not _plain_text(name_fa):
        return None
    category = get("category")
    if deleted and category in (None, ""):
        category = ""
    elif not _plain_id(category):
        return None
    unit_name = get("unit", "piece")
    unit = _UNITS.get(unit_name) if type(unit_name) is str else None
    if unit is None:
        return None
    groups = get("groups")
    if groups is None:
        group_ids: tuple[str, ...] = ()
    elif type(groups) is list and all(_plain_id(g) for g in groups):
        group_ids = tuple(groups)
        if len(set(group_ids)) != len(group_ids):
            return None
    else:
        return None
    cap = get("max_unit_price_rial")
    if cap is not None and (type(cap) is not int or not 0 <= cap <= MAX_INT64):
        return None
    name_en = get("name_en", "")
    if not _plain_text(name_en):
        return None
    return Product(
        gtin=gtin,
        name_fa=name_fa,
        category=category,
        unit=unit,
        groups=group_ids,
        max_unit_price_rial=cap,
        deleted=deleted,
        name_en=name_en,
    )


def parse_product(data: object) -> Product:
    """One catalog line (a product, or ``{"gtin": ..., "deleted": true}`` in a delta)."""
    return _product_at_once(data) or _product(data, "")


def product_to_wire(product: Product) -> JsonObject:
    """The JSON object of one catalog line."""
    wire: JsonObject = {
        "gtin": product.gtin,
        "name_fa": product.name_fa,
        "category": product.category,
        "unit": product.unit.value,
        "groups": list(product.groups),
        "max_unit_price_rial": product.max_unit_price_rial,
        "deleted": product.deleted,
    }
    if product.name_en:
        wire["name_en"] = product.name_en
    return wire


def parse_catalog_header(data: object) -> tuple[str, bool]:
    """The first catalog line ``{"version": "c-000917", "full": true}`` as ``(version, full)``."""
    obj = _object(data, "")
    return _id(obj, "version", ""), _bool(obj, "full", "")


def catalog_header_to_wire(version: str, *, full: bool) -> JsonObject:
    """The first catalog line."""
    return {"version": version, "full": full}


@dataclass(frozen=True, slots=True)
class CatalogDocument:
    """A whole ``GET /v1/catalog`` body: the header and the product lines."""

    version: str
    full: bool
    products: tuple[Product, ...]


def parse_catalog(body: bytes) -> CatalogDocument:
    """An NDJSON catalog body (header line, then one product a line; blank lines ignored).

    Errors name the line: ``"line 3: gtin: missing"``. A GTIN twice in one
    document is refused.
    """
    if not isinstance(body, bytes | bytearray):
        raise _fail("", "not bytes")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise _fail("", "not UTF-8") from None
    lines = [(n, line) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
    if not lines:
        raise _fail("line 1", "no catalog header")
    header: tuple[str, bool] | None = None
    products: list[Product] = []
    seen: set[str] = set()
    for number, line in lines:
        try:
            value = load_json(line)
            if header is None:
                header = parse_catalog_header(value)
                continue
            product = parse_product(value)
        except ContractError as exc:
            raise ContractError("malformed", f"line {number}: {exc.message}") from None
        if product.gtin in seen:
            raise _fail(f"line {number}", "a GTIN appears twice")
        seen.add(product.gtin)
        products.append(product)
    if header is None:  # unreachable: the first non-blank line is the header
        raise _fail("line 1", "no catalog header")
    return CatalogDocument(version=header[0], full=header[1], products=tuple(products))


def catalog_to_ndjson(version: str, products: Iterable[Product], *, full: bool) -> bytes:
    """An NDJSON catalog body: the header line, then one product a line, each ending ``\\n``."""
    lines = [dump_json(catalog_header_to_wire(version, full=full))]
    lines.extend(dump_json(product_to_wire(p)) for p in products)
    return b"".join(line + b"\n" for line in lines)
