"""The days a terminal's Z reports have closed, read from the store, and the day of a new sale.

:func:`sale_business_date` is what the checkout dates a new sale with: the
calendar business day, or once a Z report has closed it the next day still
open (:func:`pos_client.domain.business_day.sale_date`). It costs one indexed
look-up of the Z reports per sale (two on the rare day after a close).

:func:`void_refusal_reason` is the reason the void service gives when the
ledger refuses a void: for a sale the ledger recorded on an earlier business
date, that a void is taken only on the sale's own day.

Imports the standard library, the domain and the redemption helpers; never an adapter.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from pos_client.domain.business_day import sale_date, void_refusal
from pos_client.ports import JournalEntry
from pos_client.services.redemptions import business_date as business_date_of

from .totals import _ledger_date

__all__ = ["ClosedDays", "ClosedDaysStore", "sale_business_date", "void_refusal_reason"]


class ClosedDaysStore(Protocol):
    """What reading the closed days needs of the store: a Z report found by its date."""

    def z_report(
        self, terminal_id: str, *, number: int | None = None, business_date: date | None = None
    ) -> object | None: ...


class ClosedDays:
    """The days the terminal's Z reports have closed, as a container (``day in closed``).

    Each day is looked up in the store once, when first asked about.
    """

    def __init__(self, store: ClosedDaysStore, terminal_id: str) -> None:
        self._store = store
        self._terminal_id = terminal_id
        self._known: dict[date, bool] = {}

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        if day not in self._known:
            record = self._store.z_report(self._terminal_id, business_date=day)
            self._known[day] = record is not None
        return self._known[day]


def sale_business_date(store: ClosedDaysStore, terminal_id: str, now: datetime) -> date:
    """The business date a sale made at ``now`` belongs to: never a day a Z report closed."""
    return sale_date(business_date_of(now), ClosedDays(store, terminal_id))


def void_refusal_reason(entry: JournalEntry, code: str | None, now: datetime) -> str | None:
    """The reason to report for a void of ``entry`` the ledger refused with ``code`` at ``now``.

    The day the ledger recorded the sale is its answer's ``approved_at`` (the
    journal's business date when there is none).
    """
    recorded_on = _ledger_date(entry) or entry.business_date
    return void_refusal(code, recorded_on=recorded_on, today=business_date_of(now))
