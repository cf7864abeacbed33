"""The shop's price list: every bad line named, only Persian and Arabic-Indic digits besides
ASCII, no GTIN or scale item twice, and all or nothing (a real SQLite file, the real command).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pos_client.adapters.store import SqliteStore
from pos_client.errors import PriceListError
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.prices import PriceRow, read_price_list
from pos_client.services.records import Records
from tests.support.cli import cli
from tests.support.fakes import StoppedClock
from tests.support.journal import NOW
from tests.support.lane import lane

RICE, OIL, TEA, SUGAR = "6260000000019", "6260000000026", "6260000000033", "6260000000040"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(tmp_path / "lane.sqlite") as opened:
        yield opened


def refusal(tmp_path: Path, text: str) -> str:
    path = tmp_path / "prices.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PriceListError) as refused:
        read_price_list(path)
    assert refused.value.code == "price_list_invalid"
    return refused.value.message


@pytest.mark.parametrize(
    ("price", "why"),
    [
        ("1²", "superscript two: a digit to Python, not a price"),
        ("१२३", "Devanagari digits"),
        ("12,34", "thousands separator in the wrong place"),
        ("1e6", "not digits"),
        ("10000000000001", "above the bound on a unit price"),
    ],
)
def test_a_price_that_is_not_whole_rials_in_digits_the_lane_reads_is_refused(
    tmp_path: Path, price: str, why: str
) -> None:
    message = refusal(tmp_path, f'gtin,unit_price_rial\n{RICE},"{price}"\n')
    assert message.startswith("line 2: "), why
    if why.startswith("above"):
        assert "at most 10,000,000,000,000 Rials" in message
    else:
        assert "whole number of Rials" in message


def test_persian_and_arabic_indic_digits_are_read_in_every_column(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text('۶۲۶۰۰۰۰۰۰۰۰۱۹,۱۲۰٬۰۰۰\n٦٢٦٠٠٠٠٠٠٠٠٢٦,"٥,٠٠٠",٢٠١٢٣٤٥\n', encoding="utf-8")
    assert read_price_list(path) == [PriceRow(RICE, 120_000), PriceRow(OIL, 5_000, "2012345")]


def test_a_gtin_priced_twice_and_a_scale_item_on_two_products_are_refused_by_line(
    tmp_path: Path,
) -> None:
    message = refusal(
        tmp_path,
        "gtin,unit_price_rial,scale_item\n"
        f"{RICE},100,2012345\n"  # line 2
        f"{OIL},200\n"  # line 3
        f"{RICE},100,2012345\n"  # line 4: the same row again
        f"{TEA},300,2012345\n"  # line 5: the rice's scale item on tea
        f"0{OIL},250\n",  # line 6: the oil again, as a GTIN-14
    )
    assert message.splitlines() == [
        f"line 4: {RICE} is priced already on line 2",
        f"line 5: scale_item 2012345 is given to {RICE} already on line 2",
        f"line 6: {OIL} is priced already on line 3",
    ]


def test_every_bad_line_is_named_not_only_the_first(tmp_path: Path) -> None:
    message = refusal(
        tmp_path,
        f"{RICE},1²\n{OIL},200\n{TEA},१००\n{SUGAR},1.5\n6260000000017,100\n{OIL},200\n",
    )
    assert [line.split(":")[0] for line in message.splitlines()] == [
        "line 1",
        "line 3",
        "line 4",
        "line 5",
        "line 6",
    ]


def test_a_mistyped_gtin_on_the_first_line_is_not_taken_for_a_header(tmp_path: Path) -> None:
    message = refusal(tmp_path, f"626000000001X,100\n{OIL},200\n")
    assert message.startswith("line 1: '626000000001X' is not a GTIN")


def test_rows_from_elsewhere_are_refused_whole_and_nothing_is_written(store: SqliteStore) -> None:
    records = Records(store=store, clock=StoppedClock(NOW))
    assert records.import_prices([PriceRow(RICE, 100, "2012345")]) == 1
    with pytest.raises(PriceListError) as refused:
        records.import_prices(
            [PriceRow(OIL, 200), PriceRow(TEA, 300, "2012345"), PriceRow(OIL, 250)]
        )
    assert refused.value.message == f"row 3: {OIL} is priced already on row 1"
    assert (store.price(RICE), store.price(OIL), store.price(TEA)) == (100, None, None)
    assert store.scale_item("2012345") == RICE
    # a scale item moved to another product by a later list is the shop's choice
    assert records.import_prices([PriceRow(TEA, 300, "2012345")]) == 1
    assert store.scale_item("2012345") == TEA


async def test_the_import_command_refuses_a_bad_list_whole_and_names_each_line(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = str(sandbox.config_path("T-0001"))
    good = tmp_path / "good.csv"
    good.write_text(f"gtin,unit_price_rial\n{RICE},100\n", encoding="utf-8")
    assert cli("prices", "import", "--config", config, str(good)).returncode == 0

    bad = tmp_path / "bad.csv"
    bad.write_text(f"gtin,unit_price_rial\n{RICE},999\n{OIL},1²\n{OIL},200\n", encoding="utf-8")
    result = cli("prices", "import", "--config", config, str(bad))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert "line 3: the price must be a whole number of Rials" in result.stderr
    assert "nothing was imported" in result.stderr
    assert result.stdout == ""
    async with lane(sandbox, sync=False) as app:  # the good line of the bad list is not taken
        assert (app.store.price(RICE), app.store.price(OIL)) == (100, None)
