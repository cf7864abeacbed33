"""What the checkout hands out (households, baskets, void outcomes), its errors and helpers.

Imports the standard library, the domain, the ports and the project's errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pos_client.domain.errors import ContractError, InvalidNationalId
from pos_client.domain.models import AllocationPlan, BasketLine, Product, Purse, RuleSet, Unit
from pos_client.domain.money import line_amount, round_half_up_div
from pos_client.domain.offline import OfflineDecision, OfflineLimits
from pos_client.domain.redemption import Identity, OtpChallenge, RedemptionAnswer
from pos_client.domain.states import SaleStatus, VoidStatus
from pos_client.errors import CheckoutError, LabelPriceMismatch, StoreError
from pos_client.ports import Clock, JournalEntry, Store
from pos_client.services.delivery import AnswerNotSaved
from pos_client.services.redemptions import SaleOutcome, in_basket_lines, outcome_from_entry

log = logging.getLogger("pos_client.services.checkout")

#: The whole confirm step's time (seconds): sending, asking again, deciding offline.
SALE_BUDGET = 15.0
#: An inquiry that took more than this share of the budget marks the ledger as slow.
SLOW_SHARE = 0.3
#: However little of the budget is left, a send gets at least this long (seconds).
MIN_SEND_WINDOW = 1.0
#: The highest unit price a line may carry (Rials).


class SendPhase(StrEnum):
    """What a confirm is doing, for the screen's progress line."""

    SENDING = "sending"
    ASKING_AGAIN = "asking_again"  # no answer came: the ledger is asked by id


#: Told each :class:`SendPhase` while a sale is being sent.
Progress = Callable[[SendPhase], None]


class RulesSource(Protocol):
    """Where the checkout gets the verified rule set and the trusted signing keys."""

    def current(self) -> RuleSet | None: ...

    def trusted_keys(self) -> Mapping[str, bytes]: ...


class Stage(StrEnum):
    IDENTIFY = "identify"
    OTP = "otp"  # a verification code is needed before the sale
    BASKET = "basket"
    UNKNOWN = "unknown"  # confirmed, no final answer yet: resolve() or abandon()
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Household:
    """Who is at the counter, as the screen may show it (never the full national ID)."""

    identity_kind: str  # national_id | token | purchase_code
    masked_id: str | None
    display_name: str
    household_size: int | None
    city: str | None
    purses: tuple[Purse, ...]
    requires_otp: bool
    otp_challenge: OtpChallenge | None
    otp_entered: bool
    offline: bool  # the wallet is the one saved earlier: the ledger cannot be reached
    wallet_as_of: datetime | None
    offline_allowance_rial: int | None
    #: The offline wallet is the snapshot a KB2 token carries ("from the household's card").
    from_card: bool = False


@dataclass(frozen=True, slots=True)
class BasketItem:
    index: int
    line: BasketLine
    in_catalog: bool
    payers: tuple[str, ...]  # purse ids paying part of it; empty: the household pays
    covered_rial: int


@dataclass(frozen=True, slots=True)
class BasketView:
    """The basket and, once a household is known, its best split over the purses."""

    items: tuple[BasketItem, ...]
    total_rial: int
    covered_rial: int
    payable_rial: int
    waived_rial: int
    plan: AllocationPlan | None


@dataclass(frozen=True, slots=True)
class VoidOutcome:
    """``status``: ``voided``, ``pending`` (will be voided when the ledger answers), ``refused``."""

    id: str
    status: VoidStatus
    reason: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    terminal_id: str
    city: str
    limits: OfflineLimits


def national_identity(text: str) -> Identity:
    try:
        return Identity.national_id(text)
    except InvalidNationalId as exc:
        raise CheckoutError(
            f"the national ID is not valid ({exc.reason})", code=exc.reason
        ) from None


@dataclass(frozen=True, slots=True)
class OfflineApproval:
    """Whether a sale may go ahead offline now, and what an approval would count."""

    decision: OfflineDecision
    nid_hash: str | None
    by_program: Mapping[str, int]


def past_deadline(clock: Clock, deadline: float | None, pause: float = 0.0) -> bool:
    return deadline is not None and clock.monotonic() + pause >= deadline


def store_failed_outcome(entry: JournalEntry, exc: StoreError) -> SaleOutcome:
    """The store failed after the sale was written and before any answer: never "not charged"."""
    log.warning("the store failed while sending %s: %s", entry.id, exc.message)
    return replace(
        outcome_from_entry(entry),
        status=SaleStatus.UNKNOWN,
        goes_ahead=False,
        reason="store_error",
        detail="the lane could not save the sale's progress; do not redo the sale:"
        " `pos-client recover` finishes it",
    )


def unsaved_outcome(
    entry: JournalEntry, answer: RedemptionAnswer, exc: AnswerNotSaved
) -> SaleOutcome:
    """The ledger's answer, told as it is though this lane could not write it down."""
    outcome = outcome_with_answer(entry, answer)
    waived = outcome.waived_rial
    if answer.goes_ahead:
        return replace(
            outcome,
            status=SaleStatus.APPROVED_UNSAVED,
            goes_ahead=True,
            covered_rial=answer.covered_rial,
            declined_rial=answer.declined_rial,
            payable_rial=entry.total_rial - answer.covered_rial - waived,
            reason="not_saved",
            detail="approved; could not be saved on this lane: do not redo the sale"
            f" ({exc.message})",
        )
    return replace(
        outcome,
        status=SaleStatus.DECLINED,
        goes_ahead=False,
        covered_rial=0,
        payable_rial=entry.total_rial - waived,
        reason=answer.reason,
        detail="declined by the ledger; this could not be saved on this lane",
    )


def checkpoint_quietly(store: Store) -> None:
    """Housekeeping after a sale: never an error, also when the store was closed meanwhile."""
    try:
        store.checkpoint()
    except Exception:
        log.debug("no checkpoint after the sale", exc_info=True)


def outcome_with_answer(entry: JournalEntry, answer: RedemptionAnswer) -> SaleOutcome:
    outcome = outcome_from_entry(entry)
    return replace(
        outcome,
        allocations=in_basket_lines(entry, answer.allocations),
        purses_after=answer.purses_after,
        approved_at=answer.approved_at,
        receipt_code=answer.receipt_code,
    )


def basket_line(
    gtin: str, quantity_milli: int, unit_price_rial: int, product: Product | None
) -> BasketLine:
    if product is None:
        return BasketLine(gtin=gtin, quantity_milli=quantity_milli, unit_price_rial=unit_price_rial)
    return BasketLine(
        gtin=gtin,
        quantity_milli=quantity_milli,
        unit_price_rial=unit_price_rial,
        category=product.category or None,
        groups=product.groups,
        max_unit_price_rial=product.max_unit_price_rial,
        unit=product.unit,
        name=product.name_fa,
    )


def bounded(check: Callable[..., int], *args: object, **options: object) -> int:
    """``check(*args)`` of :mod:`pos_client.domain.bounds`; a refusal is a CheckoutError."""
    try:
        return check(*args, **options)
    except ContractError as exc:
        raise CheckoutError(exc.message, code=exc.code) from None


def label_unit_price(gtin: str, quantity_milli: int, unit: Unit, line_price_rial: int) -> int:
    """The unit price that charges a weight-and-price label's own amount by the contract's rule.

    Raises :class:`LabelPriceMismatch` (naming the nearest price and what it would charge)
    when no whole unit price does: an amount is never changed silently, the cashier chooses.
    """
    unit_price_rial = round_half_up_div(line_price_rial * 1000, quantity_milli)
    charged = line_amount(quantity_milli, unit_price_rial)
    if charged != line_price_rial:
        raise LabelPriceMismatch(
            gtin, quantity_milli, unit.value, line_price_rial, unit_price_rial, charged
        )
    return unit_price_rial
