"""An X report from journal entries (no I/O), and a journal entry as reconciling sees it.

Imports the standard library, the domain, the ports' values and the redemption helpers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from pos_client.domain.reconcile import JournalSale
from pos_client.domain.states import RedemptionStatus
from pos_client.ports import JournalEntry, OutboxItem, ProblemRecord
from pos_client.services.redemptions import business_date as business_date_of
from pos_client.services.redemptions import outcome_from_entry

from .values import (
    _TO_FORWARD,
    STATUS_ORDER,
    OpenProblem,
    ProgramTotal,
    StatusTotals,
    WaitingSale,
    XReport,
)

__all__ = ["build_x_report", "covered_by_program", "journal_sale"]

_S = RedemptionStatus
_COUNTED = frozenset({_S.APPROVED, _S.PARTIALLY_APPROVED, _S.APPROVED_OFFLINE})


def _json(raw: str | bytes | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def covered_by_program(entry: JournalEntry) -> dict[str, int]:
    """What each programme's credit pays for ``entry``: the ledger's answer when it has one."""
    basket = _json(entry.basket)
    answer = _json(entry.answer)
    program_of: dict[str, str] = {}
    for p in answer.get("purses_after", []):
        if p.get("id") and p.get("program"):
            program_of[p["id"]] = p["program"]
    for a in basket.get("allocations", []):
        if a.get("purse_id") and a.get("program"):
            program_of[a["purse_id"]] = a["program"]
    allocations = answer.get("allocations") if answer else basket.get("allocations", [])
    totals: dict[str, int] = {}
    for a in allocations or []:
        amount = int(a.get("amount_rial", 0))
        if amount > 0:
            program = program_of.get(a.get("purse_id", ""), "unknown")
            totals[program] = totals.get(program, 0) + amount
    return dict(sorted(totals.items()))


def _ledger_date(entry: JournalEntry) -> date | None:
    approved_at = _json(entry.answer).get("approved_at")
    if not approved_at:
        return None
    try:
        return business_date_of(datetime.fromisoformat(approved_at))
    except (TypeError, ValueError):
        return None


def _answered(entry: JournalEntry) -> bool:
    return entry.answer is not None and entry.ledger_covered_rial is not None


def journal_sale(entry: JournalEntry) -> JournalSale:
    """A journal entry reduced to what reconciling it needs."""
    answered = _answered(entry)
    covered = entry.ledger_covered_rial if answered else entry.covered_rial
    return JournalSale(
        id=entry.id,
        business_date=entry.business_date,
        status=entry.status.value,
        covered_rial=int(covered or 0),
        answered=answered,
        ledger_date=_ledger_date(entry) if answered else None,
        intent=entry.intent,
        by_program=tuple(covered_by_program(entry).items()),
        forwarded=entry.mode == "offline",
    )


def _status_word(entry: JournalEntry) -> str:
    if entry.status is _S.DECLINED and (entry.reason or "").startswith("refused_offline"):
        return "refused_offline"
    if entry.status in (_S.PENDING, _S.UNKNOWN_OUTCOME, _S.DRAFT):
        return "unresolved"
    return entry.status.value


def _credit(entry: JournalEntry) -> int:
    if entry.status in (_S.APPROVED, _S.PARTIALLY_APPROVED, _S.VOIDED):
        if entry.ledger_covered_rial is not None:
            return entry.ledger_covered_rial
    return entry.covered_rial


def _waiting(items: Iterable[OutboxItem], days: Mapping[str, date]) -> tuple[WaitingSale, ...]:
    return tuple(
        WaitingSale(
            id=i.redemption_id,
            business_date=days[i.redemption_id],
            status=i.status.value,
            intent=i.intent,
            covered_rial=i.covered_rial,
            attempts=i.attempts,
            last_error=i.last_error,
        )
        for i in items
        if i.redemption_id in days
    )


def build_x_report(
    *,
    terminal_id: str,
    business_date: date,
    at: datetime,
    entries: Sequence[JournalEntry],
    waiting: Sequence[WaitingSale],
    problems: Sequence[ProblemRecord],
    closed_by: int | None = None,
) -> XReport:
    """The X report of ``business_date`` from its journal ``entries`` (no I/O)."""
    lines = {name: [0, 0, 0, 0] for name in STATUS_ORDER}
    programs: dict[str, list[int]] = {}
    sales = [0, 0, 0, 0, 0]  # count, total, covered, household, waived
    for entry in entries:
        outcome = outcome_from_entry(entry)
        line = lines[_status_word(entry)]
        line[0] += 1
        line[1] += entry.total_rial
        line[2] += _credit(entry)
        if outcome.goes_ahead:
            line[3] += outcome.payable_rial
            sales[0] += 1
            sales[1] += outcome.total_rial
            sales[2] += outcome.covered_rial
            sales[3] += outcome.payable_rial
            sales[4] += outcome.waived_rial
        if entry.status in _COUNTED:
            for program, amount in covered_by_program(entry).items():
                totals = programs.setdefault(program, [0, 0])
                totals[0] += 1
                totals[1] += amount
    open_problems = tuple(
        OpenProblem(
            seq=p.seq,
            redemption_id=p.redemption_id,
            kind=p.kind,
            collect_rial=p.collect_rial,
            detail=p.detail,
            created_at=p.created_at,
        )
        for p in problems
        if p.resolved_at is None
    )
    return XReport(
        terminal_id=terminal_id,
        business_date=business_date,
        generated_at=at,
        statuses=tuple(StatusTotals(name, *lines[name]) for name in STATUS_ORDER),
        programs=tuple(ProgramTotal(name, *programs[name]) for name in sorted(programs)),
        sales_count=sales[0],
        total_rial=sales[1],
        covered_rial=sales[2],
        household_rial=sales[3],
        waived_rial=sales[4],
        waiting=tuple(waiting),
        waiting_rial=sum(w.covered_rial for w in waiting if w.intent in _TO_FORWARD),
        problems=open_problems,
        problems_collect_rial=sum(p.collect_rial for p in open_problems),
        closed_by=closed_by,
    )
