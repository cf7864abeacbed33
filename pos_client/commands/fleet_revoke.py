"""``pos-client fleet revoke T``: revoke one of the chain's terminals (merchant admin token).

Every later call of that lane is refused by the ledger (``401
terminal_revoked``); the lane then says so in one sentence and sells nothing
until it is enrolled again, keeping its outbox. The admin token comes from
``POS_CLIENT_ADMIN_TOKEN`` or ``--admin-token-file`` and is never printed.
Exit status: 0 revoked, 1 refused (another merchant's or no such terminal, a
terminal token), 2 bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from pos_client.commands.fleet import add_admin_options, admin_token, ledger_url
from pos_client.commands.lane import emit_json
from pos_client.compose import admin_ledger
from pos_client.errors import LedgerRejected


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "revoke",
        help="revoke a terminal: its lane sells nothing more until enrolled again",
    )
    parser.add_argument("terminal_id", metavar="T", help="the terminal id (e.g. T-0002)")
    add_admin_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=_revoke)


def _revoke(args: argparse.Namespace) -> int:
    url = ledger_url(args)
    token = admin_token(args)

    async def work() -> str:
        ledger = admin_ledger(url, token)
        try:
            return (await ledger.revoke_terminal(args.terminal_id)).isoformat()
        finally:
            await ledger.aclose()

    try:
        revoked_at = asyncio.run(work())
    except LedgerRejected as exc:
        if exc.status == 404:
            print(
                f"pos-client: the ledger knows no terminal {args.terminal_id} of this merchant",
                file=sys.stderr,
            )
            return 1
        raise
    if args.json:
        emit_json({"terminal_id": args.terminal_id, "revoked_at": revoked_at})
    else:
        print(
            f"terminal {args.terminal_id} is revoked (at {revoked_at}): its lane sells nothing"
            " more until it is enrolled again; its outbox stays on the lane"
        )
    return 0
