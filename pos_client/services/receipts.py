"""Receipts: what a sale's receipt says, and printing it (again) on the lane's printer.

A receipt is built from a sale already on disk, never from the screen's
state, so the checkout screen, ``pos-client receipt show`` and a reprint long
after the sale (a new paper roll, a household asking for a copy) all give
the same :class:`~pos_client.domain.receipt.Receipt`:

- :func:`receipt_from_outcome` maps a
  :class:`~pos_client.services.redemptions.SaleOutcome` (what the ledger, or
  the terminal offline, approved per line and purse, with the balances
  before and after) into a ``Receipt``; a free package (a quantity purse)
  has no balance in Rials, so its receipt says, for each entitlement group
  the sale used, how many items it held before and after;
- :meth:`ReceiptService.receipt_for` reads a sale from the journal and
  builds its receipt: only for a sale that went ahead (approved, partially
  approved, approved offline) and is neither abandoned nor being voided;
- :meth:`ReceiptService.print` prints it on the printer the composition
  root opened, and raises :class:`~pos_client.errors.PrinterError` plainly
  when it cannot (no printer, a printer that cannot be opened, no paper).
  Printing never touches the sale: an approved sale stays approved, and its
  receipt can be printed again later.

Every name and label on a receipt (products, purses, entitlement groups, the
shop) goes through :func:`pos_client.domain.text.safe_text`: a name stored
with a control or bidi-override character, even before the catalog cleaned
names, never reaches the screen, the paper or the JSON as it is.

The national ID is always masked on a receipt; a training lane's receipts
say so.

Imports the standard library, the domain, the ports, the project's errors,
:mod:`pos_client.services.redemptions`; the receipt itself is a domain value
(:mod:`pos_client.domain.receipt`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from pos_client.domain.models import BasketLine, ProgramKind, Purse, Unit
from pos_client.domain.money import line_amount
from pos_client.domain.national_id import mask_national_id
from pos_client.domain.receipt import (
    Currency,
    Receipt,
    ReceiptEntitlement,
    ReceiptLine,
    ReceiptPayment,
    ReceiptPurse,
)
from pos_client.domain.redemption import AppliedAllocation
from pos_client.domain.states import RedemptionStatus
from pos_client.domain.text import safe_text
from pos_client.errors import PrinterError, ReceiptError
from pos_client.ports import JournalEntry, Printer, Store
from pos_client.services.redemptions import (
    SaleOutcome,
    entitlements_from_json,
    outcome_from_entry,
)

__all__ = [
    "TRAINING_META_KEY",
    "Currency",
    "ReceiptError",
    "ReceiptService",
    "receipt_from_outcome",
    "receipt_json",
]

#: The store's meta key marking a lane used for training: its receipts say so, even reprinted.
TRAINING_META_KEY = "training"

#: Journal statuses of a sale whose goods left with the household on a valid approval.
_WENT_AHEAD = frozenset(
    {
        RedemptionStatus.APPROVED,
        RedemptionStatus.PARTIALLY_APPROVED,
        RedemptionStatus.APPROVED_OFFLINE,
    }
)


def _paying(outcome: SaleOutcome) -> list[AppliedAllocation]:
    """The allocations that paid: as the ledger applied them, or as approved offline."""
    if outcome.status == "approved_offline":
        return [a for a in outcome.allocations if a.status in ("applied", "requested")]
    return [a for a in outcome.allocations if a.status == "applied"]


def _package_entitlements(
    purse: Purse,
    later: Purse | None,
    paying: list[AppliedAllocation],
    lines: tuple[BasketLine, ...],
    group_names: Mapping[str, str],
) -> tuple[ReceiptEntitlement, ...]:
    """The entitlement groups of a free package that the sale used, before and after.

    What a line took counts for the first of its groups the package holds
    (as the allocation does). The quantities after are the ledger's
    (``purses_after``) when it gave them, else what was there less what the
    sale took (an offline approval, an entry written before they were kept).
    A group is named from ``group_names``, else by the products that took
    from it, else by its id.
    """
    held = {e.group for e in purse.entitlements}
    used: dict[str, int] = {}
    units: dict[str, Unit] = {}
    names: dict[str, dict[str, None]] = {}
    for allocation in paying:
        if allocation.purse_id != purse.id or allocation.quantity_milli <= 0:
            continue
        if not 0 <= allocation.line < len(lines):
            continue
        line = lines[allocation.line]
        group = next((g for g in line.groups if g in held), None)
        if group is None:
            continue
        used[group] = used.get(group, 0) + allocation.quantity_milli
        units.setdefault(group, line.unit)
        names.setdefault(group, {})[safe_text(line.name) or line.gtin] = None
    remaining_after = (
        {e.group: e.remaining_milli for e in later.entitlements} if later is not None else {}
    )
    out = []
    for entitlement in purse.entitlements:
        group, before = entitlement.group, entitlement.remaining_milli
        after = remaining_after.get(group, max(0, before - used.get(group, 0)))
        if group not in used and after == before:
            continue  # not touched by this sale
        out.append(
            ReceiptEntitlement(
                group=group,
                label=safe_text(group_names.get(group) or "، ".join(names.get(group, {}))) or group,
                before_milli=before,
                after_milli=after,
                unit=units.get(group, Unit.PIECE),
            )
        )
    return tuple(out)


def receipt_from_outcome(
    outcome: SaleOutcome,
    *,
    shop_name: str,
    terminal_id: str,
    issued_at: datetime,
    currency: Currency,
    training: bool,
    group_names: Mapping[str, str] | None = None,
) -> Receipt | None:
    """The receipt of a sale that went ahead, or None when there is nothing to print.

    ``issued_at`` is used when the outcome carries no approval time (an
    offline approval). ``group_names`` names free packages' entitlement
    groups on the receipt (in Persian). Raises :class:`PrinterError`
    (``receipt_invalid``) for an outcome that does not add up.
    """
    if not outcome.goes_ahead or not outcome.lines:
        return None
    paying = _paying(outcome)
    lines = []
    for index, line in enumerate(outcome.lines):
        payments: dict[str, int] = {}
        free_quantity = package_paid = 0
        for allocation in paying:
            if allocation.line != index:
                continue
            if allocation.amount_rial:
                payments[allocation.purse_id] = (
                    payments.get(allocation.purse_id, 0) + allocation.amount_rial
                )
            if allocation.quantity_milli > 0:  # a free package: its cap may leave a part unpaid
                free_quantity += allocation.quantity_milli
                package_paid += allocation.amount_rial
        waived = (
            max(0, line_amount(free_quantity, line.unit_price_rial) - package_paid)
            if free_quantity
            else 0
        )
        lines.append(
            ReceiptLine(
                name=safe_text(line.name) or line.gtin,
                quantity_milli=line.quantity_milli,
                unit_price_rial=line.unit_price_rial,
                amount_rial=line.amount_rial,
                unit=line.unit,
                paid_by=tuple(ReceiptPayment(pid, amount) for pid, amount in payments.items()),
                waived_rial=waived,
            )
        )
    after = {p.id: p for p in outcome.purses_after}
    touched = {p.purse_id for line in lines for p in line.paid_by}
    purses = []
    for purse in outcome.purses_before:
        if purse.id not in touched:
            continue
        paid = sum(p.amount_rial for line in lines for p in line.paid_by if p.purse_id == purse.id)
        later = after.get(purse.id)
        balance_after = (
            later.balance_rial if later is not None else max(0, purse.balance_rial - paid)
        )
        package = purse.kind is ProgramKind.QUANTITY
        purses.append(
            ReceiptPurse(
                purse_id=purse.id,
                label=safe_text(purse.label_fa or purse.program),
                balance_before_rial=purse.balance_rial,
                balance_after_rial=balance_after,
                expires_at=purse.expires_at,
                kind=purse.kind,
                entitlements=(
                    _package_entitlements(purse, later, paying, outcome.lines, group_names or {})
                    if package
                    else ()
                ),
            )
        )
    for purse_id in sorted(touched - {p.purse_id for p in purses}):
        purses.append(ReceiptPurse(purse_id, purse_id, 0, 0))
    return Receipt(
        shop_name=safe_text(shop_name),
        terminal_id=terminal_id,
        issued_at=outcome.approved_at or issued_at,
        receipt_code=outcome.receipt_code or (outcome.id or "-"),
        lines=tuple(lines),
        purses=tuple(purses),
        offline=outcome.status == "approved_offline",
        training=training,
        beneficiary=mask_national_id(outcome.masked_id) if outcome.masked_id else "",
        currency=currency,
    )


def _purses_before(basket: dict[str, Any]) -> tuple[Purse, ...]:
    """The purses as they stood before the sale, as the journal kept them."""
    purses = []
    for item in basket.get("purses_before", []):
        expires = item.get("expires_at")
        kind = _kind(item)
        purses.append(
            Purse(
                id=str(item["id"]),
                program=str(item.get("program") or ""),
                kind=kind,
                label_fa=str(item.get("label_fa") or ""),
                balance_rial=int(item.get("balance_rial") or 0),
                expires_at=datetime.fromisoformat(expires) if expires else None,
                entitlements=entitlements_from_json(item.get("entitlements")),
            )
        )
    return tuple(purses)


def _kind(item: dict[str, Any]) -> ProgramKind:
    try:
        return ProgramKind(item.get("kind") or ProgramKind.AMOUNT.value)
    except ValueError:
        return ProgramKind.AMOUNT


def _purses_after(answer: bytes | None) -> tuple[Purse, ...]:
    """The purses as the ledger's answer left them (entries written before the ledger's
    entitlements were kept have none: the receipt then counts them from the sale)."""
    if not answer:
        return ()
    return tuple(
        Purse(
            id=str(item["id"]),
            program=str(item.get("program") or ""),
            kind=_kind(item),
            balance_rial=int(item.get("balance_rial") or 0),
            entitlements=entitlements_from_json(item.get("entitlements")),
        )
        for item in json.loads(answer).get("purses_after", [])
    )


class ReceiptService:
    """Receipts of the sales in one lane's journal, shown and printed (again).

    ``printer`` gives the lane's printer or raises :class:`PrinterError`
    saying why there is none (the composition root opens it).
    ``group_names`` names free packages' entitlement groups on receipts.
    """

    def __init__(
        self,
        *,
        store: Store,
        shop_name: str,
        terminal_id: str,
        currency: Currency = "rial",
        training: bool = False,
        printer: Callable[[], Printer] | None = None,
        group_names: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.group_names = dict(group_names or {})
        self.shop_name = shop_name
        self.terminal_id = terminal_id
        self.currency: Currency = currency
        self._training = training
        self._printer = printer

    @property
    def training(self) -> bool:
        """Whether receipts are marked as training: asked for, or the lane was used for training."""
        return self._training or self.store.get_meta(TRAINING_META_KEY) == "1"

    def receipt_for(
        self,
        redemption_id: str,
        *,
        currency: Currency | None = None,
        training: bool = False,
    ) -> Receipt:
        """The receipt of the sale ``redemption_id`` as the journal keeps it.

        Raises :class:`ReceiptError` when there is no such sale or it did not
        go ahead (declined, refused, not known yet, abandoned, voided).
        """
        entry = self._entry(redemption_id)
        outcome = self._outcome(entry)
        receipt = receipt_from_outcome(
            outcome,
            shop_name=self.shop_name,
            terminal_id=self.terminal_id,
            issued_at=entry.created_at,
            currency=currency or self.currency,
            training=bool(training) or self.training,
            group_names=self.group_names,
        )
        if receipt is None:
            raise ReceiptError(f"the sale {entry.id} has no goods to print", code="no_receipt")
        return receipt

    def print(
        self,
        redemption_id: str,
        *,
        currency: Currency | None = None,
        training: bool = False,
    ) -> Receipt:
        """Print (or print again) the receipt of ``redemption_id``; the receipt printed.

        Raises :class:`ReceiptError` as :meth:`receipt_for` does, and
        :class:`PrinterError` when the printer is missing, cannot be opened or
        cannot print (out of paper, off line). The sale is never touched.
        """
        receipt = self.receipt_for(redemption_id, currency=currency, training=training)
        self.printer().print_receipt(receipt)
        return receipt

    def printer(self) -> Printer:
        """The lane's printer; :class:`PrinterError` when there is none or it cannot be opened."""
        if self._printer is None:
            raise PrinterError("no receipt printer is configured", code="no_printer")
        return self._printer()

    # ------------------------------------------------------------------ journal

    def _entry(self, redemption_id: str) -> JournalEntry:
        if not isinstance(redemption_id, str) or not redemption_id.strip():
            raise ReceiptError("give the id of a sale", code="not_found")
        entry = self.store.redemption(redemption_id.strip())
        if entry is None:
            raise ReceiptError(f"there is no sale {redemption_id} in the journal", code="not_found")
        if not self._went_ahead(entry):
            what = entry.status.value
            if entry.intent in ("abandon", "void"):
                what = "abandoned" if entry.intent == "abandon" else "being voided"
            raise ReceiptError(
                f"the sale {entry.id} did not go ahead ({what}): it has no receipt",
                code="no_receipt",
            )
        return entry

    @staticmethod
    def _went_ahead(entry: JournalEntry) -> bool:
        return entry.status in _WENT_AHEAD and entry.intent not in ("abandon", "void")

    @staticmethod
    def _outcome(entry: JournalEntry) -> SaleOutcome:
        outcome = outcome_from_entry(entry)
        basket = json.loads(entry.basket) if entry.basket else {}
        return replace(
            outcome,
            purses_before=_purses_before(basket),
            purses_after=_purses_after(entry.answer),
        )


def receipt_json(receipt: Receipt) -> dict[str, Any]:
    """A receipt as the ``receipt show --json`` object (amounts in Rials, the ID masked)."""

    def when(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    return {
        "receipt_code": receipt.receipt_code,
        "shop_name": receipt.shop_name,
        "terminal_id": receipt.terminal_id,
        "issued_at": when(receipt.issued_at),
        "household": receipt.beneficiary or None,
        "offline": receipt.offline,
        "training": receipt.training,
        "currency": receipt.currency,
        "lines": [
            {
                "name": line.name,
                "quantity_milli": line.quantity_milli,
                "unit": line.unit.value,
                "unit_price_rial": line.unit_price_rial,
                "amount_rial": line.amount_rial,
                "covered_rial": line.covered_rial,
                "waived_rial": line.waived_rial,
                "household_rial": line.household_rial,
                "paid_by": [
                    {"purse_id": p.purse_id, "amount_rial": p.amount_rial} for p in line.paid_by
                ],
            }
            for line in receipt.lines
        ],
        "purses": [
            {
                "purse_id": p.purse_id,
                "label": p.label,
                "balance_before_rial": p.balance_before_rial,
                "paid_rial": receipt.paid_by_purse(p.purse_id),
                "balance_after_rial": p.balance_after_rial,
                "expires_at": when(p.expires_at),
                "kind": p.kind.value,
                "entitlements": [
                    {
                        "group": e.group,
                        "label": e.label,
                        "unit": e.unit.value,
                        "before_milli": e.before_milli,
                        "used_milli": e.used_milli,
                        "after_milli": e.after_milli,
                    }
                    for e in p.entitlements
                ],
            }
            for p in receipt.purses
        ],
        "total_rial": receipt.total_rial,
        "covered_rial": receipt.covered_rial,
        "waived_rial": receipt.waived_rial,
        "household_rial": receipt.household_rial,
        "earliest_expiry": when(receipt.earliest_expiry),
    }
