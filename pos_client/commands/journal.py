"""``pos-client journal export``: every redemption with its final status (no IDs, no tokens).

``--json`` prints one JSON array, ``--ndjson`` one object a line, both streamed
as the store's pages are read (:mod:`pos_client.commands.output`);
``--from``/``--to`` keep the business dates between them (inclusive).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pos_client.commands.journal_archive import add_archive_action
from pos_client.commands.lane import add_config_option, business_date_arg, run_with_app
from pos_client.commands.output import add_format_options, emit_rows, row_format
from pos_client.compose import Lane
from pos_client.ports import JournalEntry


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("journal", help="the electronic journal of redemptions")
    sub = parser.add_subparsers(dest="journal_command", metavar="ACTION", required=True)
    export = sub.add_parser("export", help="every redemption with its final status")
    add_config_option(export)
    add_format_options(export, what="redemptions")
    export.add_argument(
        "--from",
        dest="since",
        type=business_date_arg,
        metavar="YYYY-MM-DD",
        help="only redemptions of this business date and later",
    )
    export.add_argument(
        "--to",
        dest="until",
        type=business_date_arg,
        metavar="YYYY-MM-DD",
        help="only redemptions of this business date and earlier",
    )
    export.set_defaults(handler=_export)
    add_archive_action(sub)


def entry_json(entry: JournalEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "created_at": entry.created_at.isoformat(),
        "business_date": entry.business_date.isoformat(),
        "identity": entry.identity_kind,
        "household": entry.nid_masked,
        "mode": entry.mode,
        "offline": entry.offline,
        "status": entry.status.value,
        "reason": entry.reason,
        "total_rial": entry.total_rial,
        "covered_rial": entry.covered_rial,
        "ledger_covered_rial": entry.ledger_covered_rial,
        "declined_rial": entry.declined_rial,
        "payable_rial": entry.payable_rial,
        "receipt_code": entry.receipt_code,
        "in_outbox": entry.intent,
        "seen": entry.seen,
        "basket": json.loads(entry.basket),
    }


def entry_line(entry: JournalEntry) -> str:
    """One redemption as a line of text (``journal export`` without ``--json``)."""
    return (
        f"{entry.created_at.isoformat()}  {entry.id}  {entry.status.value:18} "
        f"{entry.covered_rial:>12} Rial  {entry.nid_masked or '-'}"
    )


def _export(args: argparse.Namespace) -> int:
    if args.since is not None and args.until is not None and args.since > args.until:
        print(
            f"pos-client journal export: --from {args.since.isoformat()} is after"
            f" --to {args.until.isoformat()}",
            file=sys.stderr,
        )
        return 2

    async def work(lane: Lane) -> int:
        emit_rows(
            lane.records.journal(since=args.since, until=args.until),
            row_format(args),
            to_json=entry_json,
            to_text=entry_line,
        )
        return 0

    return run_with_app(args, work)
