"""``pos-client problems list|resolve``: what a person must look at (and what to collect)."""

from __future__ import annotations

import argparse
from typing import Any

from pos_client.commands.lane import add_config_option, run_with_app
from pos_client.commands.output import add_format_options, emit_rows, row_format
from pos_client.compose import Lane
from pos_client.ports import ProblemRecord


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("problems", help="redemptions that need a person")
    sub = parser.add_subparsers(dest="problems_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="list open problems")
    add_config_option(listing)
    listing.add_argument("--all", action="store_true", help="include resolved ones")
    add_format_options(listing, what="problems")
    listing.set_defaults(handler=_list)
    resolve = sub.add_parser("resolve", help="mark a problem handled")
    add_config_option(resolve)
    resolve.add_argument("seq", type=int, help="the problem's number")
    resolve.set_defaults(handler=_resolve)


def problem_json(p: ProblemRecord) -> dict[str, Any]:
    """One problem as ``problems list --json`` prints it."""
    return {
        "seq": p.seq,
        "redemption_id": p.redemption_id,
        "kind": p.kind,
        "collect_rial": p.collect_rial,
        "detail": p.detail,
        "created_at": p.created_at.isoformat(),
        "resolved_at": p.resolved_at.isoformat() if p.resolved_at else None,
    }


def problem_line(p: ProblemRecord) -> str:
    return f"#{p.seq} {p.kind}: {p.redemption_id} collect {p.collect_rial} Rial - {p.detail}"


def _list(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        emit_rows(
            lane.records.problems(include_resolved=args.all),
            row_format(args),
            to_json=problem_json,
            to_text=problem_line,
            empty_text="no problems",
        )
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
