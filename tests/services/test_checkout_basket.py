"""The checkout's basket and stages, with a fake ledger and a real store (unit level)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pos_client.adapters.store import SqliteStore
from pos_client.domain.barcodes import gtin_check_digit
from pos_client.domain.models import (
    Beneficiary,
    Category,
    OfflinePolicy,
    Product,
    Program,
    ProgramKind,
    Purse,
    RuleSet,
    Unit,
    Wallet,
)
from pos_client.domain.offline import OfflineLimits
from pos_client.ports import SystemClock
from pos_client.services.checkout import CheckoutError, CheckoutService, CheckoutSession, Stage
from tests.support.fakes import FixedRules, WalletLedger

NOW = datetime.now(UTC)
RICE = "6260000000019"
CHICKEN = "6260000000118"  # sold by the kilogram

RULES = RuleSet(
    version="r-1",
    issued_at=NOW - timedelta(days=1),
    valid_until=NOW + timedelta(days=1),
    signing_keys=(),
    categories=(Category("rice", "برنج", "Rice"), Category("chicken", "مرغ", "Chicken")),
    programs=(
        Program(
            "kalabarg",
            "کالابرگ",
            ProgramKind.AMOUNT,
            ("rice", "chicken"),
            offline=OfflinePolicy(True, 5_000_000, 5_000_000),
        ),
    ),
    catalog_version="c-1",
    hot_list=frozenset(),
)
WALLET = Wallet(
    beneficiary=Beneficiary(ref="b_1", display_name="ع. رضایی"),
    requires_otp=False,
    offline_allowance_rial=3_000_000,
    purses=(
        Purse(
            "pu_1",
            "kalabarg",
            ProgramKind.AMOUNT,
            balance_rial=10_000_000,
            categories=("rice", "chicken"),
        ),
    ),
)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[CheckoutService]:
    store = SqliteStore.open(tmp_path / "lane.sqlite")
    store.load_catalog(
        version="c-1",
        full=True,
        etag=None,
        products=iter(
            [
                Product(RICE, "برنج", "rice"),
                Product(CHICKEN, "مرغ", "chicken", unit=Unit.KG),
            ]
        ),
    )
    store.import_prices([(RICE, 14_500_000, None), (CHICKEN, 1_300_000, "2012345")], at=NOW)
    yield CheckoutService(
        ledger=WalletLedger(WALLET),  # type: ignore[arg-type]
        store=store,
        clock=SystemClock(),
        rules=FixedRules(RULES),
        terminal_id="T-0001",
        city="rasht",
        offline=OfflineLimits(True, 5_000_000, 5_000_000, 50_000_000, 24),
    )
    store.close()


def ean13(body12: str) -> str:
    return body12 + str(gtin_check_digit(body12))


async def identified(service: CheckoutService) -> CheckoutSession:
    session = service.new_session()
    await session.identify_purchase_code("12345678")
    assert session.stage is Stage.BASKET
    return session


async def test_scale_labels_gs1_weights_and_the_price_list(service: CheckoutService) -> None:
    session = await identified(service)
    weight = ean13("20" + "12345" + "01250")  # 1.250 kg of the shop's scale item 12345
    view = session.scan(weight)
    line = view.items[0].line
    assert (line.gtin, line.quantity_milli, line.unit_price_rial) == (CHICKEN, 1250, 1_300_000)
    assert line.amount_rial == 1_625_000 and view.items[0].payers == ("pu_1",)
    gs1 = "]C101" + "0" + CHICKEN + "3103" + "000800"  # 0.800 kg
    view = session.scan(gs1)
    assert view.items[1].line.quantity_milli == 800
    price_label = ean13("25" + "9999" + "012345")  # 123,450 Rials, an item the list lacks
    view = session.scan(price_label)
    assert view.items[2].line.amount_rial == 123_450 and not view.items[2].in_catalog
    assert view.items[2].payers == ()
    assert view.payable_rial == 123_450 and view.covered_rial == view.total_rial - 123_450


async def test_bad_scans_and_missing_data_are_clear_errors_that_change_nothing(
    service: CheckoutService,
) -> None:
    session = await identified(service)
    session.scan(RICE)
    cases: dict[str, Callable[[], object]] = {
        "quantity_needed": lambda: session.scan(CHICKEN),
        "price_missing": lambda: session.scan("4006381333931"),
        "invalid_quantity": lambda: session.scan(RICE, quantity_milli=1500),
        "unknown_item": lambda: session.scan(ean13("20" + "54321" + "01000")),
        "not_a_product": lambda: session.scan("KB1.abc.def"),
        "bad_check_digit": lambda: session.scan("6260000000010"),
        "no_such_line": lambda: session.remove(5),
    }
    for code, action in cases.items():
        with pytest.raises(CheckoutError) as caught:
            action()
        assert caught.value.code == code, code
    assert len(session.basket().items) == 1


async def test_the_stages_guard_the_order_of_things(service: CheckoutService) -> None:
    session = service.new_session()
    with pytest.raises(CheckoutError):
        await session.confirm()
    with pytest.raises(CheckoutError) as caught:
        await session.identify(RICE)
    assert caught.value.code == "not_an_identity"
    with pytest.raises(CheckoutError):
        await session.identify("1234567890")  # a bad check digit
    session.scan(RICE)  # a basket may be started before the household is known
    assert session.basket().plan is None
    await session.identify_purchase_code("12345678")
    assert session.basket().covered_rial == 10_000_000
    with pytest.raises(CheckoutError):
        await session.identify_purchase_code("12345678")
    view = session.set_quantity(0, 2000)
    assert view.total_rial == 29_000_000 and view.payable_rial == 19_000_000


async def test_a_price_edit_keeps_the_line_in_its_place_and_plans_again(
    service: CheckoutService,
) -> None:
    session = await identified(service)
    session.scan(RICE)
    session.scan(CHICKEN, quantity_milli=1250)
    session.add_product("4006381333931", unit_price_rial=300_000)  # not in the catalog
    before = session.basket()
    assert before.covered_rial == 10_000_000  # the purse runs out: rice and chicken exceed it
    view = session.set_unit_price(0, 5_000_000)  # the shelf price of the rice, typed
    assert [item.line.gtin for item in view.items] == [item.line.gtin for item in before.items]
    assert [item.index for item in view.items] == [0, 1, 2]
    assert view.items[0].line.unit_price_rial == 5_000_000
    assert view.items[0].line.amount_rial == 5_000_000
    assert view.items[0].line.category == "rice" and view.items[0].in_catalog
    # the other lines are untouched; their split follows the new plan
    assert [i.line for i in view.items[1:]] == [i.line for i in before.items[1:]]
    assert before.items[1].covered_rial == 0 and view.items[1].covered_rial == 1_625_000
    assert view.total_rial == 5_000_000 + 1_625_000 + 300_000
    assert view.covered_rial == 5_000_000 + 1_625_000  # now the purse pays both in full
    assert view.payable_rial == 300_000
    assert view.items[0].covered_rial == 5_000_000 and view.items[0].payers == ("pu_1",)
    assert session.basket() == view


async def test_a_bad_price_edit_is_a_clear_error_that_changes_nothing(
    service: CheckoutService,
) -> None:
    session = await identified(service)
    session.scan(RICE)
    session.scan(CHICKEN, quantity_milli=1250)
    before = session.basket()
    bad_prices: list[object] = [0, -1, 1.5, 1_300_000.0, "1300000", None, True, 10**13 + 1]
    for price in bad_prices:
        with pytest.raises(CheckoutError) as caught:
            session.set_unit_price(1, price)  # type: ignore[arg-type]
        assert caught.value.code == "invalid_price", price
        assert caught.value.message  # a sentence for the cashier
        assert session.basket() == before
    for index in (2, -1, "0", 1.0, None):
        with pytest.raises(CheckoutError) as caught:
            session.set_unit_price(index, 1_000_000)  # type: ignore[arg-type]
        assert caught.value.code == "no_such_line", index
        assert session.basket() == before
    # the highest price add_product takes is taken here too
    assert session.set_unit_price(1, 10**13).items[1].line.unit_price_rial == 10**13


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    prices=st.lists(st.integers(1, 20_000_000), min_size=1, max_size=4),
    new_price=st.integers(1, 20_000_000),
    data=st.data(),
)
def test_a_repriced_basket_is_the_basket_bought_at_that_price(
    service: CheckoutService, prices: list[int], new_price: int, data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(prices) - 1), label="index")
    edited, direct = asyncio.run(identified(service)), asyncio.run(identified(service))
    for i, price in enumerate(prices):
        gtin = RICE if i % 2 == 0 else CHICKEN
        edited.add_product(gtin, quantity_milli=1000, unit_price_rial=price)
        direct.add_product(
            gtin, quantity_milli=1000, unit_price_rial=new_price if i == index else price
        )
    assert edited.set_unit_price(index, new_price) == direct.basket()
