"""Which business day a Z report closes and which a new sale belongs to (pure)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pos_client.domain.business_day import (
    BEFORE_FIRST_SALE,
    EMPTY_DAY,
    FUTURE_DATE,
    NO_SALES_YET,
    VOID_OTHER_DAY,
    close_refusal,
    day_to_close,
    sale_date,
    void_refusal,
)

DAY = date(2026, 12, 5)
ONE = timedelta(days=1)


def test_a_new_sale_belongs_to_today_unless_a_z_closed_it() -> None:
    assert sale_date(DAY, set()) == DAY
    assert sale_date(DAY, {DAY - ONE}) == DAY
    assert sale_date(DAY, {DAY}) == DAY + ONE
    assert sale_date(DAY, {DAY, DAY + ONE}) == DAY + 2 * ONE


@given(
    today=st.dates(date(2026, 1, 1), date(2027, 1, 1)),
    closed=st.sets(st.dates(date(2025, 12, 1), date(2027, 2, 1)), max_size=40),
)
def test_a_closed_day_never_takes_a_sale(today: date, closed: set[date]) -> None:
    day = sale_date(today, closed)
    assert day not in closed and day >= today
    assert all(d in closed for d in (today + k * ONE for k in range((day - today).days)))


def test_after_midnight_the_z_closes_the_day_that_had_sales() -> None:
    # 00:20 on DAY: yesterday had sales and is open, today has none yet.
    assert day_to_close(DAY, [DAY - ONE], set()) == DAY - ONE
    # The oldest open day with sales comes first; closed days are passed over.
    assert day_to_close(DAY, [DAY - 3 * ONE, DAY - ONE], {DAY - 3 * ONE}) == DAY - ONE
    # Nothing open with sales: today (closed before: shown again; empty: asked).
    assert day_to_close(DAY, [DAY - ONE], {DAY - ONE}) == DAY
    assert day_to_close(DAY, [], set()) == DAY
    # Sales made after today was closed belong to tomorrow: that is the day to close.
    assert day_to_close(DAY, [DAY, DAY + ONE], {DAY}) == DAY + ONE


def test_the_days_with_sales_are_read_only_as_far_as_the_first_open_one() -> None:
    read: list[date] = []

    def days() -> Iterator[date]:
        for k in range(10):
            read.append(DAY - (9 - k) * ONE)
            yield read[-1]

    assert day_to_close(DAY, days(), {DAY - 9 * ONE}) == DAY - 8 * ONE
    assert read == [DAY - 9 * ONE, DAY - 8 * ONE]


def refusal(day: date, **kw: object) -> str | None:
    args: dict[str, object] = {
        "today": DAY,
        "closed": set(),
        "first_sale": DAY - 10 * ONE,
        "has_sales": True,
    }
    args.update(kw)
    return close_refusal(day, **args)  # type: ignore[arg-type]


def test_which_days_may_be_closed() -> None:
    assert refusal(DAY) is None and refusal(DAY - ONE) is None
    # Still to come; an empty tomorrow even when asked.
    assert refusal(DAY + ONE) == FUTURE_DATE
    assert refusal(DAY + ONE, has_sales=False, allow_empty=True) == FUTURE_DATE
    # Tomorrow already has the sales made after today was closed: it may be closed.
    assert refusal(DAY + ONE, closed={DAY}) is None
    # Before the first sale, or no sale at all: nothing to close, asked or not.
    assert refusal(date(1999, 1, 1), has_sales=False, allow_empty=True) == BEFORE_FIRST_SALE
    assert refusal(DAY - 11 * ONE) == BEFORE_FIRST_SALE
    assert refusal(DAY, first_sale=None, has_sales=False, allow_empty=True) == NO_SALES_YET
    # A day without sales: only when asked for.
    assert refusal(DAY - ONE, has_sales=False) == EMPTY_DAY
    assert refusal(DAY - ONE, has_sales=False, allow_empty=True) is None
    # A day closed before is shown again, whatever it is.
    assert refusal(date(1999, 1, 1), closed={date(1999, 1, 1)}, has_sales=False) is None


def test_a_void_refused_after_midnight_says_why() -> None:
    assert void_refusal("not_voidable", recorded_on=DAY - ONE, today=DAY) == VOID_OTHER_DAY
    # The same day: the ledger's own refusal stands; other refusals are untouched.
    assert void_refusal("not_voidable", recorded_on=DAY, today=DAY) == "not_voidable"
    assert void_refusal("not_voidable", recorded_on=None, today=DAY) == "not_voidable"
    assert void_refusal("not_found", recorded_on=DAY - ONE, today=DAY) == "not_found"
    assert void_refusal(None, recorded_on=DAY - ONE, today=DAY) is None
