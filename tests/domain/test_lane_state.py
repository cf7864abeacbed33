"""The telemetry state message: strict writer, tolerant reader, and the session rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pos_client.domain.errors import ContractError
from pos_client.domain.lane_state import (
    MAX_STATE_BYTES,
    InvalidState,
    LaneAddress,
    LaneLedger,
    LaneQueue,
    LaneState,
    decode_state,
    encode_state,
    fold,
    parse_topic,
    state_topic,
    subscription,
    will_payload,
)

AT = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
CONTRACT_EXAMPLE = {
    "online": True,
    "session": 17,
    "at": "2026-12-06T11:30:00+03:30",
    "software_version": "0.2.0",
    "config_version": "tc-000042",
    "rules_version": "r-1",
    "catalog_version": "c-1",
    "ledger": {
        "reachable": True,
        "last_contact_at": "2026-12-06T11:29:00+03:30",
        "offline_since": None,
    },
    "queue": {"count": 3, "rial": 4500000, "oldest_age_s": 310},
    "problems": 1,
    "sales_today": 212,
    "devices": {"scanner": "ok", "printer": "paper_low", "scale": "absent"},
}


def full_state(**changes: object) -> LaneState:
    base = LaneState(
        online=True,
        session=17,
        at=AT,
        software_version="0.2.0",
        config_version="tc-000042",
        rules_version="r-1",
        catalog_version="c-1",
        ledger=LaneLedger(reachable=False, last_contact_at=AT, offline_since=AT),
        queue=LaneQueue(count=3, rial=4_500_000, oldest_age_s=310),
        problems=1,
        sales_today=212,
        devices={"scanner": "ok", "printer": "paper_low", "scale": "absent"},
    )
    return base if not changes else LaneState(**{**_members(base), **changes})  # type: ignore[arg-type]


def _members(state: LaneState) -> dict[str, object]:
    return {name: getattr(state, name) for name in LaneState.__slots__}


def test_the_contracts_example_is_read_whole() -> None:
    state = decode_state(json.dumps(CONTRACT_EXAMPLE).encode())
    assert isinstance(state, LaneState)
    assert state.queue == LaneQueue(count=3, rial=4_500_000, oldest_age_s=310)
    assert state.devices["printer"] == "paper_low"
    assert state.ledger is not None and state.ledger.offline_since is None


def test_a_state_survives_its_own_encoding() -> None:
    state = full_state()
    assert decode_state(encode_state(state)) == state


@given(
    session=st.integers(0, 2**40),
    count=st.integers(0, 10**6),
    rial=st.integers(0, 10**13),
    problems=st.integers(0, 10**4),
    printer=st.sampled_from(["ok", "paper_low", "paper_out", "offline", "absent"]),
)
def test_any_state_a_lane_makes_fits_and_reads_back(
    session: int, count: int, rial: int, problems: int, printer: str
) -> None:
    state = full_state(
        session=session,
        queue=LaneQueue(count=count, rial=rial, oldest_age_s=count),
        problems=problems,
        devices={"scanner": "ok", "printer": printer},
    )
    payload = encode_state(state)
    assert len(payload) <= MAX_STATE_BYTES
    assert decode_state(payload) == state


def test_the_will_is_offline_with_the_session() -> None:
    assert json.loads(will_payload(18)) == {"online": False, "session": 18}
    assert decode_state(will_payload(18)) == LaneState(online=False, session=18)


def test_a_reader_ignores_members_it_does_not_know_and_empty_optional_strings() -> None:
    body = {
        **CONTRACT_EXAMPLE,
        "new_member": {"x": 1},
        "rules_version": "",
        "catalog_version": None,
    }
    state = decode_state(json.dumps(body).encode())
    assert isinstance(state, LaneState)
    assert state.rules_version is None and state.catalog_version is None


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff\xfe",
        b"not json",
        b"[1, 2]",
        b'{"online": "yes", "session": 1}',
        b'{"online": true, "session": -1, "at": "2026-12-06T08:00:00+00:00"}',
        b'{"online": true, "session": 1}',
        b'{"online": true, "session": 1, "at": "2026-12-06T08:00:00"}',
        b'{"online": true, "session": 1, "at": "2026-12-06T08:00:00Z", "queue": {"rial": 1.5}}',
        b'{"online": true, "session": 1, "at": "2026-12-06T08:00:00Z", "devices": {"printer": 3}}',
        b'{"online": true, "session": true, "at": "2026-12-06T08:00:00Z"}',
        b"[" * 100_000,
    ],
)
def test_anything_else_is_invalid_and_never_raises(payload: bytes) -> None:
    assert isinstance(decode_state(payload), InvalidState)


def test_an_oversized_message_is_invalid_before_it_is_parsed() -> None:
    payload = json.dumps({**CONTRACT_EXAMPLE, "pad": "x" * MAX_STATE_BYTES}).encode()
    invalid = decode_state(payload)
    assert isinstance(invalid, InvalidState) and "limit" in invalid.reason
    assert invalid.size == len(payload)


def test_a_writer_refuses_a_state_over_the_limit() -> None:
    with pytest.raises(ContractError):
        encode_state(
            full_state(devices={f"d{n}": "x" * 30 for n in range(16)}, config_version="c" * 64)
        )


def test_a_writer_refuses_an_online_state_without_a_time_or_with_a_naive_one() -> None:
    with pytest.raises(ContractError):
        encode_state(full_state(at=None))
    with pytest.raises(ContractError):
        encode_state(full_state(at=datetime(2026, 12, 6, 8, 0)))


def test_a_late_will_of_an_older_session_is_ignored() -> None:
    live = full_state(session=18)
    assert fold(live, LaneState(online=False, session=17)) == live


def test_the_will_of_the_current_session_marks_the_lane_offline() -> None:
    assert fold(full_state(session=18), LaneState(online=False, session=18)).online is False


def test_a_newer_session_replaces_the_state() -> None:
    later = full_state(session=19, at=AT + timedelta(minutes=1))
    assert fold(LaneState(online=False, session=18), later) == later
    assert fold(None, later) == later


def test_topics_name_the_lane_and_nothing_else() -> None:
    address = LaneAddress("M-1", "S-017", "T-0001")
    topic = state_topic(address)
    assert topic == "pos/v1/M-1/S-017/T-0001/state"
    assert parse_topic(topic) == address
    assert parse_topic("pos/v1/M-1/S-017/T-0001/other") is None
    assert parse_topic("pos/v1/M-1/S-017/state") is None
    assert subscription() == "pos/v1/+/+/+/state"
    assert subscription("M-1", "S-017") == "pos/v1/M-1/S-017/+/state"
    for bad in ("T/1", "T+", "#", ""):
        with pytest.raises(ContractError):
            state_topic(LaneAddress("M-1", "S-1", bad))
