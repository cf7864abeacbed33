"""Redemption states and their transitions (pos_client.domain.states)."""

from __future__ import annotations

import itertools

import pytest

from pos_client.domain.errors import DomainError, TransitionError
from pos_client.domain.states import (
    ALLOWED_TRANSITIONS,
    RedemptionStatus,
    can_void,
    is_final,
    lets_sale_go_ahead,
    needs_forwarding,
    transition,
)

S = RedemptionStatus

# The specification, written out edge by edge (independently of the module's table).
SPEC_EDGES = {
    ("draft", "pending"),
    ("pending", "approved"),
    ("pending", "declined"),
    ("pending", "unknown_outcome"),
    ("pending", "approved_offline"),
    ("pending", "partially_approved"),
    ("unknown_outcome", "approved"),
    ("unknown_outcome", "declined"),
    ("unknown_outcome", "partially_approved"),
    ("unknown_outcome", "approved_offline"),
    ("unknown_outcome", "pending"),
    ("approved_offline", "approved"),
    ("approved_offline", "partially_approved"),
    ("approved_offline", "declined"),
    ("approved", "voided"),
    ("partially_approved", "voided"),
}

ALL_PAIRS = list(itertools.product(list(S), repeat=2))


def test_status_values_are_the_wire_words() -> None:
    assert {s.value for s in S} == {
        "draft",
        "pending",
        "approved",
        "approved_offline",
        "partially_approved",
        "declined",
        "voided",
        "unknown_outcome",
    }


def test_table_covers_every_status() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(S)


@pytest.mark.parametrize(("current", "new"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_every_pair_against_the_specification(current: S, new: S) -> None:
    allowed = (current.value, new.value) in SPEC_EDGES
    assert (new in ALLOWED_TRANSITIONS[current]) == allowed
    if allowed:
        assert transition(current, new) is new
        assert transition(current.value, new.value) is new  # as stored, plain text
    else:
        with pytest.raises(TransitionError) as excinfo:
            transition(current, new)
        assert excinfo.value.code == "invalid_transition"
        assert isinstance(excinfo.value, DomainError)


@pytest.mark.parametrize(
    ("current", "new"), [("draft", "bogus"), ("", "pending"), ("APPROVED", "voided")]
)
def test_unknown_status_text_is_a_transition_error(current: str, new: str) -> None:
    with pytest.raises(TransitionError):
        transition(current, new)


@pytest.mark.parametrize("status", list(S))
def test_is_final(status: S) -> None:
    has_exit = any(a == status.value for a, _ in SPEC_EDGES)
    assert is_final(status) == (not has_exit)
    assert is_final(status) == (status in {S.DECLINED, S.VOIDED})


@pytest.mark.parametrize("status", list(S))
def test_lets_sale_go_ahead(status: S) -> None:
    expected = status in {S.APPROVED, S.APPROVED_OFFLINE, S.PARTIALLY_APPROVED}
    assert lets_sale_go_ahead(status) == expected


@pytest.mark.parametrize("status", list(S))
def test_needs_forwarding(status: S) -> None:
    expected = status in {S.PENDING, S.UNKNOWN_OUTCOME, S.APPROVED_OFFLINE}
    assert needs_forwarding(status) == expected
    # Whatever the outbox still owes the ledger can still change.
    if needs_forwarding(status):
        assert not is_final(status)


@pytest.mark.parametrize("status", list(S))
def test_can_void_matches_the_table(status: S) -> None:
    assert can_void(status) == (S.VOIDED in ALLOWED_TRANSITIONS[status])


def test_every_state_is_reachable_from_draft() -> None:
    seen = {S.DRAFT}
    frontier = [S.DRAFT]
    while frontier:
        current = frontier.pop()
        for nxt in ALLOWED_TRANSITIONS[current]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(S)


def test_every_non_final_state_can_reach_a_final_one() -> None:
    for start in S:
        seen = {start}
        frontier = [start]
        while frontier:
            for nxt in ALLOWED_TRANSITIONS[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert any(is_final(s) for s in seen), start


def test_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        ALLOWED_TRANSITIONS[S.DRAFT] = frozenset()  # type: ignore[index]
