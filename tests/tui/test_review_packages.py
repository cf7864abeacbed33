"""A free package (Yasna) on the review screen and the on-screen receipt, at 80x24.

A quantity purse has no balance in money: the review shows the value it pays
and, under it, each entitlement group the basket takes from with what it
takes, what the group holds now and what is left; amount purses keep their
columns. Everything must stay on an 80-column screen in Persian and English.
The screens are read as rendered (the table's lines, the receipt's text),
against the real sandbox ledger.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.geometry import Region

from pos_client.domain.models import Entitlement, ProgramKind, Purse, Unit
from pos_client.domain.money import to_persian_digits
from pos_client.tui.i18n import Texts
from pos_client.tui.rtl import LRI, PDI, strip_controls
from pos_client.tui.screens.result import ResultScreen
from pos_client.tui.screens.review import ReviewScreen
from pos_client.tui.views import (
    GroupUse,
    PurseSplit,
    entitlement_change,
    quantity_text,
    split_rows,
)
from pos_client.tui.widgets.table import BidiTable
from pos_client.tui.widgets.text import BidiText

from .conftest import app_for, product
from .pilot import message, scan, settle, until

DIAPERS_S3 = "6260000000330"  # Yasna's diaper-s3 group
FORMULA = "6260000000361"  # infant-food
CEREAL = "6260000000378"  # infant-food as well
FA, EN = Texts(lang="fa"), Texts(lang="en")


def quantity(texts: Texts, items: int) -> str:
    """Whole pieces as the lane writes them, built here from the number alone."""
    if texts.persian:
        return f"{LRI}{to_persian_digits(str(items))}{PDI} عدد"
    return "1 pc" if items == 1 else f"{items} pcs"


def on_screen(texts: Texts, logical: str) -> str:
    """A piece of logical text as the terminal shows it (shaped, ordered), without controls."""
    return strip_controls(texts.show_data(logical))


def rendered_lines(table: BidiTable) -> list[str]:
    """The table's lines as drawn on the terminal."""
    strips = table.render_lines(Region(0, 0, table.size.width, table.size.height))
    return [strip_controls(strip.text) for strip in strips]


def price(sandbox: Any, gtin: str) -> int:
    for item in sandbox.info["sample_products"]:
        if item["gtin"] == gtin:
            return int(item["price_rial"])
    raise LookupError(gtin)


async def to_review(pilot: Any, sandbox: Any, *barcodes: str) -> ReviewScreen:
    app = pilot.app
    await scan(pilot, sandbox.mint_token(sandbox.household("yasna")["national_id"]))
    for barcode in barcodes:
        await scan(pilot, barcode)
    await pilot.press("f2")
    await settle(pilot)
    assert isinstance(app.screen, ReviewScreen), message(app)
    return app.screen


@pytest.mark.parametrize("lang", ["fa", "en"])
async def test_the_review_shows_each_entitlement_used_and_keeps_the_amount_columns(
    sandbox: Any, lane: Any, lang: str
) -> None:
    household = sandbox.household("yasna")
    yasna = next(p for p in household["purses"] if p["kind"] == "quantity")
    held = {e["group"]: e["remaining_milli"] // 1000 for e in yasna["entitlements"]}
    milk = product(sandbox, "milk-lowfat")
    app = app_for(lane, language=lang)
    async with app.run_test(size=(80, 24)) as pilot:
        review = await to_review(pilot, sandbox, DIAPERS_S3, FORMULA, CEREAL, milk["gtin"])
        texts = app.texts
        table = review.query_one("#split", BidiTable)
        plan = review.view.plan
        assert plan is not None
        payers = {a.purse_id for a in plan.allocations}
        amount_purse = next(
            p for p in household["purses"] if p["kind"] == "amount" and p["id"] in payers
        )
        keys = [str(row.key.value) for row in table.ordered_rows]
        # the amount purse, the package, then one row for each group it gives from
        assert keys == [
            amount_purse["id"],
            yasna["id"],
            f"{yasna['id']}/diaper-s3",
            f"{yasna['id']}/infant-food",
        ]
        # nothing runs off the 80 columns: no sideways scrolling, every line inside the screen
        assert table.size.width <= 80 and table.max_scroll_x == 0
        lines = rendered_lines(table)
        assert all(len(line) <= 80 for line in lines)
        header, *rows = lines
        for key in ("review.col.purse", "review.col.pays", "review.col.before", "review.col.after"):
            assert on_screen(texts, texts.t(key)) in header, key
        by_key = dict(zip(keys, rows, strict=False))
        # the amount purse keeps its columns: what it pays, its balance now and after
        paid = price(sandbox, milk["gtin"])
        balance = int(amount_purse["balance_rial"])
        row = by_key[amount_purse["id"]]
        assert on_screen(texts, texts.amount(paid, with_unit=False)) in row
        assert on_screen(texts, texts.amount(balance)) in row
        assert on_screen(texts, texts.amount(balance - paid)) in row
        # the package: the value it pays (diapers, formula and cereal at their prices)
        package_paid = sum(price(sandbox, g) for g in (DIAPERS_S3, FORMULA, CEREAL))
        assert on_screen(texts, texts.amount(package_paid, with_unit=False)) in by_key[yasna["id"]]
        assert "…" not in by_key[yasna["id"]]  # its name whole, in either language
        # each group it gives from: its name, what this sale takes, what it holds, what is left
        for group, taken in (("diaper-s3", 1), ("infant-food", 2)):
            row = by_key[f"{yasna['id']}/{group}"]
            assert on_screen(texts, texts.group(group)) in row, row  # never cut
            cells = [strip_controls(str(cell)) for cell in table.get_row(f"{yasna['id']}/{group}")]
            expected = [quantity(texts, n) for n in (taken, held[group], held[group] - taken)]
            for text in expected:
                assert on_screen(texts, text) in cells, (text, cells)
        # the long list of every entitlement is gone from the table
        every = texts.group("hygiene")
        assert all(on_screen(texts, every) not in line for line in lines)


@pytest.mark.parametrize("lang", ["fa", "en"])
async def test_the_receipt_on_screen_gives_a_packages_items_before_and_after(
    sandbox: Any, lane: Any, lang: str
) -> None:
    yasna = next(p for p in sandbox.household("yasna")["purses"] if p["kind"] == "quantity")
    held = {e["group"]: e["remaining_milli"] // 1000 for e in yasna["entitlements"]}
    app = app_for(lane, language=lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_review(pilot, sandbox, DIAPERS_S3, DIAPERS_S3, product(sandbox, "pasta")["gtin"])
        await pilot.press("enter")
        await settle(pilot)
        await until(pilot, lambda: isinstance(app.screen, ResultScreen), "the result screen")
        result = app.screen
        assert isinstance(result, ResultScreen)
        assert result.outcome.status == "approved", message(app)
        texts = app.texts
        shown = "\n".join(w.text for w in result.query("#receipt BidiText").results(BidiText))
        arrow = "←" if texts.persian else "→"
        before, after = held["diaper-s3"], held["diaper-s3"] - 2
        number = (lambda n: f"{LRI}{to_persian_digits(str(n))}{PDI}") if texts.persian else str
        unit = "عدد" if texts.persian else "pcs"
        assert f"{texts.group('diaper-s3')}: {number(before)} {arrow} {number(after)} {unit}" in (
            shown
        )
        zero = texts.amount(0)
        assert f"{zero} {arrow} {zero}" not in shown  # no meaningless "0 Toman → 0 Toman"


def test_split_rows_in_kilograms_and_litres_keep_their_decimals() -> None:
    cheese = Purse(
        id="pu_q",
        program="yasna",
        kind=ProgramKind.QUANTITY,
        label_fa="بسته",
        entitlements=(Entitlement("infant-food", 2500), Entitlement("hygiene", 3000)),
    )
    split = PurseSplit(cheese, 5_000_000, {"infant-food": 1250}, {"infant-food": Unit.KG})
    assert split.uses == (GroupUse("infant-food", Unit.KG, 2500, 1250),)
    rows = split_rows([split], EN)
    key, cells = rows[0]
    assert key == "pu_q" and cells[0] == "Yasna (mother and infant)"
    assert cells[1:] == ["500,000", "", ""]  # the value it pays; no balance in money
    assert rows[1] == (
        "pu_q/infant-food",
        ["· Infant food", "1.25 kg", "2.5 kg", "1.25 kg"],
    )
    assert len(rows) == 2  # hygiene was not touched
    fa = split_rows([split], FA)[1][1]
    assert fa[1:] == [
        f"{LRI}۱٫۲۵{PDI} کیلوگرم",
        f"{LRI}۲٫۵{PDI} کیلوگرم",
        f"{LRI}۱٫۲۵{PDI} کیلوگرم",
    ]
    assert entitlement_change(3000, 1000, Unit.PIECE, EN) == "3 → 1 pcs"
    assert [quantity_text(n * 1000, Unit.PIECE, EN) for n in (1, 2)] == ["1 pc", "2 pcs"]
    assert quantity_text(1000, Unit.PIECE, FA) == f"{LRI}۱{PDI} عدد"
    assert quantity_text(1000, Unit.KG, EN) == "1 kg"
    assert entitlement_change(500, 0, Unit.LITRE, FA) == f"{LRI}۰٫۵{PDI} ← {LRI}۰{PDI} لیتر"


async def test_a_tranche_label_with_a_ligature_is_shown_whole_in_english(
    sandbox: Any, lane: Any
) -> None:
    # "کالابرگ" holds لا, one cell once shaped and two as typed: the column is made wide
    # enough for the text as it is cut, so nothing is cut that would have fitted.
    app = app_for(lane, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, sandbox.mint_token(sandbox.household("kalabarg")["national_id"]))
        await scan(pilot, product(sandbox, "milk-lowfat")["gtin"])
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen), message(app)
        table = app.screen.query_one("#split", BidiTable)
        _header, row = rendered_lines(table)[:2]
        assert "…" not in row
        purse = app.screen.view.plan.allocations[0].purse_id  # type: ignore[union-attr]
        label = next(p for p in app.screen.household.purses if p.id == purse).label_fa
        assert on_screen(app.texts, label) in row


@pytest.mark.parametrize("lang", ["fa", "en"])
async def test_the_credit_screen_names_every_purse_whole_at_80_columns(
    sandbox: Any, lane: Any, lang: str
) -> None:
    from pos_client.tui.screens.wallet import WalletScreen
    from pos_client.tui.views import purse_label

    app = app_for(lane, language=lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, sandbox.mint_token(sandbox.household("yasna")["national_id"]))
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, WalletScreen), message(app)
        table = app.screen.query_one("#purses", BidiTable)
        _header, *rows = rendered_lines(table)
        purses = app.screen.household.purses
        assert len(purses) >= 2 and table.max_scroll_x == 0
        for purse, row in zip(purses, rows, strict=False):
            assert on_screen(app.texts, purse_label(purse, app.texts)) in row, row
        # a free package's items are listed in full under the table
        notes = app.screen.query_one("#wallet-notes", BidiText).text
        yasna = next(p for p in purses if p.program == "yasna")
        for entitlement in yasna.entitlements:
            assert app.texts.group(entitlement.group) in notes
