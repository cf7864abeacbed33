"""Enrolment of new lanes (``fleet-api.md``, "Enrolment"): the device flow and store codes.

The device flow has the shape of RFC 8628 (device authorization grant):

- a lane asks for an enrolment (no token) and gets a ``device_code`` (a secret
  of 256 bits; the books keep only its SHA-256) and a ``user_code`` of eight
  letters from :data:`USER_CODE_ALPHABET` (no vowels, no look-alikes), shown
  as ``BCDF-GHJK``; both live :data:`ENROLMENT_LIFETIME`;
- a merchant's admin approves it for one of its stores (or denies it);
- the lane polls with its device code, no sooner than ``interval`` seconds
  after its last poll (or the start): too soon is ``slow_down`` and the
  interval grows by 5 s for good; until a decision ``authorization_pending``;
  after the lifetime ``expired_token``; a denial ``access_denied``; the
  approval is handed out once (the terminal and its token are made then),
  every later poll is ``expired_token``. An unknown device code is
  ``expired_token`` as well.

Store codes are made in advance by an admin for one store (``count`` of them,
each single use, living ``ttl_s``); a lane that presents one is enrolled at
once. A used, expired or unknown code is ``enrolment_code_invalid`` (the one
answer for all three), and failed tries are throttled per source address
(:class:`~.throttle.GuessThrottle`): after 10 within a minute, ``429``.

A new terminal joins the books like the demo terminals (same city as its
store, the store's name as its shop name) and can sell at once. Times are the
sandbox clock's (tests move it).

Imports the standard library and the sandbox's modules.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import fleet_rows
from .auth import MerchantAdmin, own_store, own_terminal
from .books import TerminalRow, Tx
from .clock import to_rfc3339
from .parts import SandboxParts
from .problems import invalid, problem
from .throttle import GuessThrottle

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
ENROLMENT_LIFETIME = timedelta(seconds=600)
POLL_INTERVAL_S = 5
SLOW_DOWN_STEP_S = 5
MAX_CODES = 500
MAX_CODE_TTL_S = 30 * 86_400
DEFAULT_CODE_TTL_S = 86_400
TERMINAL_ID = re.compile(r"T-[0-9A-Za-z][0-9A-Za-z-]{0,31}")
_NEXT_TERMINAL = "next_enrolled_terminal"
_FIRST_TERMINAL = 1001


def normal_code(text: str) -> str | None:
    """A user or store code as kept (eight letters, upper case), or ``None`` if it is not one.

    As RFC 8628 §6.1 asks, case, dashes and spaces do not matter.
    """
    letters = re.sub(r"[\s-]", "", text).upper()
    if len(letters) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in letters):
        return None
    return letters


def shown_code(code: str) -> str:
    """``BCDFGHJK`` as people read it: ``BCDF-GHJK``."""
    half = USER_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def _new_code(tx: Tx) -> str:
    while True:
        code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
        if not fleet_rows.user_code_taken(tx, code):
            return code


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(kw_only=True, eq=False, repr=False)
class Enrolments(SandboxParts):
    """The enrolment endpoints' work over the books (thread-safe: each call one transaction)."""

    code_throttle: GuessThrottle = field(
        default_factory=lambda: GuessThrottle(what="failed enrolment codes from this address")
    )

    # ------------------------------------------------------------------ the device flow

    def start(self, *, hostname: str, software_version: str, ledger_url: str) -> dict[str, Any]:
        now = self.clock.now()
        device_code = secrets.token_urlsafe(32)
        with self.books.write() as tx:
            user_code = _new_code(tx)
            fleet_rows.add_enrolment(
                tx,
                device_sha256=_digest(device_code),
                user_code=user_code,
                created_at=now,
                expires_at=now + ENROLMENT_LIFETIME,
                interval_s=POLL_INTERVAL_S,
                hostname=hostname,
                software_version=software_version,
            )
        uri = ledger_url.rstrip("/") + "/enrol"
        return {
            "device_code": device_code,
            "user_code": shown_code(user_code),
            "verification_uri": uri,
            "verification_uri_complete": f"{uri}?user_code={shown_code(user_code)}",
            "expires_in": int(ENROLMENT_LIFETIME.total_seconds()),
            "interval": POLL_INTERVAL_S,
        }

    def _pending(self, tx: Tx, user_code: str, now: datetime) -> fleet_rows.EnrolmentRow:
        code = normal_code(user_code)
        row = None if code is None else fleet_rows.enrolment_by_user_code(tx, code)
        if row is None or now >= row.expires_at:
            raise problem("not_found", "no enrolment waits with that user code")
        if row.status != "pending":
            raise problem("enrolment_decided", f"that enrolment was already {row.status}")
        return row

    def approve(
        self,
        who: MerchantAdmin,
        *,
        user_code: str,
        store_id: str,
        terminal_id: str | None,
        label: str | None,
    ) -> dict[str, Any]:
        now = self.clock.now()
        with self.books.write() as tx:
            row = self._pending(tx, user_code, now)
            store = own_store(tx, who, store_id)
            if terminal_id is None:
                terminal_id = self._new_terminal_id(tx)
            elif fleet_rows.terminal_merchant(tx, terminal_id) is not None:
                own_terminal(tx, who, terminal_id)  # enrolled again: a new device for it
            elif fleet_rows.terminal_id_taken(tx, terminal_id):
                raise problem("enrolment_decided", f"terminal {terminal_id} is being enrolled")
            fleet_rows.decide_enrolment(
                tx,
                row.device_sha256,
                status="approved",
                merchant_id=who.merchant_id,
                store_id=store.id,
                terminal_id=terminal_id,
                label=label,
            )
        return {"terminal_id": terminal_id}

    def deny(self, who: MerchantAdmin, *, user_code: str) -> dict[str, Any]:
        now = self.clock.now()
        with self.books.write() as tx:
            row = self._pending(tx, user_code, now)
            fleet_rows.decide_enrolment(
                tx, row.device_sha256, status="denied", merchant_id=who.merchant_id
            )
        return {"user_code": shown_code(row.user_code), "status": "denied"}

    def poll(self, *, device_code: str, ledger_url: str) -> dict[str, Any]:
        now = self.clock.now()
        refusal = None
        with self.books.write() as tx:  # what it notes is kept, also when the answer is "no"
            row = fleet_rows.enrolment_by_device(tx, _digest(device_code))
            if row is None or row.status == "collected" or now >= row.expires_at:
                raise problem("expired_token", "this device code is unknown, expired or used")
            if row.status == "denied":
                raise problem("access_denied", "the enrolment was denied")
            last = row.last_poll_at or row.created_at
            interval = row.interval_s
            if now - last < timedelta(seconds=interval):
                interval += SLOW_DOWN_STEP_S
                refusal = problem(
                    "slow_down", f"poll no sooner than {interval} seconds apart from now on"
                )
            elif row.status != "approved":
                refusal = problem("authorization_pending", "nobody has approved this enrolment yet")
            fleet_rows.note_poll(tx, row.device_sha256, at=now, interval_s=interval)
            if refusal is None:
                terminal_id, store = row.terminal_id, fleet_rows.store(tx, row.store_id or "")
                assert terminal_id is not None and store is not None
                fleet_rows.collect_enrolment(tx, row.device_sha256)
                token = self._join(tx, store, terminal_id)
        if refusal is not None:
            raise refusal
        assert terminal_id is not None and store is not None
        return self._credentials(store, terminal_id, token, ledger_url)

    # ------------------------------------------------------------------ store codes

    def make_codes(
        self, who: MerchantAdmin, *, store_id: str, count: int, ttl_s: int
    ) -> dict[str, Any]:
        now = self.clock.now()
        expires_at = now + timedelta(seconds=ttl_s)
        with self.books.write() as tx:
            store = own_store(tx, who, store_id)
            codes = []
            for _ in range(count):
                code = _new_code(tx)
                fleet_rows.add_enrolment_code(
                    tx,
                    code=code,
                    merchant_id=who.merchant_id,
                    store_id=store.id,
                    created_at=now,
                    expires_at=expires_at,
                )
                codes.append(shown_code(code))
        return {"store_id": store_id, "codes": codes, "expires_at": to_rfc3339(expires_at)}

    def redeem_code(self, *, code: str, source: str, ledger_url: str) -> dict[str, Any]:
        now = self.clock.now()
        with self.code_throttle.attempt(source, now) as attempt:
            with self.books.write() as tx:
                kept = normal_code(code)
                row = None if kept is None else fleet_rows.enrolment_code(tx, kept)
                if row is None or row.used_at is not None or now >= row.expires_at:
                    raise problem(
                        "enrolment_code_invalid", "this enrolment code is unknown, used or expired"
                    )
                store = fleet_rows.store(tx, row.store_id)
                assert store is not None
                terminal_id = self._new_terminal_id(tx)
                if not fleet_rows.use_enrolment_code(tx, row.code, at=now, terminal_id=terminal_id):
                    raise problem(
                        "enrolment_code_invalid", "this enrolment code is unknown, used or expired"
                    )
                token = self._join(tx, store, terminal_id)
            attempt.succeeded()
        return self._credentials(store, terminal_id, token, ledger_url)

    # ------------------------------------------------------------------ terminals

    def _new_terminal_id(self, tx: Tx) -> str:
        number = int(tx.meta(_NEXT_TERMINAL) or _FIRST_TERMINAL)
        while True:
            terminal_id = f"T-{number:04d}"
            number += 1
            if not fleet_rows.terminal_id_taken(tx, terminal_id):
                break
        tx.set_meta(_NEXT_TERMINAL, str(number))
        return terminal_id

    def _join(self, tx: Tx, store: fleet_rows.StoreRow, terminal_id: str) -> str:
        """Put the terminal in the books (or give an enrolled-again one a new token)."""
        token = "tok_" + secrets.token_urlsafe(24)
        if fleet_rows.terminal_merchant(tx, terminal_id) is None:
            tx.add_terminal(
                TerminalRow(terminal_id, store.city, store.merchant_id, store.name),
                token_sha256=_digest(token),
            )
        else:
            fleet_rows.replace_terminal_token(tx, terminal_id, token_sha256=_digest(token))
        fleet_rows.set_terminal_store(tx, terminal_id, store.id)
        return token

    def _credentials(
        self, store: fleet_rows.StoreRow, terminal_id: str, token: str, ledger_url: str
    ) -> dict[str, Any]:
        return {
            "terminal_id": terminal_id,
            "merchant_id": store.merchant_id,
            "store_id": store.id,
            "city": store.city,
            "shop_name": store.name,
            "token": token,
            "trusted_keys": {self.signer.kid: self.signer.public_key_b64},
            "ledger_url": ledger_url,
        }


def check_terminal_id(value: str) -> str:
    if TERMINAL_ID.fullmatch(value) is None:
        raise invalid("terminal_id must look like T-0001 (letters, digits and dashes)")
    return value
