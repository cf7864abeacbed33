"""The X and Z reports as values, and their JSON (as the store keeps a Z report).

Imports the standard library and the domain only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pos_client.domain.reconcile import (
    Finding,
    Line,
    ProgramTotals,
    Reconciliation,
    Side,
)

__all__ = [
    "STATUS_ORDER",
    "OpenProblem",
    "ProgramTotal",
    "StatusTotals",
    "WaitingSale",
    "XReport",
    "ZReport",
    "reconciliation_from_json",
    "reconciliation_to_json",
]

#: The status lines of an X report, in the order shown.
STATUS_ORDER = (
    "approved",
    "approved_offline",
    "partially_approved",
    "declined",
    "refused_offline",
    "voided",
    "unresolved",
)
#: What the outbox still owes the ledger as sales (not voids or abandons).
_TO_FORWARD = ("deliver", "hold")


@dataclass(frozen=True, slots=True)
class StatusTotals:
    """One status line of an X report.

    ``credit_rial`` is the credit concerned: taken (approved, partially
    approved: what the ledger took; approved offline: what the terminal
    approved), asked for and refused (declined, refused offline), given back
    (voided) or in doubt (unresolved). ``household_rial`` is what the household
    pays itself for the sales that went ahead.
    """

    status: str
    count: int = 0
    total_rial: int = 0
    credit_rial: int = 0
    household_rial: int = 0


@dataclass(frozen=True, slots=True)
class ProgramTotal:
    """What one programme's credit covered (sales counted: approved, partial, offline)."""

    program: str
    count: int
    covered_rial: int


@dataclass(frozen=True, slots=True)
class WaitingSale:
    """A redemption the outbox still owes the ledger (``intent``: deliver, hold, void, abandon)."""

    id: str
    business_date: date
    status: str
    intent: str
    covered_rial: int
    attempts: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class OpenProblem:
    seq: int
    redemption_id: str
    kind: str
    collect_rial: int
    detail: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class XReport:
    """The running totals of one business date (the terminal's: the day a sale was made).

    Sales (``sales_count``...) are those whose goods left with the household:
    ``total_rial = covered_rial + household_rial + waived_rial``, where
    ``waived_rial`` is what the shop waives on free packages above their price
    cap. An offline approval the ledger declined later counts as a sale whose
    whole amount is the household's (see the problems). ``waiting`` is the
    whole outbox now (any date); ``closed_by`` the Z report that closed the date.
    """

    terminal_id: str
    business_date: date
    generated_at: datetime
    statuses: tuple[StatusTotals, ...]
    programs: tuple[ProgramTotal, ...]
    sales_count: int
    total_rial: int
    covered_rial: int
    household_rial: int
    waived_rial: int
    waiting: tuple[WaitingSale, ...]
    waiting_rial: int
    problems: tuple[OpenProblem, ...]
    problems_collect_rial: int
    closed_by: int | None = None

    def status(self, name: str) -> StatusTotals:
        for line in self.statuses:
            if line.status == name:
                return line
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "terminal_id": self.terminal_id,
            "business_date": self.business_date.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "closed_by": self.closed_by,
            "sales": {
                "count": self.sales_count,
                "total_rial": self.total_rial,
                "covered_rial": self.covered_rial,
                "household_rial": self.household_rial,
                "waived_rial": self.waived_rial,
            },
            "by_status": {
                s.status: {
                    "count": s.count,
                    "total_rial": s.total_rial,
                    "credit_rial": s.credit_rial,
                    "household_rial": s.household_rial,
                }
                for s in self.statuses
            },
            "by_program": {
                p.program: {"count": p.count, "covered_rial": p.covered_rial} for p in self.programs
            },
            "outbox": {
                "count": len(self.waiting),
                "covered_rial": self.waiting_rial,
                "items": [_waiting_json(w) for w in self.waiting],
            },
            "problems": {
                "count": len(self.problems),
                "collect_rial": self.problems_collect_rial,
                "items": [
                    {
                        "seq": p.seq,
                        "redemption_id": p.redemption_id,
                        "kind": p.kind,
                        "collect_rial": p.collect_rial,
                        "detail": p.detail,
                        "created_at": p.created_at.isoformat(),
                    }
                    for p in self.problems
                ],
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> XReport:
        sales = data["sales"]
        return cls(
            terminal_id=data["terminal_id"],
            business_date=date.fromisoformat(data["business_date"]),
            generated_at=datetime.fromisoformat(data["generated_at"]),
            closed_by=data.get("closed_by"),
            statuses=tuple(
                StatusTotals(
                    status=name,
                    count=v["count"],
                    total_rial=v["total_rial"],
                    credit_rial=v["credit_rial"],
                    household_rial=v["household_rial"],
                )
                for name, v in data["by_status"].items()
            ),
            programs=tuple(
                ProgramTotal(program=name, count=v["count"], covered_rial=v["covered_rial"])
                for name, v in data["by_program"].items()
            ),
            sales_count=sales["count"],
            total_rial=sales["total_rial"],
            covered_rial=sales["covered_rial"],
            household_rial=sales["household_rial"],
            waived_rial=sales["waived_rial"],
            waiting=tuple(_waiting_from_json(w) for w in data["outbox"]["items"]),
            waiting_rial=data["outbox"]["covered_rial"],
            problems=tuple(
                OpenProblem(
                    seq=p["seq"],
                    redemption_id=p["redemption_id"],
                    kind=p["kind"],
                    collect_rial=p["collect_rial"],
                    detail=p["detail"],
                    created_at=datetime.fromisoformat(p["created_at"]),
                )
                for p in data["problems"]["items"]
            ),
            problems_collect_rial=data["problems"]["collect_rial"],
        )


@dataclass(frozen=True, slots=True)
class ZReport:
    """The end-of-day report of one business date, numbered per terminal.

    ``totals`` are the running totals when the date was closed; ``unforwarded``
    what the outbox still owed the ledger then, for this date or before
    (``unforwarded_rial`` sums those still to be delivered). ``status`` is
    ``not_reconciled`` (``ledger_error`` says why) or the reconciliation's:
    ``agreed``, ``explained`` or ``discrepancy``.
    """

    number: int
    terminal_id: str
    business_date: date
    closed_at: datetime
    totals: XReport
    unforwarded: tuple[WaitingSale, ...]
    status: str = "not_reconciled"
    reconciliation: Reconciliation | None = None
    reconciled_at: datetime | None = None
    ledger_error: str | None = None

    @property
    def reconciled(self) -> bool:
        return self.reconciliation is not None

    @property
    def unforwarded_rial(self) -> int:
        return sum(w.covered_rial for w in self.unforwarded if w.intent in _TO_FORWARD)

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "terminal_id": self.terminal_id,
            "business_date": self.business_date.isoformat(),
            "closed_at": self.closed_at.isoformat(),
            "status": self.status,
            "reconciled": self.reconciled,
            "reconciled_at": None if self.reconciled_at is None else self.reconciled_at.isoformat(),
            "ledger_error": self.ledger_error,
            "totals": self.totals.to_json(),
            "unforwarded": {
                "count": len(self.unforwarded),
                "covered_rial": self.unforwarded_rial,
                "items": [_waiting_json(w) for w in self.unforwarded],
            },
            "reconciliation": None
            if self.reconciliation is None
            else reconciliation_to_json(self.reconciliation),
        }


def _waiting_json(w: WaitingSale) -> dict[str, Any]:
    return {
        "id": w.id,
        "business_date": w.business_date.isoformat(),
        "status": w.status,
        "intent": w.intent,
        "covered_rial": w.covered_rial,
        "attempts": w.attempts,
        "last_error": w.last_error,
    }


def _waiting_from_json(data: Mapping[str, Any]) -> WaitingSale:
    return WaitingSale(
        id=data["id"],
        business_date=date.fromisoformat(data["business_date"]),
        status=data["status"],
        intent=data["intent"],
        covered_rial=data["covered_rial"],
        attempts=data["attempts"],
        last_error=data["last_error"],
    )


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _undate(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def reconciliation_to_json(r: Reconciliation) -> dict[str, Any]:
    """A reconciliation as JSON (with what it concludes: status, agreement, serious count)."""
    return {
        "business_date": r.business_date.isoformat(),
        "status": r.status,
        "serious": len(r.serious),
        "ledger": {"count": r.ledger_count, "covered_rial": r.ledger_rial, "listed": r.listed},
        "journal": {"count": r.journal_count, "covered_rial": r.journal_rial},
        "accounted_rial": r.accounted_rial,
        "unexplained_rial": r.unexplained_rial,
        "count_agrees": r.count_agrees,
        "programs_comparable": r.programs_comparable,
        "programs_agree": r.programs_agree,
        "programs": [
            {
                "program": p.program,
                "ledger_count": p.ledger_count,
                "ledger_rial": p.ledger_rial,
                "journal_count": p.journal_count,
                "journal_rial": p.journal_rial,
            }
            for p in r.programs
        ],
        "lines": [
            {
                "id": line.id,
                "finding": line.finding.value,
                "serious": line.serious,
                "side": line.side.value,
                "journal_rial": line.journal_rial,
                "ledger_rial": line.ledger_rial,
                "journal_date": _day(line.journal_date),
                "ledger_date": _day(line.ledger_date),
                "status": line.status,
                "intent": line.intent,
                "forwarded": line.forwarded,
                "explanation": line.explanation,
            }
            for line in r.lines
        ],
    }


def reconciliation_from_json(data: Mapping[str, Any]) -> Reconciliation:
    """The reconciliation :func:`reconciliation_to_json` wrote."""
    return Reconciliation(
        business_date=date.fromisoformat(data["business_date"]),
        lines=tuple(
            Line(
                id=line["id"],
                finding=Finding(line["finding"]),
                side=Side(line["side"]),
                journal_rial=line["journal_rial"],
                ledger_rial=line["ledger_rial"],
                journal_date=_undate(line["journal_date"]),
                ledger_date=_undate(line["ledger_date"]),
                status=line["status"],
                intent=line["intent"],
                forwarded=line.get("forwarded"),
            )
            for line in data["lines"]
        ),
        ledger_count=data["ledger"]["count"],
        ledger_rial=data["ledger"]["covered_rial"],
        listed=data["ledger"]["listed"],
        journal_count=data["journal"]["count"],
        journal_rial=data["journal"]["covered_rial"],
        accounted_rial=data["accounted_rial"],
        unexplained_rial=data["unexplained_rial"],
        programs=tuple(
            ProgramTotals(
                program=p["program"],
                ledger_count=p["ledger_count"],
                ledger_rial=p["ledger_rial"],
                journal_count=p["journal_count"],
                journal_rial=p["journal_rial"],
            )
            for p in data["programs"]
        ),
        programs_comparable=data["programs_comparable"],
    )


# --------------------------------------------------------------------------- from the journal
