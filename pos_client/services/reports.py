"""The X and Z reports, shared by the Textual UI and the command line.

- :meth:`ReportService.x_report` (running report, گزارش میان‌روز): the totals of
  one business date from the journal, by status (approved, approved offline,
  partially approved, declined, refused offline, voided, unresolved), by
  programme, what the credit covered and what the household paid, what waits
  in the outbox with its total, and the open problems. It writes nothing.
- :meth:`ReportService.close_day` (end-of-day report, گزارش پایان روز): closes a
  business date. The Z report is numbered consecutively per terminal and kept
  in the store *before* the ledger is asked anything, so a close survives any
  network trouble; closing the same date again returns the same report (the
  same number). It lists what is still unforwarded and reconciles the journal
  against the ledger's settlement of the date
  (:func:`pos_client.domain.reconcile.reconcile`). When the ledger cannot be
  reached the report is kept as ``not_reconciled``; :meth:`ReportService.reconcile`
  (or closing the date again) reconciles it later.

The ledger dates a redemption by the day it *recorded* it, the journal by the
day it was made at the counter: an offline sale forwarded after midnight is
counted by the ledger on the next date, and the reconciliation says so.

Money is integer Rials. Imports the standard library, the domain, the ports
and the project's errors; never an adapter, textual or httpx.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol

from pos_client.domain.errors import ContractError, PosError
from pos_client.domain.reconcile import (
    Finding,
    JournalSale,
    Line,
    ProgramTotals,
    Reconciliation,
    Side,
    reconcile,
)
from pos_client.domain.redemption import Settlement
from pos_client.domain.states import RedemptionStatus
from pos_client.errors import LedgerError
from pos_client.ports import Clock, JournalEntry, Ledger, OutboxItem, ProblemRecord
from pos_client.services.redemptions import business_date as business_date_of
from pos_client.services.redemptions import outcome_from_entry

__all__ = [
    "STATUS_ORDER",
    "OpenProblem",
    "ProgramTotal",
    "ReportError",
    "ReportService",
    "ReportStore",
    "StatusTotals",
    "WaitingSale",
    "XReport",
    "ZReport",
    "covered_by_program",
    "journal_sale",
    "reconciliation_from_json",
    "reconciliation_to_json",
]

log = logging.getLogger(__name__)

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
#: At most this many redemptions are looked up one by one at the ledger per reconciliation.
DEFAULT_LOOKUP_LIMIT = 200

_S = RedemptionStatus
_COUNTED = frozenset({_S.APPROVED, _S.PARTIALLY_APPROVED, _S.APPROVED_OFFLINE})
_TO_FORWARD = ("deliver", "hold")


class ReportError(PosError):
    """A report that cannot be made as asked (a future date, an unknown Z number)."""

    code = "report_error"


# --------------------------------------------------------------------------- ports


class ZRecord(Protocol):
    """A Z report as the store keeps it (:class:`pos_client.adapters.store.ZReportRecord`)."""

    @property
    def terminal_id(self) -> str: ...
    @property
    def number(self) -> int: ...
    @property
    def business_date(self) -> date: ...
    @property
    def closed_at(self) -> datetime: ...
    @property
    def report(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def reconciliation(self) -> str | None: ...
    @property
    def reconciled_at(self) -> datetime | None: ...
    @property
    def ledger_error(self) -> str | None: ...


class ReportStore(Protocol):
    """What the reports read from and write to the lane store."""

    def journal_on(self, business_date: date) -> list[JournalEntry]: ...

    def redemption(self, redemption_id: str) -> JournalEntry | None: ...

    def outbox(self) -> list[OutboxItem]: ...

    def problems(self, *, include_resolved: bool = False) -> list[ProblemRecord]: ...

    def save_z_report(
        self, *, terminal_id: str, business_date: date, at: datetime, report: str
    ) -> tuple[ZRecord, bool]: ...

    def save_z_reconciliation(
        self,
        *,
        terminal_id: str,
        number: int,
        status: str,
        reconciliation: str | None,
        reconciled_at: datetime | None,
        ledger_error: str | None,
    ) -> ZRecord: ...

    def z_report(
        self, terminal_id: str, *, number: int | None = None, business_date: date | None = None
    ) -> ZRecord | None: ...

    def z_reports(self, terminal_id: str) -> Sequence[ZRecord]: ...


# --------------------------------------------------------------------------- values


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


# --------------------------------------------------------------------------- the service


class ReportService:
    """X and Z reports of one terminal (see the module docstring)."""

    def __init__(
        self,
        *,
        store: ReportStore,
        ledger: Ledger,
        clock: Clock,
        terminal_id: str,
        lookup_limit: int = DEFAULT_LOOKUP_LIMIT,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.clock = clock
        self.terminal_id = terminal_id
        self.lookup_limit = lookup_limit

    def today(self) -> date:
        """The current business date (Asia/Tehran)."""
        return business_date_of(self.clock.now())

    # ------------------------------------------------------------------ X

    def x_report(self, business_date: date | None = None) -> XReport:
        """The running totals of ``business_date`` (default: today). Writes nothing."""
        day = business_date or self.today()
        closed = self.store.z_report(self.terminal_id, business_date=day)
        return self._x(day, at=self.clock.now(), closed_by=closed.number if closed else None)

    def _x(self, day: date, *, at: datetime, closed_by: int | None) -> XReport:
        outbox = self.store.outbox()
        days = self._days_of(outbox)
        return build_x_report(
            terminal_id=self.terminal_id,
            business_date=day,
            at=at,
            entries=self.store.journal_on(day),
            waiting=_waiting(outbox, days),
            problems=self.store.problems(),
            closed_by=closed_by,
        )

    def _days_of(self, outbox: Sequence[OutboxItem]) -> dict[str, date]:
        days = {}
        for item in outbox:
            entry = self.store.redemption(item.redemption_id)
            if entry is not None:
                days[item.redemption_id] = entry.business_date
        return days

    # ------------------------------------------------------------------ Z

    def z_report(self, number: int) -> ZReport:
        """Z report ``number`` as it was kept (``ReportError`` if there is none)."""
        record = self.store.z_report(self.terminal_id, number=number)
        if record is None:
            raise ReportError(f"there is no Z report number {number}", code="no_such_report")
        return _z_from_record(record)

    def z_reports(self) -> list[ZReport]:
        """Every Z report of this terminal, by number."""
        return [_z_from_record(r) for r in self.store.z_reports(self.terminal_id)]

    def closed(self, business_date: date) -> ZReport | None:
        """The Z report that closed ``business_date``, if it is closed."""
        record = self.store.z_report(self.terminal_id, business_date=business_date)
        return None if record is None else _z_from_record(record)

    async def close_day(self, business_date: date | None = None) -> ZReport:
        """Close ``business_date`` (default: today) with a numbered Z report, then reconcile it.

        The report is kept before the ledger is asked. Closing a date already
        closed returns its report (the same number and totals), reconciling it
        now if that could not be done before. A date still to come is refused.
        """
        now = self.clock.now()
        day = business_date or business_date_of(now)
        if day > business_date_of(now):
            raise ReportError(
                f"{day.isoformat()} has not come yet; only a day begun can be closed",
                code="future_date",
            )
        record = self.store.z_report(self.terminal_id, business_date=day)
        if record is None:
            totals = self._x(day, at=now, closed_by=None)
            unforwarded = [w for w in totals.waiting if w.business_date <= day]
            snapshot = {
                "totals": totals.to_json(),
                "unforwarded": [_waiting_json(w) for w in unforwarded],
            }
            record, made = self.store.save_z_report(
                terminal_id=self.terminal_id,
                business_date=day,
                at=now,
                report=json.dumps(snapshot, ensure_ascii=False, separators=(",", ":")),
            )
            if made:
                log.info("business date %s closed by Z report %d", day, record.number)
        if record.reconciliation is None:
            return await self._reconcile(record)
        return _z_from_record(record)

    async def reconcile(self, z_number: int) -> ZReport:
        """Reconcile Z report ``z_number`` against the ledger's settlement now, and keep it.

        A report reconciled before is reconciled again (what the outbox has
        forwarded since may explain a difference). The totals and the number
        never change.
        """
        record = self.store.z_report(self.terminal_id, number=z_number)
        if record is None:
            raise ReportError(f"there is no Z report number {z_number}", code="no_such_report")
        return await self._reconcile(record)

    async def _reconcile(self, record: ZRecord) -> ZReport:
        day = record.business_date
        try:
            settlement = await self.ledger.settlement(day)
            if settlement.business_date != day or settlement.terminal_id != self.terminal_id:
                raise LedgerError("the ledger answered about another date or terminal")
            result = await self._reconciliation(day, settlement)
        except LedgerError as exc:
            log.info("Z report %d not reconciled: %s", record.number, exc.message)
            # A reconciliation made earlier is kept as it was; only the error is new.
            record = self.store.save_z_reconciliation(
                terminal_id=self.terminal_id,
                number=record.number,
                status=record.status if record.reconciliation else "not_reconciled",
                reconciliation=record.reconciliation,
                reconciled_at=record.reconciled_at,
                ledger_error=exc.message,
            )
            return _z_from_record(record)
        record = self.store.save_z_reconciliation(
            terminal_id=self.terminal_id,
            number=record.number,
            status=result.status,
            reconciliation=json.dumps(
                reconciliation_to_json(result), ensure_ascii=False, separators=(",", ":")
            ),
            reconciled_at=self.clock.now(),
            ledger_error=None,
        )
        return _z_from_record(record)

    async def _reconciliation(self, day: date, settlement: Settlement) -> Reconciliation:
        entries = {e.id: e for e in self.store.journal_on(day)}
        for rid in settlement.redemption_ids:
            if rid not in entries:
                other = self.store.redemption(rid)
                if other is not None:
                    entries[rid] = other
        sales = [journal_sale(e) for e in entries.values()]
        answered = {s.id for s in sales if s.answered}
        # The settlement gives totals only: ask for the amounts the journal cannot give.
        unknown = [rid for rid in dict.fromkeys(settlement.redemption_ids) if rid not in answered]
        amounts = await self._amounts(unknown)
        try:
            result = reconcile(day, sales, settlement, ledger_amounts=amounts)
            if result.unexplained_rial:
                # The totals differ: find which redemption the ledger holds another amount for.
                listed = list(dict.fromkeys(settlement.redemption_ids))
                amounts.update(await self._amounts([r for r in listed if r not in amounts]))
                result = reconcile(day, sales, settlement, ledger_amounts=amounts)
        except ContractError as exc:
            raise LedgerError(f"the settlement cannot be reconciled: {exc.message}") from None
        return result

    async def _amounts(self, ids: Sequence[str]) -> dict[str, int]:
        """What the ledger holds for each id (looked up one by one, at most ``lookup_limit``)."""
        amounts: dict[str, int] = {}
        for rid in ids[: self.lookup_limit]:
            try:
                answer = await self.ledger.get_redemption(rid)
            except LedgerError as exc:
                log.info("could not look up %s at the ledger: %s", rid, exc.message)
                continue
            if answer is not None and answer.goes_ahead:
                amounts[rid] = answer.covered_rial
        return amounts


def _z_from_record(record: ZRecord) -> ZReport:
    snapshot = json.loads(record.report)
    totals = replace(XReport.from_json(snapshot["totals"]), closed_by=record.number)
    reconciliation = (
        None
        if record.reconciliation is None
        else reconciliation_from_json(json.loads(record.reconciliation))
    )
    return ZReport(
        number=record.number,
        terminal_id=record.terminal_id,
        business_date=record.business_date,
        closed_at=record.closed_at,
        totals=totals,
        unforwarded=tuple(_waiting_from_json(w) for w in snapshot["unforwarded"]),
        status=record.status,
        reconciliation=reconciliation,
        reconciled_at=record.reconciled_at,
        ledger_error=record.ledger_error,
    )
