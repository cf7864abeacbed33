"""How much a basket may hold: a line's quantity, unit price and amount, its lines, its total.

A quantity or a price enters the lane in many places (a scan, a scale, a
typed answer, the shop's price list, a basket file of ``pos-client redeem``),
and each of them checks it here before it reaches a basket, so that an absurd
number is refused with a sentence naming the bound instead of travelling on
to the journal (a signed 64-bit column) or the ledger. The bounds are the
contract's, where it has them (``ledger-api`` OpenAPI ``Line``: quantity at
most 10^9 thousandths, unit price at most 10^13 Rials, amount at most 10^15
Rials, at most 500 lines); the basket's total gets the same bound as a line.
A real shop never comes near any of them: a million pieces or kilograms on
one line, a unit price of a thousand billion Toman.

Each ``check_*`` returns the value checked and raises
:class:`~pos_client.domain.errors.ContractError` whose ``reason`` (also its
``code``) says which bound: ``invalid_quantity`` (not a whole number of
thousandths above zero), ``quantity_too_large``, ``invalid_price`` (not whole
Rials, negative, or above the bound), ``line_too_large``, ``too_many_lines``,
``total_too_large``. The message names the bound in English; the screen has a
sentence for each code in its catalogs.

Imports only the domain's errors, models and money.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from pos_client.domain.errors import ContractError
from pos_client.domain.models import BasketLine
from pos_client.domain.money import line_amount

__all__ = [
    "MAX_LINES",
    "MAX_LINE_AMOUNT_RIAL",
    "MAX_QUANTITY_MILLI",
    "MAX_TOTAL_RIAL",
    "MAX_UNIT_PRICE_RIAL",
    "check_basket",
    "check_line",
    "check_quantity_milli",
    "check_unit_price",
]

#: The most of one product on one line, in thousandths: a million pieces, kg or litres.
MAX_QUANTITY_MILLI: Final = 10**9
#: The highest unit price, in Rials (a thousand billion Toman).
MAX_UNIT_PRICE_RIAL: Final = 10**13
#: The largest amount of one line, in Rials.
MAX_LINE_AMOUNT_RIAL: Final = 10**15
#: The most lines in one basket.
MAX_LINES: Final = 500
#: The largest total of one basket, in Rials.
MAX_TOTAL_RIAL: Final = 10**15


def _whole(value: object) -> int | None:
    """``value`` if it is an ``int`` (not a ``bool``), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_quantity_milli(quantity_milli: object) -> int:
    """A line's quantity in thousandths: a whole number above zero, at most the bound."""
    value = _whole(quantity_milli)
    if value is None or value <= 0:
        raise ContractError(
            "invalid_quantity", "the quantity must be a whole number of thousandths above zero"
        )
    if value > MAX_QUANTITY_MILLI:
        raise ContractError(
            "quantity_too_large",
            f"a line's quantity is at most {MAX_QUANTITY_MILLI // 1000:,}"
            " (pieces, kilograms or litres)",
        )
    return value


def check_unit_price(unit_price_rial: object, *, allow_zero: bool = True) -> int:
    """A unit price: whole Rials, zero or more (above zero unless ``allow_zero``), in bounds."""
    lowest = 0 if allow_zero else 1
    value = _whole(unit_price_rial)
    if value is None or value < lowest:
        above = "zero or more" if allow_zero else "more than zero"
        raise ContractError("invalid_price", f"the price must be a whole number of Rials, {above}")
    if value > MAX_UNIT_PRICE_RIAL:
        raise ContractError(
            "invalid_price", f"a unit price is at most {MAX_UNIT_PRICE_RIAL:,} Rials"
        )
    return value


def check_line(quantity_milli: object, unit_price_rial: object, *, allow_zero: bool = True) -> int:
    """The amount of ``quantity_milli`` at ``unit_price_rial``, each and the amount in bounds."""
    amount = line_amount(
        check_quantity_milli(quantity_milli),
        check_unit_price(unit_price_rial, allow_zero=allow_zero),
    )
    if amount > MAX_LINE_AMOUNT_RIAL:
        raise ContractError(
            "line_too_large", f"a line's amount is at most {MAX_LINE_AMOUNT_RIAL:,} Rials"
        )
    return amount


def check_basket(lines: Iterable[BasketLine]) -> int:
    """The total of a basket whose every line, number of lines and total are in bounds.

    Call it with the basket as it would be after a change (a line added, a
    quantity or a price changed), before making the change.
    """
    total = 0
    count = 0
    for line in lines:
        count += 1
        if count > MAX_LINES:
            raise ContractError("too_many_lines", f"a basket holds at most {MAX_LINES:,} lines")
        total += check_line(line.quantity_milli, line.unit_price_rial)
        if total > MAX_TOTAL_RIAL:
            raise ContractError(
                "total_too_large", f"a basket's total is at most {MAX_TOTAL_RIAL:,} Rials"
            )
    return total
