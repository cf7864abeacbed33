"""X report (running totals) and Z report (closes the business day, numbered, lists what is
still unforwarded, reconciled against the ledger's settlement)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll

from pos_client.domain.errors import PosError
from pos_client.services.reports import XReport, ZReport

from ..i18n import Texts
from ..widgets.text import BidiText
from .base import PosScreen
from .dialogs import ConfirmDialog

__all__ = ["ReportScreen", "x_report_text", "z_report_text"]


def x_report_text(report: XReport, texts: Texts) -> str:
    """The running totals of a business day, as lines of logical text."""
    lines = [
        texts.t("report.business_date", date=texts.date_of(report.business_date)),
        texts.t("report.generated", time=texts.datetime(report.generated_at)),
        "",
        texts.t("report.count", count=report.sales_count),
        texts.t("report.total", amount=texts.amount(report.total_rial)),
        texts.t("report.covered", amount=texts.amount(report.covered_rial)),
        texts.t("report.payable", amount=texts.amount(report.household_rial)),
    ]
    if report.waived_rial:
        lines.append(texts.t("report.waived", amount=texts.amount(report.waived_rial)))
    if any(line.count for line in report.statuses):
        lines += ["", texts.t("report.by_status")]
    for line in report.statuses:
        if line.count:
            lines.append(
                texts.t(
                    "report.status_line",
                    status=texts.t(f"report.status.{line.status}"),
                    count=line.count,
                    amount=texts.amount(line.credit_rial),
                )
            )
    if report.programs:
        lines += ["", texts.t("report.by_program")]
        for program in report.programs:
            lines.append(
                texts.t(
                    "report.program",
                    program=texts.program(program.program),
                    count=program.count,
                    amount=texts.amount(program.covered_rial),
                )
            )
    lines.append("")
    waiting = [w for w in report.waiting if w.intent in ("deliver", "hold")]
    if waiting:
        lines.append(
            texts.t(
                "report.unforwarded", count=len(waiting), amount=texts.amount(report.waiting_rial)
            )
        )
    else:
        lines.append(texts.t("report.unforwarded_none"))
    if report.problems:
        lines.append(
            texts.t(
                "report.problems",
                count=len(report.problems),
                amount=texts.amount(report.problems_collect_rial),
            )
        )
    return "\n".join(lines)


def z_report_text(report: ZReport, texts: Texts) -> str:
    """The end-of-day report: its number, the totals, what is unforwarded, the reconciliation."""
    lines = [
        texts.t("report.number", number=report.number),
        texts.t("report.closed_at", time=texts.datetime(report.closed_at)),
        x_report_text(report.totals, texts),
    ]
    forward = [w for w in report.unforwarded if w.intent in ("deliver", "hold")]
    if forward:
        lines.append(
            texts.t(
                "report.unforwarded",
                count=len(forward),
                amount=texts.amount(report.unforwarded_rial),
            )
        )
    lines += ["", texts.t("report.reconciliation")]
    result = report.reconciliation
    if result is None:
        lines.append(texts.t("report.not_reconciled"))
        return "\n".join(lines)
    if report.status == "agreed":
        lines.append(texts.t("report.agreed"))
    elif report.status == "explained":
        lines.append(texts.t("report.explained"))
    else:
        lines.append(texts.t("report.discrepancy", count=len(result.serious)))
    lines.append(
        texts.t(
            "report.settlement", count=result.ledger_count, amount=texts.amount(result.ledger_rial)
        )
    )
    lines.append(
        texts.t(
            "report.journal", count=result.journal_count, amount=texts.amount(result.journal_rial)
        )
    )
    findings = Counter(line.explanation for line in result.lines)
    for finding, count in sorted(findings.items()):
        if finding != "matched":
            lines.append(
                texts.t("report.finding", finding=texts.t(f"finding.{finding}"), count=count)
            )
    return "\n".join(lines)


class ReportScreen(PosScreen[None]):
    """X (``closing=False``) or Z (``closing=True``, after a yes to closing the day it names)."""

    BINDINGS: ClassVar = [
        Binding("f2", "reconcile", "key.reconcile", key_display="F2"),
        Binding("escape", "close", "key.back", key_display="Esc"),
    ]

    def __init__(self, *, closing: bool) -> None:
        super().__init__()
        self.closing = closing
        self.report: ZReport | None = None

    def title_key(self) -> str:
        return "report.z.title" if self.closing else "report.x.title"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="report"):
            yield BidiText("", id="report-text")

    def on_mount(self) -> None:
        super().on_mount()
        if self.closing:
            self.run_worker(self._close_day(), group="report", exit_on_error=False)
        else:
            reports = self.pos.lane.reports
            self.run_service(
                lambda: asyncio.to_thread(reports.x_report),
                done=self._show_x,
                busy=self.t("report.working"),
            )

    def _show_x(self, report: XReport) -> None:
        self.say("")
        self.query_one("#report-text", BidiText).text = x_report_text(report, self.texts)

    async def _close_day(self) -> None:
        """Name the day a Z report would close, ask, then close it (or show it, closed before).

        The day is the oldest open day with sales (a shop closing after
        midnight closes the day it sold on); a day with no sales is closed only
        after a second, plain question; a day that cannot be closed is a sentence.
        """
        reports = self.pos.lane.reports
        try:
            plan = await asyncio.to_thread(reports.plan_close)
        except PosError as exc:  # a sentence, never a traceback
            self.say(self.texts.error(exc), "error")
            return
        day = plan.business_date
        shown = self.texts.date_of(day)
        self.query_one("#report-text", BidiText).text = self.t("report.z_day", date=shown)
        allow_empty = False
        if plan.closed is None:
            if plan.refusal == "empty_day":
                question = self.t("report.z_confirm_empty", date=shown)
                allow_empty = True
            elif plan.refusal is not None:
                key = f"error.{plan.refusal}"
                self.say(self.t(key if self.texts.has(key) else "error.unexpected"), "error")
                return
            else:
                question = self.t("report.z_confirm_day", date=shown, count=plan.entries)
            if not await self.app.push_screen_wait(ConfirmDialog(question)):
                self.dismiss(None)
                return
        self.run_service(
            lambda: reports.close_day(day, allow_empty=allow_empty),
            done=lambda z: self._show_z(z, before=plan.closed is not None),
            busy=self.t("report.working"),
        )

    def _show_z(self, report: ZReport, *, before: bool = False) -> None:
        self.report = report
        self.query_one("#report-text", BidiText).text = z_report_text(report, self.texts)
        if before:
            self.say(self.t("report.closed_before", number=report.number), "warn")
        elif report.reconciliation is None:
            self.say(self.t("report.not_reconciled"), "warn")
        else:
            self.say(
                self.t("report.z_done_day", date=self.texts.date_of(report.business_date)), "ok"
            )
        self.refresh_bindings()
        self.pos.read_status()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reconcile":
            return self.closing and self.report is not None
        return True

    def action_reconcile(self) -> None:
        if self.report is None:
            return
        number = self.report.number
        reports = self.pos.lane.reports
        self.run_service(
            lambda: reports.reconcile(number), done=self._show_z, busy=self.t("report.working")
        )

    def action_close(self) -> None:
        self.dismiss(None)
