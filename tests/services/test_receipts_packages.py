"""A free package's receipt (Yasna), from real sales on the sandbox ledger.

A quantity purse has no balance in money, so its receipt says what each
entitlement group the sale used held before and after, in items; the
journal keeps what that needs, and entries written before it did still give
a receipt.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from typing import Any

from drivers.printer.render import ReceiptRenderer, entitlement_change
from pos_client.adapters.sqlite.packing import unpack_text
from pos_client.commands.receipt import receipt_lines
from pos_client.domain.models import ProgramKind, Unit
from pos_client.domain.money import to_persian_digits
from pos_client.domain.receipt import ReceiptEntitlement
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.group_names import group_names
from pos_client.services.receipts import receipt_from_outcome, receipt_json
from tests.support.lane import MILK_1L, NOT_IN_CATALOG, lane, lane_config, national_id

DIAPERS_S3 = "6260000000330"  # diaper-s3
FORMULA = "6260000000361"  # infant-food
CEREAL = "6260000000378"  # infant-food
PACKAGE_PRICES = {DIAPERS_S3: 3_400_000, FORMULA: 1_900_000, CEREAL: 1_200_000}


def held(sandbox: RunningSandbox) -> tuple[str, dict[str, int]]:
    """The Yasna purse's id and what each of its groups holds (thousandths), from the ledger."""
    purse = next(p for p in sandbox.household("yasna")["purses"] if p["kind"] == "quantity")
    return purse["id"], {e["group"]: e["remaining_milli"] for e in purse["entitlements"]}


async def sell_package(app: Any, sandbox: RunningSandbox) -> Any:
    app.store.import_prices([(g, p, None) for g, p in PACKAGE_PRICES.items()], at=app.clock.now())
    session = app.checkout.new_session()
    await session.identify(sandbox.mint_token(national_id(sandbox, "yasna")))
    session.scan(NOT_IN_CATALOG)  # a line no purse pays, before the ones they pay
    session.scan(DIAPERS_S3, quantity_milli=2000)
    session.scan(FORMULA)
    session.scan(CEREAL)
    session.scan(MILK_1L)
    outcome = await session.confirm()
    session.acknowledge()
    assert outcome.status == "approved" and outcome.id is not None, outcome
    return outcome


async def test_a_packages_receipt_has_its_entitlements_before_and_after_in_items(
    sandbox: RunningSandbox,
) -> None:
    yasna, before = held(sandbox)
    async with lane(sandbox) as app:
        outcome = await sell_package(app, sandbox)
        receipt = app.receipts.receipt_for(outcome.id)
        package = next(p for p in receipt.purses if p.purse_id == yasna)
        assert package.kind is ProgramKind.QUANTITY and package.is_package
        # only the groups the sale used, each in items before and after, as the ledger says
        ledger_after = next(p for p in outcome.purses_after if p.id == yasna)
        after = {e.group: e.remaining_milli for e in ledger_after.entitlements}
        names = group_names("fa")
        assert [
            (e.group, e.label, e.unit, e.before_milli, e.after_milli) for e in package.entitlements
        ] == [
            ("diaper-s3", names["diaper-s3"], Unit.PIECE, before["diaper-s3"], after["diaper-s3"]),
            (
                "infant-food",
                names["infant-food"],
                Unit.PIECE,
                before["infant-food"],
                after["infant-food"],
            ),
        ]
        assert [e.used_milli for e in package.entitlements] == [2000, 2000]
        # what the package paid: the diapers, the formula and the cereal at their prices
        assert receipt.paid_by_purse(yasna) == 2 * 3_400_000 + 1_900_000 + 1_200_000
        # each line is paid by the purse that paid it (the ledger numbers only the lines sent)
        paid = {line.name: [p.purse_id for p in line.paid_by] for line in receipt.lines}
        assert paid[NOT_IN_CATALOG] == []
        assert receipt.lines[1].paid_by[0].purse_id == yasna
        assert receipt.lines[4].paid_by and receipt.lines[4].paid_by[0].purse_id != yasna
        assert receipt.household_rial == outcome.payable_rial
        # the screen's receipt (from the live outcome) and the journal's are one and the same
        shown = receipt_from_outcome(
            outcome,
            shop_name=receipt.shop_name,
            terminal_id="T-0001",
            issued_at=app.clock.now(),
            currency=receipt.currency,
            training=False,
            group_names=names,
        )
        assert shown == receipt
        # the JSON and the command line's text say it too, never "0 -> 0"
        document = receipt_json(receipt)
        entry = next(p for p in document["purses"] if p["purse_id"] == yasna)
        assert entry["kind"] == "quantity"
        assert [
            (e["group"], e["before_milli"], e["used_milli"], e["after_milli"])
            for e in entry["entitlements"]
        ] == [
            ("diaper-s3", before["diaper-s3"], 2000, after["diaper-s3"]),
            ("infant-food", before["infant-food"], 2000, after["infant-food"]),
        ]
        text = "\n".join(receipt_lines(receipt))
        assert f"{before['diaper-s3'] // 1000} -> {after['diaper-s3'] // 1000} piece" in text
        assert f"{package.label}: 0 -> 0" not in text
        # the paper: a package's rows are drawn, in Persian digits, in words
        was, left = (
            to_persian_digits(str(n // 1000)) for n in (before["diaper-s3"], after["diaper-s3"])
        )
        assert entitlement_change(package.entitlements[0]) == f"از {was} به {left} عدد"
        renderer = ReceiptRenderer(width_px=384)
        plain = replace(receipt, purses=tuple(replace(p, entitlements=()) for p in receipt.purses))
        assert renderer.render(receipt).height > renderer.render(plain).height


async def test_an_entry_written_before_entitlements_were_kept_still_has_a_receipt(
    sandbox: RunningSandbox,
) -> None:
    yasna, _ = held(sandbox)
    async with lane(sandbox) as app:
        outcome = await sell_package(app, sandbox)
    path = lane_config(sandbox).store.path
    # strip what older versions did not write: line groups, entitlements, kinds after
    with sqlite3.connect(path) as db:
        basket_text, answer_text = db.execute(
            "SELECT basket, answer FROM journal WHERE id = ?", (outcome.id,)
        ).fetchone()
        # a final row's documents are kept packed
        basket = json.loads(unpack_text(basket_text) or "")
        answer = json.loads(unpack_text(answer_text) or "")
        for line in basket["lines"]:
            line.pop("groups")
        for purse in basket["purses_before"]:
            purse.pop("entitlements")
        for purse in answer["purses_after"]:
            purse.pop("entitlements")
            purse.pop("kind")
        db.execute(
            "UPDATE journal SET basket = ?, answer = ? WHERE id = ?",
            (
                json.dumps(basket, ensure_ascii=False),
                json.dumps(answer, ensure_ascii=False),
                outcome.id,
            ),
        )
    async with lane(sandbox, sync=False) as app:
        receipt = app.receipts.receipt_for(outcome.id)
    package = next(p for p in receipt.purses if p.purse_id == yasna)
    assert package.is_package and package.entitlements == ()  # nothing to say, nothing made up
    assert receipt.paid_by_purse(yasna) == 2 * 3_400_000 + 1_900_000 + 1_200_000
    assert receipt.total_rial == outcome.total_rial


def test_a_group_counted_in_kilograms_keeps_its_decimals_on_paper() -> None:
    kilos = ReceiptEntitlement("infant-food", "غذای کودک", 2500, 1250, Unit.KG)
    assert kilos.used_milli == 1250
    assert entitlement_change(kilos) == "از ۲٫۵ به ۱٫۲۵ کیلوگرم"
    litres = ReceiptEntitlement("hygiene", "بهداشت", 1000, 0, Unit.LITRE)
    assert entitlement_change(litres) == "از ۱ به ۰ لیتر"
