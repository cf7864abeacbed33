"""May the terminal approve this sale itself, now, while the ledger cannot be asked?

One pure decision, :func:`decide_offline`, over everything it depends on,
gathered by the checkout service into an :class:`OfflineRequest`. The rules,
in the order they are checked (the first that fails is the reason given):

1. ``offline_disabled``: the lane's config turns offline approval off;
2. ``identity_online_only``: only a signed QR token can be served offline; a
   typed national ID or a purchase code can be checked by the ledger alone;
3. ``token_not_verified``: the token's signature was not checked on the terminal;
4. ``no_rules`` / ``rules_expired``: no rule set, or one past ``valid_until``;
5. ``never_contacted`` / ``contact_too_old`` / ``clock_behind``: the last
   answer from the ledger is missing, older than the configured hours, or in
   the future (the clock was set back);
5a. ``clock_unknown`` / ``clock_wrong``: the lane's offset from the ledger's
   clock was never measured (or too long ago), or is larger than
   :data:`~pos_client.domain.clock.CLOCK_TOLERANCE` (see
   :func:`~pos_client.domain.clock.clock_trouble`); ``now`` is the lane's
   clock corrected by that offset, the sale's ``created_at``;
5b. ``token_out_of_time``: the QR token is not valid at ``now`` (the ledger
   checks it at ``created_at``);
6. ``hot_listed``: the household's national ID hash is on the rules' hot list;
7. ``nothing_covered``: there is nothing for the purses to pay;
8. ``program_not_offline``: a purse's programme does not allow offline
   approval (or is not in the rules);
9. ``over_program_transaction_limit`` / ``over_program_daily_limit``: a
   programme's own offline limits, per transaction and per household per day;
10. ``over_transaction_limit``: the lane's limit per transaction;
11. ``over_daily_limit``: the lane's limit per household per business day;
12. ``over_outstanding_limit``: everything approved offline and not yet
    forwarded on this terminal, plus this sale;
13. ``over_purse_allowance``: a KB2 token's snapshot, purse by purse: a
    purse that pays must be in it and pay at most its ``off`` (an amount
    purse) or take at most its groups' ``off_milli`` (a quantity purse);
14. ``over_token_allowance`` / ``over_wallet_allowance``: the token's own
    ``off`` allowance and the wallet's ``offline_allowance_rial``.

All amounts are what the purses would pay (the covered Rials); what the
household pays itself carries no risk. Pure: standard library and domain only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from pos_client.domain.clock import ClockOffset, clock_trouble
from pos_client.domain.errors import TokenError
from pos_client.domain.models import Purse, RuleSet
from pos_client.domain.tokens import TokenClaims, check_token_time

__all__ = [
    "CLOCK_SKEW",
    "OfflineDecision",
    "OfflineLimits",
    "OfflineRequest",
    "decide_offline",
    "offline_purses",
]

#: How far the last contact may lie in the future before the clock is distrusted.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class OfflineLimits:
    """The lane's own offline limits (from its config)."""

    enabled: bool
    max_rial_per_transaction: int
    max_rial_per_beneficiary_per_day: int
    max_outstanding_rial: int
    max_hours_since_contact: int


def _empty() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class OfflineRequest:
    """Everything the decision looks at, gathered by the caller."""

    now: datetime
    identity_kind: str  # national_id | token | purchase_code
    token_verified: bool
    token_allowance_rial: int | None  # the token's ``off``
    wallet_allowance_rial: int | None  # the wallet's ``offline_allowance_rial``, if known
    nid_hash: str | None
    rules: RuleSet | None
    last_contact: datetime | None
    covered_by_program: Mapping[str, int] = field(default_factory=_empty)
    household_today_by_program: Mapping[str, int] = field(default_factory=_empty)
    outstanding_rial: int = 0
    #: The lane's clock (uncorrected) and its measured offset from the ledger's: with the
    #: defaults the caller vouches that ``now`` is the ledger's time.
    lane_now: datetime | None = None
    clock_offset: ClockOffset | None = None
    token: TokenClaims | None = None  # the verified token's claims (for its time window)
    #: What each purse would pay (Rials) and take (thousandths, quantity purses), by purse id:
    #: bounded by a KB2 token's snapshot.
    covered_by_purse: Mapping[str, int] = field(default_factory=_empty)
    taken_milli_by_purse: Mapping[str, int] = field(default_factory=_empty)

    @property
    def covered_rial(self) -> int:
        return sum(self.covered_by_program.values())


@dataclass(frozen=True, slots=True)
class OfflineDecision:
    allowed: bool
    reason: str | None = None
    detail: str = ""

    @classmethod
    def refuse(cls, reason: str, detail: str) -> OfflineDecision:
        return cls(False, reason, detail)


_OK = OfflineDecision(True)


def offline_purses(purses: Sequence[Purse], rules: RuleSet | None) -> tuple[Purse, ...]:
    """The purses whose programme allows offline approval under ``rules``.

    While the ledger cannot be reached the basket is split over these only, so
    that credit which may never be spent offline (donor credit, free packages)
    does not stand in the way of what may.
    """
    if rules is None:
        return ()
    allowed = {p.id for p in rules.programs if p.offline.allowed}
    return tuple(purse for purse in purses if purse.program in allowed)


def _over_purse_allowance(r: OfflineRequest) -> OfflineDecision | None:
    """A purse paying beyond what a KB2 token's snapshot lets it pay offline."""
    assert r.token is not None
    snapshot = {purse.id: purse for purse in r.token.purses}
    paying = {k for k, v in r.covered_by_purse.items() if v > 0}
    paying |= {k for k, v in r.taken_milli_by_purse.items() if v > 0}
    for purse_id in sorted(paying):
        purse = snapshot.get(purse_id)
        if purse is None:
            return OfflineDecision.refuse(
                "over_purse_allowance", "a purse that the QR token does not carry would pay"
            )
        if purse.off_rial is not None:
            over = r.covered_by_purse.get(purse_id, 0) > purse.off_rial
        else:
            allowed_milli = sum(e.off_milli for e in purse.entitlements)
            over = r.taken_milli_by_purse.get(purse_id, 0) > allowed_milli
        if over:
            return OfflineDecision.refuse(
                "over_purse_allowance",
                f"over the offline allowance the QR token gives purse {purse_id}",
            )
    return None


def decide_offline(request: OfflineRequest, limits: OfflineLimits) -> OfflineDecision:
    """Whether the sale may be approved offline; the first rule broken is the reason."""
    r = request
    if not limits.enabled:
        return OfflineDecision.refuse("offline_disabled", "offline approval is off on this lane")
    if r.identity_kind != "token":
        return OfflineDecision.refuse(
            "identity_online_only",
            "a typed national ID or a purchase code can only be served online",
        )
    if not r.token_verified:
        return OfflineDecision.refuse(
            "token_not_verified", "the QR token was not verified on this terminal"
        )
    if r.rules is None:
        return OfflineDecision.refuse("no_rules", "this terminal holds no rule set")
    if r.rules.is_expired(r.now):
        return OfflineDecision.refuse("rules_expired", "the rule set is past its valid_until")
    if r.last_contact is None:
        return OfflineDecision.refuse("never_contacted", "the ledger has never answered")
    if r.last_contact > r.now + CLOCK_SKEW:
        return OfflineDecision.refuse(
            "clock_behind", "the terminal's clock is behind its last contact with the ledger"
        )
    if r.now - r.last_contact > timedelta(hours=limits.max_hours_since_contact):
        return OfflineDecision.refuse(
            "contact_too_old",
            f"no answer from the ledger for over {limits.max_hours_since_contact} hours",
        )
    if r.lane_now is not None:
        trouble = clock_trouble(r.lane_now, r.clock_offset)
        if trouble == "clock_unknown":
            return OfflineDecision.refuse(
                "clock_unknown", "the terminal's clock has not been checked against the ledger's"
            )
        if trouble is not None:
            return OfflineDecision.refuse(
                "clock_wrong", "the terminal's clock is too far from the ledger's"
            )
    if r.token is not None:
        try:
            check_token_time(r.token, now=r.now)
        except TokenError as exc:
            return OfflineDecision.refuse("token_out_of_time", exc.message)
    if r.nid_hash is None or r.nid_hash in r.rules.hot_list:
        return OfflineDecision.refuse("hot_listed", "the household may not be served offline")
    covered = r.covered_rial
    if covered <= 0:
        return OfflineDecision.refuse("nothing_covered", "the purses pay nothing")

    for program_id, amount in sorted(r.covered_by_program.items()):
        if amount <= 0:
            continue
        program = r.rules.program(program_id)
        if program is None or not program.offline.allowed:
            return OfflineDecision.refuse(
                "program_not_offline", f"programme {program_id} allows no offline approval"
            )
        policy = program.offline
        if amount > policy.max_rial_per_transaction:
            return OfflineDecision.refuse(
                "over_program_transaction_limit",
                f"over programme {program_id}'s offline limit per sale",
            )
        today = r.household_today_by_program.get(program_id, 0)
        if today + amount > policy.max_rial_per_beneficiary_per_day:
            return OfflineDecision.refuse(
                "over_program_daily_limit",
                f"over programme {program_id}'s offline limit per household per day",
            )
    if covered > limits.max_rial_per_transaction:
        return OfflineDecision.refuse(
            "over_transaction_limit", "over the lane's offline limit per sale"
        )
    today_total = sum(r.household_today_by_program.values())
    if today_total + covered > limits.max_rial_per_beneficiary_per_day:
        return OfflineDecision.refuse(
            "over_daily_limit", "over the lane's offline limit per household per day"
        )
    if r.outstanding_rial + covered > limits.max_outstanding_rial:
        return OfflineDecision.refuse(
            "over_outstanding_limit", "too much is waiting to be sent from this terminal"
        )
    if r.token is not None and r.token.v >= 2:
        refusal = _over_purse_allowance(r)
        if refusal is not None:
            return refusal
    if r.token_allowance_rial is None or covered > r.token_allowance_rial:
        return OfflineDecision.refuse(
            "over_token_allowance", "over the offline allowance the QR token carries"
        )
    if r.wallet_allowance_rial is not None and covered > r.wallet_allowance_rial:
        return OfflineDecision.refuse(
            "over_wallet_allowance", "over the household's offline allowance"
        )
    return _OK
