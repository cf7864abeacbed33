"""The ledger contract's wallet (``POST /v1/wallet-inquiries``): read and written.

Also the purses of ``purses_after`` in redemption and void answers. Tolerant
as :mod:`pos_client.domain.contract_fields` says: a purse needs its ``id``,
``program`` and ``kind`` (and an amount purse its ``balance_rial``); its
label, validity window, city, categories, limits and entitlements may be
absent, ``null`` or (for text) empty. A wallet needs its ``beneficiary``
(with a ``ref``), ``requires_otp`` and ``purses``.

Pure: imports the standard library and the domain only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pos_client.domain.contract_fields import (
    JsonObject,
    _at,
    _bool,
    _check_int,
    _check_unique,
    _enum,
    _fail,
    _id,
    _ident,
    _ids,
    _int,
    _items,
    _object,
    _optional_id,
    _optional_int,
    _optional_time,
    _optional_time_to_wire,
    _required,
    _text,
)
from pos_client.domain.models import Beneficiary, Entitlement, ProgramKind, Purse, Wallet

__all__ = ["parse_purse", "parse_wallet", "purse_to_wire", "wallet_to_wire"]


def _entitlement(data: object, path: str) -> Entitlement:
    obj = _object(data, path)
    return Entitlement(
        group=_id(obj, "group", path), remaining_milli=_int(obj, "remaining_milli", path)
    )


def _limits(obj: Mapping[str, Any], key: str, path: str) -> dict[str, int]:
    value = obj.get(key)
    if value is None:
        return {}
    where = _at(path, key)
    limits = _object(value, where)
    return {_ident(k, where): _check_int(v, _at(where, k)) for k, v in limits.items()}


def _purse(data: object, path: str) -> Purse:
    obj = _object(data, path)
    kind = _enum(obj, "kind", path, ProgramKind)
    balance = _int(obj, "balance_rial", path, default=None if kind is ProgramKind.AMOUNT else 0)
    entitlements = _items(obj, "entitlements", path, _entitlement, required=False)
    _check_unique((e.group for e in entitlements), _at(path, "entitlements"))
    valid_from = _optional_time(obj, "valid_from", path)
    expires_at = _optional_time(obj, "expires_at", path)
    if valid_from is not None and expires_at is not None and expires_at <= valid_from:
        raise _fail(_at(path, "expires_at"), "not after valid_from")
    return Purse(
        id=_id(obj, "id", path),
        program=_id(obj, "program", path),
        kind=kind,
        label_fa=_text(obj, "label_fa", path, default=""),
        balance_rial=balance,
        valid_from=valid_from,
        expires_at=expires_at,
        city=_optional_id(obj, "city", path),
        categories=_ids(obj, "categories", path, unique=True),
        category_limits_rial=_limits(obj, "category_limits_rial", path),
        entitlements=entitlements,
    )


def parse_purse(data: object) -> Purse:
    """One purse of a wallet (also the items of ``purses_after``)."""
    return _purse(data, "")


def purse_to_wire(purse: Purse) -> JsonObject:
    """The JSON object of a purse, shaped like the contract's examples for its kind.

    Amount purses carry ``balance_rial``, ``categories`` and
    ``category_limits_rial``; quantity purses carry ``entitlements``. A field
    of the other kind is written only when it is not empty, so nothing is lost.
    """
    amount = purse.kind is ProgramKind.AMOUNT
    wire: JsonObject = {
        "id": purse.id,
        "program": purse.program,
        "kind": purse.kind.value,
        "label_fa": purse.label_fa,
    }
    if amount or purse.balance_rial:
        wire["balance_rial"] = purse.balance_rial
    wire["valid_from"] = _optional_time_to_wire(purse.valid_from, "valid_from")
    wire["expires_at"] = _optional_time_to_wire(purse.expires_at, "expires_at")
    wire["city"] = purse.city
    if amount or purse.categories:
        wire["categories"] = list(purse.categories)
    if amount or purse.category_limits_rial:
        wire["category_limits_rial"] = dict(purse.category_limits_rial)
    if not amount or purse.entitlements:
        wire["entitlements"] = [
            {"group": e.group, "remaining_milli": e.remaining_milli} for e in purse.entitlements
        ]
    return wire


def _beneficiary(data: object, path: str) -> Beneficiary:
    obj = _object(data, path)
    return Beneficiary(
        ref=_id(obj, "ref", path),
        display_name=_text(obj, "display_name", path, default=""),
        household_size=_optional_int(obj, "household_size", path, low=1),
        city=_optional_id(obj, "city", path),
    )


def parse_wallet(data: object) -> Wallet:
    """A wallet (``POST /v1/wallet-inquiries`` body, already JSON-decoded)."""
    obj = _object(data, "")
    purses = _items(obj, "purses", "", _purse)
    _check_unique((p.id for p in purses), "purses")
    return Wallet(
        beneficiary=_beneficiary(_required(obj, "beneficiary", ""), "beneficiary"),
        requires_otp=_bool(obj, "requires_otp", ""),
        offline_allowance_rial=_int(obj, "offline_allowance_rial", "", default=0),
        purses=purses,
    )


def wallet_to_wire(wallet: Wallet) -> JsonObject:
    """The JSON object of a wallet."""
    b = wallet.beneficiary
    return {
        "beneficiary": {
            "ref": b.ref,
            "display_name": b.display_name,
            "household_size": b.household_size,
            "city": b.city,
        },
        "requires_otp": wallet.requires_otp,
        "offline_allowance_rial": wallet.offline_allowance_rial,
        "purses": [purse_to_wire(p) for p in wallet.purses],
    }
