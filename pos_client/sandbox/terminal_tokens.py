"""Terminal tokens that change: rotation with a grace period, and revocation by an admin.

The contract (``fleet-api.md``, "Roles and credentials"): a terminal rotates its
token with ``POST /v1/terminal-tokens/rotate`` and gets ``{"token",
"previous_valid_until"}``; the token it rotated away from keeps working for
:data:`GRACE` more (by the sandbox's clock, which tests may move), so that a
sale in flight, or a lane that crashed before it wrote the new token down,
is not locked out. A merchant admin revokes a terminal with ``POST
/v1/terminals/{id}/revoke``; every later call with any of its tokens is
``401 terminal_revoked``.

Choices where the contract is silent (also in ``openapi.yaml``):

- a rotation made with a token still in its grace period is allowed (that is
  how a lane that lost the answer of its last rotation gets a token again); the
  presented token keeps its own end of grace (``previous_valid_until``), never
  a longer one; the token that was current moves to a grace period of its own;
- revoking is for good in the sandbox (no un-revoke; a revoked lane enrols
  again as a new terminal) and answering it twice is the same ``200``;
- a revoked terminal's tokens are ``401 terminal_revoked`` on every terminal
  endpoint, also ``rotate``, before anything else is looked at.

The books keep every token as a SHA-256 only; the demo terminals' plain tokens
in ``meta`` (for ``sandbox.json`` and the lane files) follow a rotation.

Its two tables (``previous_tokens``, ``revoked_terminals``) are in :mod:`.book_rows`.
Imports the standard library and the sandbox's books and problems.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from .books import TerminalRow, Tx, from_utc_text, utc_text
from .problems import problem

__all__ = [
    "GRACE",
    "Rotation",
    "find",
    "is_revoked",
    "revoke",
    "rotate",
]

#: How long the token rotated away from keeps working.
GRACE = timedelta(minutes=10)


def _revoked() -> Exception:
    return problem(
        "terminal_revoked",
        "this terminal was revoked by its merchant; enrol the lane again",
        headers={"WWW-Authenticate": 'Bearer realm="ledger", error="invalid_token"'},
    )


def _terminal(tx: Tx, terminal_id: str) -> TerminalRow | None:
    row = tx.conn.execute(
        "SELECT id, city, merchant_id, shop_name FROM terminals WHERE id = ?", (terminal_id,)
    ).fetchone()
    return None if row is None else TerminalRow(*row)


def is_revoked(tx: Tx, terminal_id: str) -> bool:
    row = tx.conn.execute(
        "SELECT 1 FROM revoked_terminals WHERE terminal_id = ?", (terminal_id,)
    ).fetchone()
    return row is not None


def _grace_until(tx: Tx, token_sha256: str) -> tuple[str, datetime] | None:
    row = tx.conn.execute(
        "SELECT terminal_id, valid_until FROM previous_tokens WHERE token_sha256 = ?",
        (token_sha256,),
    ).fetchone()
    return None if row is None else (str(row[0]), from_utc_text(str(row[1])))


def find(tx: Tx, token_sha256: str, *, now: datetime) -> TerminalRow | None:
    """The terminal of a bearer token (current, or rotated away from and still in grace).

    ``None`` for an unknown or expired token; ``401 terminal_revoked`` for any
    token of a revoked terminal.
    """
    terminal = tx.terminal_by_token(token_sha256)
    if terminal is None:
        grace = _grace_until(tx, token_sha256)
        if grace is not None:
            terminal = _terminal(tx, grace[0])
            if terminal is not None and not is_revoked(tx, terminal.id) and now >= grace[1]:
                return None
    if terminal is not None and is_revoked(tx, terminal.id):
        raise _revoked()
    return terminal


@dataclass(frozen=True, slots=True)
class Rotation:
    token: str
    previous_valid_until: datetime


def _new_token() -> str:
    return "tok_" + secrets.token_urlsafe(24)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def rotate(tx: Tx, presented_sha256: str, terminal: TerminalRow, *, now: datetime) -> Rotation:
    """A new token for ``terminal`` (the caller has authenticated ``presented_sha256``)."""
    current = tx.conn.execute(
        "SELECT token_sha256 FROM terminals WHERE id = ?", (terminal.id,)
    ).fetchone()
    current_sha = str(current[0])
    until = now + GRACE
    grace = _grace_until(tx, presented_sha256)
    presented_until = grace[1] if grace is not None else until
    tx.conn.execute(
        "INSERT INTO previous_tokens(token_sha256, terminal_id, valid_until) VALUES (?, ?, ?)"
        " ON CONFLICT(token_sha256) DO NOTHING",
        (current_sha, terminal.id, utc_text(until)),
    )
    token = _new_token()
    tx.conn.execute(
        "UPDATE terminals SET token_sha256 = ? WHERE id = ?", (_digest(token), terminal.id)
    )
    tx.conn.execute("DELETE FROM previous_tokens WHERE valid_until < ?", (utc_text(now - GRACE),))
    demo = json.loads(tx.meta("terminal_tokens") or "{}")
    if terminal.id in demo:
        demo[terminal.id] = token
        tx.set_meta("terminal_tokens", json.dumps(demo))
    return Rotation(token=token, previous_valid_until=presented_until)


def revoke(tx: Tx, terminal_id: str, *, merchant_id: str, now: datetime) -> datetime:
    """Revoke ``terminal_id`` of ``merchant_id`` (another merchant's or none: ``404``)."""
    terminal = _terminal(tx, terminal_id)
    if terminal is None or terminal.merchant_id != merchant_id:
        raise problem("not_found", "the merchant has no terminal with that id")
    tx.conn.execute(
        "INSERT INTO revoked_terminals(terminal_id, revoked_at) VALUES (?, ?)"
        " ON CONFLICT(terminal_id) DO NOTHING",
        (terminal_id, utc_text(now)),
    )
    row = tx.conn.execute(
        "SELECT revoked_at FROM revoked_terminals WHERE terminal_id = ?", (terminal_id,)
    ).fetchone()
    return from_utc_text(str(row[0]))
