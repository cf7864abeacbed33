"""``pos-client recover``: sales interrupted before the cashier saw their outcome.

Without options it lists them, each resolved against the ledger (nothing is
sent). ``--finish ID`` lets one go ahead (sending it if the ledger never got
it); ``--cancel ID`` drops it (voiding it if the ledger took it). ``--finish-all``
and ``--cancel-all`` do so for every one.
"""

from __future__ import annotations

import argparse
from typing import Any

from pos_client.commands.lane import add_config_option, run_with_app
from pos_client.commands.output import add_format_options, emit_rows, row_format
from pos_client.compose import Lane


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("recover", help="finish or cancel interrupted sales")
    add_config_option(parser)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--finish", metavar="ID", help="let this sale go ahead")
    action.add_argument("--cancel", metavar="ID", help="cancel this sale (void it if taken)")
    action.add_argument("--finish-all", action="store_true")
    action.add_argument("--cancel-all", action="store_true")
    add_format_options(parser, what="sales")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    async def work(app: Lane) -> int:
        service = app.checkout
        ids = [o.id for o in service.interrupted() if o.id]
        results = []
        if args.finish:
            results.append(await service.finish_interrupted(args.finish))
        elif args.cancel:
            results.append(await service.cancel_interrupted(args.cancel))
        else:
            for redemption_id in ids:
                if args.finish_all:
                    results.append(await service.finish_interrupted(redemption_id))
                elif args.cancel_all:
                    results.append(await service.cancel_interrupted(redemption_id))
                else:
                    results.append(await service.resolve_interrupted(redemption_id))
        emit_rows(
            (r.to_json() for r in results),
            row_format(args),
            to_json=lambda row: row,
            to_text=_line,
            empty_text="no interrupted sales",
        )
        return 0

    return run_with_app(args, work)


def _line(row: dict[str, Any]) -> str:
    return f"{row['id']}  {row['status']:18} covered {row['covered_rial']} Rial" + (
        f"  ({row['reason']})" if row.get("reason") else ""
    )
