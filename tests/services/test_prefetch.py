"""Fetching ahead of a tranche unlock: the rules' optional member, the schedule, the sandbox."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from pos_client.domain.contract import parse_rule_set, rule_set_to_wire
from pos_client.domain.models import RuleSet
from pos_client.errors import LedgerUnavailable
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.prefetch import UnlockPrefetch
from tests.support.lane import lane

UNLOCK = datetime(2026, 12, 10, 4, 30, tzinfo=UTC)  # 08:00 in Tehran
WINDOW, LEAD = timedelta(hours=6), timedelta(hours=1)


def _rules(next_unlock_at: datetime | None = None) -> RuleSet:
    issued = UNLOCK - timedelta(days=3)
    return RuleSet(
        version="r-2026-12-07-01",
        issued_at=issued,
        valid_until=issued + timedelta(days=2),
        signing_keys=(),
        categories=(),
        programs=(),
        catalog_version="c-000001",
        hot_list=frozenset(),
        next_unlock_at=next_unlock_at,
    )


class _Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.at.timestamp()

    async def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=max(seconds, 0.0))
        await asyncio.sleep(0)


class _Book:
    def __init__(self, rules: RuleSet | None) -> None:
        self.rules = rules

    def current(self) -> RuleSet | None:
        return self.rules


class _Refresh:
    def __init__(self, clock: _Clock, fail: int = 0) -> None:
        self.clock, self.fail = clock, fail
        self.asked: list[tuple[str, datetime]] = []

    async def sync_rules(self) -> None:
        self.asked.append(("rules", self.clock.now()))
        if self.fail:
            self.fail -= 1
            raise LedgerUnavailable("the ledger cannot be reached")

    async def sync_catalog(self) -> None:
        self.asked.append(("catalog", self.clock.now()))


def _prefetch(unlock: datetime | None, now: datetime, seed: int, fail: int = 0) -> UnlockPrefetch:
    clock = _Clock(now)
    book = _Book(_rules(next_unlock_at=unlock))
    return UnlockPrefetch(
        rules=book,
        refresh=_Refresh(clock, fail),
        clock=clock,
        rng=random.Random(seed),
        window=WINDOW,
        lead=LEAD,
    )


# ------------------------------------------------------------------ the rules' member


def test_next_unlock_at_is_read_tolerantly_and_written_only_when_set() -> None:
    wire = rule_set_to_wire(_rules())
    assert "next_unlock_at" not in wire
    for absent in ({}, {"next_unlock_at": None}, {"next_unlock_at": ""}):
        assert parse_rule_set({**wire, **absent}).next_unlock_at is None
    # An unreadable advisory time is none: never a reason to refuse the rule set around it.
    assert parse_rule_set({**wire, "next_unlock_at": "tomorrow"}).next_unlock_at is None
    announced = parse_rule_set({**wire, "next_unlock_at": "2026-12-10T08:00:00+03:30"})
    assert announced.next_unlock_at == UNLOCK
    again = rule_set_to_wire(announced)
    assert again["next_unlock_at"] == "2026-12-10T08:00:00+03:30"
    assert parse_rule_set(json.loads(json.dumps(again))) == announced


# ------------------------------------------------------------------ the schedule


def test_a_chains_lanes_fetch_spread_over_the_window_and_never_after_the_unlock() -> None:
    now = UNLOCK - timedelta(days=1)
    moments = [_prefetch(UNLOCK, now, seed).plan() for seed in range(3000)]
    assert all(m is not None and UNLOCK - LEAD - WINDOW <= m <= UNLOCK - LEAD for m in moments)
    seconds = Counter(int(m.timestamp()) for m in moments if m is not None)
    assert max(seconds.values()) <= 3  # 3,000 lanes over 6 hours: no crowd in any second
    by_hour = Counter(int((m - (UNLOCK - LEAD - WINDOW)) / timedelta(hours=1)) for m in moments)  # type: ignore[operator]
    assert all(400 <= by_hour[h] <= 600 for h in range(6))  # uniform: about 500 an hour


def test_no_unlock_announced_means_nothing_is_fetched_ahead() -> None:
    prefetch = _prefetch(None, UNLOCK, 1)
    assert prefetch.plan() is None
    none = UnlockPrefetch(rules=_Book(None), refresh=_Refresh(_Clock(UNLOCK)), clock=_Clock(UNLOCK))
    assert none.plan() is None

    async def a_day_of_it() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(prefetch.run(stop, recheck=3600))
        while prefetch.clock.now() < UNLOCK + timedelta(days=1):
            await asyncio.sleep(0)
        stop.set()
        await task

    asyncio.run(a_day_of_it())
    assert prefetch.refresh.asked == []  # type: ignore[attr-defined]


def test_the_moment_is_drawn_once_per_unlock_and_the_lane_fetches_there_once() -> None:
    prefetch = _prefetch(UNLOCK, UNLOCK - timedelta(days=1), 7)
    moment = prefetch.plan()
    assert moment is not None and prefetch.plan() == moment  # kept, not drawn again

    async def until_the_unlock() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(prefetch.run(stop, recheck=600))
        while prefetch.clock.now() < UNLOCK:
            await asyncio.sleep(0)
        stop.set()
        await task

    asyncio.run(until_the_unlock())
    asked = prefetch.refresh.asked  # type: ignore[attr-defined]
    assert [what for what, _ in asked] == ["rules", "catalog"]
    assert all(moment <= when < UNLOCK - LEAD for _, when in asked)
    assert prefetch.plan() is None  # done for this unlock
    later = UNLOCK + timedelta(days=30)  # the next tranche: a new moment of its own
    prefetch.rules.rules = _rules(next_unlock_at=later)  # type: ignore[attr-defined]
    following = prefetch.plan()
    assert following is not None and later - LEAD - WINDOW <= following <= later - LEAD


def test_a_failed_fetch_is_tried_again_within_what_is_left_of_the_window() -> None:
    prefetch = _prefetch(UNLOCK, UNLOCK - timedelta(days=1), 3, fail=1)

    async def until_the_unlock() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(prefetch.run(stop, recheck=600))
        while prefetch.clock.now() < UNLOCK:
            await asyncio.sleep(0)
        stop.set()
        await task

    asyncio.run(until_the_unlock())
    asked = prefetch.refresh.asked  # type: ignore[attr-defined]
    assert [what for what, _ in asked] == ["rules", "rules", "catalog"]
    assert asked[0][1] <= asked[1][1] <= UNLOCK - LEAD


# ------------------------------------------------------------------ through the sandbox


async def test_the_lane_fetches_ahead_of_the_unlock_the_sandbox_announces(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        assert app.rules.current().next_unlock_at is None  # type: ignore[union-attr]
        unlock = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0)
        sandbox.set_next_unlock(unlock)
        await app.refresh.sync_rules()  # the signature is checked: it stays valid
        assert app.rules.current().next_unlock_at == unlock  # type: ignore[union-attr]
        newer = sandbox.revise_catalog()  # published ahead of the unlock
        app.prefetch.window, app.prefetch.lead = timedelta(seconds=3), timedelta(seconds=1)
        fetched: list[datetime] = []
        real = app.ledger.get_rules

        async def get_rules(**kw: object):  # type: ignore[no-untyped-def]
            fetched.append(datetime.now(UTC))
            return await real(**kw)  # type: ignore[arg-type]

        app.ledger.get_rules = get_rules  # type: ignore[method-assign]
        stop = asyncio.Event()
        task = asyncio.create_task(app.prefetch.run(stop, recheck=0.2))
        try:
            while app.store.catalog_state()[0] != newer:
                assert datetime.now(UTC) < unlock, "the lane did not fetch before the unlock"
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await task
        assert len(fetched) == 1 and fetched[0] < unlock - timedelta(seconds=1)
        assert app.rules.current().catalog_version == newer  # type: ignore[union-attr]


def test_the_sandbox_announces_an_unlock_only_when_one_is_set(sandbox: RunningSandbox) -> None:
    def served() -> dict[str, object]:
        with sandbox.client() as client:
            document: dict[str, object] = json.loads(client.get("/v1/rules").content)
        return document

    assert "next_unlock_at" not in served()
    before = served()["version"]
    version = sandbox.set_next_unlock(UNLOCK)
    assert version != before and served()["version"] == version
    assert served()["next_unlock_at"] == "2026-12-10T08:00:00+03:30"
    with sandbox.admin_client() as admin:
        refused = admin.post("/sandbox/rules", json={"next_unlock_at": "tomorrow"})
        assert refused.status_code == 400
        assert admin.get("/sandbox/rules").json() == {"next_unlock_at": "2026-12-10T08:00:00+03:30"}
    sandbox.set_next_unlock(None)
    assert "next_unlock_at" not in served()
