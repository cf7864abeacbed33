"""The fleet view: per lane the last good state, what needs a person, ranked, and the totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pos_client.domain.errors import DomainError
from pos_client.domain.fleet_view import (
    NEEDS,
    LaneRecord,
    Totals,
    assess,
    lane_json,
    parse_duration,
    rank_key,
    ranked,
    receive,
    summarize,
)
from pos_client.domain.lane_state import (
    InvalidState,
    LaneAddress,
    LaneLedger,
    LaneQueue,
    LaneState,
    decode_state,
)

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
A1 = LaneAddress("M-1", "S-1", "T-0001")
A2 = LaneAddress("M-1", "S-1", "T-0002")
A3 = LaneAddress("M-1", "S-2", "T-0003")


def online(session: int = 1, *, at: datetime = NOW, **changes: object) -> LaneState:
    values: dict[str, object] = {
        "ledger": LaneLedger(reachable=True, last_contact_at=at),
        "queue": LaneQueue(count=0, rial=0, oldest_age_s=None),
        "problems": 0,
        "devices": {"scanner": "ok", "printer": "ok", "scale": "absent"},
    }
    values.update(changes)
    return LaneState(online=True, session=session, at=at, **values)  # type: ignore[arg-type]


def will(session: int) -> LaneState:
    return LaneState(online=False, session=session)


def record_of(address: LaneAddress, *messages: LaneState | InvalidState) -> LaneRecord:
    held: LaneRecord | None = None
    for message in messages:
        held = receive(held, address, message, NOW)
    assert held is not None
    return held


def test_a_lane_that_is_well_needs_nobody() -> None:
    assessment = assess(record_of(A1, online()), NOW)
    assert assessment.status == "online"
    assert assessment.needs == ()


def test_the_will_of_the_current_session_makes_the_lane_offline_keeping_what_it_held() -> None:
    held = record_of(A1, online(4, queue=LaneQueue(2, 300_000, 90)), will(4))
    assessment = assess(held, NOW)
    assert assessment.status == "offline"
    assert assessment.needs == ("offline", "unsent")
    assert assessment.queue == LaneQueue(2, 300_000, 90)


def test_a_late_will_of_an_older_session_is_ignored() -> None:
    held = record_of(A1, online(5), will(4))
    assert assess(held, NOW).status == "online"
    assert held.state == online(5)


def test_an_invalid_message_never_hides_the_last_good_state() -> None:
    rogue = decode_state(b"{" * 5000)
    assert isinstance(rogue, InvalidState)
    held = record_of(A1, online(3, problems=2), rogue)
    assessment = assess(held, NOW)
    assert held.state == online(3, problems=2)
    assert assessment.status == "online"
    assert assessment.needs == ("invalid", "problems")
    assert lane_json(held, assessment)["invalid"] == {"reason": rogue.reason, "size": 5000}


def test_a_good_state_after_an_invalid_one_clears_the_note() -> None:
    held = record_of(A1, online(3), InvalidState("not JSON", 3), online(3, at=NOW))
    assert held.invalid is None


def test_a_lane_with_only_an_invalid_message_is_unknown_and_needs_a_person() -> None:
    assessment = assess(record_of(A1, InvalidState("not JSON", 3)), NOW)
    assert (assessment.status, assessment.needs) == ("unknown", ("invalid",))


def test_a_state_older_than_the_stale_limit_is_stale() -> None:
    held = record_of(A1, online(at=NOW - timedelta(minutes=6)))
    assert assess(held, NOW).needs == ("stale",)
    assert assess(held, NOW, timedelta(minutes=10)).needs == ()


def test_a_device_neither_ok_nor_absent_needs_a_person() -> None:
    held = record_of(A1, online(devices={"printer": "paper_out", "scale": "absent"}))
    assessment = assess(held, NOW)
    assert assessment.needs == ("device",)
    assert dict(assessment.devices_down) == {"printer": "paper_out"}


def test_lanes_are_ranked_offline_stale_ledger_then_oldest_unsent_then_money() -> None:
    lanes = {
        "offline": record_of(LaneAddress("M-1", "S-9", "T-9"), online(1), will(1)),
        "stale": record_of(LaneAddress("M-1", "S-1", "T-8"), online(at=NOW - timedelta(hours=1))),
        "ledger": record_of(
            LaneAddress("M-1", "S-1", "T-7"),
            online(ledger=LaneLedger(reachable=False, offline_since=NOW - timedelta(minutes=3))),
        ),
        "oldest": record_of(LaneAddress("M-1", "S-1", "T-6"), online(queue=LaneQueue(1, 10, 900))),
        "money": record_of(
            LaneAddress("M-1", "S-1", "T-5"), online(queue=LaneQueue(9, 9_000_000, 60))
        ),
        "less": record_of(LaneAddress("M-1", "S-1", "T-4"), online(queue=LaneQueue(1, 500, 60))),
        "problems": record_of(LaneAddress("M-1", "S-1", "T-3"), online(problems=1)),
        "printer": record_of(LaneAddress("M-1", "S-1", "T-2"), online(devices={"printer": "x"})),
        "well": record_of(LaneAddress("M-1", "S-1", "T-1"), online()),
    }
    order = [record for record, _ in ranked(reversed(list(lanes.values())), NOW)]
    assert order == list(lanes.values())


def test_totals_per_store_and_for_the_chain() -> None:
    pairs = ranked(
        [
            record_of(A1, online(queue=LaneQueue(2, 1_000, 30), problems=1)),
            record_of(A2, online(2, queue=LaneQueue(1, 500, 10)), will(2)),
            record_of(A3, InvalidState("not JSON", 1)),
        ],
        NOW,
    )
    stores, chain = summarize(pairs)
    assert stores[("M-1", "S-1")] == Totals(
        lanes=2, online=1, offline=1, needs_person=2, unsent_count=3, unsent_rial=1_500, problems=1
    )
    assert stores[("M-1", "S-2")] == Totals(lanes=1, unknown=1, invalid=1, needs_person=1)
    assert chain.lanes == 3 and chain.unsent_rial == 1_500 and chain.needs_person == 3


@pytest.mark.parametrize(
    ("text", "seconds"), [("5m", 300), ("90s", 90), ("300", 300), ("2h", 7200), ("1d", 86400)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "0", "5 minutes", "-5m", "1.5m", "5y"])
def test_a_bad_duration_is_refused_in_a_sentence(text: str) -> None:
    with pytest.raises(DomainError, match="is not a duration"):
        parse_duration(text)


# --- properties -----------------------------------------------------------------------------

sessions = st.integers(min_value=0, max_value=6)
messages = st.one_of(
    st.builds(
        online,
        sessions,
        at=st.integers(min_value=0, max_value=3600).map(lambda s: NOW - timedelta(seconds=s)),
        queue=st.builds(
            LaneQueue,
            st.integers(0, 50),
            st.integers(0, 10**9),
            st.one_of(st.none(), st.integers(0, 10**5)),
        ),
        problems=st.integers(0, 5),
    ),
    st.builds(will, sessions),
    st.builds(InvalidState, st.sampled_from(["not JSON", "too big"]), st.integers(0, 5000)),
)


@given(st.lists(messages, min_size=1, max_size=12))
def test_the_held_state_is_the_last_message_of_the_newest_session(
    sequence: list[LaneState | InvalidState],
) -> None:
    held = record_of(A1, *sequence)
    good = [m for m in sequence if isinstance(m, LaneState)]
    if not good:
        assert held.state is None and held.invalid is not None
        return
    newest = max(m.session for m in good)
    assert held.state == [m for m in good if m.session == newest][-1]
    if isinstance(sequence[-1], InvalidState):
        assert held.invalid == sequence[-1]
    assessment = assess(held, NOW)
    assert set(assessment.needs) <= set(NEEDS)
    assert list(assessment.needs) == sorted(assessment.needs, key=NEEDS.index)


@given(st.lists(st.lists(messages, min_size=1, max_size=4), min_size=1, max_size=8))
def test_the_ranking_is_total_and_the_chain_is_the_sum_of_its_stores(
    per_lane: list[list[LaneState | InvalidState]],
) -> None:
    records = [
        record_of(LaneAddress("M-1", f"S-{n % 3}", f"T-{n:04}"), *sequence)
        for n, sequence in enumerate(per_lane)
    ]
    pairs = ranked(records, NOW)
    keys = [rank_key(*pair) for pair in pairs]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    tiers = [key[0] for key in keys]
    offline_first = [a.status == "offline" for _, a in pairs]
    assert offline_first == sorted(offline_first, reverse=True)
    assert tiers == sorted(tiers)
    stores, chain = summarize(pairs)
    assert chain.lanes == len(records) == sum(t.lanes for t in stores.values())
    assert chain.unsent_rial == sum(t.unsent_rial for t in stores.values())
    assert chain.lanes == chain.online + chain.stale + chain.offline + chain.unknown
