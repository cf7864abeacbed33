"""A basket past the bounds of pos_client.domain.bounds is refused where it enters.

The checkout (unit level: a fake ledger, a real store) refuses a quantity, a
price, a line, a number of lines or a total past its bound with a
CheckoutError naming it, and changes nothing; ``pos-client redeem`` refuses
such a basket file (exit 2) instead of ending in an internal error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pos_client.domain.bounds import MAX_LINES, MAX_QUANTITY_MILLI, MAX_UNIT_PRICE_RIAL
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.checkout import CheckoutError, CheckoutService
from tests.support.cli import basket, cli
from tests.support.lane import NOT_IN_CATALOG, PASTA, national_id

from .test_checkout_basket import CHICKEN, RICE, identified, service  # noqa: F401


async def test_each_bound_is_refused_with_its_sentence_and_the_basket_is_unchanged(
    service: CheckoutService,  # noqa: F811
) -> None:
    session = await identified(service)
    session.scan(RICE)
    session.scan(CHICKEN, quantity_milli=1250)
    session.scan(NOT_IN_CATALOG, unit_price_rial=MAX_UNIT_PRICE_RIAL)  # the highest price
    before = session.basket()
    cases = {
        "quantity_too_large": lambda: session.scan(CHICKEN, quantity_milli=123_456_789_000),
        "line_too_large": lambda: session.scan(
            NOT_IN_CATALOG, quantity_milli=100_000_000, unit_price_rial=MAX_UNIT_PRICE_RIAL
        ),
        "invalid_price": lambda: session.scan(RICE, unit_price_rial=MAX_UNIT_PRICE_RIAL + 1),
    }
    for code, action in cases.items():
        with pytest.raises(CheckoutError) as caught:
            action()
        assert caught.value.code == code, code
        assert "at most" in caught.value.message
        assert session.basket() == before
    with pytest.raises(CheckoutError) as caught:
        session.set_quantity(1, MAX_QUANTITY_MILLI + 1000)
    assert caught.value.code == "quantity_too_large"
    with pytest.raises(CheckoutError) as caught:
        session.set_quantity(2, 101_000)  # 101 pieces at the highest price
    assert caught.value.code == "line_too_large"
    assert session.set_quantity(2, 99_000).items[2].line.amount_rial == 99 * 10**13
    session.set_quantity(2, 1000)
    assert session.basket() == before


async def test_a_basket_is_bounded_in_its_total_and_its_lines(
    service: CheckoutService,  # noqa: F811
) -> None:
    session = await identified(service)
    for _ in range(10):  # ten lines of 10^14 Rials: the total is at its bound
        session.scan(NOT_IN_CATALOG, quantity_milli=10_000_000, unit_price_rial=10**10)
    before = session.basket()
    assert before.total_rial == 10**15
    with pytest.raises(CheckoutError) as caught:
        session.scan(RICE)
    assert caught.value.code == "total_too_large"
    with pytest.raises(CheckoutError) as caught:
        session.set_unit_price(0, 10**10 + 1)
    assert caught.value.code == "total_too_large"
    assert session.basket() == before
    session.remove(0)
    for _ in range(MAX_LINES - 9):
        session.scan(NOT_IN_CATALOG, quantity_milli=1000, unit_price_rial=1)
    assert len(session.basket().items) == MAX_LINES
    with pytest.raises(CheckoutError) as caught:
        session.scan(NOT_IN_CATALOG, quantity_milli=1000, unit_price_rial=1)
    assert caught.value.code == "too_many_lines"


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        (
            [{"barcode": NOT_IN_CATALOG, "quantity_milli": 10**8, "unit_price_rial": 10**13}],
            "basket line 0: a line's amount is at most 1,000,000,000,000,000 Rials",
        ),
        (
            [{"barcode": NOT_IN_CATALOG, "quantity_milli": 10**10, "unit_price_rial": 1}],
            "basket line 0: a line's quantity is at most 1,000,000",
        ),
        (
            [{"barcode": PASTA, "unit_price_rial": 10**13 + 1}],
            "basket line 0: a unit price is at most 10,000,000,000,000 Rials",
        ),
        (
            [{"barcode": NOT_IN_CATALOG, "quantity_milli": 10**8, "unit_price_rial": 10**10}] * 2,
            "a basket's total is at most 1,000,000,000,000,000 Rials",
        ),
    ],
)
def test_redeem_refuses_a_basket_past_the_bounds_with_a_sentence(
    sandbox: RunningSandbox, tmp_path: Path, lines: list[dict[str, object]], says: str
) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    path = basket(tmp_path, {"barcode": PASTA, "unit_price_rial": 420_000}, *lines)
    config = str(sandbox.config_path("T-0001"))
    result = cli("redeem", "--config", config, "--token", token, "--basket", path, "--json")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert says.replace("line 0", "line 1") in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
