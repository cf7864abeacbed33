"""The lane's clock against the ledger's (real sandbox over HTTP, real SQLite, injected clock).

The lane's clock is moved only through an injected :class:`ShiftedClock`; the
ledger's through the sandbox's clock offset. Online, the ledger judges a QR
token's time; the lane measures its offset from every answer and uses the
ledger's time for a sale's ``created_at``; offline, it refuses when its clock
is unknown or off by more than the contract allows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from pos_client.domain.clock import CLOCK_TOLERANCE, ClockOffset
from pos_client.domain.contract import load_json
from pos_client.errors import CheckoutRefused
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.doctor import judge_clock
from pos_client.services.doctor.base import Verdict
from pos_client.services.ledger_time import CLOCK_META, LedgerTime
from tests.support.fakes import ShiftedClock
from tests.support.lane import MILK_1L, PASTA, lane, national_id


def created_at(app: object, redemption_id: str) -> datetime:
    entry = app.store.redemption(redemption_id)  # type: ignore[attr-defined]
    assert entry is not None
    body = load_json(entry.body)
    return datetime.fromisoformat(body["created_at"])


@pytest.mark.parametrize("lane_off", [-65, -300, 65])
async def test_a_lane_clock_off_by_minutes_still_serves_fresh_qr_tokens_online(
    sandbox: RunningSandbox, lane_off: int
) -> None:
    clock = ShiftedClock()
    clock.offset = timedelta(seconds=lane_off)
    async with lane(sandbox, clock=clock) as app:
        session = app.checkout.new_session()
        await session.identify_token(sandbox.mint_token(national_id(sandbox, "kalabarg")))
        session.scan(PASTA)
        outcome = await session.confirm()
        assert outcome.status == "approved"
        # The sale says the ledger's time, not the lane's.
        ledger_now = sandbox.sandbox.clock.now()
        assert abs(created_at(app, outcome.id or "") - ledger_now) < timedelta(seconds=10)


async def test_a_lane_five_minutes_fast_serves_a_two_minute_token_online(
    sandbox: RunningSandbox,
) -> None:
    clock = ShiftedClock()
    clock.offset = timedelta(minutes=5)
    async with lane(sandbox, clock=clock) as app:
        token = sandbox.mint_token(national_id(sandbox, "kalabarg"), ttl_seconds=120)
        session = app.checkout.new_session()
        await session.identify_token(token)
        session.scan(PASTA)
        assert (await session.confirm()).status == "approved"


async def offline_attempt(app: object, sandbox: RunningSandbox) -> object:
    session = app.checkout.new_session()  # type: ignore[attr-defined]
    await session.identify_token(sandbox.mint_token(national_id(sandbox, "kalabarg")))
    session.scan(MILK_1L, quantity_milli=3000)
    sandbox.add_fault("unavailable", "/v1/redemptions*", count=None, retry_after=1)
    try:
        return await session.confirm()
    finally:
        sandbox.clear_faults()


async def test_a_lane_an_hour_fast_refuses_an_offline_sale(sandbox: RunningSandbox) -> None:
    clock = ShiftedClock()
    clock.offset = timedelta(hours=1)
    async with lane(sandbox, clock=clock) as app:
        outcome = await offline_attempt(app, sandbox)
        # Not approved: the ledger's answer is awaited (it may have the sale), never guessed.
        assert outcome.status in ("refused_offline", "unknown")  # type: ignore[attr-defined]
        assert outcome.reason == "clock_wrong"  # type: ignore[attr-defined]


async def test_an_offline_sale_of_a_lane_a_minute_slow_carries_the_ledgers_time(
    sandbox: RunningSandbox,
) -> None:
    clock = ShiftedClock()
    clock.offset = timedelta(seconds=-65)
    async with lane(sandbox, clock=clock) as app:
        outcome = await offline_attempt(app, sandbox)
        assert outcome.status == "approved_offline"  # type: ignore[attr-defined]
        ledger_now = sandbox.sandbox.clock.now()
        sale_time = created_at(app, outcome.id or "")  # type: ignore[attr-defined]
        assert abs(sale_time - ledger_now) < timedelta(seconds=10)
        # Forwarded later, the ledger takes it (its created_at is the ledger's time).
        report = await app.forwarder.sync(until_empty=True, timeout=30)
        assert report.approved == 1


async def test_a_lane_whose_clock_was_never_checked_refuses_offline(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify_token(sandbox.mint_token(national_id(sandbox, "kalabarg")))
        session.scan(MILK_1L, quantity_milli=3000)
        # The measured offset is lost (as on a lane that never heard the ledger's time).
        app.checkout.ledger_time._offset = None
        sandbox.add_fault("unavailable", "/v1/redemptions*", count=None, retry_after=1)
        try:
            outcome = await session.confirm()
        finally:
            sandbox.clear_faults()
        assert outcome.status in ("refused_offline", "unknown")
        assert outcome.reason == "clock_unknown"


async def test_the_offset_is_kept_in_the_store_for_a_restart_without_network(
    sandbox: RunningSandbox,
) -> None:
    clock = ShiftedClock()
    clock.offset = timedelta(seconds=-90)
    async with lane(sandbox, clock=clock) as app:
        kept = ClockOffset.from_meta(app.store.get_meta(CLOCK_META))
        again = LedgerTime(clock=clock, store=app.store)
    assert kept is not None and again.offset() == kept
    assert abs(kept.offset - timedelta(seconds=90)) < timedelta(seconds=5)
    assert again.trouble() is None


async def test_offline_identify_checks_the_token_against_the_ledgers_time(
    sandbox: RunningSandbox,
) -> None:
    clock = ShiftedClock()
    clock.offset = timedelta(seconds=-65)
    async with lane(sandbox, clock=clock) as app:
        nid = national_id(sandbox, "kalabarg")
        first = app.checkout.new_session()
        await first.identify_token(sandbox.mint_token(nid))  # the wallet is cached
        fresh = sandbox.mint_token(nid)
        expired = sandbox.mint_token(nid, ttl_seconds=60)
        sandbox.add_fault("unavailable", "/v1/*", count=None, retry_after=1)
        try:
            await app.checkout.new_session().identify_token(fresh)  # 65 s "early": fine
            clock.offset += timedelta(minutes=3)  # three minutes pass; the offset holds
            with pytest.raises(CheckoutRefused) as refused:
                await app.checkout.new_session().identify_token(expired)
        finally:
            sandbox.clear_faults()
    assert refused.value.code == "token_expired"


def test_the_doctor_agrees_with_the_one_tolerance() -> None:
    now = datetime.fromisoformat("2026-12-06T10:00:00+00:00")
    inside = judge_clock(now - CLOCK_TOLERANCE + timedelta(seconds=1), now=now, lang="en")
    outside = judge_clock(now - CLOCK_TOLERANCE - timedelta(seconds=1), now=now, lang="en")
    assert inside.verdict is Verdict.OK
    assert outside.verdict is Verdict.WARNING
    assert judge_clock(now - timedelta(minutes=4), now=now, lang="en").verdict is Verdict.OK
