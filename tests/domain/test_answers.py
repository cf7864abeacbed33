"""The one rule for what a ledger answer does to a redemption: each kind, online and offline."""

from __future__ import annotations

import pytest

from pos_client.domain.answers import Answer, AnswerKind, Decision, EntryFacts, decide
from pos_client.domain.states import RedemptionStatus as S
from pos_client.domain.states import SaleStatus, sale_status

COVERED = 900_000
ONLINE = EntryFacts(went_ahead_offline=False, covered_rial=COVERED, at_counter=True)
FORWARDED = EntryFacts(went_ahead_offline=False, covered_rial=COVERED)
OFFLINE = EntryFacts(went_ahead_offline=True, covered_rial=COVERED, mode="offline")
OFFLINE_AT_COUNTER = EntryFacts(went_ahead_offline=True, covered_rial=COVERED, at_counter=True)


def problem(status: int, code: str) -> Answer:
    return Answer(kind=AnswerKind.PROBLEM, http_status=status, code=code, detail="why")


APPROVED = Answer(kind=AnswerKind.APPROVED, covered_rial=COVERED)
PARTIAL = Answer(kind=AnswerKind.PARTIALLY_APPROVED, covered_rial=600_000)
DECLINED = Answer(kind=AnswerKind.DECLINED, reason="insufficient_balance")

# (facts, answer) -> status, leaves outbox, releases token, problem kind, collect, told
CASES = [
    # final answers
    (ONLINE, APPROVED, S.APPROVED, True, False, None, 0, SaleStatus.APPROVED),
    (OFFLINE, APPROVED, S.APPROVED, True, False, None, 0, SaleStatus.APPROVED),
    (ONLINE, PARTIAL, S.PARTIALLY_APPROVED, True, False, None, 0, SaleStatus.PARTIALLY_APPROVED),
    (
        OFFLINE,
        PARTIAL,
        S.PARTIALLY_APPROVED,
        True,
        False,
        "partially_approved",
        300_000,
        SaleStatus.PARTIALLY_APPROVED,
    ),
    (ONLINE, DECLINED, S.DECLINED, True, True, None, 0, SaleStatus.DECLINED),
    (FORWARDED, DECLINED, S.DECLINED, True, True, None, 0, SaleStatus.DECLINED),
    (
        OFFLINE,
        DECLINED,
        S.DECLINED,
        True,
        False,
        "declined_after_offline",
        COVERED,
        SaleStatus.DECLINED,
    ),
    # problem documents: seen at the counter before the sale went ahead
    (
        ONLINE,
        problem(400, "bad_request"),
        S.DECLINED,
        True,
        True,
        "rejected",
        0,
        SaleStatus.DECLINED,
    ),
    (ONLINE, problem(404, "not_found"), S.DECLINED, True, True, "rejected", 0, SaleStatus.DECLINED),
    (
        ONLINE,
        problem(422, "token_used"),
        S.DECLINED,
        True,
        True,
        "rejected",
        0,
        SaleStatus.DECLINED,
    ),
    (
        ONLINE,
        problem(401, "unauthorized"),
        S.DECLINED,
        True,
        True,
        "rejected",
        0,
        SaleStatus.DECLINED,
    ),
    (ONLINE, problem(403, "forbidden"), S.DECLINED, True, True, "rejected", 0, SaleStatus.DECLINED),
    # ... and after the sale went ahead offline: money to collect
    (
        OFFLINE,
        problem(400, "bad_request"),
        S.DECLINED,
        True,
        False,
        "rejected",
        COVERED,
        SaleStatus.DECLINED,
    ),
    (
        OFFLINE,
        problem(422, "token_used"),
        S.DECLINED,
        True,
        False,
        "rejected",
        COVERED,
        SaleStatus.DECLINED,
    ),
    (
        OFFLINE_AT_COUNTER,
        problem(422, "offline_limit"),
        S.DECLINED,
        True,
        False,
        "rejected",
        COVERED,
        SaleStatus.DECLINED,
    ),
    (
        FORWARDED,
        problem(422, "token_used"),
        S.DECLINED,
        True,
        True,
        "rejected",
        0,
        SaleStatus.DECLINED,
    ),
    # a conflict after the lookup found nothing: refused, like any problem document
    (
        OFFLINE,
        Answer(
            kind=AnswerKind.PROBLEM,
            http_status=409,
            code="idempotency_conflict",
            after_conflict=True,
        ),
        S.DECLINED,
        True,
        False,
        "rejected",
        COVERED,
        SaleStatus.DECLINED,
    ),
    # the ledger's record after a conflict wins, and a person sees it
    (
        ONLINE,
        Answer(kind=AnswerKind.APPROVED, covered_rial=COVERED, after_conflict=True),
        S.APPROVED,
        True,
        False,
        "idempotency_conflict",
        0,
        SaleStatus.APPROVED,
    ),
]


@pytest.mark.parametrize(
    ("facts", "answer", "status", "leaves", "release", "kind", "collect", "told"), CASES
)
def test_what_each_answer_does(
    facts: EntryFacts,
    answer: Answer,
    status: S,
    leaves: bool,
    release: bool,
    kind: str | None,
    collect: int,
    told: SaleStatus,
) -> None:
    decision = decide(facts, answer)
    assert decision.status is status
    assert decision.leaves_outbox is leaves
    assert decision.release_token is release
    assert (decision.problem.kind if decision.problem else None) == kind
    assert decision.collect_rial == collect
    assert decision.told is told
    assert not (decision.stop or decision.retry or decision.lookup_first or decision.resolve_by_id)


@pytest.mark.parametrize("facts", [ONLINE, FORWARDED, OFFLINE, OFFLINE_AT_COUNTER])
def test_a_rejection_is_always_visible_and_collects_only_what_went_ahead(facts: EntryFacts) -> None:
    for status, code in [(400, "x"), (404, "not_found"), (409, "not_voidable"), (422, "y")]:
        decision = decide(facts, problem(status, code))
        assert decision.problem is not None and decision.problem.kind == "rejected"
        assert decision.collect_rial == (COVERED if facts.offline else 0)
        assert str(status) in decision.problem.detail


@pytest.mark.parametrize("facts", [FORWARDED, OFFLINE])
@pytest.mark.parametrize("status", [401, 403])
def test_in_the_background_the_ledger_refusing_the_terminal_stops_and_changes_nothing(
    facts: EntryFacts, status: int
) -> None:
    assert decide(facts, problem(status, "unauthorized")) == Decision(status=None, stop=True)


@pytest.mark.parametrize("facts", [ONLINE, FORWARDED, OFFLINE])
def test_a_conflict_is_looked_up_first(facts: EntryFacts) -> None:
    decision = decide(facts, problem(409, "idempotency_conflict"))
    assert decision == Decision(status=None, lookup_first=True)


@pytest.mark.parametrize("facts", [ONLINE, FORWARDED, OFFLINE])
def test_unavailable_and_429_leave_everything_to_be_sent_again(facts: EntryFacts) -> None:
    for answer in (Answer(kind=AnswerKind.UNAVAILABLE), problem(429, "rate_limited")):
        assert decide(facts, answer) == Decision(status=None, retry=True)


def test_an_unknown_outcome_is_resolved_by_id_never_guessed() -> None:
    at_counter = decide(ONLINE, Answer(kind=AnswerKind.UNKNOWN))
    assert at_counter.status is S.UNKNOWN_OUTCOME and at_counter.resolve_by_id
    assert at_counter.told is SaleStatus.UNKNOWN and not at_counter.leaves_outbox
    for facts in (FORWARDED, OFFLINE, OFFLINE_AT_COUNTER):
        decision = decide(facts, Answer(kind=AnswerKind.UNKNOWN))
        assert decision.status is None and decision.resolve_by_id and not decision.leaves_outbox


def test_the_cashier_words_come_from_the_journal_states_in_one_place() -> None:
    assert {s: sale_status(s) for s in S} == {
        S.DRAFT: SaleStatus.PENDING,
        S.PENDING: SaleStatus.PENDING,
        S.APPROVED: SaleStatus.APPROVED,
        S.APPROVED_OFFLINE: SaleStatus.APPROVED_OFFLINE,
        S.PARTIALLY_APPROVED: SaleStatus.PARTIALLY_APPROVED,
        S.DECLINED: SaleStatus.DECLINED,
        S.VOIDED: SaleStatus.VOIDED,
        S.UNKNOWN_OUTCOME: SaleStatus.UNKNOWN,
    }
    assert sale_status(S.DECLINED, "refused_offline:offline_limit") is SaleStatus.REFUSED_OFFLINE
    assert SaleStatus.APPROVED_UNSAVED.goes_ahead and not SaleStatus.UNKNOWN.goes_ahead
