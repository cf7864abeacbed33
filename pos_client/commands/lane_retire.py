"""``pos-client lane retire``: take a lane out of service for good (until enrolled again).

Refused while the outbox holds anything the ledger has not answered yet
(it says how many, how many Rials and since when), since those sales are owed
and only this lane can send them; ``--force`` retires it anyway and keeps the
store file (it prints where). A retired lane's config sells nothing, online or
offline, until the lane is enrolled again (a new token). Exit status: 0
retired, 1 refused, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys

from pos_client.commands.lane import add_config_option, emit_json, run_with_app
from pos_client.compose import Lane


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("lane", help="the lane itself: retire it")
    sub = parser.add_subparsers(dest="lane_command", metavar="ACTION", required=True)
    retire = sub.add_parser(
        "retire", help="take this lane out of service (refused while sales are owed)"
    )
    add_config_option(retire)
    retire.add_argument(
        "--force",
        action="store_true",
        help="retire even with sales still owed (the store file is kept)",
    )
    retire.add_argument("--json", action="store_true", help="print JSON")
    retire.set_defaults(handler=_retire)


def _retire(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        owed = lane.records.outbox()
        rial = sum(item.covered_rial for item in owed)
        oldest = min((item.enqueued_at for item in owed), default=None)
        store = str(lane.config.store.path)
        left = {
            "count": len(owed),
            "rial": rial,
            "oldest": None if oldest is None else oldest.isoformat(),
        }
        if owed and not args.force:
            print(
                f"pos-client: not retired: the outbox still holds {len(owed)} sale(s) the ledger"
                f" has not answered, {rial:,} Rials, the oldest from {left['oldest']};"
                " send them with `pos-client queue sync --until-empty` first, or pass --force"
                " to retire anyway (the store file is kept)",
                file=sys.stderr,
            )
            return 1
        lane.standing.note_retired(lane.clock.now())
        if args.json:
            emit_json({"retired": True, "left": left, "store": store})
        else:
            print(
                f"lane {lane.config.terminal.id} is retired: it sells nothing until it is"
                " enrolled again"
            )
            if owed:
                print(
                    f"left in its outbox: {len(owed)} sale(s), {rial:,} Rials, the oldest from"
                    f" {left['oldest']}"
                )
            print(f"its store file is kept at {store}")
        return 0

    return run_with_app(args, work)
