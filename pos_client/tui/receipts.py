"""The receipt of a sale as the printer driver takes it, from the checkout's outcome.

A mapping only: :class:`~pos_client.services.redemptions.SaleOutcome` (what the
ledger approved, per line and purse, with balances before and after) into the
driver's frozen :class:`~drivers.printer.receipt.Receipt`. The screen shows the
same receipt it prints.
"""

from __future__ import annotations

from datetime import datetime

from drivers.printer.receipt import Receipt, ReceiptLine, ReceiptPayment, ReceiptPurse
from pos_client.services.redemptions import SaleOutcome

from .i18n import MoneyUnit

__all__ = ["receipt_for"]


def receipt_for(
    outcome: SaleOutcome,
    *,
    shop_name: str,
    terminal_id: str,
    issued_at: datetime,
    currency: MoneyUnit,
    training: bool,
) -> Receipt | None:
    """The receipt of a sale that went ahead, or None when there is nothing to print."""
    if not outcome.goes_ahead or not outcome.lines:
        return None
    applied = [a for a in outcome.allocations if a.status == "applied"]
    lines = []
    for index, line in enumerate(outcome.lines):
        payments: dict[str, int] = {}
        for allocation in applied:
            if allocation.line == index and allocation.amount_rial:
                payments[allocation.purse_id] = (
                    payments.get(allocation.purse_id, 0) + allocation.amount_rial
                )
        lines.append(
            ReceiptLine(
                name=line.name or line.gtin,
                quantity_milli=line.quantity_milli,
                unit_price_rial=line.unit_price_rial,
                amount_rial=line.amount_rial,
                unit=line.unit,
                paid_by=tuple(ReceiptPayment(pid, amount) for pid, amount in payments.items()),
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
        purses.append(
            ReceiptPurse(
                purse_id=purse.id,
                label=purse.label_fa or purse.program,
                balance_before_rial=purse.balance_rial,
                balance_after_rial=balance_after,
                expires_at=purse.expires_at,
            )
        )
    for purse_id in touched - {p.purse_id for p in purses}:
        purses.append(ReceiptPurse(purse_id, purse_id, 0, 0))
    return Receipt(
        shop_name=shop_name,
        terminal_id=terminal_id,
        issued_at=outcome.approved_at or issued_at,
        receipt_code=outcome.receipt_code or (outcome.id or "-"),
        lines=tuple(lines),
        purses=tuple(purses),
        offline=outcome.status == "approved_offline",
        training=training,
        beneficiary=outcome.masked_id or "",
        currency=currency,
    )
