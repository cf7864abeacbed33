"""Business days as the Z report closes them: which day to close, which a new sale belongs to.

A business date is the date in Asia/Tehran (the contract's). A Z report closes
one business date of one terminal for good, so the rules here keep a close
from landing on the wrong day:

- :func:`day_to_close`: the day a Z report closes when none is named: the
  oldest day that is still open and has something in the journal, else the
  calendar day. A shop that closes at 00:20 closes the day it sold on, not the
  one that has just begun.
- :func:`close_refusal`: whether a named day may be closed: never a day still
  to come (after the day a new sale belongs to, or an empty day after today),
  never a day before the terminal's first sale (a Z report for 1999-01-01 would
  use up a number for nothing), and a day with nothing in the journal only
  when the person asks for it.
- :func:`sale_date`: the business date a new sale belongs to: the calendar day,
  or, once that day is closed, the next day that is not (as the ledger dates a
  redemption by the day it arrives).
- :func:`void_refusal`: the reason given when the ledger refuses a void of a
  sale it recorded on an earlier business date (a ledger voids only on the
  redemption's own business date).

Pure: the standard library only; the calendar day of "now" is the caller's.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from datetime import date, timedelta

__all__ = [
    "BEFORE_FIRST_SALE",
    "EMPTY_DAY",
    "FUTURE_DATE",
    "NO_SALES_YET",
    "VOID_OTHER_DAY",
    "close_refusal",
    "day_to_close",
    "sale_date",
    "void_refusal",
]

#: The day is still to come: only a day begun (or one a sale already belongs to) is closed.
FUTURE_DATE = "future_date"
#: The day is before the terminal's first sale: there is nothing to close.
BEFORE_FIRST_SALE = "before_first_sale"
#: The terminal has no sale at all yet.
NO_SALES_YET = "no_sales_yet"
#: The day has nothing in the journal; closed only when asked for.
EMPTY_DAY = "empty_day"
#: The ledger refused a void of a sale recorded on an earlier business date.
VOID_OTHER_DAY = "void_other_day"

_ONE_DAY = timedelta(days=1)


def sale_date(today: date, closed: Container[date]) -> date:
    """The business date of a sale made on calendar day ``today``, given the ``closed`` days.

    ``today`` itself unless a Z report has closed it; then the first day after
    it that is not closed. A closed day never takes another sale.
    """
    day = today
    while day in closed:
        day += _ONE_DAY
    return day


def day_to_close(today: date, sale_days: Iterable[date], closed: Container[date]) -> date:
    """The day a Z report closes when none is named.

    The first of ``sale_days`` (days with something in the journal, oldest
    first) that is not ``closed`` and not after the day a new sale belongs to;
    when every day with sales is closed, ``today`` (the calendar day: closed
    already, its report is shown again; empty, it is closed only when asked).
    ``sale_days`` is read only as far as that first open day.
    """
    last = sale_date(today, closed)
    for day in sale_days:
        if day > last:
            break
        if day not in closed:
            return day
    return today


def close_refusal(
    day: date,
    *,
    today: date,
    closed: Container[date],
    first_sale: date | None,
    has_sales: bool,
    allow_empty: bool = False,
) -> str | None:
    """Why ``day`` may not be closed now (one of the codes above), or ``None``.

    ``today`` is the calendar business day, ``closed`` the days closed so far,
    ``first_sale`` the business date of the terminal's first journal entry
    (``None``: it has none) and ``has_sales`` whether ``day`` has any. A day
    closed already is not refused: its report is shown again.
    """
    if day in closed:
        return None
    if day > sale_date(today, closed) or (day > today and not has_sales):
        return FUTURE_DATE
    if first_sale is None:
        return NO_SALES_YET
    if day < first_sale:
        return BEFORE_FIRST_SALE
    if not has_sales and not allow_empty:
        return EMPTY_DAY
    return None


def void_refusal(code: str | None, *, recorded_on: date | None, today: date) -> str | None:
    """The reason to show for a void the ledger refused with ``code``.

    ``not_voidable`` for a sale the ledger recorded (``recorded_on``) before
    ``today``, the current business date, is :data:`VOID_OTHER_DAY`: a void is
    taken only on the sale's own business date, and saying so is the reason.
    Any other refusal keeps its own code.
    """
    if code == "not_voidable" and recorded_on is not None and recorded_on < today:
        return VOID_OTHER_DAY
    return code
