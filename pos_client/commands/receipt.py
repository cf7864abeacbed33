"""``pos-client receipt show|print ID``: a sale's receipt from the journal, shown or printed again.

- ``receipt show ID [--json]``: the receipt of sale ``ID`` (its redemption id),
  as the lane printed it: lines, what the credit paid, what the household
  paid, balances before and after (a free package's entitlements in items
  before and after); the national ID masked. Writes nothing.
- ``receipt print ID``: prints it again on the lane's printer (after a new
  paper roll, or for a household asking for a copy). A printer that is
  missing or cannot print is said plainly (exit 1); the sale is not touched.
  A printer that took only part of the receipt (it stopped reading, or
  dropped the connection mid-job) has not printed it: that is a failure too,
  said in one line that offers the command to print it again.

Exit status: 0 done; 1 no such sale, a sale that did not go ahead (no
receipt), or the printer could not print; 2 bad configuration.

Handlers stay thin: :class:`pos_client.services.receipts.ReceiptService`
does the work.
"""

from __future__ import annotations

import argparse
import sys
from zoneinfo import ZoneInfo

from pos_client.commands.lane import add_config_option, emit_json, run_with_app
from pos_client.compose import Lane
from pos_client.domain.models import Unit
from pos_client.domain.money import format_quantity
from pos_client.domain.receipt import Receipt
from pos_client.domain.text import safe_text
from pos_client.errors import PrinterError
from pos_client.services.receipts import receipt_json

__all__ = ["not_printed", "receipt_lines", "register"]

TEHRAN = ZoneInfo("Asia/Tehran")
EXIT_NOT_PRINTED = 1
#: Printer errors that say nothing was tried: no offer to print again.
_NOTHING_TRIED = frozenset({"no_printer", "printer_config", "printer_font", "receipt_invalid"})


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("receipt", help="show or print again a sale's receipt")
    sub = parser.add_subparsers(dest="receipt_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="the receipt of a sale, from the journal")
    show.add_argument("id", metavar="ID", help="the sale's id (see `pos-client journal export`)")
    add_config_option(show)
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_show)
    again = sub.add_parser("print", help="print a sale's receipt again on the lane's printer")
    again.add_argument("id", metavar="ID", help="the sale's id (see `pos-client journal export`)")
    add_config_option(again)
    again.set_defaults(handler=_print)


def _rial(amount: int) -> str:
    return f"{amount:,} Rial"


def receipt_lines(receipt: Receipt) -> list[str]:
    """The receipt as plain text lines (amounts in Rials, times in Asia/Tehran).

    Every name, label and code is shown through :func:`~pos_client.domain.text.safe_text`:
    one line each, with no control or bidi-override characters, whatever the store holds.
    """
    out = []
    if receipt.training:
        out.append("TRAINING MODE: not a real sale")
    out.append(f"Receipt {safe_text(receipt.receipt_code)}")
    if receipt.shop_name:
        out.append(f"Shop: {safe_text(receipt.shop_name)}")
    out.append(f"Terminal: {safe_text(receipt.terminal_id)}")
    out.append(f"Time: {receipt.issued_at.astimezone(TEHRAN).isoformat(timespec='minutes')}")
    if receipt.beneficiary:
        out.append(f"Household: {safe_text(receipt.beneficiary)}")
    if receipt.offline:
        out.append("Approved offline (waiting to be sent)")
    for line in receipt.lines:
        whole, milli = divmod(line.quantity_milli, 1000)
        quantity = f"{whole}.{milli:03d}".rstrip("0").rstrip(".")
        text = (
            f"  {safe_text(line.name)}: {quantity} {line.unit.value} x {line.unit_price_rial:,}"
            f" = {_rial(line.amount_rial)}"
        )
        if line.covered_rial:
            text += f", credit {line.covered_rial:,}"
        out.append(text)
    out.append(f"Total: {_rial(receipt.total_rial)}")
    out.append(f"Paid by credit: {_rial(receipt.covered_rial)}")
    if receipt.waived_rial:
        out.append(f"Above the price cap (not charged): {_rial(receipt.waived_rial)}")
    out.append(f"Paid by the customer: {_rial(receipt.household_rial)}")
    for purse in receipt.purses:
        paid = receipt.paid_by_purse(purse.purse_id)
        if purse.is_package:  # a free package counts items, not Rials
            text = f"  {safe_text(purse.label)}: paid {paid:,}"
        else:
            text = (
                f"  {safe_text(purse.label)}: {purse.balance_before_rial:,}"
                f" -> {purse.balance_after_rial:,} (paid {paid:,})"
            )
        if purse.expires_at is not None:
            text += f", valid until {purse.expires_at.astimezone(TEHRAN).date().isoformat()}"
        out.append(text)
        for e in purse.entitlements:
            out.append(
                f"    {safe_text(e.label)} ({safe_text(e.group)}): {_quantity(e.before_milli)} -> "
                f"{_quantity(e.after_milli)} {e.unit.value}"
            )
    return out


def _quantity(milli: int) -> str:
    return format_quantity(milli, Unit.PIECE, digits="ascii", with_unit=False)


def _show(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        receipt = lane.receipts.receipt_for(args.id)
        if args.json:
            emit_json({"id": args.id.strip(), **receipt_json(receipt)})
        else:
            print("\n".join(receipt_lines(receipt)))
        return 0

    return run_with_app(args, work, read_only=True)


def _print(args: argparse.Namespace) -> int:
    sale = args.id.strip()

    async def work(lane: Lane) -> int:
        try:
            receipt = lane.receipts.print(args.id)
        except PrinterError as exc:
            if exc.code in _NOTHING_TRIED:
                raise
            print(f"pos-client: {not_printed(exc, sale)}", file=sys.stderr)
            return EXIT_NOT_PRINTED
        print(f"printed the receipt {receipt.receipt_code} of sale {sale}")
        return 0

    return run_with_app(args, work, read_only=True, devices=True)


def not_printed(exc: PrinterError, sale: str) -> str:
    """One line: why the receipt of ``sale`` did not print, and how to print it again."""
    return (
        f"{exc.message}; the sale is recorded: check the printer,"
        f" then print the receipt again with `pos-client receipt print {sale}`"
    )
