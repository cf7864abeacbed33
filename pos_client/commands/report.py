"""``pos-client report x|z|reconcile``: the running (X) and end-of-day (Z) reports.

- ``report x [--date YYYY-MM-DD]``: the running totals of a business date
  (default: today, Asia/Tehran); writes nothing. Exit 0.
- ``report z [--date YYYY-MM-DD] [--allow-empty]``: closes a business date
  with a numbered Z report (closing it again shows the same report) and
  reconciles it against the ledger's settlement. Without ``--date``, the
  oldest open day with sales (a shop that closes after midnight closes the
  day it sold on). It names the date it closes. Refused without using up a
  number (exit 1, a sentence): a date still to come, a date before the
  terminal's first sale, and a day with no sales unless ``--allow-empty``.
- ``report reconcile N``: reconciles Z report ``N`` again (after the ledger
  could not be reached, or once the outbox has forwarded what it owed).

Exit status of ``z`` and ``reconcile``: 0 when the ledger's settlement agrees
or every difference is explained; 1 when a discrepancy was found or the ledger
could not be reached (the report is kept either way).
"""

from __future__ import annotations

import argparse
from datetime import date

from pos_client.commands.lane import (
    add_config_option,
    business_date_arg,
    emit_json,
    run_with_app,
)
from pos_client.compose import Lane
from pos_client.domain.reconcile import Finding, Line
from pos_client.services.reports import XReport, ZReport

#: What each finding means, in one line (see :func:`finding_text` for the two about dates).
FINDING_TEXT = {
    Finding.MATCHED: "on both sides",
    Finding.ANSWER_NOT_RECORDED: "on the ledger; its answer is not yet recorded here",
    Finding.MADE_ON_ANOTHER_DATE: "made on another day, counted by the ledger on this one",
    Finding.VOID_PENDING: "a void is still on its way to the ledger",
    Finding.AMOUNT_MISMATCH: "the ledger holds another amount",
    Finding.COUNTED_BUT_NOT_SOLD: "the ledger counts a sale declined or voided here",
    Finding.LISTED_TWICE: "the ledger lists it more than once",
    Finding.NOT_FORWARDED: "not yet forwarded to the ledger",
    Finding.COUNTED_ON_ANOTHER_DATE: "the ledger counts it on another date",
    Finding.UNRESOLVED: "an interrupted sale waits for a person",
    Finding.MISSING_ON_LEDGER: "approved by the ledger but missing from its settlement",
    Finding.ONLY_ON_LEDGER: "on the ledger only: this terminal has no such sale",
}


#: A sale the two sides date differently: forwarded later, or sent online as midnight passed.
_DATED_TEXT = {
    "made_on_another_date.forwarded": (
        "approved offline on {journal}, forwarded later: the ledger counts it on {ledger}"
    ),
    "made_on_another_date.online": (
        "sent online on {journal} as midnight passed: the ledger dated it {ledger}"
    ),
    "counted_on_another_date.forwarded": (
        "approved offline, forwarded later: the ledger counts it on {ledger}"
    ),
    "counted_on_another_date.online": (
        "sent online as midnight passed: the ledger dated it {ledger}, not {journal}"
    ),
}


def finding_text(line: Line) -> str:
    """What was found about one redemption, in one line."""
    dated = _DATED_TEXT.get(line.explanation)
    if dated is None:
        return FINDING_TEXT[line.finding]
    return dated.format(journal=_day(line.journal_date), ledger=_day(line.ledger_date))


def _day(value: date | None) -> str:
    return "another date" if value is None else value.isoformat()


def _number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a report number: {text!r}")
    return int(text)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("report", help="running (X) and end-of-day (Z) reports")
    sub = parser.add_subparsers(dest="report_command", metavar="ACTION", required=True)
    x = sub.add_parser("x", help="the running totals of a business date")
    z = sub.add_parser("z", help="close a business date with a numbered, reconciled report")
    x.add_argument(
        "--date",
        type=business_date_arg,
        metavar="YYYY-MM-DD",
        help="the business date (default: today)",
    )
    z.add_argument(
        "--date",
        type=business_date_arg,
        metavar="YYYY-MM-DD",
        help="the business date (default: the oldest open day with sales)",
    )
    z.add_argument(
        "--allow-empty",
        action="store_true",
        help="close the date even if it has no sales",
    )
    again = sub.add_parser("reconcile", help="reconcile a Z report against the ledger again")
    again.add_argument("number", type=_number, metavar="N", help="the Z report's number")
    for p, handler in ((x, _x), (z, _z), (again, _reconcile)):
        add_config_option(p)
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(handler=handler)


def _x(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        report = lane.reports.x_report(args.date)
        if args.json:
            emit_json(report.to_json())
        else:
            print("\n".join(x_lines(report)))
        return 0

    return run_with_app(args, work)


def _z(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        plan = lane.reports.plan_close(args.date)
        report = await lane.reports.close_day(plan.business_date, allow_empty=args.allow_empty)
        before = plan.closed is not None
        if args.json:
            emit_json({**report.to_json(), "closed_before": before})
            return _exit(report)
        if before:
            print(
                f"business date {report.business_date.isoformat()} was closed before, "
                f"by Z report {report.number}; shown again"
            )
        print("\n".join(z_lines(report)))
        return _exit(report)

    return run_with_app(args, work)


def _reconcile(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        return _show_z(await lane.reports.reconcile(args.number), as_json=args.json)

    return run_with_app(args, work)


def _show_z(report: ZReport, *, as_json: bool) -> int:
    if as_json:
        emit_json(report.to_json())
    else:
        print("\n".join(z_lines(report)))
    return _exit(report)


def _exit(report: ZReport) -> int:
    return 0 if report.status in ("agreed", "explained") else 1


def _rial(amount: int) -> str:
    return f"{amount:,} Rial"


def x_lines(report: XReport) -> list[str]:
    """The X report as plain English lines (the Textual UI has its own, in Persian too)."""
    lines = [
        f"Running report (X), terminal {report.terminal_id}, business date "
        f"{report.business_date.isoformat()}"
        + (f" (closed by Z report {report.closed_by})" if report.closed_by else ""),
        f"sales: {report.sales_count}, total {_rial(report.total_rial)}; covered by credit "
        f"{_rial(report.covered_rial)}; paid by the household {_rial(report.household_rial)}"
        + (f"; waived {_rial(report.waived_rial)}" if report.waived_rial else ""),
    ]
    for s in report.statuses:
        lines.append(
            f"  {s.status:19} {s.count:5}  total {_rial(s.total_rial):>22}"
            f"  credit {_rial(s.credit_rial):>22}"
        )
    for p in report.programs:
        lines.append(f"  programme {p.program}: {p.count} sale(s), {_rial(p.covered_rial)}")
    lines.append(
        f"waiting to be sent: {len(report.waiting)} ({_rial(report.waiting_rial)} to deliver)"
    )
    lines.append(
        f"open problems: {len(report.problems)} (collect {_rial(report.problems_collect_rial)})"
    )
    return lines


def z_lines(report: ZReport) -> list[str]:
    """The Z report as plain English lines."""
    totals = x_lines(report.totals)
    lines = [
        f"End-of-day report (Z) number {report.number}, terminal {report.terminal_id}, "
        f"business date {report.business_date.isoformat()}, closed {report.closed_at.isoformat()}",
        *totals[1:],
        f"unforwarded at close: {len(report.unforwarded)} "
        f"({_rial(report.unforwarded_rial)} to deliver)",
    ]
    for w in report.unforwarded:
        lines.append(
            f"  {w.id}  {w.business_date.isoformat()}  {w.intent:8} {w.status:17}"
            f" {_rial(w.covered_rial)}"
        )
    r = report.reconciliation
    if r is None:
        lines.append(f"NOT RECONCILED: {report.ledger_error or 'the ledger was not asked'}")
        lines.append(f"  try again later: pos-client report reconcile {report.number}")
        return lines
    lines.append(
        f"reconciliation: {r.status}; the ledger counts {r.ledger_count} sale(s), "
        f"{_rial(r.ledger_rial)}; this terminal expects {r.journal_count}, {_rial(r.journal_rial)}"
    )
    if report.ledger_error:
        lines.append(f"  (the last attempt to reconcile again failed: {report.ledger_error})")
    if r.unexplained_rial:
        lines.append(f"  the ledger's total differs by {_rial(r.unexplained_rial)}")
    if not r.count_agrees:
        lines.append(f"  the ledger's count {r.ledger_count} is not the {r.listed} ids it lists")
    if r.programs_agree is False:
        lines.append("  the ledger's totals by programme differ from this terminal's")
    for line in r.lines:
        if line.finding is Finding.MATCHED:
            continue
        mark = "!" if line.serious else " "
        lines.append(f" {mark}{line.id}  {finding_text(line)}")
    return lines
