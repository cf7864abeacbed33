"""``pos-client journal archive``: run the retention policy now and say what it moved.

Rows older than ``[retention] keep_days`` that may move go to the monthly
archives beside the store (see :mod:`pos_client.services.retention`);
``--dry-run`` says what would move and changes nothing. ``--compact`` also
packs every older row and gives every free page back, converting a store made
before incremental vacuum (once; it holds the store a while on a big one, so
run it with the lane closed; the lane itself converts only a small store).
"""

from __future__ import annotations

import argparse

from pos_client.commands.lane import add_config_option, emit_json, run_with_app
from pos_client.compose import Lane
from pos_client.services.retention import RetentionRun


def add_archive_action(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    archive = sub.add_parser(
        "archive", help="move rows older than [retention] keep_days to the monthly archives"
    )
    add_config_option(archive)
    archive.add_argument("--dry-run", action="store_true", help="say what would move; move none")
    archive.add_argument(
        "--compact",
        action="store_true",
        help="also give all free space back now (run it with the lane closed)",
    )
    archive.add_argument("--json", action="store_true", help="print a JSON object")
    archive.set_defaults(handler=_archive)


def run_json(run: RetentionRun) -> dict[str, object]:
    return {
        "cutoff": run.archive.cutoff.isoformat(),
        "dry_run": run.archive.dry_run,
        "months": dict(run.archive.months),
        "rows": run.archive.rows,
        "kept_live": run.archive.kept_live,
        "packed": run.packed,
        "pages_freed": run.pages_freed,
    }


def _archive(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        run = lane.retention.run(dry_run=args.dry_run, compact=args.compact and not args.dry_run)
        if args.json:
            emit_json(run_json(run))
            return 0
        moving = "would move" if run.archive.dry_run else "moved"
        before = run.archive.cutoff.isoformat()
        if not run.archive.months:
            print(f"nothing to archive: no row before {before} may move yet")
        for month, rows in run.archive.months.items():
            print(f"{month}: {moving} {rows} rows to the archive")
        if run.archive.kept_live:
            print(
                f"{run.archive.kept_live} rows before {before} stay in the store (owed to the"
                " ledger, not final or seen, with an open problem, or on a day without a"
                " reconciled Z report)"
            )
        if not args.dry_run and (run.packed or run.pages_freed):
            print(f"{run.packed} older rows made smaller; {run.pages_freed} pages given back")
        return 0

    return run_with_app(args, work)
