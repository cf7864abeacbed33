"""The agent's held inquiries as a unit: freshness, one use, generations, their bound."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from pos_client.agent.held import FRESH_S, MAX_HELD, HeldInquiries


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _session(*, offline: bool = False) -> Any:
    household = SimpleNamespace(offline=offline)
    return SimpleNamespace(household=lambda: household)


def test_a_held_wallet_serves_its_own_credential_once_while_fresh() -> None:
    clock = Clock()
    held = HeldInquiries(clock=clock)
    session = _session()
    held.keep("token", "T1", session, generation=held.generation)
    assert held.take("purchase_code", "T1") is None  # another kind, the same text
    assert held.take("token", "T2") is None
    assert held.take("token", "T1") is session
    assert held.take("token", "T1") is None  # once
    held.keep("token", "T1", session, generation=held.generation)
    clock.now += FRESH_S + 0.001
    assert held.take("token", "T1") is None  # too old
    held.keep("token", "T1", session, generation=held.generation)
    clock.now -= 5  # a clock that went back proves nothing
    assert held.take("token", "T1") is None


def test_a_checkout_drops_what_is_held_and_what_was_asked_before_it() -> None:
    held = HeldInquiries(clock=Clock())
    held.keep("token", "T1", _session(), generation=held.generation)
    asked_at = held.generation  # an inquiry under way while a sale ends
    held.checkout_ended()
    assert held.take("token", "T1") is None
    held.keep("token", "T2", _session(), generation=asked_at)
    assert len(held) == 0 and held.take("token", "T2") is None


def test_an_offline_wallet_is_never_held_and_the_oldest_goes_first() -> None:
    held = HeldInquiries(clock=Clock())
    held.keep("token", "T0", _session(offline=True), generation=held.generation)
    assert len(held) == 0
    for n in range(MAX_HELD + 1):
        held.keep("purchase_code", f"{n:08d}", _session(), generation=held.generation)
    assert len(held) == MAX_HELD
    assert held.take("purchase_code", "00000000") is None
    assert held.take("purchase_code", f"{MAX_HELD:08d}") is not None
