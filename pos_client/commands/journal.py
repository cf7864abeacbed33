"""``pos-client journal export``: every redemption with its final status (no IDs, no tokens)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from pos_client.commands.journal_archive import add_archive_action
from pos_client.commands.lane import add_config_option, emit_json, run_with_app
from pos_client.compose import Lane
from pos_client.ports import JournalEntry


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("journal", help="the electronic journal of redemptions")
    sub = parser.add_subparsers(dest="journal_command", metavar="ACTION", required=True)
    export = sub.add_parser("export", help="every redemption with its final status")
    add_config_option(export)
    export.add_argument("--json", action="store_true", help="print a JSON array")
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


def _export(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        if args.json:
            emit_json([entry_json(e) for e in lane.records.journal()])
        else:
            for e in lane.records.journal():
                print(
                    f"{e.created_at.isoformat()}  {e.id}  {e.status.value:18} "
                    f"{e.covered_rial:>12} Rial  {e.nid_masked or '-'}"
                )
        return 0

    return run_with_app(args, work)
