"""A QR token at the counter while the ledger cannot be reached: which wallet to serve.

Two sources, the smaller winning where both exist:

- a KB2 token carries a signed snapshot of the household's purses: any lane,
  even one that never saw the household, builds its offline wallet from it
  (:func:`~pos_client.domain.offline_wallet.wallet_from_token`), each purse
  lowered by the wallet this lane saved at an earlier online visit, when that
  is recent enough to count;
- a KB1 token carries no purses: only the saved wallet can serve it.

The approval itself stays :func:`~pos_client.domain.offline.decide_offline`
at confirm, with every limit. Imports the standard library, the domain, the
ports and the project's errors.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pos_client.domain.contract import parse_wallet
from pos_client.domain.errors import ContractError
from pos_client.domain.models import AllocationPlan, Wallet
from pos_client.domain.offline_wallet import DroppedPurse, wallet_from_token
from pos_client.domain.tokens import TokenClaims
from pos_client.errors import CheckoutRefused

if TYPE_CHECKING:
    from pos_client.services.checkout.service import CheckoutService

__all__ = ["OFFLINE_SOURCE_CARD", "OfflineWallet", "offline_wallet_for_token", "purse_totals"]

log = logging.getLogger("pos_client.services.checkout")

#: ``SaleOutcome.offline_source`` of a sale approved from a KB2 token's snapshot.
OFFLINE_SOURCE_CARD = "household_card"
#: What the command line says of such a sale.
FROM_CARD_SENTENCE = "offline, from the household's card"


@dataclass(frozen=True, slots=True)
class OfflineWallet:
    """The wallet to serve offline, since when it is known, and whether it is the token's."""

    wallet: Wallet
    as_of: datetime
    from_token: bool
    dropped: tuple[DroppedPurse, ...] = ()


def _saved_wallet(
    svc: CheckoutService, nid_hash: str | None, now: datetime
) -> tuple[Wallet, datetime] | ContractError | None:
    """The lane's saved wallet of the household if recent enough; the error if unreadable."""
    cached = svc.store.cached_wallet(nid_hash) if nid_hash else None
    limit = timedelta(hours=svc.settings.limits.max_hours_since_contact)
    if cached is None or now - cached[1] > limit:
        return None
    try:
        return parse_wallet(json.loads(cached[0])), cached[1]
    except (ContractError, ValueError) as exc:
        return exc if isinstance(exc, ContractError) else ContractError("invalid_wallet", str(exc))


def offline_wallet_for_token(
    svc: CheckoutService, claims: TokenClaims, nid_hash: str | None, *, cause: Exception
) -> OfflineWallet:
    """The wallet a verified token may be served from while the ledger cannot be reached.

    Raises ``CheckoutRefused`` with a sentence for the cashier: offline
    approval off on this lane, a clock not to be trusted, the token out of its
    time, no rule set, nothing known of the household (KB1 without a saved
    wallet), or nothing on the card that may be spent offline here.
    """
    now = svc.clock.now()
    if not svc.settings.limits.enabled:
        raise CheckoutRefused(
            "the ledger cannot be reached and this household's balance is not known here",
            code="ledger_unavailable",
        ) from cause
    svc.ledger_time.check_token_offline(claims, cause=cause)
    saved = _saved_wallet(svc, nid_hash, now)
    if claims.v < 2:
        if saved is None:
            raise CheckoutRefused(
                "the ledger cannot be reached and this household's balance is not known here",
                code="ledger_unavailable",
            ) from cause
        if isinstance(saved, ContractError):
            raise CheckoutRefused(
                "the ledger cannot be reached", code="ledger_unavailable"
            ) from cause
        return OfflineWallet(wallet=saved[0], as_of=saved[1], from_token=False)
    rules = svc.rules.current()
    if rules is None:
        raise CheckoutRefused(
            "this terminal holds no rule set yet: sync the rules first", code="no_rules"
        ) from cause
    if isinstance(saved, ContractError):
        log.warning("the saved wallet of this household cannot be read; the card alone counts")
        saved = None
    built = wallet_from_token(
        claims,
        rules,
        now=svc.ledger_time.now(),
        cached=saved[0] if saved else None,
        cached_at=saved[1] if saved else None,
    )
    for gone in built.dropped:
        log.info("purse %s of the card is not spent offline here: %s", gone.purse_id, gone.reason)
    if not built.wallet.purses:
        raise CheckoutRefused(
            "the ledger cannot be reached and nothing on the household's card"
            " may be spent offline here",
            code="nothing_offline",
        ) from cause
    as_of = claims.issued_at if saved is None else min(claims.issued_at, saved[1])
    return OfflineWallet(wallet=built.wallet, as_of=as_of, from_token=True, dropped=built.dropped)


def purse_totals(plan: AllocationPlan) -> tuple[dict[str, int], dict[str, int]]:
    """What each purse pays (Rials) and takes (thousandths) in ``plan``, by purse id."""
    paid: dict[str, int] = {}
    taken: dict[str, int] = {}
    for a in plan.allocations:
        paid[a.purse_id] = paid.get(a.purse_id, 0) + a.amount_rial
        taken[a.purse_id] = taken.get(a.purse_id, 0) + a.quantity_milli
    return paid, taken
