"""Catalog names are data: no control, line-break or bidi-override character reaches the
terminal, the paper or the JSON, whether the name came in a signed catalog or sits in an
old row of the store or the journal."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from drivers.printer.render import ReceiptRenderer
from pos_client.adapters.sqlite.packing import unpack_text
from pos_client.domain.contract import product_to_wire
from pos_client.domain.models import Product, Unit
from pos_client.domain.receipt import Receipt, ReceiptLine
from pos_client.domain.text import MAX_NAME_CHARS, safe_text
from pos_client.sandbox.catalog import version_name
from pos_client.sandbox.server import RunningSandbox
from tests.support.cli import cli, run_json
from tests.support.lane import PASTA, RICE_5KG, lane, lane_config, sell

#: A name that clears the screen, forges a receipt line and mirrors what follows.
HOSTILE = "\x1b[2J\x1b[HRice\n1 × FAKE LINE 999,999,999\r\n\u202eenila\u2066x\u2069\x07\x9b"
#: What is left of it: one line, nothing that moves or mirrors anything.
CLEAN = "[2J[HRice 1 × FAKE LINE 999,999,999 enilax"

_BAD = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def unsafe(text: str) -> list[str]:
    """The characters of ``text`` that may not be shown (ZWNJ and ZWJ are Persian's own)."""
    return [
        f"U+{ord(c):04X}"
        for c in text
        if unicodedata.category(c) in _BAD and c not in "\u200c\u200d\n"
    ]


def publish(sandbox: RunningSandbox, *products: Product, price: int = 4_900_000) -> str:
    """A new signed catalog version on the sandbox that changes ``products``; its name."""
    catalog = sandbox.sandbox.catalog
    with sandbox.sandbox.books.write() as tx:
        seq = catalog.current(tx)[0] + 1
        tx.add_catalog_version(seq, version_name(seq), at=sandbox.sandbox.clock.now())
        for product in products:
            tx.add_catalog_change(seq, product.gtin, product_to_wire(product), price)
    catalog.prepare()
    return version_name(seq)


def catalog_file(sandbox: RunningSandbox) -> Path:
    store = lane_config(sandbox).store.path
    return store.with_name(store.stem + ".catalog.sqlite")


# ------------------------------------------------------------------ the one sanitiser


def test_safe_text_drops_controls_and_overrides_and_keeps_persian_joiners() -> None:
    assert safe_text(HOSTILE) == CLEAN
    assert safe_text("می\u200cشود") == "می\u200cشود"  # the ZWNJ is part of the word
    assert safe_text("a\u2028b\u2029c\u0085d\td") == "a b c d d"
    assert safe_text("\u200fبرنج\u200e \u061c۱۰ کیلو\ufeff") == "برنج ۱۰ کیلو"
    assert safe_text("  two   spaces  ") == "two spaces"
    assert safe_text("broken \ud800 surrogate") == "broken surrogate"
    assert safe_text(None) == "" and safe_text(12) == ""
    long = safe_text("ب" * 10_000)
    assert len(long) == MAX_NAME_CHARS and long.endswith("…")
    assert safe_text("برنج ایرانی ۱۰ کیلویی") == "برنج ایرانی ۱۰ کیلویی"


# ------------------------------------------------------------------ load, show, print


async def test_a_signed_catalog_with_hostile_names_is_stored_clean_and_shown_clean(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        rice = app.store.product(RICE_5KG)
        assert rice is not None
        hostile = Product(
            gtin=RICE_5KG,
            name_fa=HOSTILE,
            name_en="x" * 5000,
            category=rice.category,
            unit=Unit.PIECE,
            groups=rice.groups,
            max_unit_price_rial=rice.max_unit_price_rial,
        )
        version = publish(sandbox, hostile)
        await app.refresh.sync_catalog()
        assert app.store.catalog_state()[0] == version
        outcome = await sell(app, sandbox, RICE_5KG)
    assert outcome.id is not None
    # stored clean: the load cleaned it, not only the read
    with sqlite3.connect(catalog_file(sandbox)) as conn:
        name_fa, name_en = conn.execute(
            "SELECT name_fa, name_en FROM products WHERE gtin = ?", (RICE_5KG,)
        ).fetchone()
    assert name_fa == CLEAN
    assert len(name_en) == MAX_NAME_CHARS and name_en.endswith("…")

    config = str(sandbox.config_path("T-0001"))
    text = cli("receipt", "show", outcome.id, "--config", config)
    assert text.returncode == 0, text.stderr
    assert "\x1b" not in text.stdout and "\u202e" not in text.stdout
    assert not any(row.startswith("1 × FAKE") for row in text.stdout.splitlines())
    assert f"  {CLEAN}: 1 piece x" in text.stdout
    data = run_json(cli("receipt", "show", outcome.id, "--config", config, "--json"))
    assert [line["name"] for line in data["lines"]] == [CLEAN]


async def test_a_hostile_name_stored_before_the_cleaning_is_shown_clean(
    sandbox: RunningSandbox,
) -> None:
    """Old rows: a catalog row and a sale in the journal written before names were cleaned."""
    async with lane(sandbox) as app:
        outcome = await sell(app, sandbox, PASTA)
    assert outcome.id is not None
    store = lane_config(sandbox).store.path
    with sqlite3.connect(catalog_file(sandbox)) as conn:
        conn.execute("UPDATE products SET name_fa = ? WHERE gtin = ?", (HOSTILE, RICE_5KG))
    with sqlite3.connect(store) as conn:
        (basket,) = conn.execute(
            "SELECT basket FROM journal WHERE id = ?", (outcome.id,)
        ).fetchone()
        doc = json.loads(unpack_text(basket) or "")  # a final row's basket is kept packed
        doc["lines"][0]["name"] = HOSTILE
        for purse in doc.get("purses_before", []):
            purse["label_fa"] = "\u202eکالابرگ\x1b[31m"
        conn.execute(
            "UPDATE journal SET basket = ? WHERE id = ?",
            (json.dumps(doc, ensure_ascii=False), outcome.id),
        )
    async with lane(sandbox, sync=False) as app:
        product = app.store.product(RICE_5KG)
        assert product is not None and product.name_fa == CLEAN
        receipt = app.receipts.receipt_for(outcome.id)
        assert [line.name for line in receipt.lines] == [CLEAN]
        assert all(not unsafe(p.label) for p in receipt.purses)

    config = str(sandbox.config_path("T-0001"))
    text = cli("receipt", "show", outcome.id, "--config", config)
    assert text.returncode == 0, text.stderr
    assert unsafe(text.stdout) == []
    assert not any(row.startswith("1 × FAKE") for row in text.stdout.splitlines())
    shown = cli("receipt", "show", outcome.id, "--config", config, "--json")
    data = run_json(shown)
    assert unsafe(json.dumps(data, ensure_ascii=False)) == []
    assert data["lines"][0]["name"] == CLEAN


def _receipt(name: str) -> Receipt:
    return Receipt(
        shop_name="فروشگاه",
        terminal_id="T-0001",
        issued_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        receipt_code="R-1",
        lines=(
            ReceiptLine(name=name, quantity_milli=1000, unit_price_rial=1000, amount_rial=1000),
        ),
    )


def test_the_printed_receipt_draws_a_hostile_name_as_its_plain_text() -> None:
    """On paper a bidi override mirrors nothing and a newline or ESC forges nothing:
    the receipt is drawn exactly as if the name had been plain."""
    renderer = ReceiptRenderer(width_px=576)
    for hostile in (
        "\u202eRice 10 kg",
        "Rice\n1 × FAKE LINE 999,999,999",
        "\u202bبرنج\u202c \u2067ABC\u2069\x1b",
    ):
        drawn = renderer.render(_receipt(hostile)).tobytes()
        plain = renderer.render(_receipt(safe_text(hostile))).tobytes()
        assert drawn == plain, hostile
    # and the plain name itself is drawn (a mirrored one would differ)
    assert (
        renderer.render(_receipt("Rice 10 kg")).tobytes()
        != renderer.render(_receipt("gk 01 eciR")).tobytes()
    )
