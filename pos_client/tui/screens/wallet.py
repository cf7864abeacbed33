"""The household's credit: each purse's balance, expiry and city; free packages' items left."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding

from pos_client.domain.models import ProgramKind, Purse
from pos_client.services.checkout import Household

from ..views import earliest_expiry, household_line, purse_balance, purse_expiry, purse_label
from ..widgets.table import BidiTable, Column
from ..widgets.text import BidiText
from .base import PosScreen

__all__ = ["WalletScreen"]

WALLET_COLUMNS = (
    Column("purse", "wallet.col.purse", width=24),
    Column("balance", "wallet.col.balance", width=20),
    Column("expires", "wallet.col.expires", width=13),
    Column("city", "wallet.col.city", width=9),
)


class WalletScreen(PosScreen[None]):
    TITLE_KEY = "wallet.title"
    BINDINGS: ClassVar = [
        Binding("escape,f6", "close", "key.back", key_display="Esc"),
    ]

    def __init__(self, household: Household) -> None:
        super().__init__()
        self.household = household

    def compose_body(self) -> ComposeResult:
        yield BidiText(household_line(self.household, self.texts), id="household")
        yield BidiTable(WALLET_COLUMNS, id="purses", cursor=False, fit_width=True)
        yield BidiText(self._notes(), id="wallet-notes")

    def _notes(self) -> str:
        texts = self.texts
        notes = [
            f"{purse_label(purse, texts)}: {purse_balance(purse, texts)}"
            for purse in self.household.purses
            if purse.kind is ProgramKind.QUANTITY
        ]
        earliest = earliest_expiry(self.household.purses, self.pos.now())
        if earliest is not None:
            notes.append(texts.t("wallet.earliest_expiry", date=texts.date(earliest)))
        if self.household.offline_allowance_rial:
            notes.append(
                texts.t(
                    "wallet.offline_allowance",
                    amount=texts.amount(self.household.offline_allowance_rial),
                )
            )
        return "\n".join(notes)

    def on_mount(self) -> None:
        super().on_mount()
        texts = self.texts
        now = self.pos.now()
        rows = [
            (
                purse.id,
                [
                    purse_label(purse, texts),
                    self._balance(purse),
                    purse_expiry(purse, texts, now),
                    texts.city(purse.city),
                ],
            )
            for purse in self.household.purses
        ]
        self.query_one("#purses", BidiTable).set_rows(rows)
        if not rows:
            self.say(texts.t("wallet.none"), "warn")

    def _balance(self, purse: Purse) -> str:
        """A purse's balance; a free package's items are listed under the table, in full."""
        if purse.kind is ProgramKind.QUANTITY and len(purse.entitlements) > 1:
            return self.texts.t("wallet.package_groups", n=len(purse.entitlements))
        return purse_balance(purse, self.texts)

    def action_close(self) -> None:
        self.dismiss(None)
