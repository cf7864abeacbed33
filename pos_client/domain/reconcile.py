"""Reconciling the terminal's journal of one business date against the ledger's settlement.

The ledger's settlement (``GET /v1/settlements/{business_date}``) lists the
approved and partially approved redemptions, not voided, that the *ledger*
recorded on that date (Asia/Tehran). The journal dates a sale by when it was
made at the counter. The two differ for good reasons (an offline sale
forwarded after midnight counts on the day it arrived; a void or an answer
may still be on its way) and for bad ones (the ledger counts what the
terminal never sold, or misses what it approved). :func:`reconcile` sorts
every id into one :class:`Line` with a :class:`Finding`:

    both sides
      matched                  the ledger counts it as the journal does
      answer_not_recorded      the ledger counts it; the terminal has not yet
                               recorded the ledger's answer (the outbox will)
      made_on_another_date     the ledger counts it today; it was made on an
                               earlier day (an offline sale forwarded today,
                               or an online one sent as midnight passed)
      void_pending             the terminal has asked to void (or drop) it;
                               the ledger still counts it
      amount_mismatch   (!)    the ledger holds another amount than it answered
      counted_but_not_sold (!) the ledger counts what the journal has as
                               declined or voided
      listed_twice      (!)    the settlement names the id more than once
    journal only
      not_forwarded            still in the outbox (approved offline, or
                               waiting for an answer)
      counted_on_another_date  the ledger approved it on another date
                               (forwarded after midnight, or sent online
                               as midnight passed)
      unresolved               an interrupted sale waiting for a person
      missing_on_ledger (!)    the ledger answered "approved" for this date
                               but does not count it
    ledger only
      only_on_ledger    (!)    the journal has no such redemption at all

(!) marks the serious ones: a person must look at them. For the two findings
about dates, :attr:`Line.explanation` says which of the two causes it was: a
sale approved offline and forwarded later, or an online sale the ledger dated
on the other side of midnight (the lane's clock and the ledger's are not the
same clock, and an answer takes time). The totals are
checked too: the settlement's ``count`` against its list, its
``covered_rial`` against the amounts known per id, and its ``by_program``
against the journal's when every listed id is known to the journal.

Pure: imports the standard library and the domain only. Money is int Rials.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pos_client.domain.errors import ContractError
from pos_client.domain.redemption import Settlement

__all__ = [
    "SERIOUS",
    "Finding",
    "JournalSale",
    "Line",
    "ProgramTotals",
    "Reconciliation",
    "Side",
    "expected_on_ledger",
    "reconcile",
]


class Finding(StrEnum):
    MATCHED = "matched"
    ANSWER_NOT_RECORDED = "answer_not_recorded"
    MADE_ON_ANOTHER_DATE = "made_on_another_date"
    VOID_PENDING = "void_pending"
    AMOUNT_MISMATCH = "amount_mismatch"
    COUNTED_BUT_NOT_SOLD = "counted_but_not_sold"
    LISTED_TWICE = "listed_twice"
    NOT_FORWARDED = "not_forwarded"
    COUNTED_ON_ANOTHER_DATE = "counted_on_another_date"
    UNRESOLVED = "unresolved"
    MISSING_ON_LEDGER = "missing_on_ledger"
    ONLY_ON_LEDGER = "only_on_ledger"


#: Findings a person must look at.
SERIOUS = frozenset(
    {
        Finding.AMOUNT_MISMATCH,
        Finding.COUNTED_BUT_NOT_SOLD,
        Finding.LISTED_TWICE,
        Finding.MISSING_ON_LEDGER,
        Finding.ONLY_ON_LEDGER,
    }
)

# The order lines are listed in: the serious first, then what is merely explained.
_RANK = {
    f: i
    for i, f in enumerate(
        (
            Finding.ONLY_ON_LEDGER,
            Finding.COUNTED_BUT_NOT_SOLD,
            Finding.MISSING_ON_LEDGER,
            Finding.AMOUNT_MISMATCH,
            Finding.LISTED_TWICE,
            Finding.NOT_FORWARDED,
            Finding.UNRESOLVED,
            Finding.COUNTED_ON_ANOTHER_DATE,
            Finding.MADE_ON_ANOTHER_DATE,
            Finding.ANSWER_NOT_RECORDED,
            Finding.VOID_PENDING,
            Finding.MATCHED,
        )
    )
}

_DATED = frozenset({Finding.MADE_ON_ANOTHER_DATE, Finding.COUNTED_ON_ANOTHER_DATE})
_GOES_AHEAD = frozenset({"approved", "partially_approved", "approved_offline"})
_IN_DOUBT = frozenset({"pending", "unknown_outcome"})
_UNDOING = frozenset({"void", "abandon"})


class Side(StrEnum):
    BOTH = "both"
    JOURNAL = "journal"
    LEDGER = "ledger"


@dataclass(frozen=True, slots=True)
class JournalSale:
    """One redemption as the terminal's journal knows it, reduced to what reconciling needs.

    ``status`` is the journal's status word (``approved``, ``approved_offline``,
    ``declined``...); ``intent`` what the outbox still owes (``deliver``,
    ``hold``, ``void``, ``abandon``; ``None``: nothing). ``covered_rial`` is
    what the ledger should hold: the ledger's own answer when ``answered``,
    else what the terminal approved. ``ledger_date`` is the business date of
    the ledger's approval, when its answer says so. ``by_program`` is
    ``((program, covered_rial), ...)``. ``forwarded``: the ledger received it
    as an offline sale, forwarded after it was made (``False``: sent online
    when it was made; ``None``: not known).
    """

    id: str
    business_date: date
    status: str
    covered_rial: int
    answered: bool = False
    ledger_date: date | None = None
    intent: str | None = None
    by_program: tuple[tuple[str, int], ...] = ()
    forwarded: bool | None = None


def expected_on_ledger(sale: JournalSale) -> bool:
    """Whether the terminal expects the ledger to count ``sale`` (now or once it is forwarded)."""
    if sale.intent in _UNDOING:
        return False
    if sale.status in _GOES_AHEAD:
        return True
    return sale.status in _IN_DOUBT and sale.intent == "deliver"


@dataclass(frozen=True, slots=True)
class Line:
    """One redemption id and what was found about it."""

    id: str
    finding: Finding
    side: Side
    journal_rial: int | None = None  # what the journal expects the ledger to hold
    ledger_rial: int | None = None  # what the ledger holds, when known
    journal_date: date | None = None  # the terminal's business date (the day it was made)
    ledger_date: date | None = None  # the ledger's business date, when known
    status: str | None = None  # the journal's status
    intent: str | None = None  # what the outbox still owes
    forwarded: bool | None = None  # sent to the ledger later (offline) or online (None: unknown)

    @property
    def serious(self) -> bool:
        return self.finding in SERIOUS

    @property
    def explanation(self) -> str:
        """The finding, and for one about dates its cause: ``<finding>.forwarded|online``.

        A sale the two sides date differently was either approved offline and
        forwarded later, or sent online as midnight passed; the words differ.
        """
        if self.finding in _DATED and self.forwarded is not None:
            return f"{self.finding.value}.{'forwarded' if self.forwarded else 'online'}"
        return self.finding.value


@dataclass(frozen=True, slots=True)
class ProgramTotals:
    program: str
    ledger_count: int
    ledger_rial: int
    journal_count: int
    journal_rial: int

    @property
    def agrees(self) -> bool:
        return (self.ledger_count, self.ledger_rial) == (self.journal_count, self.journal_rial)


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """The journal of ``business_date`` against the ledger's settlement of that date.

    ``journal_count``/``journal_rial``: the sales made that day that the
    terminal expects the ledger to count (now or once forwarded).
    ``accounted_rial``: the sum of what is known per listed id (``None`` when
    some amount is not known); ``unexplained_rial`` what the settlement's
    total has beyond it. ``programs_comparable``: every listed id is in the
    journal with the ledger's answer, so ``by_program`` must agree.
    """

    business_date: date
    lines: tuple[Line, ...]
    ledger_count: int
    ledger_rial: int
    listed: int
    journal_count: int
    journal_rial: int
    accounted_rial: int | None
    unexplained_rial: int | None
    programs: tuple[ProgramTotals, ...]
    programs_comparable: bool

    @property
    def count_agrees(self) -> bool:
        """The settlement's ``count`` is the number of ids it lists."""
        return self.ledger_count == self.listed

    @property
    def programs_agree(self) -> bool | None:
        if not self.programs_comparable:
            return None
        return all(p.agrees for p in self.programs)

    @property
    def serious(self) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if line.serious)

    def of(self, *findings: Finding) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if line.finding in findings)

    @property
    def totals_agree(self) -> bool:
        return (
            self.count_agrees
            and self.unexplained_rial in (None, 0)
            and self.programs_agree is not False
        )

    @property
    def status(self) -> str:
        """``agreed`` (every line matched), ``explained`` or ``discrepancy`` (serious)."""
        if self.serious or not self.totals_agree:
            return "discrepancy"
        if all(line.finding is Finding.MATCHED for line in self.lines):
            return "agreed"
        return "explained"


def _unique_sales(journal: Iterable[JournalSale]) -> dict[str, JournalSale]:
    sales: dict[str, JournalSale] = {}
    for sale in journal:
        if sale.id in sales:
            raise ContractError("malformed", f"the journal names {sale.id} twice")
        if sale.covered_rial < 0:
            raise ContractError("malformed", f"{sale.id}: a negative amount")
        sales[sale.id] = sale
    return sales


def _both_sides(sale: JournalSale, business_date: date, ledger_rial: int | None) -> Finding:
    """The finding for an id the ledger lists and the journal holds."""
    if expected_on_ledger(sale):
        if sale.answered and ledger_rial is not None and ledger_rial != sale.covered_rial:
            return Finding.AMOUNT_MISMATCH
        if sale.business_date != business_date:
            return Finding.MADE_ON_ANOTHER_DATE
        if not sale.answered:
            return Finding.ANSWER_NOT_RECORDED
        return Finding.MATCHED
    if sale.intent in _UNDOING:
        return Finding.VOID_PENDING
    if sale.status in _IN_DOUBT:
        return Finding.ANSWER_NOT_RECORDED
    return Finding.COUNTED_BUT_NOT_SOLD


def _journal_only(sale: JournalSale, business_date: date) -> Finding | None:
    """The finding for a sale of the day the ledger does not list (``None``: nothing to say)."""
    if not expected_on_ledger(sale):
        if sale.status in _IN_DOUBT and sale.intent == "hold":
            return Finding.UNRESOLVED
        return None
    if sale.intent is not None or not sale.answered:
        return Finding.NOT_FORWARDED
    if sale.ledger_date is not None and sale.ledger_date != business_date:
        return Finding.COUNTED_ON_ANOTHER_DATE
    return Finding.MISSING_ON_LEDGER


def reconcile(
    business_date: date,
    journal: Sequence[JournalSale],
    settlement: Settlement,
    *,
    ledger_amounts: Mapping[str, int] | None = None,
) -> Reconciliation:
    """Reconcile ``journal`` against the ledger's ``settlement`` of ``business_date``.

    ``journal`` holds the sales made on ``business_date`` and any other the
    settlement names (made on another day); others are ignored.
    ``ledger_amounts`` are per-id amounts looked up at the ledger (the
    settlement gives totals only). A settlement for another date, or a
    journal that names an id twice, is a ``ContractError``.
    """
    if settlement.business_date != business_date:
        raise ContractError(
            "malformed",
            f"the settlement is for {settlement.business_date}, not {business_date}",
        )
    amounts = dict(ledger_amounts or {})
    sales = _unique_sales(journal)
    listed = Counter(settlement.redemption_ids)
    lines: list[Line] = []
    accounted: int | None = 0
    comparable = True
    journal_programs: dict[str, list[int]] = {}

    for rid in dict.fromkeys(settlement.redemption_ids):
        sale = sales.get(rid)
        ledger_rial = amounts.get(rid)
        known = ledger_rial
        if known is None and sale is not None and sale.answered:
            known = sale.covered_rial
        if known is None or accounted is None:
            accounted = None
        else:
            accounted += known * listed[rid]
        if sale is None:
            comparable = False
            finding = Finding.ONLY_ON_LEDGER
        else:
            if not sale.answered:
                comparable = False
            for program, rial in sale.by_program:
                if rial > 0:
                    totals = journal_programs.setdefault(program, [0, 0])
                    totals[0] += 1
                    totals[1] += rial
            finding = _both_sides(sale, business_date, ledger_rial)
        if listed[rid] > 1:
            finding = Finding.LISTED_TWICE
        lines.append(
            Line(
                id=rid,
                finding=finding,
                side=Side.LEDGER if sale is None else Side.BOTH,
                journal_rial=None if sale is None else sale.covered_rial,
                ledger_rial=known,
                journal_date=None if sale is None else sale.business_date,
                ledger_date=business_date,
                status=None if sale is None else sale.status,
                intent=None if sale is None else sale.intent,
                forwarded=None if sale is None else sale.forwarded,
            )
        )

    for sale in sales.values():
        if sale.id in listed or sale.business_date != business_date:
            continue
        journal_only = _journal_only(sale, business_date)
        if journal_only is None:
            continue
        lines.append(
            Line(
                id=sale.id,
                finding=journal_only,
                side=Side.JOURNAL,
                journal_rial=sale.covered_rial,
                journal_date=sale.business_date,
                ledger_date=sale.ledger_date,
                status=sale.status,
                intent=sale.intent,
                forwarded=sale.forwarded,
            )
        )

    day = [s for s in sales.values() if s.business_date == business_date and expected_on_ledger(s)]
    programs = tuple(
        ProgramTotals(
            program=program,
            ledger_count=settlement.by_program.get(program, (0, 0))[0],
            ledger_rial=settlement.by_program.get(program, (0, 0))[1],
            journal_count=journal_programs.get(program, [0, 0])[0],
            journal_rial=journal_programs.get(program, [0, 0])[1],
        )
        for program in sorted(set(settlement.by_program) | set(journal_programs))
    )
    lines.sort(key=lambda line: (_RANK[line.finding], line.id))
    return Reconciliation(
        business_date=business_date,
        lines=tuple(lines),
        ledger_count=settlement.count,
        ledger_rial=settlement.covered_rial,
        listed=len(settlement.redemption_ids),
        journal_count=len(day),
        journal_rial=sum(s.covered_rial for s in day),
        accounted_rial=accounted,
        unexplained_rial=None if accounted is None else settlement.covered_rial - accounted,
        programs=programs,
        programs_comparable=comparable,
    )
