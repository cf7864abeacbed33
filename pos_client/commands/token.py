"""``pos-client token rotate``: a new terminal token now (the lane also rotates on a schedule).

The new token is written to the lane's config file (atomically, mode 0600)
before anything uses it, and a running checkout on the same config picks it up
from the file before its next request; the old token works 10 minutes more,
so no sale fails in between. The token is never printed. Exit status: 0
rotated, 1 refused or the ledger unreachable (nothing changed but a mark that
makes the lane try again), 2 bad input.
"""

from __future__ import annotations

import argparse

from pos_client.commands.lane import add_config_option, emit_json, run_with_app
from pos_client.compose import Lane


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("token", help="the lane's terminal token")
    sub = parser.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    rotate = sub.add_parser(
        "rotate", help="get a new terminal token now and keep it in the config file"
    )
    add_config_option(rotate)
    rotate.add_argument("--json", action="store_true", help="print JSON")
    rotate.set_defaults(handler=_rotate)


def _rotate(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        until = await lane.tokens.rotate()
        where = lane.config.source
        if args.json:
            emit_json({"rotated": True, "previous_valid_until": until.isoformat()})
        else:
            print(
                f"the terminal token was rotated and written to {where};"
                f" the old one works until {until.isoformat()}"
            )
        return 0

    return run_with_app(args, work)
