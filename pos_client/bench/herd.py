"""The herd after an outage: thousands of lanes, a virtual clock, a ledger of fixed capacity.

``pos-client bench --group herd`` (or ``pos-client bench herd --lanes 10000
--outage 30m``) drives the REAL pacing policy (:mod:`pos_client.domain.pacing`,
the one the forwarder follows) for every lane on a virtual clock (an event
heap: nothing sleeps), against a model of the ledger, and does the same for
two anchors: the forwarder's former policy (full jitter, base 1 s, cap 300 s,
the batch itself retried) and gRPC's connection backoff (1 s, x1.6, 0.2
jitter, 120 s cap).

The model ledger:

- is unreachable for the whole outage (a connection refused, at once);
- then serves at most ``capacity`` work units per second (a batch is 1 unit, a
  ``/v1/health`` answer :data:`HEALTH_COST`, a refusal :data:`REFUSAL_COST`);
  a request over that answers ``503`` with ``Retry-After`` (whole seconds: the
  seconds its refused queue needs at capacity, at least 1);
- answers ``/v1/health`` with ``drain_window_s`` from the terminals it has seen
  and a target rate (:data:`TARGET_SHARE` of capacity), less the time since it
  came back: a lane that finds it late is given the rest of the window, not a
  new one (see :func:`drain_window`).

Each lane sells through the outage, so it comes back with a backlog of
``BACKLOG_ITEMS`` sales (batches of 100); its first failure is in the outage's
first minute. A request takes :data:`ROUND_TRIP` seconds; one is in flight per
lane. The figures (after the ledger is back): the busiest second's offered
work against capacity, each lane's wait until its backlog is on the books
(p50, p99), the time until the last backlog item is on the books against the
ideal (the batches / capacity), and the share of requests refused.

Imports the standard library, the domain's pacing policy and the benchmark's figures.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pos_client.domain.pacing import Action, PacingPolicy, PacingSettings, Step

from .figures import Against, Figure, Goal, percentile

__all__ = ["HerdResult", "LedgerModel", "measure", "parse_duration", "simulate"]

GROUP = "herd"
#: What a ``/v1/health`` answer costs the ledger, in batches (no books touched).
HEALTH_COST = 0.02
#: What a refusal costs the ledger, in batches (answered before any work).
REFUSAL_COST = 0.02
#: The share of capacity the ledger's drain window aims the backlog at (the rest: probes, noise).
TARGET_SHARE = 0.85
#: The share of capacity a second's refused requests are spread over, in the seconds after it.
RETRY_SHARE = 0.2
#: A request's round trip, seconds (the next one leaves when the answer is in).
ROUND_TRIP = 0.05
#: How many sales a lane queues through the outage (uniform), per 30 minutes.
BACKLOG_ITEMS = (10, 90)
BATCH = 100


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``30m`` or ``2h``."""
    value = text.strip().lower()
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    factor = units.get(value[-1:], None)
    number = value[:-1] if factor is not None else value
    try:
        seconds = float(number) * (factor or 1.0)
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (e.g. 90s, 30m, 2h)") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"not a duration: {text!r}")
    return seconds


@dataclass(slots=True)
class LedgerModel:
    """A ledger that is down until ``back_at``, then serves ``capacity`` units a second."""

    capacity: float
    back_at: float
    terminals: int
    expected: float  # batches it expects back: its intake before the outage, times the outage
    target_share: float = TARGET_SHARE
    horizon: float = 0.0  # refused requests are told to come back no sooner than this
    used: dict[int, float] = field(default_factory=dict)
    offered: dict[int, float] = field(default_factory=dict)
    requests: dict[int, int] = field(default_factory=dict)
    refused_in: dict[int, int] = field(default_factory=dict)
    served: int = 0
    refused: int = 0

    def ask(self, now: float, cost: float) -> int | None:
        """``None``: unreachable; 0: served; n > 0: refused, ``Retry-After: n``."""
        if now < self.back_at:
            return None
        second = int(now - self.back_at)
        self.offered[second] = self.offered.get(second, 0.0) + cost
        self.requests[second] = self.requests.get(second, 0) + 1
        used = self.used.get(second, 0.0)
        if used + cost <= self.capacity:
            self.used[second] = used + cost
            self.served += 1
            return 0
        self.used[second] = used + REFUSAL_COST
        self.refused += 1
        self.refused_in[second] = self.refused_in.get(second, 0) + 1
        # Spread the refused over the seconds ahead, RETRY_SHARE of capacity each.
        self.horizon = max(self.horizon, now + 1.0) + 1.0 / (self.capacity * RETRY_SHARE)
        return max(1, math.ceil(self.horizon - now))

    def drain_window(self, now: float) -> float:
        """``drain_window_s``: the expected backlog at the target rate, less the time since back."""
        whole = self.expected / (self.capacity * self.target_share)
        return max(0.0, whole - (now - self.back_at))


# --------------------------------------------------------------------------- lanes


@dataclass(slots=True)
class Lane:
    backlog: int  # batches still to go
    finished: float | None = None


class _Paced:
    """The real policy: :class:`PacingPolicy`, one per lane."""

    name = "paced (this policy)"

    def __init__(self, rng: random.Random, settings: PacingSettings) -> None:
        self.rng = rng
        self.settings = settings

    def new(self) -> PacingPolicy:
        return PacingPolicy(rng=self.rng, settings=self.settings)

    @staticmethod
    def first(state: PacingPolicy) -> Action:
        return state.next_step().action

    @staticmethod
    def begin(state: PacingPolicy, action: Action) -> None:
        state.begin(action)

    @staticmethod
    def outcome(
        state: PacingPolicy, action: Action, answer: int | None, window: float, more: bool
    ) -> Step:
        if answer is None:
            return state.on_unreachable()
        if answer > 0:
            return state.on_refused(float(answer))
        if action is Action.PROBE:
            return state.on_health(window)
        return state.on_drained()


@dataclass(slots=True)
class _Blind:
    failures: int = 0


class _FullJitter:
    """The forwarder's former policy: the batch retried after ``uniform(0, min(cap, base*2^n))``,
    never before ``Retry-After`` (plus up to 10 %, at least 1 s)."""

    name = "full jitter, base 1 s, cap 300 s (the former policy)"

    def __init__(self, rng: random.Random, base: float = 1.0, cap: float = 300.0) -> None:
        self.rng = rng
        self.base = base
        self.cap = cap

    def new(self) -> _Blind:
        return _Blind()

    @staticmethod
    def first(state: _Blind) -> Action:
        return Action.DRAIN

    @staticmethod
    def begin(state: _Blind, action: Action) -> None:
        return None

    def outcome(
        self, state: _Blind, action: Action, answer: int | None, window: float, more: bool
    ) -> Step:
        if answer == 0:
            state.failures = 0
            return Step(Action.DRAIN, 0.0)
        ceiling = min(self.cap, self.base * (2 ** min(state.failures, 20)))
        state.failures += 1
        delay = self.rng.uniform(0, ceiling)
        if answer:
            delay = max(delay, answer + self.rng.uniform(0, max(1.0, answer / 10)))
        return Step(Action.DRAIN, delay)


class _Grpc:
    """gRPC's connection backoff: 1 s, x1.6, +-20 % jitter, 120 s cap; no Retry-After."""

    name = "gRPC connection backoff (1 s, x1.6, 0.2 jitter, 120 s)"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def new(self) -> _Blind:
        return _Blind()

    @staticmethod
    def first(state: _Blind) -> Action:
        return Action.DRAIN

    @staticmethod
    def begin(state: _Blind, action: Action) -> None:
        return None

    def outcome(
        self, state: _Blind, action: Action, answer: int | None, window: float, more: bool
    ) -> Step:
        if answer == 0:
            state.failures = 0
            return Step(Action.DRAIN, 0.0)
        backoff = min(120.0, 1.0 * 1.6**state.failures)
        state.failures += 1
        return Step(Action.DRAIN, backoff * (1 + self.rng.uniform(-0.2, 0.2)))


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True, slots=True)
class HerdResult:
    """One policy's run: the figures after the ledger came back."""

    policy: str
    lanes: int
    batches: int
    capacity: float
    peak_units: float  # the busiest second's offered work (batches + probes + refusals)
    peak_requests: int  # the busiest second's requests, all kinds
    wait_p50: float
    wait_p99: float
    wait_max: float
    empty_after: float  # seconds from the ledger's return to the last batch on the books
    ideal: float  # batches / capacity
    requests: int  # after the ledger came back
    refused: int
    events: int
    seconds: float  # wall time of the simulation

    @property
    def refused_share(self) -> float:
        return self.refused / self.requests if self.requests else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "lanes": self.lanes,
            "batches": self.batches,
            "capacity_per_s": self.capacity,
            "peak_units_per_s": round(self.peak_units, 1),
            "peak_requests_per_s": self.peak_requests,
            "wait_p50_s": round(self.wait_p50, 2),
            "wait_p99_s": round(self.wait_p99, 2),
            "wait_max_s": round(self.wait_max, 2),
            "empty_after_s": round(self.empty_after, 2),
            "ideal_s": round(self.ideal, 2),
            "requests": self.requests,
            "refused": self.refused,
            "refused_share": round(self.refused_share, 4),
            "events": self.events,
            "wall_s": round(self.seconds, 2),
        }


def simulate(
    policy: str,
    *,
    lanes: int = 10_000,
    outage: float = 1800.0,
    capacity: float = 500.0,
    seed: int = 1,
    settings: PacingSettings | None = None,
    target_share: float | None = None,
) -> HerdResult:
    """``lanes`` lanes of ``policy`` (``paced``, ``full_jitter``, ``grpc``) through one outage."""
    started = time.perf_counter()
    rng = random.Random(seed)
    world = random.Random(seed + 1)  # the same lanes and backlogs for every policy
    behaviour: Any
    if policy == "paced":
        behaviour = _Paced(rng, settings or PacingSettings())
    elif policy == "full_jitter":
        behaviour = _FullJitter(rng)
    elif policy == "grpc":
        behaviour = _Grpc(rng)
    else:
        raise ValueError(f"no policy {policy!r}")
    ledger = LedgerModel(capacity=capacity, back_at=outage, terminals=lanes, expected=0.0)
    per_half_hour = max(outage, 60.0) / 1800.0
    fleet: list[Lane] = []
    states: list[Any] = []
    heap: list[tuple[float, int, Action]] = []
    for n in range(lanes):
        items = max(1, round(world.uniform(*BACKLOG_ITEMS) * per_half_hour))
        fleet.append(Lane(backlog=-(-items // BATCH)))
        state = behaviour.new()
        states.append(state)
        heap.append((world.uniform(0.0, min(60.0, outage)), n, behaviour.first(state)))
    heapq.heapify(heap)
    batches = sum(lane.backlog for lane in fleet)
    ledger.expected = batches
    if target_share is not None:
        ledger.target_share = target_share
    events = 0
    left = lanes
    pop, push = heapq.heappop, heapq.heappush
    ask = ledger.ask
    outcome = behaviour.outcome
    begin = behaviour.begin
    back_at = ledger.back_at
    down: Callable[[Any], Step] | None = None
    if isinstance(behaviour, _Paced):
        down = PacingPolicy.on_unreachable  # the ledger is away: the same calls, made directly
        begin = PacingPolicy.begin
    while heap and left:
        now, n, action = pop(heap)
        events += 1
        state = states[n]
        begin(state, action)
        done = now + ROUND_TRIP
        if down is not None and now < back_at:
            step = down(state)
            push(heap, (done + step.delay, n, step.action))
            continue
        lane = fleet[n]
        answer = ask(now, 1.0 if action is Action.DRAIN else HEALTH_COST)
        window = ledger.drain_window(now) if answer == 0 and action is Action.PROBE else 0.0
        if answer == 0 and action is Action.DRAIN:
            lane.backlog -= 1
            if lane.backlog == 0:
                lane.finished = done
                left -= 1
                outcome(state, action, answer, window, False)
                continue
        step = outcome(state, action, answer, window, lane.backlog > 0)
        push(heap, (done + step.delay, n, step.action))
    back = ledger.back_at
    waits = sorted((lane.finished or math.inf) - back for lane in fleet)
    busiest = max(ledger.offered, key=lambda s: ledger.offered[s]) if ledger.offered else 0
    return HerdResult(
        policy=behaviour.name,
        lanes=lanes,
        batches=batches,
        capacity=capacity,
        peak_units=ledger.offered.get(busiest, 0.0),
        peak_requests=max(ledger.requests.values(), default=0),
        wait_p50=percentile(waits, 50),
        wait_p99=percentile(waits, 99),
        wait_max=waits[-1],
        empty_after=waits[-1],
        ideal=batches / capacity,
        requests=ledger.served + ledger.refused,
        refused=ledger.refused,
        events=events,
        seconds=time.perf_counter() - started,
    )


POLICIES = ("paced", "full_jitter", "grpc")


def run_all(
    *, lanes: int = 10_000, outage: float = 1800.0, capacity: float = 500.0, seed: int = 1
) -> dict[str, HerdResult]:
    """The policy and its anchors, on the same lanes, backlogs and ledger."""
    return {
        name: simulate(name, lanes=lanes, outage=outage, capacity=capacity, seed=seed)
        for name in POLICIES
    }


def measure(
    *, lanes: int = 10_000, outage: float = 1800.0, capacity: float = 500.0
) -> list[Figure]:
    """The herd group's figures: the policy's, each beside its goal and the anchors'."""
    runs = run_all(lanes=lanes, outage=outage, capacity=capacity)
    paced, jitter, grpc = runs["paced"], runs["full_jitter"], runs["grpc"]
    details = {name: result.to_json() for name, result in runs.items()}
    scene = f"{lanes:,} lanes, {outage / 60:g} min outage, ledger {capacity:g}/s"
    anchors = "former policy {j}, gRPC backoff {g}"

    def beside(j: float, g: float, unit: str) -> str:
        return anchors.format(j=f"{j:.3g}{unit}", g=f"{g:.3g}{unit}")

    return [
        Figure(
            key="herd_peak",
            group=GROUP,
            name=f"Herd: busiest second after recovery ({scene})",
            value=round(paced.peak_units, 1),
            unit="units/s",
            against=Against("limit", "ledger capacity", capacity),
            goal=Goal("ratio_at_most", 1.15, "<= 1.15x capacity"),
            samples=lanes,
            note=beside(jitter.peak_units / capacity, grpc.peak_units / capacity, "x")
            + f"; requests in that second {paced.peak_requests:,}",
            details=details,
        ),
        Figure(
            key="herd_wait_p50",
            group=GROUP,
            name=f"Herd: a lane's wait after recovery, p50 ({scene})",
            value=round(paced.wait_p50, 2),
            unit="s",
            against=Against("peer", "former policy (full jitter) p50", round(jitter.wait_p50, 2)),
            goal=Goal("value_below", 15.0, "<= 15 s"),
            samples=lanes,
            note=f"p99 {paced.wait_p99:.1f} s; "
            + beside(jitter.wait_p50, grpc.wait_p50, " s")
            + " (p50)",
        ),
        Figure(
            key="herd_empty",
            group=GROUP,
            name=f"Herd: time until the last backlog batch is on the books ({scene})",
            value=round(paced.empty_after, 2),
            unit="s",
            against=Against("limit", "ideal (batches / capacity)", round(paced.ideal, 2)),
            goal=Goal("ratio_at_most", 1.3, "<= 1.3x ideal"),
            samples=paced.batches,
            note=beside(jitter.empty_after / paced.ideal, grpc.empty_after / paced.ideal, "x"),
        ),
        Figure(
            key="herd_answered",
            group=GROUP,
            name=f"Herd: requests answered, not refused, after recovery ({scene})",
            value=paced.requests - paced.refused,
            unit="requests",
            against=Against("limit", "all requests after recovery", paced.requests),
            goal=Goal("ratio_at_least", 0.95, ">= 0.95 (refused <= 5 %)"),
            samples=paced.requests,
            note="refused: "
            + beside(100 * jitter.refused_share, 100 * grpc.refused_share, " %")
            + f"; this policy {100 * paced.refused_share:.2f} %;"
            f" simulated in {paced.seconds:.1f} s ({paced.events:,} events)",
        ),
    ]
