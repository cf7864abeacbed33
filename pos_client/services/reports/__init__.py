"""The X and Z reports, shared by the Textual UI and the command line.

- :meth:`ReportService.x_report` (running report, گزارش میان‌روز): the totals of
  one business date from the journal, by status (approved, approved offline,
  partially approved, declined, refused offline, voided, unresolved), by
  programme, what the credit covered and what the household paid, what waits
  in the outbox with its total, and the open problems. It writes nothing.
- :meth:`ReportService.close_day` (end-of-day report, گزارش پایان روز): closes a
  business date: the one named, or the oldest open day with sales (never a
  day still to come or before the terminal's first sale; a day with no sales
  only when asked, see :mod:`pos_client.domain.business_day`). The Z report
  is numbered consecutively per terminal and kept in the store *before* the
  ledger is asked anything, so a close survives any network trouble; closing
  the same date again returns the same report (the same number). It lists
  what is still unforwarded and reconciles the journal against the ledger's
  settlement of the date (:func:`pos_client.domain.reconcile.reconcile`). When the ledger cannot be
  reached the report is kept as ``not_reconciled``; :meth:`ReportService.reconcile`
  (or closing the date again) reconciles it later.

The ledger dates a redemption by the day it *recorded* it, the journal by the
day it was made at the counter: an offline sale forwarded after midnight is
counted by the ledger on the next date, and the reconciliation says so. A
closed date takes no more sales: :func:`sale_business_date` gives a new sale
the next open day.

Three modules: :mod:`.values` (the reports as values, and their JSON as the
store keeps them), :mod:`.totals` (an X report from journal entries, no I/O)
and :mod:`.service` (:class:`ReportService`, over the store and the ledger).
:class:`ReportError` is drawn in :mod:`pos_client.errors`.

Money is integer Rials. Imports the standard library, the domain, the ports
and the project's errors; never an adapter, textual or httpx.
"""

from __future__ import annotations

from pos_client.errors import ReportError

from .days import ClosedDays, sale_business_date, void_refusal_reason
from .service import DEFAULT_LOOKUP_LIMIT, ClosePlan, ReportService, ReportStore, ZRecord
from .totals import build_x_report, covered_by_program, journal_sale
from .values import (
    STATUS_ORDER,
    OpenProblem,
    ProgramTotal,
    StatusTotals,
    WaitingSale,
    XReport,
    ZReport,
    reconciliation_from_json,
    reconciliation_to_json,
)

__all__ = [
    "DEFAULT_LOOKUP_LIMIT",
    "STATUS_ORDER",
    "ClosePlan",
    "ClosedDays",
    "OpenProblem",
    "ProgramTotal",
    "ReportError",
    "ReportService",
    "ReportStore",
    "StatusTotals",
    "WaitingSale",
    "XReport",
    "ZRecord",
    "ZReport",
    "build_x_report",
    "covered_by_program",
    "journal_sale",
    "reconciliation_from_json",
    "reconciliation_to_json",
    "sale_business_date",
    "void_refusal_reason",
]
