"""``pos-client problems list|resolve``: what a person must look at (and what to collect)."""

from __future__ import annotations

import argparse

from pos_client.commands.lane import add_config_option, emit_json, run_with_app
from pos_client.compose import Lane


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("problems", help="redemptions that need a person")
    sub = parser.add_subparsers(dest="problems_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="list open problems")
    add_config_option(listing)
    listing.add_argument("--all", action="store_true", help="include resolved ones")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)
    resolve = sub.add_parser("resolve", help="mark a problem handled")
    add_config_option(resolve)
    resolve.add_argument("seq", type=int, help="the problem's number")
    resolve.set_defaults(handler=_resolve)


def _list(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        rows = [
            {
                "seq": p.seq,
                "redemption_id": p.redemption_id,
                "kind": p.kind,
                "collect_rial": p.collect_rial,
                "detail": p.detail,
                "created_at": p.created_at.isoformat(),
                "resolved_at": p.resolved_at.isoformat() if p.resolved_at else None,
            }
            for p in lane.records.problems(include_resolved=args.all)
        ]
        if args.json:
            emit_json(rows)
        else:
            for r in rows:
                print(
                    f"#{r['seq']} {r['kind']}: {r['redemption_id']} collect {r['collect_rial']}"
                    f" Rial - {r['detail']}"
                )
            if not rows:
                print("no problems")
        return 0

    return run_with_app(args, work)


def _resolve(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        if lane.records.resolve_problem(args.seq):
            print(f"problem #{args.seq} resolved")
            return 0
        print(f"no open problem #{args.seq}")
        return 1

    return run_with_app(args, work)
