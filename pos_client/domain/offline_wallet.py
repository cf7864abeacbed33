"""The household's offline wallet, built from a verified KB2 token's snapshot.

A KB2 token carries, signed by the ledger, what each of the household's purses
may spend while the ledger cannot be reached (see :mod:`pos_client.domain.tokens`).
:func:`wallet_from_token` turns that snapshot into the same
:class:`~pos_client.domain.models.Wallet` the ledger's inquiry gives, so that the
optimal split runs over it with the same code as online. Each purse:

- keeps its programme's categories from the rules; a purse whose programme the
  rules do not know (``program_unknown``), whose programme allows no offline
  approval (``program_not_offline``), whose kind is not its programme's
  (``kind_mismatch``) or that has expired at ``now`` (``purse_expired``) is
  dropped;
- an amount purse may pay at most its ``off``, and never more than its
  programme's offline limit per sale or per household per day;
- a quantity purse may take at most each group's ``off_milli``.

When the lane also holds a cached wallet of the household (from an earlier
online visit), each purse takes the smaller of the two, group by group, and
keeps the cached purse's category limits. A purse of the token that the cached
wallet lacks is dropped when the cached wallet is fresher than the token
(``not_in_fresher_wallet``: it was emptied or closed since); when the token is
the fresher of the two, the purse is kept (it is newer than what the lane saw).
A purse of the cached wallet that the token lacks is not spent offline: the
snapshot is what the ledger signed. So the offline credit is never more than
the smallest of the limits that apply.

Pure: the standard library and the domain only; "now" is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pos_client.domain.models import (
    Beneficiary,
    Entitlement,
    Program,
    ProgramKind,
    Purse,
    RuleSet,
    Wallet,
)
from pos_client.domain.tokens import TokenClaims, TokenPurse

__all__ = ["DroppedPurse", "TokenWallet", "wallet_from_token"]


@dataclass(frozen=True, slots=True)
class DroppedPurse:
    """A purse of the token that may not be spent offline here, and why."""

    purse_id: str
    program: str
    reason: str  # program_unknown | program_not_offline | kind_mismatch | purse_expired | ...


@dataclass(frozen=True, slots=True)
class TokenWallet:
    """The offline wallet built from a token, with the purses left out."""

    wallet: Wallet
    dropped: tuple[DroppedPurse, ...] = ()


def _amount_cap(program: Program) -> int:
    policy = program.offline
    return min(policy.max_rial_per_transaction, policy.max_rial_per_beneficiary_per_day)


def _purse_from_token(
    purse: TokenPurse, program: Program, cached: Purse | None
) -> tuple[Purse | None, str | None]:
    """The offline purse for one token purse (or None and why it is left out)."""
    expires_at = purse.expires_at
    categories = program.categories
    limits: dict[str, int] = {}
    valid_from = None
    city = purse.city
    if cached is not None:
        if cached.program != purse.program or cached.kind is not program.kind:
            return None, "kind_mismatch"
        if cached.expires_at is not None:
            expires_at = min(expires_at, cached.expires_at)
        valid_from = cached.valid_from
        categories = tuple(c for c in categories if c in cached.categories)
        limits = dict(cached.category_limits_rial)
        if city is None:
            city = cached.city
        elif cached.city is not None and cached.city != city:
            return None, "city_mismatch"
    # The snapshot carries no label: a saved wallet's, else the programme's name in the rules.
    label = (cached.label_fa if cached is not None else "") or program.name_fa
    if program.kind is ProgramKind.AMOUNT:
        if purse.off_rial is None:
            return None, "kind_mismatch"
        balance = min(purse.off_rial, _amount_cap(program))
        if cached is not None:
            balance = min(balance, cached.balance_rial)
        return (
            Purse(
                id=purse.id,
                program=purse.program,
                kind=ProgramKind.AMOUNT,
                label_fa=label,
                balance_rial=max(balance, 0),
                valid_from=valid_from,
                expires_at=expires_at,
                city=city,
                categories=categories,
                category_limits_rial={c: min(v, balance) for c, v in limits.items()},
            ),
            None,
        )
    if purse.off_rial is not None:
        return None, "kind_mismatch"
    remaining = {e.group: e.remaining_milli for e in cached.entitlements} if cached else None
    entitlements = []
    for ent in purse.entitlements:
        take = ent.off_milli
        if remaining is not None:
            take = min(take, remaining.get(ent.group, 0))
        entitlements.append(Entitlement(group=ent.group, remaining_milli=max(take, 0)))
    return (
        Purse(
            id=purse.id,
            program=purse.program,
            kind=ProgramKind.QUANTITY,
            label_fa=label,
            valid_from=valid_from,
            expires_at=expires_at,
            city=city,
            categories=categories,
            entitlements=tuple(entitlements),
        ),
        None,
    )


def wallet_from_token(
    claims: TokenClaims,
    rules: RuleSet,
    *,
    now: datetime,
    cached: Wallet | None = None,
    cached_at: datetime | None = None,
) -> TokenWallet:
    """The household's offline wallet from a verified KB2 token (see the module).

    ``cached`` is the lane's own saved wallet of the household, saved at
    ``cached_at``; the caller decides whether it is recent enough to count.
    ``now`` must be timezone-aware (the ledger's time as the lane knows it).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    cached_by_id = {p.id: p for p in cached.purses} if cached is not None else {}
    cache_is_fresher = (
        cached is not None and cached_at is not None and cached_at >= claims.issued_at
    )
    purses: list[Purse] = []
    dropped: list[DroppedPurse] = []
    for token_purse in claims.purses:
        program = rules.program(token_purse.program)
        reason: str | None = None
        purse: Purse | None = None
        if program is None:
            reason = "program_unknown"
        elif not program.offline.allowed:
            reason = "program_not_offline"
        elif now >= token_purse.expires_at:
            reason = "purse_expired"
        elif token_purse.id not in cached_by_id and cache_is_fresher:
            reason = "not_in_fresher_wallet"
        else:
            purse, reason = _purse_from_token(
                token_purse, program, cached_by_id.get(token_purse.id)
            )
        if purse is None:
            dropped.append(DroppedPurse(token_purse.id, token_purse.program, reason or ""))
        else:
            purses.append(purse)
    allowance = claims.offline_allowance_rial
    if cached is not None:
        allowance = min(allowance, cached.offline_allowance_rial)
        beneficiary = cached.beneficiary
    else:
        beneficiary = Beneficiary(ref="")
    wallet = Wallet(
        beneficiary=beneficiary,
        requires_otp=False,
        offline_allowance_rial=allowance,
        purses=tuple(purses),
    )
    return TokenWallet(wallet=wallet, dropped=tuple(dropped))
