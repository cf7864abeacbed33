"""The outcome of a sale: approved, approved offline, declined with the reason, or not known yet;
with the receipt on screen and its QR code."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll

from pos_client.services.redemptions import SaleOutcome

from ..i18n import Texts
from ..views import entitlement_change, outcome_reason, outcome_verdict
from ..widgets.qr import QrCode
from ..widgets.text import BidiText
from .base import PosScreen

if TYPE_CHECKING:
    from pos_client.domain.receipt import Receipt

__all__ = ["ResultScreen", "receipt_text"]


def receipt_text(receipt: Receipt, texts: Texts) -> str:
    """The receipt as lines of logical text (what the printer prints, for the screen)."""
    lines = [receipt.shop_name] if receipt.shop_name else []
    lines.append(texts.t("receipt.terminal", terminal=receipt.terminal_id))
    lines.append(texts.t("receipt.time", time=texts.datetime(receipt.issued_at)))
    lines.append(texts.t("receipt.code", code=receipt.receipt_code))
    if receipt.beneficiary:
        lines.append(texts.value(texts.digits(receipt.beneficiary)))
    lines.append("─" * 20)
    for line in receipt.lines:
        lines.append(
            texts.t(
                "receipt.line",
                name=line.name,
                quantity=texts.quantity(line.quantity_milli, line.unit),
            )
            + "  "
            + texts.amount(line.amount_rial, with_unit=False)
        )
    lines.append("─" * 20)
    lines.append(texts.t("receipt.total", amount=texts.amount(receipt.total_rial)))
    lines.append(texts.t("receipt.covered", amount=texts.amount(receipt.covered_rial)))
    if receipt.waived_rial:
        lines.append(f"{texts.t('review.waived')}: {texts.amount(receipt.waived_rial)}")
    lines.append(texts.t("receipt.payable", amount=texts.amount(receipt.household_rial)))
    for purse in receipt.purses:
        if purse.is_package:  # a free package counts items, not money
            paid = texts.amount(receipt.paid_by_purse(purse.purse_id))
            lines.append(texts.t("receipt.package", purse=purse.label, amount=paid))
            for entitlement in purse.entitlements:
                name = (
                    texts.group(entitlement.group)
                    if texts.has(f"group.{entitlement.group}")
                    else texts.data(entitlement.label)
                )
                change = entitlement_change(
                    entitlement.before_milli, entitlement.after_milli, entitlement.unit, texts
                )
                lines.append(texts.t("receipt.entitlement", item=name, change=change))
            continue
        lines.append(
            texts.t(
                "receipt.balance",
                purse=purse.label,
                before=texts.amount(purse.balance_before_rial),
                after=texts.amount(purse.balance_after_rial),
            )
        )
    expiries = [p.expires_at for p in receipt.purses if p.expires_at is not None]
    if expiries:
        lines.append(texts.t("receipt.expiry", date=texts.date(min(expiries))))
    if receipt.offline:
        lines.append(texts.t("receipt.offline"))
    if receipt.training:
        lines.append(texts.t("receipt.training"))
    return "\n".join(lines)


class ResultScreen(PosScreen[None]):
    BINDINGS: ClassVar = [
        Binding("enter", "new_sale", "key.new_sale", key_display="Enter", priority=True),
        Binding("f2", "resolve", "key.resolve", key_display="F2"),
        Binding("f3", "reprint", "key.reprint", key_display="F3"),
        Binding("f4", "abandon", "key.abandon", key_display="F4"),
        Binding("f7", "void_last", "key.void", key_display="F7"),
        Binding("escape", "back", "key.back", key_display="Esc"),
    ]

    def __init__(self, outcome: SaleOutcome, receipt: Receipt | None) -> None:
        super().__init__()
        self.outcome = outcome
        self.receipt = receipt

    def compose_body(self) -> ComposeResult:
        texts = self.texts
        key, style = outcome_verdict(self.outcome)
        yield BidiText(texts.t(key), id="verdict", classes=style)
        notes = self._notes()
        if notes:
            yield BidiText(notes, classes="hint")
        with Horizontal(id="result-row"):
            if self.receipt is not None:
                if texts.persian:
                    yield QrCode(self.receipt.receipt_code, id="receipt-qr")
                with VerticalScroll(id="receipt"):
                    yield BidiText(receipt_text(self.receipt, texts))
                if not texts.persian:
                    yield QrCode(self.receipt.receipt_code, id="receipt-qr")

    def _notes(self) -> str:
        texts = self.texts
        outcome = self.outcome
        notes = []
        reason = outcome_reason(outcome, texts)
        if reason:
            notes.append(reason)
        if outcome.status == "approved_offline":
            if outcome.offline_source == "household_card":
                notes.append(texts.t("result.from_card"))
            notes.append(texts.t("result.offline_note"))
        elif outcome.status == "refused_offline":
            notes.append(texts.t("result.refused_note"))
        elif outcome.status in ("unknown", "pending"):
            notes.append(texts.t("result.unknown_note"))
        elif outcome.status == "declined":
            notes.append(texts.t("result.declined_note"))
        elif outcome.status == "approved_unsaved":
            notes.append(texts.t("result.unsaved_note"))
        if outcome.goes_ahead:
            notes.append(texts.t("result.collect", amount=texts.amount(outcome.payable_rial)))
            if outcome.receipt_code and self.receipt is None:
                notes.append(texts.t("result.receipt_code", code=outcome.receipt_code))
        return "\n".join(notes)

    @property
    def _unknown(self) -> bool:
        return self.outcome.status in ("unknown", "pending")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.pos.flow.busy and action in ("new_sale", "resolve", "abandon", "back"):
            return None
        if action in ("resolve", "abandon"):
            return self._unknown
        if action == "new_sale":
            return not self._unknown
        if action == "back":
            return self.outcome.status in ("declined", "refused_offline")
        if action in ("reprint", "void_last"):
            return self.outcome.goes_ahead
        return True

    def action_new_sale(self) -> None:
        self.pos.flow.new_sale()

    def action_resolve(self) -> None:
        self.pos.flow.resolve()

    def action_abandon(self) -> None:
        self.pos.flow.abandon()

    def action_back(self) -> None:
        self.pos.flow.back_to_basket()

    def action_reprint(self) -> None:
        self.pos.flow.reprint()

    def action_void_last(self) -> None:
        self.pos.flow.void_last()
