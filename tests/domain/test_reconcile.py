"""Reconciling a journal against the ledger's settlement (pos_client.domain.reconcile), pure."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_client.domain.errors import ContractError
from pos_client.domain.reconcile import (
    SERIOUS,
    Finding,
    JournalSale,
    Reconciliation,
    Side,
    expected_on_ledger,
    reconcile,
)
from pos_client.domain.redemption import Settlement

DAY = date(2026, 11, 23)
NEXT = DAY + timedelta(days=1)
BEFORE = DAY - timedelta(days=1)
F = Finding


def sale(
    rid: str,
    covered: int = 1_000_000,
    *,
    status: str = "approved",
    day: date = DAY,
    answered: bool | None = None,
    ledger_date: date | None = None,
    intent: str | None = None,
    program: str = "kalabarg",
) -> JournalSale:
    if answered is None:
        answered = status in ("approved", "partially_approved", "voided", "declined")
    if answered and ledger_date is None and status != "declined":
        ledger_date = day
    return JournalSale(
        id=rid,
        business_date=day,
        status=status,
        covered_rial=covered,
        answered=answered,
        ledger_date=ledger_date,
        intent=intent,
        by_program=((program, covered),) if covered else (),
    )


def books(
    *entries: tuple[str, int] | tuple[str, int, str],
    day: date = DAY,
    total: int | None = None,
    count: int | None = None,
) -> Settlement:
    """The ledger's settlement listing ``(id, covered[, program])``."""
    by_program: dict[str, tuple[int, int]] = {}
    for entry in entries:
        program = entry[2] if len(entry) == 3 else "kalabarg"
        n, rial = by_program.get(program, (0, 0))
        by_program[program] = (n + 1, rial + entry[1])
    return Settlement(
        terminal_id="T-0001",
        business_date=day,
        count=len(entries) if count is None else count,
        covered_rial=sum(e[1] for e in entries) if total is None else total,
        by_program=by_program,
        redemption_ids=tuple(e[0] for e in entries),
    )


def findings(result: Reconciliation) -> dict[str, Finding]:
    return {line.id: line.finding for line in result.lines}


# --------------------------------------------------------------------------- examples


def test_a_day_on_both_sides_agrees() -> None:
    journal = [sale("a", 1_000_000), sale("b", 2_500_000, status="partially_approved")]
    result = reconcile(DAY, journal, books(("a", 1_000_000), ("b", 2_500_000)))
    assert result.status == "agreed"
    assert findings(result) == {"a": F.MATCHED, "b": F.MATCHED}
    assert all(line.side is Side.BOTH for line in result.lines)
    assert result.journal_count == 2 and result.journal_rial == 3_500_000
    assert result.accounted_rial == result.ledger_rial == 3_500_000
    assert result.unexplained_rial == 0 and result.programs_agree is True


def test_declined_voided_and_refused_sales_are_not_reconciled() -> None:
    journal = [
        sale("a"),
        sale("d", status="declined"),
        sale("v", status="voided"),
        sale("r", status="declined", answered=False),
    ]
    result = reconcile(DAY, journal, books(("a", 1_000_000)))
    assert findings(result) == {"a": F.MATCHED} and result.status == "agreed"
    assert result.journal_count == 1


def test_an_offline_sale_not_yet_forwarded_is_listed_and_explained() -> None:
    journal = [sale("a"), sale("off", 700_000, status="approved_offline", intent="deliver")]
    result = reconcile(DAY, journal, books(("a", 1_000_000)))
    assert findings(result) == {"a": F.MATCHED, "off": F.NOT_FORWARDED}
    [line] = result.of(F.NOT_FORWARDED)
    assert line.side is Side.JOURNAL and line.journal_rial == 700_000 and not line.serious
    assert result.status == "explained"
    assert result.journal_count == 2 and result.journal_rial == 1_700_000


def test_a_sale_forwarded_after_midnight_is_counted_on_the_next_date() -> None:
    late = sale("late", 900_000, ledger_date=NEXT)  # made today, recorded by the ledger tomorrow
    result = reconcile(DAY, [sale("a"), late], books(("a", 1_000_000)))
    assert findings(result)["late"] is F.COUNTED_ON_ANOTHER_DATE
    [line] = result.of(F.COUNTED_ON_ANOTHER_DATE)
    assert line.ledger_date == NEXT and line.journal_date == DAY
    assert result.status == "explained"
    # ... and on the next date, the ledger counts a sale the journal made the day before.
    tomorrow = reconcile(NEXT, [late], books(("late", 900_000), day=NEXT))
    assert findings(tomorrow) == {"late": F.MADE_ON_ANOTHER_DATE}
    assert tomorrow.status == "explained" and tomorrow.unexplained_rial == 0
    assert tomorrow.journal_count == 0  # nothing was made on that date


def test_an_id_only_on_the_ledger_is_a_discrepancy() -> None:
    result = reconcile(DAY, [sale("a")], books(("a", 1_000_000), ("ghost", 400_000)))
    assert findings(result)["ghost"] is F.ONLY_ON_LEDGER
    assert result.lines[0].id == "ghost"  # the serious come first
    assert result.status == "discrepancy" and [x.id for x in result.serious] == ["ghost"]
    assert result.accounted_rial is None  # its amount is not known without asking
    looked_up = reconcile(
        DAY, [sale("a")], books(("a", 1_000_000), ("ghost", 400_000)), ledger_amounts={"ghost": 1}
    )
    assert looked_up.accounted_rial == 1_000_001 and looked_up.unexplained_rial == 399_999


def test_an_amount_the_ledger_holds_differently_is_a_mismatch() -> None:
    journal = [sale("a", 1_000_000), sale("b", 500_000)]
    settlement = books(("a", 1_000_000), ("b", 500_000), total=1_600_000)
    total_only = reconcile(DAY, journal, settlement)
    assert total_only.unexplained_rial == 100_000 and total_only.status == "discrepancy"
    assert total_only.serious == ()  # which one is not known from totals alone
    pinned = reconcile(DAY, journal, settlement, ledger_amounts={"a": 1_000_000, "b": 600_000})
    [line] = pinned.serious
    assert line.id == "b" and line.finding is F.AMOUNT_MISMATCH
    assert (line.journal_rial, line.ledger_rial) == (500_000, 600_000)
    assert pinned.unexplained_rial == 0


def test_an_offline_sale_on_the_ledger_without_its_answer_here_is_explained() -> None:
    journal = [sale("off", 700_000, status="approved_offline", intent="deliver")]
    result = reconcile(DAY, journal, books(("off", 300_000)), ledger_amounts={"off": 300_000})
    assert findings(result) == {"off": F.ANSWER_NOT_RECORDED}
    assert result.status == "explained" and result.unexplained_rial == 0
    assert result.programs_comparable is False


def test_a_pending_void_and_a_counted_void() -> None:
    pending = sale("p", status="approved", intent="void")
    done = sale("v", status="voided")
    result = reconcile(DAY, [pending, done], books(("p", 1_000_000), ("v", 1_000_000)))
    assert findings(result) == {"p": F.VOID_PENDING, "v": F.COUNTED_BUT_NOT_SOLD}
    assert result.status == "discrepancy" and [x.id for x in result.serious] == ["v"]
    assert not expected_on_ledger(pending)


def test_an_approval_missing_from_the_settlement_is_a_discrepancy() -> None:
    result = reconcile(DAY, [sale("a"), sale("lost", 300_000)], books(("a", 1_000_000)))
    assert findings(result)["lost"] is F.MISSING_ON_LEDGER
    assert result.status == "discrepancy"


def test_an_interrupted_sale_is_unresolved_until_a_person_acts() -> None:
    held = sale("h", status="pending", intent="hold", answered=False)
    result = reconcile(DAY, [held], books())
    assert findings(result) == {"h": F.UNRESOLVED} and result.status == "explained"
    assert result.journal_count == 0
    taken = reconcile(DAY, [held], books(("h", 1_000_000)), ledger_amounts={"h": 1_000_000})
    assert findings(taken) == {"h": F.ANSWER_NOT_RECORDED}


def test_the_settlements_own_arithmetic_is_checked() -> None:
    listed_twice = reconcile(DAY, [sale("a")], books(("a", 1_000_000), ("a", 1_000_000)))
    assert findings(listed_twice) == {"a": F.LISTED_TWICE}
    assert listed_twice.status == "discrepancy" and len(listed_twice.lines) == 1
    assert listed_twice.accounted_rial == listed_twice.ledger_rial == 2_000_000
    miscounted = reconcile(DAY, [sale("a")], books(("a", 1_000_000), count=2))
    assert not miscounted.count_agrees and miscounted.status == "discrepancy"


def test_totals_by_programme_must_agree_when_every_id_is_known() -> None:
    journal = [sale("a", 1_000_000, program="kalabarg"), sale("b", 200_000, program="donor")]
    agreeing = reconcile(DAY, journal, books(("a", 1_000_000, "kalabarg"), ("b", 200_000, "donor")))
    assert agreeing.programs_agree is True and agreeing.status == "agreed"
    moved = reconcile(DAY, journal, books(("a", 1_000_000, "kalabarg"), ("b", 200_000, "yasna")))
    assert moved.programs_agree is False and moved.status == "discrepancy"
    by_name = {p.program: p for p in moved.programs}
    assert by_name["yasna"].ledger_count == 1 and by_name["yasna"].journal_count == 0
    assert by_name["donor"].journal_rial == 200_000 and by_name["donor"].ledger_rial == 0


def test_bad_input_is_a_contract_error() -> None:
    with pytest.raises(ContractError):
        reconcile(DAY, [sale("a")], books(("a", 1_000_000), day=NEXT))
    with pytest.raises(ContractError):
        reconcile(DAY, [sale("a"), sale("a")], books())
    with pytest.raises(ContractError):
        reconcile(DAY, [sale("a", -1)], books())


# --------------------------------------------------------------------------- properties

STATUSES = (
    "approved",
    "partially_approved",
    "approved_offline",
    "declined",
    "voided",
    "pending",
    "unknown_outcome",
)
INTENTS = (None, "deliver", "hold", "void", "abandon")
IDS = st.sampled_from([f"r{i}" for i in range(12)])


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[JournalSale], Settlement, dict[str, int]]:
    """Any journal and any settlement over a small set of ids (consistent or not)."""
    ids = draw(st.lists(IDS, unique=True, max_size=10))
    journal = [
        JournalSale(
            id=rid,
            business_date=draw(st.sampled_from((BEFORE, DAY, DAY, DAY))),
            status=draw(st.sampled_from(STATUSES)),
            covered_rial=draw(st.integers(0, 5_000_000)),
            answered=draw(st.booleans()),
            ledger_date=draw(st.sampled_from((None, DAY, NEXT))),
            intent=draw(st.sampled_from(INTENTS)),
            by_program=(("kalabarg", draw(st.integers(0, 5_000_000))),),
        )
        for rid in ids
    ]
    listed = draw(st.lists(IDS, max_size=10))
    entries = [(rid, draw(st.integers(0, 5_000_000))) for rid in listed]
    settlement = books(*entries, total=draw(st.none() | st.integers(0, 50_000_000)))
    amounts = draw(st.dictionaries(IDS, st.integers(0, 5_000_000), max_size=4))
    return journal, settlement, amounts


@settings(max_examples=150, deadline=None)
@given(world=worlds(), seed=st.integers(0, 2**32 - 1))
def test_every_id_gets_exactly_one_line_whatever_the_order(
    world: tuple[list[JournalSale], Settlement, dict[str, int]], seed: int
) -> None:
    journal, settlement, amounts = world
    result = reconcile(DAY, journal, settlement, ledger_amounts=amounts)
    ids = [line.id for line in result.lines]
    assert len(ids) == len(set(ids))
    assert set(settlement.redemption_ids) <= set(ids)
    day_ids = {s.id for s in journal if s.business_date == DAY}
    assert set(ids) <= set(settlement.redemption_ids) | day_ids
    for line in result.lines:
        assert line.serious == (line.finding in SERIOUS)
        listed = line.id in settlement.redemption_ids
        assert (line.side is Side.JOURNAL) == (not listed)
        if Counter(settlement.redemption_ids)[line.id] > 1:
            assert line.finding is F.LISTED_TWICE
    # The order of the inputs does not matter.
    rng = random.Random(seed)
    shuffled_journal = rng.sample(journal, len(journal))
    shuffled_ids = tuple(rng.sample(settlement.redemption_ids, len(settlement.redemption_ids)))
    again = reconcile(
        DAY,
        shuffled_journal,
        replace(settlement, redemption_ids=shuffled_ids),
        ledger_amounts=amounts,
    )
    assert again.lines == result.lines and again.status == result.status
    # The verdict follows from the lines and the totals, as documented.
    if result.serious or not result.totals_agree:
        assert result.status == "discrepancy"
    elif all(line.finding is F.MATCHED for line in result.lines):
        assert result.status == "agreed"
    else:
        assert result.status == "explained"


@st.composite
def agreeing_days(draw: st.DrawFn) -> tuple[list[JournalSale], list[tuple[str, int, str]]]:
    """Sales the ledger answered on ``DAY`` and a settlement that lists exactly those."""
    ids = draw(st.lists(IDS, unique=True, min_size=1, max_size=10))
    journal: list[JournalSale] = []
    entries: list[tuple[str, int, str]] = []
    for rid in ids:
        covered = draw(st.integers(1, 9_000_000))
        program = draw(st.sampled_from(("kalabarg", "yasna", "donor")))
        status = draw(st.sampled_from(("approved", "partially_approved")))
        journal.append(sale(rid, covered, status=status, program=program))
        entries.append((rid, covered, program))
    return journal, entries


def _apart(entries: Sequence[tuple[str, int, str]]) -> Settlement:
    return books(*entries)


@settings(max_examples=100, deadline=None)
@given(day=agreeing_days(), delta=st.integers(-1_000_000, 1_000_000), pick=st.integers(0, 99))
def test_a_consistent_day_agrees_and_any_single_change_is_caught(
    day: tuple[list[JournalSale], list[tuple[str, int, str]]], delta: int, pick: int
) -> None:
    journal, entries = day
    settlement = _apart(entries)
    result = reconcile(DAY, journal, settlement)
    assert result.status == "agreed"
    assert result.accounted_rial == result.ledger_rial == result.journal_rial
    assert result.journal_count == result.ledger_count == len(journal)

    victim = journal[pick % len(journal)]
    # The journal loses a sale the ledger counts: only on the ledger.
    lost = reconcile(DAY, [s for s in journal if s is not victim], settlement)
    assert findings(lost)[victim.id] is F.ONLY_ON_LEDGER and lost.status == "discrepancy"
    # The ledger's total is off by delta: caught unless delta is zero.
    off = reconcile(DAY, journal, replace(settlement, covered_rial=settlement.covered_rial + delta))
    assert off.unexplained_rial == delta
    assert (off.status == "discrepancy") == (delta != 0)
    # The sale was forwarded after midnight: explained, not a discrepancy.
    late = replace(victim, ledger_date=NEXT)
    moved = reconcile(
        DAY,
        [late if s is victim else s for s in journal],
        _apart([e for e in entries if e[0] != victim.id]),
    )
    assert findings(moved)[victim.id] is F.COUNTED_ON_ANOTHER_DATE
    assert moved.status == "explained"
    # The ledger holds another amount for one sale: pinned once it is looked up.
    if delta and victim.covered_rial + delta >= 0:
        pinned = reconcile(
            DAY,
            journal,
            replace(settlement, covered_rial=settlement.covered_rial + delta),
            ledger_amounts={victim.id: victim.covered_rial + delta},
        )
        assert [line.id for line in pinned.serious] == [victim.id]
        assert pinned.serious[0].finding is F.AMOUNT_MISMATCH and pinned.unexplained_rial == 0
