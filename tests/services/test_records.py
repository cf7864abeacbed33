"""The lane's records as the screen and the command line see them, over a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from pos_client.adapters.store import SqliteStore
from pos_client.domain.states import RedemptionStatus as S
from pos_client.errors import PosError, PriceListError
from pos_client.services.prices import PriceRow, read_price_list
from pos_client.services.records import Records
from tests.support.fakes import StoppedClock
from tests.support.journal import NOW, answer, new

GTIN = "6260000000019"  # a GTIN-13 with its right check digit
GTIN_12 = "012345678905"  # a UPC-A, kept as the GTIN-13 "0012345678905"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(tmp_path / "lane.sqlite") as opened:
        yield opened


def test_each_open_problem_comes_with_its_sale_and_is_resolved_at_the_lanes_time(
    store: SqliteStore,
) -> None:
    store.record_new_redemption(new("sold"), at=NOW)
    store.add_problem("sold", "declined_after_offline", at=NOW, collect_rial=500, detail="d")
    store.add_problem("gone", "declined_after_offline", at=NOW, collect_rial=70, detail="e")
    later = NOW + timedelta(hours=2)
    records = Records(store=store, clock=StoppedClock(later))

    rows = records.open_problems()

    assert [(r.problem.redemption_id, r.problem.collect_rial) for r in rows] == [
        ("sold", 500),
        ("gone", 70),
    ]
    assert rows[0].sale is not None and rows[0].sale.id == "sold"
    assert rows[1].sale is None  # a problem whose sale the journal does not hold
    assert records.resolve_problem(rows[0].problem.seq) is True
    assert records.resolve_problem(rows[0].problem.seq) is False  # no longer open
    assert [r.problem.redemption_id for r in records.open_problems()] == ["gone"]
    resolved = [p for p in records.problems(include_resolved=True) if p.resolved_at is not None]
    assert [(p.redemption_id, p.resolved_at) for p in resolved] == [("sold", later)]


def test_the_outbox_summary_counts_what_waits_and_what_a_person_must_look_at(
    store: SqliteStore,
) -> None:
    store.record_new_redemption(new("a", covered=1000), at=NOW)
    store.record_new_redemption(new("b", covered=2000), at=NOW)
    store.set_status("b", S.APPROVED, at=NOW + timedelta(seconds=1), answer=answer("b"))
    store.add_problem("a", "declined_after_offline", at=NOW, collect_rial=5, detail="d")
    records = Records(store=store, clock=StoppedClock(NOW))

    summary = records.outbox_summary()

    assert (summary.count, summary.problems, summary.interrupted) == (2, 1, 2)
    assert summary.by_intent == {"hold": {"count": 2, "covered_rial": 3000}}
    assert summary.to_json()["problems"] == 1
    assert summary.to_json()["count"] == 2
    assert records.held_at_counter() == 2
    assert [i.redemption_id for i in records.outbox(intents=("deliver",))] == []
    assert [e.id for e in records.journal()] == ["a", "b"]


def test_a_price_list_read_from_a_file_becomes_the_shelf_prices(
    store: SqliteStore, tmp_path: Path
) -> None:
    price_file = tmp_path / "prices.csv"
    price_file.write_text(
        f'gtin,unit_price_rial,scale_item\n{GTIN},"۱۲۰,۰۰۰"\n{GTIN_12},"5,000",2012345\n',
        encoding="utf-8",
    )
    rows = read_price_list(price_file)
    assert rows == [PriceRow(GTIN, 120_000), PriceRow("0012345678905", 5_000, "2012345")]

    records = Records(store=store, clock=StoppedClock(NOW))
    assert records.import_prices(rows) == 2
    assert (store.price(GTIN), store.price("0012345678905")) == (120_000, 5_000)
    assert records.catalog_size() == 0  # prices are the shop's; the catalog is the ledger's
    assert records.product(GTIN) is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (f"{GTIN},12.5\n", "line 1: the price must be a whole number of Rials"),
        ("6260000000017,100\n", "line 1: '6260000000017' is not a GTIN"),
        (f"{GTIN},100\n{GTIN}\n", "line 2: expected gtin,unit_price_rial"),
        (f"{GTIN},100,x1\n", "line 1: scale_item must be"),
        ("gtin,unit_price_rial\n", "holds no prices"),
    ],
)
def test_a_bad_price_list_is_refused_whole_with_the_line_named(
    tmp_path: Path, text: str, says: str
) -> None:
    price_file = tmp_path / "prices.csv"
    price_file.write_text(text, encoding="utf-8")
    with pytest.raises(PriceListError) as refused:
        read_price_list(price_file)
    assert isinstance(refused.value, PosError)
    assert refused.value.code == "price_list_invalid"
    assert says in refused.value.message


def test_a_missing_price_list_is_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(PriceListError, match="cannot read"):
        read_price_list(tmp_path / "nowhere.csv")
