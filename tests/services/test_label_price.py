"""A GS1 weight-and-price label whose price the contract's rounding cannot charge."""

from __future__ import annotations

from pathlib import Path

import pytest

from pos_client.domain.money import line_amount
from pos_client.errors import LabelPriceMismatch
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.checkout import CheckoutService
from tests.support.cli import basket, cli, config
from tests.support.lane import national_id

from .test_checkout_basket import CHICKEN, identified, service  # noqa: F401  (a fixture)


def label(gtin: str, grams: int, price_rial: int) -> str:
    """A GS1-128 label: GTIN, net weight in kg with 3 decimals, price in Rials."""
    return "]C1" + "01" + gtin.rjust(14, "0") + "3103" + f"{grams:06d}" + "3920" + str(price_rial)


async def test_a_label_price_the_rule_cannot_charge_is_refused_with_both_amounts(
    service: CheckoutService,  # noqa: F811
) -> None:
    session = await identified(service)
    with pytest.raises(LabelPriceMismatch) as caught:
        session.scan(label(CHICKEN, 5000, 100_003))  # 5 kg for 100,003 Rials
    exc = caught.value
    assert exc.code == "label_price_mismatch"
    assert (exc.label_price_rial, exc.charged_rial) == (100_003, 100_005)
    assert (exc.gtin, exc.quantity_milli, exc.unit_price_rial) == (CHICKEN, 5000, 20_001)
    assert line_amount(exc.quantity_milli, exc.unit_price_rial) == exc.charged_rial
    assert "100,003" in exc.message and "100,005" in exc.message
    assert session.basket().items == ()  # nothing changed

    # The cashier's choice goes in as a unit price; a label the rule can charge goes in as is.
    view = session.add_product(CHICKEN, quantity_milli=5000, unit_price_rial=exc.unit_price_rial)
    assert view.items[0].line.amount_rial == 100_005
    view = session.scan(label(CHICKEN, 1250, 1_625_000))
    assert view.items[1].line.amount_rial == 1_625_000


def test_the_command_line_refuses_such_a_label_with_the_sentence(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    meat = next(p for p in sandbox.info["sample_products"] if p["unit"] == "kg")
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    path = basket(tmp_path, {"barcode": label(meat["gtin"], 5000, 100_003)})
    result = cli("redeem", "--config", config(sandbox), "--token", token, "--basket", path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "100,003" in result.stderr and "100,005" in result.stderr
