"""The report service: X reports from the store, Z reports closed, kept and reconciled.

See the package docstring for what the reports are. Imports the standard
library, the domain, the ports and the project's errors; never an adapter.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Protocol

from pos_client.domain.business_day import close_refusal, day_to_close, sale_date
from pos_client.domain.errors import ContractError
from pos_client.domain.reconcile import Reconciliation, reconcile
from pos_client.domain.redemption import Settlement
from pos_client.errors import LedgerError, ReportError
from pos_client.ports import Clock, JournalEntry, Ledger, OutboxItem, ProblemRecord
from pos_client.services.redemptions import business_date as business_date_of

from .days import ClosedDays
from .totals import _waiting, build_x_report, journal_sale
from .values import (
    XReport,
    ZReport,
    _waiting_from_json,
    _waiting_json,
    reconciliation_from_json,
    reconciliation_to_json,
)

__all__ = ["DEFAULT_LOOKUP_LIMIT", "ClosePlan", "ReportService", "ReportStore", "ZRecord"]

log = logging.getLogger(__name__)

#: At most this many redemptions are looked up one by one at the ledger per reconciliation.
DEFAULT_LOOKUP_LIMIT = 200

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

    def journal(self, *, since_seq: int = 0) -> Iterator[JournalEntry]: ...

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


#: What each refusal to close a day says (the screen and the CLI show the code's own sentence).
_REFUSALS = {
    "future_date": "{day} has not come yet; only a day begun can be closed",
    "no_sales_yet": "this terminal has made no sale yet; there is no business day to close",
    "before_first_sale": "{day} is before this terminal's first sale ({first}); nothing to close",
    "empty_day": "{day} has no sales; close it only if asked for (--allow-empty)",
}


@dataclass(frozen=True, slots=True)
class ClosePlan:
    """What closing a day would do, for the screen to ask about before it does it.

    ``business_date`` is the day a Z report would close; ``closed`` its report
    when it is closed already; ``entries`` how many redemptions its journal
    holds; ``refusal`` why it cannot be closed as it is (``empty_day``: only
    when asked; any other: not at all), or ``None``.
    """

    business_date: date
    closed: ZReport | None
    entries: int
    refusal: str | None


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

    # ------------------------------------------------------------------ days

    def closed_dates(self) -> tuple[date, ...]:
        """Every business date a Z report of this terminal has closed, oldest first."""
        return tuple(sorted(r.business_date for r in self.store.z_reports(self.terminal_id)))

    def sale_date(self, now: datetime | None = None) -> date:
        """The business date a sale made at ``now`` belongs to: never a day already closed."""
        moment = now or self.clock.now()
        return sale_date(business_date_of(moment), ClosedDays(self.store, self.terminal_id))

    def first_sale_date(self) -> date | None:
        """The business date of this terminal's first journal entry (``None``: it has none)."""
        first = next(iter(self.store.journal()), None)
        return None if first is None else first.business_date

    def day_to_close(self) -> date:
        """The day a Z report closes when none is named: the oldest open day with sales.

        When every day with sales is closed: today (see
        :func:`pos_client.domain.business_day.day_to_close`).
        """
        today = self.today()
        closed = ClosedDays(self.store, self.terminal_id)
        return day_to_close(today, self._sale_days(today, closed), closed)

    def _sale_days(self, today: date, closed: ClosedDays) -> Iterator[date]:
        """The open days with something in the journal, oldest first, up to a new sale's day."""
        first = self.first_sale_date()
        if first is None:
            return
        day, last = first, sale_date(today, closed)
        while day <= last:
            if day not in closed and self.store.journal_on(day):
                yield day
            day += timedelta(days=1)

    def plan_close(self, business_date: date | None = None) -> ClosePlan:
        """What :meth:`close_day` would close (default: :meth:`day_to_close`), asking nothing."""
        day = business_date or self.day_to_close()
        record = self.store.z_report(self.terminal_id, business_date=day)
        entries = len(self.store.journal_on(day)) if record is None else 0
        refusal = close_refusal(
            day,
            today=self.today(),
            closed=ClosedDays(self.store, self.terminal_id),
            first_sale=self.first_sale_date(),
            has_sales=entries > 0,
        )
        return ClosePlan(
            business_date=day,
            closed=None if record is None else _z_from_record(record),
            entries=entries,
            refusal=refusal,
        )

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

    async def close_day(
        self, business_date: date | None = None, *, allow_empty: bool = False
    ) -> ZReport:
        """Close ``business_date`` with a numbered Z report, then reconcile it.

        Without a date, the oldest open day with sales (:meth:`day_to_close`).
        The report is kept before the ledger is asked. Closing a date already
        closed returns its report (the same number and totals), reconciling it
        now if that could not be done before. Refused, without using up a
        number: a date still to come, a date before the terminal's first sale,
        and a date with nothing in the journal unless ``allow_empty``.
        """
        now = self.clock.now()
        day = business_date or self.day_to_close()
        record = self.store.z_report(self.terminal_id, business_date=day)
        if record is None:
            first = self.first_sale_date()
            refusal = close_refusal(
                day,
                today=business_date_of(now),
                closed=ClosedDays(self.store, self.terminal_id),
                first_sale=first,
                has_sales=bool(self.store.journal_on(day)),
                allow_empty=allow_empty,
            )
            if refusal is not None:
                raise ReportError(
                    _REFUSALS[refusal].format(
                        day=day.isoformat(), first=first.isoformat() if first else ""
                    ),
                    code=refusal,
                )
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
