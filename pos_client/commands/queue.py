"""``pos-client queue list|stats|sync|push``: the outbox of redemptions owed to the ledger.

``sync`` drains it now (``--until-empty`` keeps going with backoff, honouring
Retry-After, up to ``--timeout`` seconds). ``push --now`` is for a cashier who
knows the network is back: it asks the ledger's health at once and, when it
answers, drains until empty (a failed probe is retried at the pacing policy's
backoff, up to ``--timeout``, default 60 s). Exit status of ``sync`` and
``push``: 0 when the outbox is empty afterwards, 1 when something is left.
"""

from __future__ import annotations

import argparse
from typing import Any

from pos_client.commands.lane import add_config_option, emit_json, run_with_app
from pos_client.commands.output import add_format_options, emit_rows, row_format
from pos_client.compose import Lane
from pos_client.ports import OutboxItem
from pos_client.services.forwarder import DrainReport


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("queue", help="the outbox of redemptions owed to the ledger")
    sub = parser.add_subparsers(dest="queue_command", metavar="ACTION", required=True)
    for name, handler, help_text in (
        ("list", _list, "list what is waiting to be sent"),
        ("stats", _stats, "count what is waiting"),
        ("sync", _sync, "send what is waiting now"),
        ("push", _push, "the network is back: ask the ledger now and send what is waiting"),
    ):
        p = sub.add_parser(name, help=help_text)
        add_config_option(p)
        if name == "list":
            add_format_options(p, what="items")
        else:
            p.add_argument("--json", action="store_true", help="print JSON")
        if name == "sync":
            p.add_argument(
                "--until-empty", action="store_true", help="retry until the outbox is empty"
            )
            p.add_argument("--timeout", type=float, metavar="S", help="give up after S seconds")
        if name == "push":
            p.add_argument(
                "--now",
                action="store_true",
                required=True,
                help="probe the ledger's health at once, then drain without waiting",
            )
            p.add_argument(
                "--timeout", type=float, default=60.0, metavar="S", help="give up after S seconds"
            )
        p.set_defaults(handler=handler)


def outbox_json(item: OutboxItem) -> dict[str, Any]:
    """One outbox item as ``queue list --json`` prints it."""
    return {
        "id": item.redemption_id,
        "intent": item.intent,
        "status": item.status.value,
        "offline": item.offline,
        "covered_rial": item.covered_rial,
        "attempts": item.attempts,
        "enqueued_at": item.enqueued_at.isoformat(),
        "last_error": item.last_error,
    }


def outbox_line(item: OutboxItem) -> str:
    return (
        f"{item.redemption_id}  {item.intent:8} {item.status.value:17}"
        f" {item.covered_rial:>12} Rial  attempts {item.attempts}"
    )


def _list(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        emit_rows(
            lane.records.outbox(),
            row_format(args),
            to_json=outbox_json,
            to_text=outbox_line,
            empty_text="the outbox is empty",
        )
        return 0

    return run_with_app(args, work)


def _stats(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        stats = lane.records.outbox_summary().to_json()
        if args.json:
            emit_json(stats)
        else:
            print(f"waiting: {stats['count']}")
            for intent, v in sorted(stats["by_intent"].items()):
                print(f"  {intent}: {v['count']} ({v['covered_rial']} Rial)")
            print(f"approved offline, not yet forwarded: {stats['outstanding_offline_rial']} Rial")
            print(f"problems: {stats['problems']}; interrupted sales: {stats['interrupted']}")
            print(f"last contact with the ledger: {stats['last_contact'] or 'never'}")
        return 0

    return run_with_app(args, work)


def _sync(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        report = await lane.forwarder.sync(until_empty=args.until_empty, timeout=args.timeout)
        return _tell(args, lane, report)

    return run_with_app(args, work)


def _push(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        return _tell(args, lane, await lane.forwarder.push_now(timeout=args.timeout))

    return run_with_app(args, work)


def _tell(args: argparse.Namespace, lane: Lane, report: DrainReport) -> int:
    """Print what a drain did; the exit status (0: the outbox is empty)."""
    held = lane.records.held_at_counter()
    if args.json:
        emit_json({**report.to_json(), "held_at_counter": held})
    else:
        print(
            f"sent {report.sent}, approved {report.approved}, partially approved "
            f"{report.partially_approved}, declined {report.declined}, voided "
            f"{report.voided}; {report.remaining} left"
        )
        if report.problems:
            print(f"{report.problems} new problem(s): see `pos-client problems list`")
        if report.error:
            print(f"last error: {report.error}")
        if held:
            print(f"{held} interrupted sale(s) wait for a person: see `pos-client recover`")
    return 0 if report.remaining == 0 else 1
