"""``pos-client prices import FILE.csv``: the shop's own prices (gtin, unit price in Rials).

Columns: ``gtin``, ``unit_price_rial`` and optionally ``scale_item`` (the
prefix and item code a store scale prints, e.g. ``2012345``, mapped to that
GTIN). A header row is optional. The whole file is checked first and imported
in one transaction: one bad row refuses the file (exit 2) and changes nothing.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from pos_client.commands.lane import add_config_option, run_with_app
from pos_client.compose import App
from pos_client.domain.barcodes import is_valid_gtin
from pos_client.domain.money import to_ascii_digits

MAX_PRICE = 10**13


class BadPrices(Exception):
    pass


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("prices", help="the shop's price list")
    sub = parser.add_subparsers(dest="prices_command", metavar="ACTION", required=True)
    importer = sub.add_parser("import", help="import gtin,unit_price_rial rows from a CSV file")
    add_config_option(importer)
    importer.add_argument("file", metavar="FILE.csv")
    importer.set_defaults(handler=_import)


def read_prices(path: str) -> list[tuple[str, int, str | None]]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadPrices(f"cannot read {path}: {exc}") from None
    rows: list[tuple[str, int, str | None]] = []
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [to_ascii_digits(c.strip()) for c in row]
        if not cells or not any(cells):
            continue
        if number == 1 and not cells[0].isdigit():
            continue  # a header
        if len(cells) not in (2, 3):
            raise BadPrices(f"line {number}: expected gtin,unit_price_rial[,scale_item]")
        gtin, price_text = cells[0], cells[1].replace(",", "")
        if not is_valid_gtin(gtin):
            raise BadPrices(f"line {number}: {gtin!r} is not a GTIN with a right check digit")
        if len(gtin) == 12 or (len(gtin) == 14 and gtin.startswith("0")):
            gtin = gtin.rjust(14, "0")[1:]
        if not price_text.isdigit() or int(price_text) > MAX_PRICE:
            raise BadPrices(f"line {number}: the price must be a whole number of Rials")
        scale = cells[2] if len(cells) == 3 and cells[2] else None
        if scale is not None and (not scale.isdigit() or not 3 <= len(scale) <= 12):
            raise BadPrices(f"line {number}: scale_item must be the label's prefix and item code")
        rows.append((gtin, int(price_text), scale))
    if not rows:
        raise BadPrices(f"{path} holds no prices")
    return rows


def _import(args: argparse.Namespace) -> int:
    try:
        rows = read_prices(args.file)
    except BadPrices as exc:
        print(f"pos-client prices import: {exc}", file=sys.stderr)
        return 2

    async def work(app: App) -> int:
        count = app.store.import_prices(rows, at=app.clock.now())
        print(f"imported {count} prices")
        return 0

    return run_with_app(args, work)
