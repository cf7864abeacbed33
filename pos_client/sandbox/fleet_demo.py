"""The sandbox's demo chains: stores and a merchant admin token per demo merchant.

Made once (on the first start, or on the first start of a DATA directory made
before stores existed): the two demo merchants, their stores, the demo
terminals placed in them, and one admin token per merchant. The books keep the
tokens as hashes; the plain tokens are kept in ``meta`` for ``sandbox.json``,
as the demo terminals' tokens are.

Imports the standard library and the sandbox's modules.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Any

from . import fleet_rows
from .books import Tx
from .fleet_rows import StoreRow

#: The demo stores: M-0001 a small chain of two shops in Rasht, M-0002 one hypermarket.
STORES: tuple[StoreRow, ...] = (
    StoreRow("S-001", "M-0001", "rasht", "فروشگاه نمونه"),
    StoreRow("S-002", "M-0001", "rasht", "فروشگاه نمونه، شعبه دو"),
    StoreRow("S-101", "M-0002", "tehran", "هایپر نمونه تهران"),
)

#: Where the demo terminals stand.
TERMINAL_STORES: Mapping[str, str] = {"T-0001": "S-001", "T-0002": "S-001", "T-0003": "S-101"}

_META = "admin_tokens"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def ensure_fleet(tx: Tx) -> None:
    """Make the demo stores and admin tokens unless this DATA directory has them."""
    if tx.meta(_META) is not None:
        return
    for row in STORES:
        if fleet_rows.store(tx, row.id) is None:
            fleet_rows.add_store(tx, row)
    for terminal_id, store_id in TERMINAL_STORES.items():
        if fleet_rows.terminal_store(tx, terminal_id) is None:
            fleet_rows.set_terminal_store(tx, terminal_id, store_id)
    tokens: dict[str, str] = {}
    for merchant_id in sorted({s.merchant_id for s in STORES}):
        token = "adm_" + secrets.token_urlsafe(24)
        tokens[merchant_id] = token
        fleet_rows.add_admin_token(tx, token_sha256=_hash(token), merchant_id=merchant_id)
    tx.set_meta(_META, json.dumps(tokens))


def merchant_admins(tx: Tx) -> list[dict[str, Any]]:
    """The demo merchants' admin tokens and stores, for ``sandbox.json``."""
    tokens: Mapping[str, str] = json.loads(tx.meta(_META) or "{}")
    return [
        {
            "merchant_id": merchant_id,
            "token": token,
            "stores": [
                {"store_id": s.id, "city": s.city, "name": s.name}
                for s in fleet_rows.stores_of(tx, merchant_id)
            ],
        }
        for merchant_id, token in tokens.items()
        if fleet_rows.admin_merchant(tx, _hash(token)) == merchant_id
    ]
