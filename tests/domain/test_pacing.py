"""The lane's pacing policy: each rule of "Health, load and the drain after an outage"."""

from __future__ import annotations

import random

import pytest

from pos_client.domain.errors import TransitionError
from pos_client.domain.pacing import (
    Action,
    PacingPolicy,
    PacingSettings,
    RetryBudget,
    Step,
    retry_after_delay,
)


class Extremes:
    """A random source that always answers the low (or high) end of the range."""

    def __init__(self, high: bool) -> None:
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


def _policy(seed: int = 1, **settings: float) -> PacingPolicy:
    return PacingPolicy(rng=random.Random(seed), settings=PacingSettings(**settings))  # type: ignore[arg-type]


def test_after_a_failure_to_reach_the_ledger_the_next_request_is_a_health_probe() -> None:
    policy = _policy()
    policy.begin(Action.DRAIN)
    step = policy.on_unreachable()
    assert step.action is Action.PROBE
    assert policy.next_step().action is Action.PROBE
    with pytest.raises(TransitionError):
        policy.begin(Action.DRAIN)  # never a batch before the probe
    policy.begin(Action.PROBE)
    assert policy.on_health(0).action is Action.DRAIN
    policy.begin(Action.DRAIN)


def test_a_timeout_counts_as_not_reaching_the_ledger() -> None:
    policy = _policy()
    policy.begin(Action.DRAIN)
    assert policy.on_unreachable(timeout=True).action is Action.PROBE


def test_a_refusal_without_retry_after_counts_as_not_reaching_the_ledger() -> None:
    policy = _policy()
    policy.begin(Action.DRAIN)
    assert policy.on_refused(None).action is Action.PROBE


def test_after_a_healthy_probe_the_drain_waits_uniform_over_the_window() -> None:
    waits = []
    for seed in range(400):
        policy = _policy(seed)
        policy.begin(Action.DRAIN)
        policy.on_unreachable()
        policy.begin(Action.PROBE)
        step = policy.on_health(20)
        assert step.action is Action.DRAIN
        waits.append(step.delay)
    assert all(0 <= w <= 20 for w in waits)
    assert min(waits) < 2 and max(waits) > 18  # spread over the whole window
    assert 8 < sum(waits) / len(waits) < 12


@pytest.mark.parametrize("window", [None, 0, -5])
def test_without_a_window_the_drain_starts_at_once(window: float | None) -> None:
    policy = _policy()
    policy.begin(Action.PROBE)
    assert policy.on_health(window) == Step(Action.DRAIN, 0.0)


def test_one_request_in_flight_per_lane() -> None:
    policy = _policy()
    policy.begin(Action.DRAIN)
    with pytest.raises(TransitionError):
        policy.begin(Action.DRAIN)
    with pytest.raises(TransitionError):
        policy.begin(Action.PROBE)
    policy.on_drained()
    policy.begin(Action.DRAIN)


@pytest.mark.parametrize("retry_after", [0.5, 1.0, 7.0, 120.0])
def test_retry_after_is_never_undercut_and_at_most_ten_percent_more(retry_after: float) -> None:
    assert retry_after_delay(retry_after, Extremes(high=False)) == retry_after
    assert retry_after_delay(retry_after, Extremes(high=True)) == pytest.approx(retry_after * 1.1)
    for seed in range(200):
        policy = _policy(seed)
        policy.begin(Action.DRAIN)
        step = policy.on_refused(retry_after)
        assert step.action is Action.DRAIN  # reached, and the budget allows the retry
        assert retry_after <= step.delay <= retry_after * 1.1


def test_retry_after_jitter_spreads_lanes() -> None:
    delays = {round(retry_after_delay(10.0, random.Random(seed)), 6) for seed in range(50)}
    assert len(delays) == 50


def test_retry_after_on_an_unreachable_ledger_is_honoured_by_the_probe() -> None:
    policy = _policy(probe_cap=10.0)
    policy.begin(Action.DRAIN)
    step = policy.on_unreachable(retry_after=60.0)
    assert step.action is Action.PROBE and step.delay >= 60.0


def test_a_refused_probe_probes_again_after_retry_after() -> None:
    policy = _policy()
    policy.begin(Action.PROBE)
    step = policy.on_refused(30.0)
    assert step.action is Action.PROBE and 30.0 <= step.delay <= 33.0


def test_retry_budget_is_a_token_bucket() -> None:
    budget = RetryBudget(500)
    assert budget.tokens == 500
    assert budget.spend(5) and budget.tokens == 495
    budget.refund(1)
    assert budget.tokens == 496
    budget.refund(100)
    assert budget.tokens == 500  # never above capacity
    small = RetryBudget(12)
    assert small.spend(10) and not small.spend(5) and small.tokens == 2


def test_retries_cost_five_timeouts_ten_successes_give_one_back() -> None:
    policy = _policy()
    policy.begin(Action.DRAIN)
    policy.on_refused(1.0)
    assert policy.budget.tokens == 495
    policy.begin(Action.DRAIN)
    policy.on_unreachable(timeout=True)
    assert policy.budget.tokens == 485
    policy.begin(Action.PROBE)
    policy.on_unreachable()  # a failed probe costs nothing
    assert policy.budget.tokens == 485
    policy.begin(Action.PROBE)
    policy.on_health(0)
    policy.begin(Action.DRAIN)
    policy.on_drained()
    assert policy.budget.tokens == 486


def test_a_lane_that_only_fails_stops_hammering_and_probes_at_a_capped_backoff() -> None:
    policy = _policy(probe_cap=10.0)
    action = Action.DRAIN
    drains = 0
    steps = []
    for _ in range(300):
        policy.begin(action)
        drains += action is Action.DRAIN
        step = policy.on_refused(1.0) if action is Action.DRAIN else policy.on_health(0)
        steps.append(step)
        action = step.action
    # 500 tokens at 5 a retry: 100 retries after the first drain, then a probe before
    # every drain (a healthy probe refills nothing).
    assert policy.budget.tokens < 5
    assert all(s.action is Action.DRAIN for s in steps[:100])
    assert drains == 101 + (300 - 101) // 2
    tail = steps[-40:]
    assert sum(s.action is Action.PROBE for s in tail) == 20  # every other request a probe
    probe_waits = [s.delay for s in tail if s.action is Action.PROBE]
    assert all(5.0 <= d <= 10.0 for d in probe_waits)  # capped, and not in step


def test_probe_backoff_doubles_to_the_cap() -> None:
    low = PacingPolicy(rng=Extremes(high=True), settings=PacingSettings(probe_base=1, probe_cap=10))
    delays = []
    low.begin(Action.DRAIN)
    delays.append(low.on_unreachable().delay)
    for _ in range(6):
        low.begin(Action.PROBE)
        delays.append(low.on_unreachable().delay)
    assert delays == [1, 2, 4, 8, 10, 10, 10]


def test_a_drain_that_goes_through_resets_the_backoff() -> None:
    policy = PacingPolicy(rng=Extremes(high=True))
    for _ in range(5):
        policy.begin(Action.DRAIN if not policy.must_probe else Action.PROBE)
        policy.on_unreachable()
    policy.begin(Action.PROBE)
    policy.on_health(0)
    policy.begin(Action.DRAIN)
    assert policy.on_drained() == Step(Action.DRAIN, 0.0)
    policy.begin(Action.DRAIN)
    assert policy.on_unreachable().delay == 1.0


def test_the_policy_is_deterministic_for_a_seed() -> None:
    def run(seed: int) -> list[Step]:
        policy = _policy(seed)
        out = []
        policy.begin(Action.DRAIN)
        out.append(policy.on_unreachable())
        policy.begin(Action.PROBE)
        out.append(policy.on_health(20))
        policy.begin(Action.DRAIN)
        out.append(policy.on_refused(3))
        return out

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        PacingSettings(probe_base=0)
    with pytest.raises(ValueError):
        PacingSettings(retry_cost=-1)


def test_prefetch_is_spread_over_the_window_before_the_unlock() -> None:
    from datetime import UTC, datetime, timedelta

    from pos_client.domain.pacing import prefetch_at

    unlock = datetime(2026, 12, 10, 4, 30, tzinfo=UTC)
    now = unlock - timedelta(days=2)
    window, lead = timedelta(hours=6), timedelta(hours=1)
    moments = [
        prefetch_at(unlock, now, random.Random(seed), window=window, lead=lead)
        for seed in range(2000)
    ]
    assert all(m is not None and unlock - lead - window <= m <= unlock - lead for m in moments)
    seconds = {int(m.timestamp()) for m in moments if m is not None}
    assert len(seconds) > 1900  # 2,000 lanes of a chain: hardly two in the same second
    late = unlock - lead - timedelta(minutes=10)  # inside the window: what is left of it
    inside = prefetch_at(unlock, late, random.Random(1), window=window, lead=lead)
    assert inside is not None and late <= inside <= unlock - lead
    assert prefetch_at(unlock, unlock - timedelta(minutes=5), random.Random(1)) is None
