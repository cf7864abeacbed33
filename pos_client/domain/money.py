"""Money (integer Rials) and quantities (integer thousandths): arithmetic and display.

No floats anywhere: amounts are ``int`` Rials, quantities ``int`` thousandths of
the product's unit. Imports only the standard library.
"""

from __future__ import annotations


def round_half_up_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half away from zero, in integers."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((2 * -numerator + denominator) // (2 * denominator))


def line_amount(quantity_milli: int, unit_price_rial: int) -> int:
    """A line's amount: ``round_half_up(quantity_milli * unit_price_rial / 1000)``."""
    return round_half_up_div(quantity_milli * unit_price_rial, 1000)
