"""``pos-client prices import FILE.csv``: the shop's own prices (gtin, unit price in Rials).

The file is read and checked by :func:`pos_client.services.prices.read_price_list`
(columns, header, what a bad row is); one bad row refuses the file (exit 2) and
changes nothing: the refusal names every bad line, one per line. The rows are
imported in one transaction.
"""

from __future__ import annotations

import argparse
import sys

from pos_client.commands.lane import add_config_option, run_with_app
from pos_client.compose import Lane
from pos_client.errors import PriceListError
from pos_client.services.prices import read_price_list


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("prices", help="the shop's price list")
    sub = parser.add_subparsers(dest="prices_command", metavar="ACTION", required=True)
    importer = sub.add_parser("import", help="import gtin,unit_price_rial rows from a CSV file")
    add_config_option(importer)
    importer.add_argument("file", metavar="FILE.csv")
    importer.set_defaults(handler=_import)


def _import(args: argparse.Namespace) -> int:
    try:
        rows = read_price_list(args.file)
    except PriceListError as exc:
        print(refusal(exc), file=sys.stderr)
        return 2

    async def work(lane: Lane) -> int:
        try:
            count = lane.records.import_prices(rows)
        except PriceListError as exc:
            print(refusal(exc), file=sys.stderr)
            return 2
        print(f"imported {count} prices")
        return 0

    return run_with_app(args, work)


def refusal(exc: PriceListError) -> str:
    """What the command says when a list is refused: each problem on a line of its own."""
    problems = exc.message.splitlines()
    if len(problems) == 1 and not problems[0].startswith(("line ", "row ")):
        return f"pos-client prices import: {problems[0]}"  # unreadable, or no prices at all
    head = "pos-client prices import: the price list is refused and nothing was imported:"
    return "\n".join([head, *(f"  {problem}" for problem in problems)])
