"""How much a basket may hold (pos_client.domain.bounds): each bound refused with its sentence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_client.domain.bounds import (
    MAX_LINE_AMOUNT_RIAL,
    MAX_LINES,
    MAX_QUANTITY_MILLI,
    MAX_TOTAL_RIAL,
    MAX_UNIT_PRICE_RIAL,
    check_basket,
    check_line,
    check_quantity_milli,
    check_unit_price,
)
from pos_client.domain.errors import ContractError
from pos_client.domain.models import BasketLine
from pos_client.domain.money import MAX_INT64, line_amount

GTIN = "6260000000019"


def refused(call: object, *args: object, **kwargs: object) -> ContractError:
    with pytest.raises(ContractError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value


def test_the_bounds_are_the_contracts_and_fit_the_journal() -> None:
    # the ledger contract's Line: quantity_milli <= 10^9, unit_price_rial <= 10^13,
    # amount_rial <= 10^15, at most 500 lines
    assert (MAX_QUANTITY_MILLI, MAX_UNIT_PRICE_RIAL) == (10**9, 10**13)
    assert (MAX_LINE_AMOUNT_RIAL, MAX_LINES, MAX_TOTAL_RIAL) == (10**15, 500, 10**15)
    assert MAX_TOTAL_RIAL * 2 < MAX_INT64  # a total and a change on top still fit a column


def test_quantities_up_to_the_bound_are_taken_and_one_more_is_refused_naming_it() -> None:
    assert check_quantity_milli(1) == 1
    assert check_quantity_milli(MAX_QUANTITY_MILLI) == MAX_QUANTITY_MILLI
    error = refused(check_quantity_milli, MAX_QUANTITY_MILLI + 1)
    assert error.code == error.reason == "quantity_too_large"
    assert "at most 1,000,000" in error.message
    assert refused(check_quantity_milli, 123_456_789_000).code == "quantity_too_large"


@pytest.mark.parametrize("bad", [0, -1, 1.5, 1000.0, "1000", None, True])
def test_a_quantity_that_is_not_whole_thousandths_above_zero_is_refused(bad: object) -> None:
    error = refused(check_quantity_milli, bad)
    assert error.code == "invalid_quantity" and "above zero" in error.message


def test_prices_up_to_the_bound_are_taken_and_one_more_is_refused_naming_it() -> None:
    assert check_unit_price(0) == 0
    assert check_unit_price(MAX_UNIT_PRICE_RIAL) == MAX_UNIT_PRICE_RIAL
    error = refused(check_unit_price, MAX_UNIT_PRICE_RIAL + 1)
    assert error.code == "invalid_price"
    assert "at most 10,000,000,000,000 Rials" in error.message
    assert refused(check_unit_price, 0, allow_zero=False).code == "invalid_price"
    for bad in (-1, 1.5, "100", None, False):
        assert refused(check_unit_price, bad).code == "invalid_price"


def test_a_line_past_the_contracts_amount_is_refused_before_any_arithmetic_escapes() -> None:
    assert check_line(1250, 8_000_000) == 10_000_000
    assert check_line(1250, MAX_UNIT_PRICE_RIAL) == 12_500_000_000_000
    # the example: a total of 10^18 Rials from one line of 100,000 at 10^13
    error = refused(check_line, 100_000_000, MAX_UNIT_PRICE_RIAL)
    assert error.code == "line_too_large"
    assert "at most 1,000,000,000,000,000 Rials" in error.message
    assert refused(check_line, MAX_QUANTITY_MILLI, MAX_UNIT_PRICE_RIAL).code == "line_too_large"
    assert refused(check_line, MAX_QUANTITY_MILLI + 1, 1).code == "quantity_too_large"


def _line(quantity_milli: int, unit_price_rial: int) -> BasketLine:
    return BasketLine(gtin=GTIN, quantity_milli=quantity_milli, unit_price_rial=unit_price_rial)


def test_a_basket_is_bounded_in_lines_and_in_total() -> None:
    assert check_basket([]) == 0
    assert check_basket([_line(2000, 120_000), _line(1250, 8_000_000)]) == 10_240_000
    assert check_basket([_line(1000, 1)] * MAX_LINES) == MAX_LINES
    error = refused(check_basket, [_line(1000, 1)] * (MAX_LINES + 1))
    assert error.code == "too_many_lines" and "at most 500 lines" in error.message
    # each line in bounds, the sum not: 10 lines of 10^14 and one Rial more
    big = _line(10_000_000, 10**10)
    assert check_basket([big] * 10) == MAX_TOTAL_RIAL
    error = refused(check_basket, [big] * 10 + [_line(1000, 1)])
    assert error.code == "total_too_large"
    assert "at most 1,000,000,000,000,000 Rials" in error.message
    assert refused(check_basket, [_line(1000, MAX_UNIT_PRICE_RIAL + 1)]).code == "invalid_price"


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.tuples(st.integers(1, 10**12), st.integers(0, 10**15)), min_size=1, max_size=8
    )
)
def test_property_a_basket_in_bounds_has_a_total_in_bounds(lines: list[tuple[int, int]]) -> None:
    basket = [_line(q, p) for q, p in lines]
    try:
        total = check_basket(basket)
    except ContractError as exc:
        assert exc.code in (
            "quantity_too_large",
            "invalid_price",
            "line_too_large",
            "total_too_large",
        )
        return
    assert total == sum(line_amount(q, p) for q, p in lines) <= MAX_TOTAL_RIAL
    assert all(q <= MAX_QUANTITY_MILLI and p <= MAX_UNIT_PRICE_RIAL for q, p in lines)
