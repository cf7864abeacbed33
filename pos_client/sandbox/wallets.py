"""Households as the ledger sees them: who is asking, what they hold, and the OTP.

- Identity: a national ID (strict: 10 ASCII digits with a valid check digit,
  because clients normalise and a ledger does not guess), a KB1 token (checked
  with :func:`pos_client.domain.tokens.verify_token` against the sandbox's key)
  or a purchase code (8 digits, known, unexpired).
- Purses: loaded from the books and brought up to date with the tranche
  carry-over (when a tranche unlocks, what is left of the one before moves
  into it); the wallet shows the purses not carried over.
- OTP challenges: made, throttled, checked (few attempts, short life, bound to
  one household and one terminal, used once).
- Guessing: a purchase code or an OTP answer is an attempt of the terminal
  under :class:`~.throttle.GuessThrottle` when one is given.

Every function works inside a transaction it is handed; none opens one.
Imports the standard library, the pure domain and the sandbox's modules.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pos_client.domain.contract import parse_purse, purse_to_wire, wallet_to_wire
from pos_client.domain.errors import InvalidNationalId, TokenError
from pos_client.domain.models import Beneficiary, Purse, Wallet
from pos_client.domain.national_id import normalize_national_id
from pos_client.domain.tokens import TokenClaims, parse_token, verify_token

from .books import HouseholdRow, OtpRow, PurseRow, TerminalRow, Tx
from .clock import to_rfc3339
from .problems import problem
from .requests import Identity
from .throttle import Attempt, GuessThrottle

OTP_LIFETIME = timedelta(minutes=5)
OTP_MAX_ATTEMPTS = 5
OTP_WINDOW = timedelta(minutes=10)
OTP_MAX_PER_WINDOW = 10
TOKEN_LEEWAY_SECONDS = 60


# --------------------------------------------------------------------------- identity


def strict_national_id(text: str) -> str:
    """``text`` if it is a national ID as sent on the wire, else 422 ``invalid_national_id``."""
    if len(text) != 10 or not text.isascii() or not text.isdigit():
        raise problem(
            "invalid_national_id",
            "a national ID is sent as exactly 10 ASCII digits (clients normalise Persian "
            "and Arabic-Indic digits, spaces and dashes before sending)",
        )
    try:
        normalize_national_id(text)
    except InvalidNationalId as exc:
        raise problem(
            "invalid_national_id", f"the national ID is not valid ({exc.reason})"
        ) from None
    return text


@dataclass(frozen=True, slots=True)
class Resolved:
    """The household a request names, and by what."""

    household: HouseholdRow
    by: str  # national_id | token | purchase_code
    claims: TokenClaims | None = None
    purchase_code: str | None = None
    used: bool = False  # the token or purchase code was used before
    token_in_time: bool = True  # the token was valid at the time it was checked for


def guess(
    throttle: GuessThrottle | None, terminal_id: str, now: datetime
) -> AbstractContextManager[Attempt]:
    """A purchase-code or OTP attempt of ``terminal_id`` (not counted without a throttle)."""
    if throttle is None:
        return nullcontext(Attempt())
    return throttle.attempt(terminal_id, now)


def _token_claims(
    token: str, *, keys: Mapping[str, bytes], at: datetime, lenient_time: bool
) -> tuple[TokenClaims, bool]:
    """The verified claims of ``token`` and whether it is valid at ``at``.

    Out of its time window at ``at`` it is ``422 token_expired`` / ``token_invalid``,
    unless ``lenient_time``: then the claims come back with ``False`` (the time
    is the last thing :func:`verify_token` checks, so its signature matched).
    """
    try:
        return verify_token(token, keys=keys, now=at, leeway_seconds=TOKEN_LEEWAY_SECONDS), True
    except TokenError as exc:
        in_time_only = exc.reason in ("token_expired", "token_not_yet_valid")
        if lenient_time and in_time_only:
            return parse_token(token), False
        if exc.reason == "token_expired":
            raise problem("token_expired", "the token has expired") from None
        raise problem("token_invalid", f"the token is not valid ({exc.reason})") from None


def resolve(
    tx: Tx,
    identity: Identity,
    *,
    keys: Mapping[str, bytes],
    now: datetime,
    token_time: datetime | None = None,
    lenient_token_time: bool = False,
    throttle: GuessThrottle | None = None,
    terminal_id: str = "",
) -> Resolved:
    """The household named by ``identity`` (404/422 problems when there is none).

    A token is checked as of ``token_time`` (default ``now``); with
    ``lenient_token_time`` one out of its window then is not refused but
    resolved with ``token_in_time=False``. A purchase code is an attempt of
    ``terminal_id`` under ``throttle`` (``429 too_many_attempts`` when used up).
    """
    if identity.national_id is not None:
        national_id = strict_national_id(identity.national_id)
        household = tx.household_by_national_id(national_id)
        if household is None:
            raise problem("beneficiary_not_found", "no household has that national ID")
        return Resolved(household=household, by="national_id")
    if identity.token is not None:
        claims, in_time = _token_claims(
            identity.token, keys=keys, at=token_time or now, lenient_time=lenient_token_time
        )
        household = tx.household_by_national_id(claims.national_id)
        if household is None:
            raise problem("beneficiary_not_found", "the token names no known household")
        return Resolved(
            household=household,
            by="token",
            claims=claims,
            used=tx.token_used(claims.jti),
            token_in_time=in_time,
        )
    code = identity.purchase_code or ""
    with guess(throttle, terminal_id, now) as attempt:
        if len(code) != 8 or not code.isascii() or not code.isdigit():
            raise problem("purchase_code_invalid", "a purchase code is 8 ASCII digits")
        row = tx.purchase_code(code)
        if row is None or now >= row.expires_at:
            raise problem("purchase_code_invalid", "the purchase code is unknown or has expired")
        household = tx.household_by_ref(row.household_ref)
        if household is None:  # the books never hold a code without its household
            raise problem("purchase_code_invalid", "the purchase code is unknown")
        if row.used_by is None:
            attempt.succeeded()
    return Resolved(
        household=household, by="purchase_code", purchase_code=code, used=row.used_by is not None
    )


# --------------------------------------------------------------------------- purses


@dataclass(frozen=True, slots=True)
class HeldPurse:
    row: PurseRow
    purse: Purse
    carried_over: bool


def carry_over(held: Sequence[HeldPurse], *, now: datetime) -> list[HeldPurse]:
    """The purses after every tranche carry-over due at ``now`` (in purse order)."""
    by_id = {h.purse.id: h for h in held}
    order = [h.purse.id for h in held]
    for purse_id in order:
        source = by_id[purse_id]
        target_id = source.row.carry_over_to
        if source.carried_over or target_id is None or target_id not in by_id:
            continue
        target = by_id[target_id]
        unlock = target.purse.valid_from
        if unlock is None or now < unlock:
            continue
        moved = source.purse.balance_rial
        by_id[target_id] = replace(
            target, purse=replace(target.purse, balance_rial=target.purse.balance_rial + moved)
        )
        by_id[purse_id] = replace(
            source, purse=replace(source.purse, balance_rial=0), carried_over=True
        )
    return [by_id[i] for i in order]


def load_purses(tx: Tx, household_ref: str, *, now: datetime) -> list[HeldPurse]:
    """The household's purses as they stand at ``now`` (carry-over applied, not saved)."""
    held = [
        HeldPurse(row=row, purse=parse_purse(row.doc), carried_over=row.carried_over)
        for row in tx.purses_of(household_ref)
    ]
    return carry_over(held, now=now)


def save_purses(tx: Tx, held: Sequence[HeldPurse]) -> None:
    for h in held:
        tx.update_purse(h.purse.id, purse_to_wire(h.purse), carried_over=h.carried_over)


def visible(held: Sequence[HeldPurse]) -> tuple[Purse, ...]:
    """The purses a wallet shows: all but the tranches already carried over."""
    return tuple(h.purse for h in held if not h.carried_over)


def wallet_document(
    household: HouseholdRow, purses: Sequence[Purse], *, requires_otp: bool
) -> dict[str, object]:
    wallet = Wallet(
        beneficiary=Beneficiary(
            ref=household.ref,
            display_name=household.display_name,
            household_size=household.household_size,
            city=household.city,
        ),
        requires_otp=requires_otp,
        offline_allowance_rial=household.offline_allowance_rial,
        purses=tuple(purses),
    )
    return wallet_to_wire(wallet)


# --------------------------------------------------------------------------- OTP


def create_challenge(
    tx: Tx, household: HouseholdRow, terminal: TerminalRow, *, now: datetime
) -> OtpRow:
    """A new OTP challenge, or ``429`` when the household was sent too many codes lately."""
    since = now - OTP_WINDOW
    if tx.count_recent_otps(household.ref, since=since) >= OTP_MAX_PER_WINDOW:
        oldest = tx.oldest_recent_otp(household.ref, since=since) or now
        wait = max(1, int((oldest + OTP_WINDOW - now).total_seconds()) + 1)
        raise problem(
            "too_many_requests",
            "too many codes were sent to this household lately",
            headers={"Retry-After": str(wait)},
        )
    row = OtpRow(
        id="ch_" + secrets.token_hex(12),
        household_ref=household.ref,
        terminal_id=terminal.id,
        code=f"{secrets.randbelow(1_000_000):06d}",
        created_at=now,
        expires_at=now + OTP_LIFETIME,
        attempts=0,
        used_by=None,
    )
    tx.add_otp(row)
    return row


def challenge_document(row: OtpRow) -> dict[str, object]:
    return {"challenge_id": row.id, "expires_at": to_rfc3339(row.expires_at)}


def check_otp(
    tx: Tx,
    *,
    challenge_id: str | None,
    code: str | None,
    household: HouseholdRow,
    terminal: TerminalRow,
    now: datetime,
    throttle: GuessThrottle | None = None,
) -> str | None:
    """``None`` if the answer is right, else the decline reason (a wrong code counts an attempt).

    Every answer given is an attempt of the terminal under ``throttle``
    (``429 too_many_attempts`` when it has none left).
    """
    if challenge_id is None or code is None:
        return "otp_required"
    with guess(throttle, terminal.id, now) as attempt:
        row = tx.otp(challenge_id)
        if (
            row is None
            or row.household_ref != household.ref
            or row.terminal_id != terminal.id
            or row.used_by is not None
            or now >= row.expires_at
            or row.attempts >= OTP_MAX_ATTEMPTS
        ):
            return "otp_invalid"
        if not hmac.compare_digest(code.encode(), row.code.encode()):
            tx.count_otp_attempt(row.id)
            return "otp_invalid"
        attempt.succeeded()
        return None
