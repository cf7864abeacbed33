"""Review: the split over the purses, balances after, what the household pays; one key confirms."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding

from pos_client.services.checkout import BasketView, Household

from ..views import household_line, purse_splits, split_rows
from ..widgets.table import BidiTable, Column
from ..widgets.text import BidiText
from .base import PosScreen

__all__ = ["ReviewScreen"]

SPLIT_COLUMNS = (
    Column("purse", "review.col.purse", width=24),
    Column("pays", "review.col.pays", width=14, numeric=True),
    Column("before", "review.col.before", width=16, numeric=True),
    Column("after", "review.col.after", width=18, numeric=True),
)


class ReviewScreen(PosScreen[None]):
    TITLE_KEY = "review.title"
    BINDINGS: ClassVar = [
        Binding("enter,f2", "confirm", "key.confirm", key_display="Enter", priority=True),
        Binding("escape", "back", "key.back", key_display="Esc"),
    ]

    def __init__(self, household: Household, view: BasketView) -> None:
        super().__init__()
        self.household = household
        self.view = view

    def compose_body(self) -> ComposeResult:
        yield BidiText(household_line(self.household, self.texts), id="household")
        yield BidiTable(SPLIT_COLUMNS, id="split", cursor=False, fit_width=True)
        yield BidiText(self._totals(), id="review-totals")
        yield BidiText(
            self.t("review.payable") + ": " + self.texts.amount(self.view.payable_rial),
            id="review-payable",
        )
        yield BidiText(self.t("review.hint"), classes="hint")

    def _totals(self) -> str:
        texts = self.texts
        lines = [
            f"{texts.t('review.total')}: {texts.amount(self.view.total_rial)}",
            f"{texts.t('review.covered')}: {texts.amount(self.view.covered_rial)}",
        ]
        if self.view.waived_rial:
            lines.append(f"{texts.t('review.waived')}: {texts.amount(self.view.waived_rial)}")
        return "\n".join(lines)

    def on_mount(self) -> None:
        super().on_mount()
        rows = split_rows(purse_splits(self.view, self.household.purses), self.texts)
        self.query_one("#split", BidiTable).set_rows(rows)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("confirm", "back") and self.pos.flow.busy:
            return None
        return True

    def action_confirm(self) -> None:
        self.pos.flow.confirm()

    def action_back(self) -> None:
        self.dismiss(None)

    def handle_scan(self, text: str) -> None:
        """Another product while reviewing: back to the basket, where it is added."""
        if self.pos.flow.busy:  # confirming: this basket is already being written
            self.say(self.t("error.busy"), "warn")
            return
        self.dismiss(None)
        self.pos.flow.scan_product(text)
