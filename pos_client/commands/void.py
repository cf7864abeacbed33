"""``pos-client void last``: void the terminal's last sale at the ledger (same business day)."""

from __future__ import annotations

import argparse

from pos_client.commands.lane import add_config_option, emit_json, run_with_app
from pos_client.compose import App


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("void", help="void a sale")
    sub = parser.add_subparsers(dest="void_command", metavar="ACTION", required=True)
    last = sub.add_parser("last", help="void the last sale")
    add_config_option(last)
    last.add_argument("--json", action="store_true", help="print JSON")
    last.set_defaults(handler=_last)


def _last(args: argparse.Namespace) -> int:
    async def work(app: App) -> int:
        result = await app.checkout.void_last()
        if args.json:
            emit_json(
                {
                    "id": result.id,
                    "status": result.status,
                    "reason": result.reason,
                    "detail": result.detail,
                }
            )
        else:
            print(
                f"{result.id}: {result.status}" + (f" ({result.reason})" if result.reason else "")
            )
        return 0 if result.status == "voided" else 1

    return run_with_app(args, work)
