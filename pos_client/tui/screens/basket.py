"""The basket: products appear as they are scanned, each line saying who pays it."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input

from pos_client.domain.models import ProgramKind
from pos_client.services.checkout import BasketView, Household

from ..views import basket_row, household_line, purse_balance, purse_label
from ..widgets.table import BidiTable, Column
from ..widgets.text import BidiText
from .base import PosScreen

__all__ = ["BASKET_COLUMNS", "BasketScreen"]

BASKET_COLUMNS = (
    Column("product", "basket.col.product", width=17),
    Column("quantity", "basket.col.quantity", numeric=True),  # numbers are never cut
    Column("price", "basket.col.price", numeric=True),
    Column("amount", "basket.col.amount", numeric=True),
    Column("payer", "basket.col.payer", width=18),
)


class BasketScreen(PosScreen[None]):
    TITLE_KEY = "basket.title"
    BINDINGS: ClassVar = [
        Binding("f2", "review", "key.review", key_display="F2"),
        Binding("f3", "quantity", "key.quantity", key_display="F3"),
        Binding("f4", "price", "key.price", key_display="F4"),
        Binding("f5", "remove", "key.remove", key_display="F5"),
        Binding("f6", "wallet", "key.wallet", key_display="F6"),
        Binding("f7", "weigh", "key.weigh", key_display="F7"),
        Binding("escape", "cancel", "key.cancel", key_display="Esc"),
        Binding("up", "cursor(-1)", show=False),
        Binding("down", "cursor(1)", show=False),
    ]

    def __init__(self, household: Household, view: BasketView) -> None:
        super().__init__()
        self.household = household
        self.view = view

    def compose_body(self) -> ComposeResult:
        yield BidiText(household_line(self.household, self.texts), id="household")
        yield BidiText(self._purses_text(), id="household-info")
        yield BidiTable(BASKET_COLUMNS, id="basket", fit_width=True)
        yield BidiText("", id="totals")
        yield BidiText("", id="payable")
        yield Input(
            placeholder=self.texts.line("basket.placeholder"),
            id="scan-input",
            max_length=4096,
            compact=True,
        )

    def _purses_text(self) -> str:
        texts = self.texts
        parts = []
        for purse in self.household.purses:
            if purse.kind is ProgramKind.QUANTITY:
                parts.append(purse_label(purse, texts))
            else:
                parts.append(f"{purse_label(purse, texts)}: {purse_balance(purse, texts)}")
        if self.household.from_card:
            parts.append(texts.t("status.from_card"))
        elif self.household.offline and self.household.wallet_as_of is not None:
            parts.append(texts.t("status.offline"))
        return " · ".join(parts) if parts else texts.t("wallet.none")

    def on_mount(self) -> None:
        super().on_mount()
        self.show_basket(self.view)
        self.query_one("#scan-input", Input).focus()

    def show_basket(self, view: BasketView, *, cursor: int | None = None) -> None:
        """Show ``view``; the cursor goes to line ``cursor``, or to the last line (a new scan)."""
        texts = self.texts
        self.view = view
        table = self.query_one("#basket", BidiTable)
        names = self.pos.flow.names
        rows = [
            (str(item.index), basket_row(item, self.household.purses, texts, names=names))
            for item in view.items
        ]
        styles = ["" if item.in_catalog else "italic" for item in view.items]
        table.set_rows(rows, styles=styles)
        if rows:
            last = len(rows) - 1
            table.move_cursor(row=last if cursor is None else max(0, min(cursor, last)))
        totals = self.query_one("#totals", BidiText)
        payable = self.query_one("#payable", BidiText)
        if view.items:
            totals.text = "   ".join(
                [
                    texts.t("basket.total", amount=texts.amount(view.total_rial)),
                    texts.t("basket.covered", amount=texts.amount(view.covered_rial)),
                ]
            )
            payable.text = texts.t("basket.payable", amount=texts.amount(view.payable_rial))
        else:
            totals.text = texts.t("basket.empty")
            payable.text = ""

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        latest = self.pos.flow.view
        if latest is not None and latest is not self.view:
            self.show_basket(latest)
        self.pos.flow.after_step()

    def selected_index(self) -> int | None:
        key = self.query_one("#basket", BidiTable).selected_key
        return None if key is None else int(key)

    @on(Input.Submitted, "#scan-input")
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        event.input.value = ""
        if not text:
            self.action_review()
            return
        self.pos.flow.scan_product(text)

    def handle_scan(self, text: str) -> None:
        self.pos.flow.scan_product(text)

    def action_cursor(self, step: int) -> None:
        table = self.query_one("#basket", BidiTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + step)))

    def _with_line(self, then: str) -> None:
        index = self.selected_index()
        if index is None:
            self.say(self.t("basket.no_line"), "warn")
            return
        getattr(self.pos.flow, then)(index)

    def action_quantity(self) -> None:
        self._with_line("change_quantity")

    def action_price(self) -> None:
        self._with_line("change_price")

    def action_remove(self) -> None:
        self._with_line("remove_line")

    def action_weigh(self) -> None:
        self._with_line("reweigh")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "weigh":
            return self.pos.scale is not None  # shown only where a scale is connected
        return True

    def action_wallet(self) -> None:
        self.pos.flow.show_wallet()

    def action_review(self) -> None:
        self.pos.flow.review()

    def action_cancel(self) -> None:
        self.pos.flow.cancel_sale()
