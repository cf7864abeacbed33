"""The shop's own price list, read from a CSV file (``gtin, unit_price_rial[, scale_item]``).

Columns: ``gtin``, ``unit_price_rial`` and optionally ``scale_item`` (the
prefix and item code a store scale prints, e.g. ``2012345``, mapped to that
GTIN). A header row is optional (a first line with no digit in it). Numbers
may be written with ASCII, Persian (۰-۹) or Arabic-Indic (٠-٩) digits, as the
lane reads typed numbers everywhere; any other digit (``²``, Devanagari ``१``)
is not a number here. A price may group its thousands (``120,000``,
``۱۲۰٬۰۰۰``); it is whole Rials, at most the domain's bound on a unit price.

The whole file is checked before anything is imported, and every bad line is
named: a malformed row, a GTIN priced twice, or one scale item code given to
two products refuses the file with :class:`~pos_client.errors.PriceListError`
listing each problem by line number (one per line of the message), and
nothing is imported. :meth:`pos_client.services.records.Records.import_prices`
imports the rows in one transaction, after :func:`check_price_rows` has
refused duplicates among rows that did not come from a file.

Imports the standard library, the domain and the project's errors.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Final, NamedTuple

from pos_client.domain.barcodes import is_valid_gtin
from pos_client.domain.bounds import MAX_UNIT_PRICE_RIAL, check_unit_price
from pos_client.domain.errors import ContractError
from pos_client.domain.money import parse_amount, to_ascii_digits
from pos_client.errors import PriceListError

__all__ = ["MAX_PRICE", "MAX_PROBLEMS_SHOWN", "PriceRow", "check_price_rows", "read_price_list"]

#: The largest unit price accepted, in Rials (the domain's bound).
MAX_PRICE: Final = MAX_UNIT_PRICE_RIAL
#: How many problems a refusal lists before it says how many more there are.
MAX_PROBLEMS_SHOWN: Final = 20

_COLUMNS = "expected gtin,unit_price_rial[,scale_item]"

#: One problem of a list: its line (or row) number and what is wrong.
Problem = tuple[int, str]


class PriceRow(NamedTuple):
    """One product's shelf price; ``scale_item`` maps a scale label's item code to it."""

    gtin: str
    unit_price_rial: int
    scale_item: str | None = None


def _ascii_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _is_header(cells: list[str]) -> bool:
    """A first line whose first cell holds no digit (``gtin``), not a mistyped GTIN."""
    return not any(ch.isdigit() for ch in cells[0])


def _row(cells: list[str]) -> PriceRow:
    """One row's cells as a price; :class:`ValueError` with the reason when they are not."""
    if len(cells) not in (2, 3):
        raise ValueError(_COLUMNS)
    gtin = to_ascii_digits(cells[0])
    if not is_valid_gtin(gtin):
        raise ValueError(f"{cells[0]!r} is not a GTIN with a right check digit")
    if len(gtin) == 12 or (len(gtin) == 14 and gtin.startswith("0")):
        gtin = gtin.rjust(14, "0")[1:]
    try:
        amount = parse_amount(cells[1])  # refuses fractions, signs, and digits it does not read
    except ContractError:
        raise ValueError(
            "the price must be a whole number of Rials, in digits 0-9 (Persian or Arabic-Indic"
            " digits are read too)"
        ) from None
    try:
        price = check_unit_price(amount)
    except ContractError as exc:  # above the bound
        raise ValueError(exc.message) from None
    scale = to_ascii_digits(cells[2]) if len(cells) == 3 and cells[2] else None
    if scale is not None and (not _ascii_number(scale) or not 3 <= len(scale) <= 12):
        raise ValueError("scale_item must be the label's prefix and item code (3 to 12 digits)")
    return PriceRow(gtin, price, scale)


def _refuse(problems: list[Problem], *, word: str = "line") -> PriceListError:
    """One refusal naming each problem, one per line of the message, in file order."""
    ordered = sorted(problems, key=lambda problem: problem[0])
    shown = [f"{word} {number}: {what}" for number, what in ordered[:MAX_PROBLEMS_SHOWN]]
    if len(ordered) > len(shown):
        shown.append(f"and {len(ordered) - len(shown):,} more problems")
    return PriceListError("\n".join(shown))


def _duplicates(numbered: Iterable[tuple[int, PriceRow]], *, word: str = "line") -> list[Problem]:
    """A problem for each GTIN priced twice and each scale item given to two products."""
    problems: list[Problem] = []
    gtins: dict[str, int] = {}
    scale_items: dict[str, tuple[int, str]] = {}
    for number, row in numbered:
        first = gtins.setdefault(row.gtin, number)
        if first != number:
            problems.append((number, f"{row.gtin} is priced already on {word} {first}"))
        if row.scale_item is None:
            continue
        seen, product = scale_items.setdefault(row.scale_item, (number, row.gtin))
        if seen != number and product != row.gtin:
            problems.append(
                (
                    number,
                    f"scale_item {row.scale_item} is given to {product} already on {word} {seen}",
                )
            )
    return problems


def check_price_rows(rows: Iterable[PriceRow]) -> list[PriceRow]:
    """``rows`` as a list, refused whole when a GTIN or a scale item comes twice.

    Rows that did not come from a file are named by their place, from 1.
    """
    listed = list(rows)
    problems = _duplicates(enumerate(listed, start=1), word="row")
    if problems:
        raise _refuse(problems, word="row")
    return listed


def read_price_list(path: str | Path) -> list[PriceRow]:
    """The rows of the price list at ``path`` (GTIN-12 and GTIN-14 with a 0 stored as GTIN-13).

    Every problem in the file is named with its line number; one is enough
    to refuse the whole file.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceListError(f"cannot read {path}: {exc}") from None
    problems: list[Problem] = []
    numbered: list[tuple[int, PriceRow]] = []
    try:
        records = list(csv.reader(text.splitlines()))
    except csv.Error as exc:
        raise PriceListError(f"{path} is not a CSV file: {exc}") from None
    for number, row in enumerate(records, start=1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells):
            continue
        if number == 1 and _is_header(cells):
            continue
        try:
            numbered.append((number, _row(cells)))
        except ValueError as exc:
            problems.append((number, str(exc)))
    problems.extend(_duplicates(numbered))
    if problems:
        raise _refuse(problems)
    if not numbered:
        raise PriceListError(f"{path} holds no prices")
    return [row for _, row in numbered]
