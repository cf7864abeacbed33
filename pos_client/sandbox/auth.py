"""Who is calling: a terminal (a lane) or a merchant's admin (a chain's back office).

The one place the sandbox checks bearer tokens (``fleet-api.md``, "Roles and
credentials"). Both kinds are kept only as SHA-256 hashes.

- A terminal endpoint takes a terminal token. No token or an unknown one:
  ``401 unauthorized``. A merchant admin token there: ``403 forbidden`` (the
  token is known, it is only the wrong kind).
- An admin endpoint takes a merchant admin token. A terminal token there:
  ``403 forbidden``; no token or an unknown one: ``401 unauthorized``.
- An admin sees only its own merchant: another merchant's store or terminal is
  ``404 not_found``, never 403, so that ids do not leak.

Imports the standard library and the sandbox's modules.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import fleet_rows
from .books import Books, TerminalRow, Tx
from .fleet_rows import StoreRow
from .problems import problem

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ledger"'}


@dataclass(frozen=True, slots=True)
class MerchantAdmin:
    """A caller holding a merchant admin token."""

    merchant_id: str


def bearer_digest(authorization: str | None) -> str | None:
    """The SHA-256 (hex) of the bearer token in an ``Authorization`` header, if any."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _unauthorized(kind: str) -> Exception:
    return problem("unauthorized", f"send Authorization: Bearer <{kind}>", headers=_CHALLENGE)


def terminal(books: Books, digest: str | None) -> TerminalRow:
    """The terminal whose token hashes to ``digest``, or 401 (unknown) / 403 (an admin token)."""
    if digest is not None:
        with books.read() as tx:
            row = tx.terminal_by_token(digest)
            admin = None if row is not None else fleet_rows.admin_merchant(tx, digest)
        if row is not None:
            return row
        if admin is not None:
            raise problem(
                "forbidden",
                "this is a merchant admin token; this endpoint takes a terminal token",
            )
    raise _unauthorized("terminal token")


def admin(books: Books, digest: str | None) -> MerchantAdmin:
    """The merchant whose admin token hashes to ``digest``; 401 (unknown), 403 (a terminal's)."""
    if digest is not None:
        with books.read() as tx:
            merchant = fleet_rows.admin_merchant(tx, digest)
            lane = None if merchant is not None else tx.terminal_by_token(digest)
        if merchant is not None:
            return MerchantAdmin(merchant)
        if lane is not None:
            raise problem(
                "forbidden",
                "a terminal token may not call admin endpoints; use a merchant admin token",
            )
    raise _unauthorized("merchant admin token")


def own_store(tx: Tx, who: MerchantAdmin, store_id: str) -> StoreRow:
    """The admin's own store ``store_id``; another merchant's or none: 404."""
    row = fleet_rows.store(tx, store_id)
    if row is None or row.merchant_id != who.merchant_id:
        raise problem("not_found", f"no store {store_id} for this merchant")
    return row


def own_terminal(tx: Tx, who: MerchantAdmin, terminal_id: str) -> str:
    """``terminal_id`` when it is one of the admin's terminals; another merchant's or none: 404."""
    if fleet_rows.terminal_merchant(tx, terminal_id) != who.merchant_id:
        raise problem("not_found", f"no terminal {terminal_id} for this merchant")
    return terminal_id
