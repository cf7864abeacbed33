"""The shop's own price list, read from a CSV file (``gtin, unit_price_rial[, scale_item]``).

Columns: ``gtin``, ``unit_price_rial`` and optionally ``scale_item`` (the
prefix and item code a store scale prints, e.g. ``2012345``, mapped to that
GTIN). A header row is optional; Persian digits and thousands separators are
read. The whole file is checked before anything is imported: one bad row
refuses the file with :class:`~pos_client.errors.PriceListError` naming the
line. :meth:`pos_client.services.records.Records.import_prices` imports it.

Imports the standard library, the domain and the project's errors.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

from pos_client.domain.barcodes import is_valid_gtin
from pos_client.domain.money import to_ascii_digits
from pos_client.errors import PriceListError

__all__ = ["MAX_PRICE", "PriceRow", "read_price_list"]

#: The largest unit price accepted, in Rials.
MAX_PRICE = 10**13


class PriceRow(NamedTuple):
    """One product's shelf price; ``scale_item`` maps a scale label's item code to it."""

    gtin: str
    unit_price_rial: int
    scale_item: str | None = None


def read_price_list(path: str | Path) -> list[PriceRow]:
    """The rows of the price list at ``path`` (GTIN-12 and GTIN-14 with a 0 stored as GTIN-13)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceListError(f"cannot read {path}: {exc}") from None
    rows: list[PriceRow] = []
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [to_ascii_digits(c.strip()) for c in row]
        if not cells or not any(cells):
            continue
        if number == 1 and not cells[0].isdigit():
            continue  # a header
        if len(cells) not in (2, 3):
            raise PriceListError(f"line {number}: expected gtin,unit_price_rial[,scale_item]")
        gtin, price_text = cells[0], cells[1].replace(",", "")
        if not is_valid_gtin(gtin):
            raise PriceListError(f"line {number}: {gtin!r} is not a GTIN with a right check digit")
        if len(gtin) == 12 or (len(gtin) == 14 and gtin.startswith("0")):
            gtin = gtin.rjust(14, "0")[1:]
        if not price_text.isdigit() or int(price_text) > MAX_PRICE:
            raise PriceListError(f"line {number}: the price must be a whole number of Rials")
        scale = cells[2] if len(cells) == 3 and cells[2] else None
        if scale is not None and (not scale.isdigit() or not 3 <= len(scale) <= 12):
            raise PriceListError(
                f"line {number}: scale_item must be the label's prefix and item code"
            )
        rows.append(PriceRow(gtin, int(price_text), scale))
    if not rows:
        raise PriceListError(f"{path} holds no prices")
    return rows
