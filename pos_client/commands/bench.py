"""``pos-client bench [--json] [--quick]``: measure, on this machine, each figure beside its bound.

Prints a table (figure, value, limit or peer, ratio, goal, met?) and the
machine it ran on; ``--json`` prints the same as one JSON document,
``--markdown`` as a Markdown table. ``--quick`` runs smaller counts (under a
minute); the full run takes a few minutes and needs about 1 GB of free disk
in the temporary folder (3 GB with the "history" group). ``--group NAME``
(again for more) runs only the groups named; ``pos-client bench herd [--lanes N]
[--outage 30m]`` runs the herd simulation alone. Progress goes to standard error. Exit code 0 when
every figure group ran (goals missed included), 1 when a group failed.

Imports the standard library and the benchmark (lazily).
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure latency and throughput beside their physical limits",
        description=(
            "Measure each performance figure beside the limit or peer that bounds it "
            "(on this machine) and print the ratio and the goal."
        ),
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the figures as JSON")
    output.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument(
        "--quick", action="store_true", help="smaller counts: a run of under a minute"
    )
    parser.add_argument(
        "what",
        nargs="*",
        metavar="GROUP",
        help="run only these figure groups (as --group), e.g. `bench herd`",
    )
    parser.add_argument(
        "--lanes",
        type=int,
        metavar="N",
        help="the herd group: how many lanes come back after the outage (default 10,000)",
    )
    parser.add_argument(
        "--outage",
        metavar="DURATION",
        help="the herd group: how long the ledger was away, e.g. 30m, 90s, 2h (default 30m)",
    )
    parser.add_argument(
        "--group",
        action="append",
        metavar="NAME",
        help="run only this figure group (again for more): allocation, enqueue, catalog,"
        " online, scan, startup, drain, config, history, herd, enrol; herd_real (200 real"
        " lanes against the sandbox's load limits) runs only when named",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from pos_client.bench.figures import render_report
    from pos_client.bench.runner import GROUPS, run_bench

    chosen = [*(args.group or ()), *(args.what or ())]
    unknown = sorted(set(chosen) - set(GROUPS))
    if unknown:
        print(
            f"pos-client: there is no figure group {', '.join(unknown)};"
            f" the groups are {', '.join(GROUPS)}",
            file=sys.stderr,
        )
        return 2
    outage = None
    if args.outage is not None:
        from pos_client.bench.herd import parse_duration

        try:
            outage = parse_duration(args.outage)
        except ValueError as exc:
            print(f"pos-client: {exc}", file=sys.stderr)
            return 2
    if args.lanes is not None and args.lanes < 1:
        print("pos-client: --lanes must be at least 1", file=sys.stderr)
        return 2
    result = run_bench(
        quick=args.quick, groups=chosen or None, herd_lanes=args.lanes, herd_outage=outage
    )
    if args.json:
        json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_report(result, markdown=args.markdown) + "\n")
    sys.stdout.flush()
    return 1 if result["errors"] else 0
