"""The merchant admin credential and the stores of the sandbox's demo terminals (a stand-in).

The fleet contract's merchant admin token (a chain's back office) and its
stores are kept with enrolment; until then the terminal-config endpoints need
only three things, each behind one function here:

- :func:`admin_merchant`: the merchant whose admin token a request carries
  (``401 unauthorized`` without one, ``403 forbidden`` for a terminal token);
- :func:`store_of`: the store a terminal belongs to;
- :func:`merchant_of_store` / :func:`merchant_of_terminal`: whose a store or
  terminal is (``None``: no such one), for the ``404`` the contract asks for
  another merchant's ids.

The demo merchants' admin tokens are made on first use and kept in the books'
meta (as the demo terminals' tokens are); :func:`admin_token` hands one out.

Imports the standard library and the sandbox's modules.
"""

from __future__ import annotations

import hashlib
import json
import secrets

from .books import Books, Tx
from .demo import TERMINALS
from .problems import Problem, problem

__all__ = ["admin_merchant", "admin_token", "merchant_of_store", "merchant_of_terminal", "store_of"]

ADMIN_TOKENS_META = "merchant_admin_tokens"
#: The demo world's stores: the two Rasht lanes in one store, the Tehran lane in another.
DEMO_STORES: dict[str, str] = {"T-0001": "S-001", "T-0002": "S-001", "T-0003": "S-101"}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _tokens(tx: Tx) -> dict[str, str]:
    tokens: dict[str, str] = json.loads(tx.meta(ADMIN_TOKENS_META) or "{}")
    return tokens


def admin_token(books: Books, merchant_id: str) -> str:
    """The demo admin token of ``merchant_id`` (made the first time it is asked for)."""
    with books.write() as tx:
        tokens = _tokens(tx)
        if merchant_id not in tokens:
            tokens[merchant_id] = "adm_" + secrets.token_urlsafe(24)
            tx.set_meta(ADMIN_TOKENS_META, json.dumps(tokens, sort_keys=True))
        return tokens[merchant_id]


def admin_merchant(books: Books, authorization: str) -> str:
    """The merchant whose admin token ``authorization`` carries, or a problem to answer."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        digest = _digest(token)
        with books.read() as tx:
            for merchant_id, known in _tokens(tx).items():
                if secrets.compare_digest(_digest(known), digest):
                    return merchant_id
            if tx.terminal_by_token(digest) is not None:
                raise Problem(
                    status=403,
                    code="forbidden",
                    detail="a terminal token may not be used here: send the merchant admin token",
                )
    raise problem(
        "unauthorized",
        "send Authorization: Bearer <merchant admin token>",
        headers={"WWW-Authenticate": 'Bearer realm="ledger-admin"'},
    )


def store_of(terminal_id: str) -> str:
    """The store the terminal belongs to."""
    return DEMO_STORES.get(terminal_id, "S-001")


def merchant_of_terminal(terminal_id: str) -> str | None:
    for terminal in TERMINALS:
        if terminal.terminal_id == terminal_id:
            return terminal.merchant_id
    return None


def merchant_of_store(store_id: str) -> str | None:
    for terminal_id, store in DEMO_STORES.items():
        if store == store_id:
            return merchant_of_terminal(terminal_id)
    return None
