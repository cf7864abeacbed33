"""The one delivery path against the sandbox ledger: refusals, answers the store cannot take,
sales stuck in the outbox, a budget per sale, and voids by id."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pos_client.adapters.store import SqliteStore
from pos_client.commands import redeem
from pos_client.compose import App
from pos_client.domain.states import RedemptionStatus as S
from pos_client.domain.states import SaleStatus, VoidStatus
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.checkout import CheckoutError, Stage
from pos_client.services.doctor import Verdict
from pos_client.services.doctor.store import gather_store, judge_store
from pos_client.services.forwarder import stuck_items
from tests.support.fakes import ShiftedClock
from tests.support.lane import (
    MILK_1L,
    PASTA,
    SUGAR,
    lane,
    lane_config,
    ledger_books,
    ledger_redemption,
    national_id,
)


def lock_after_answer(app: App, held: list[sqlite3.Connection]) -> None:
    """The store gets locked just after the ledger answered (past a short busy timeout)."""
    app.store._db.conn.execute("PRAGMA busy_timeout=50")
    submit = app.ledger.submit_redemption

    async def submit_then_lock(*args: Any, **kw: Any) -> Any:
        answer = await submit(*args, **kw)
        other = sqlite3.connect(app.store.path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        held.append(other)
        return answer

    app.ledger.submit_redemption = submit_then_lock  # type: ignore[method-assign]


def release(held: list[sqlite3.Connection]) -> None:
    for other in held:
        other.execute("ROLLBACK")
        other.close()
    held.clear()


# --------------------------------------------------------------------------- refusals


async def test_a_refusal_seen_at_the_counter_is_told_and_listed_with_nothing_to_collect(
    sandbox: RunningSandbox,
) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    async with lane(sandbox) as app:
        # The body names another terminal than the one the ledger knows by its token: 403.
        app.checkout.settings = replace(app.checkout.settings, terminal_id="T-0002")
        session = app.checkout.new_session()
        await session.identify_token(token)
        session.scan(PASTA)
        outcome = await session.confirm()
        assert outcome.status is SaleStatus.DECLINED and not outcome.goes_ahead
        assert outcome.reason == "terminal_mismatch"
        [problem] = app.store.problems()
        assert problem.redemption_id == outcome.id and problem.kind == "rejected"
        assert problem.collect_rial == 0 and "403" in problem.detail
        entry = app.store.redemption(outcome.id or "")
        assert entry is not None and entry.status is S.DECLINED and entry.intent is None
    assert outcome.id not in ledger_books(sandbox)["redemption_ids"]


# --------------------------------------------------------------------------- answers not saved


async def test_an_approval_the_store_cannot_save_is_told_as_approved_and_saved_later(
    sandbox: RunningSandbox,
) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    held: list[sqlite3.Connection] = []
    async with lane(sandbox) as app:
        lock_after_answer(app, held)
        session = app.checkout.new_session()
        await session.identify_token(token)
        session.scan(PASTA)
        try:
            outcome = await session.confirm()
        finally:
            release(held)
        assert outcome.status is SaleStatus.APPROVED_UNSAVED and outcome.goes_ahead
        assert outcome.receipt_code and outcome.covered_rial == 420_000
        assert "do not redo the sale" in outcome.detail
        assert session.stage is Stage.DONE
        entry = app.store.redemption(outcome.id or "")
        assert entry is not None and entry.status is S.PENDING  # the answer is not written yet
        session.acknowledge()  # the store is free again: the kept answer is written now
        entry = app.store.redemption(outcome.id or "")
        assert entry is not None and entry.status is S.APPROVED and entry.seen
        assert entry.receipt_code == outcome.receipt_code and entry.intent is None
    assert ledger_books(sandbox)["redemption_ids"].count(outcome.id) == 1


async def test_an_approval_never_saved_on_the_lane_is_finished_by_recover(
    sandbox: RunningSandbox,
) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    held: list[sqlite3.Connection] = []
    async with lane(sandbox) as app:
        lock_after_answer(app, held)
        session = app.checkout.new_session()
        await session.identify_token(token)
        session.scan(SUGAR)
        outcome = await session.confirm()
        assert outcome.status is SaleStatus.APPROVED_UNSAVED
        with pytest.raises(Exception):  # noqa: B017 - still locked: nothing is written
            app.store.mark_seen(outcome.id or "")
        release(held)  # ... and the lane is closed before anyone acknowledges it
    async with lane(sandbox, sync=False) as app:
        [interrupted] = app.checkout.interrupted()
        assert interrupted.id == outcome.id
        finished = await app.checkout.finish_interrupted(outcome.id or "")
        assert finished.status is SaleStatus.APPROVED
        assert finished.receipt_code == outcome.receipt_code
        assert app.checkout.interrupted() == [] and app.store.outbox() == []
    assert ledger_books(sandbox)["redemption_ids"].count(outcome.id) == 1


async def test_redeem_reports_an_unsaved_approval_as_going_ahead(
    sandbox: RunningSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    basket = tmp_path / "basket.json"
    basket.write_text(json.dumps({"lines": [{"barcode": PASTA}]}), encoding="utf-8")
    args = argparse.Namespace(
        national_id=None,
        token=token,
        purchase_code=None,
        otp_challenge=None,
        otp=None,
        basket=str(basket),
        json=True,
    )
    held: list[sqlite3.Connection] = []
    async with lane(sandbox) as app:
        lock_after_answer(app, held)
        try:
            code, result, _ = await redeem._redeem(app, args)
        finally:
            release(held)
    assert code == redeem.EXIT_OK
    assert result["status"] == "approved_unsaved" and result["goes_ahead"] is True
    assert result["receipt_code"] and result["covered_rial"] == 420_000
    assert result["id"] in ledger_books(sandbox)["redemption_ids"]


# --------------------------------------------------------------------------- stuck


async def test_a_sale_undecided_past_the_limit_is_a_problem_once_and_on_the_status(
    sandbox: RunningSandbox,
) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    async with lane(sandbox) as app:
        sandbox.add_fault("unavailable", "/v1/redemptions*", count=None)
        session = app.checkout.new_session()
        await session.identify_token(token)
        session.scan(MILK_1L)
        outcome = await session.confirm()
        assert outcome.status is SaleStatus.APPROVED_OFFLINE
        session.acknowledge()
        report = await app.forwarder.drain_once()
        assert report.unreachable and report.stuck == 0 and app.store.problems() == []
        later = app.clock.now() + timedelta(hours=7)
        [stuck] = stuck_items(app.store, later, timedelta(hours=6))
        assert stuck.redemption_id == outcome.id
        app.forwarder.stuck_after = timedelta(0)  # as if the hours had gone by
        for _ in range(3):  # told once, not at every pass
            report = await app.forwarder.drain_once()
            assert report.stuck == 1
        [problem] = app.store.problems()
        assert problem.kind == "stuck" and problem.redemption_id == outcome.id
        assert "pos-client doctor" in problem.detail and problem.collect_rial == 0
        assert [i.redemption_id for i in app.forwarder.stuck()] == [outcome.id]
        # doctor says so too, from the store file as it reads it (read-only), with what to do
        facts = gather_store(
            app.config.store.path,
            open_store=lambda: SqliteStore.open(app.config.store.path, read_only=True),
            config_keys=app.config.ledger.trusted_keys,
        )
        check = judge_store(
            facts,
            now=later,
            max_hours=24,
            config="c.toml",
            lang="en",
            stuck_after=timedelta(hours=6),
        )
        assert (
            check.verdict is Verdict.FAILED and "1 sales have had no final answer" in check.detail
        )
        assert "Never redo" in check.advice and "queue sync --config c.toml" in check.advice
        early = judge_store(facts, now=app.clock.now(), max_hours=24, config="c", lang="en")
        assert "no final answer" not in early.detail
        sandbox.clear_faults()
        report = await app.forwarder.sync(until_empty=True, timeout=20)
        assert report.remaining == 0 and report.stuck == 0
    assert ledger_books(sandbox)["redemption_ids"].count(outcome.id) == 1


# --------------------------------------------------------------------------- identities


async def test_a_token_is_served_offline_after_the_household_came_with_its_national_id(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "kalabarg")
    async with lane(sandbox) as app:
        first = app.checkout.new_session()
        household = await first.identify_national_id(nid)
        assert household.requires_otp  # the inquiry by national ID asks for a texted code
        challenge = await first.request_otp()
        first.enter_otp(sandbox.otp_code(challenge.challenge_id))
        first.scan(PASTA)
        assert (await first.confirm()).status is SaleStatus.APPROVED
        sandbox.add_fault("unavailable", "/v1/*", count=None)
        second = app.checkout.new_session()
        household = await second.identify_token(sandbox.mint_token(nid))
        assert household.offline and not household.requires_otp
        assert second.stage is Stage.BASKET
        second.scan(MILK_1L)
        outcome = await second.confirm()
        assert outcome.status is SaleStatus.APPROVED_OFFLINE and outcome.goes_ahead
        sandbox.clear_faults()


# --------------------------------------------------------------------------- a budget per sale


async def test_a_slow_ledger_is_given_the_sale_budget_then_settled_once(
    sandbox: RunningSandbox,
) -> None:
    config = lane_config(sandbox)
    config = replace(config, ledger=replace(config.ledger, read_timeout_ms=60_000))
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    async with lane(sandbox, config=config) as app:
        app.checkout.sale_budget = 1.0
        session = app.checkout.new_session()
        await session.identify_token(token)
        session.scan(PASTA)
        sandbox.add_fault("latency", "/v1/redemptions", method="POST", latency_ms=6000)
        # Without a budget the lane would wait for the ledger's whole minute.
        outcome = await asyncio.wait_for(session.confirm(), timeout=5.0)
        assert outcome.status in (
            SaleStatus.UNKNOWN,
            SaleStatus.APPROVED_OFFLINE,
            SaleStatus.REFUSED_OFFLINE,
        )
        if outcome.status is SaleStatus.UNKNOWN:
            outcome = await session.abandon()
            assert not outcome.goes_ahead
        session.acknowledge()
        await asyncio.sleep(6.5)  # the slow ledger commits what it received
        app.forwarder.abandon_grace = timedelta(seconds=1)  # nothing is on its way any more
        report = await app.forwarder.sync(until_empty=True, timeout=30)
        assert report.remaining == 0
        entry = app.store.redemption(outcome.id or "")
        assert entry is not None
        assert entry.status in (S.APPROVED, S.VOIDED, S.DECLINED)
    books = ledger_books(sandbox)["redemption_ids"]
    assert books.count(outcome.id) == (1 if outcome.goes_ahead else 0)
    assert ledger_redemption(sandbox, outcome.id or "") is not None


# --------------------------------------------------------------------------- void by id


async def test_void_a_sale_by_its_id_and_the_clear_refusals(sandbox: RunningSandbox) -> None:
    nid = national_id(sandbox, "kalabarg")
    async with lane(sandbox) as app:
        ids = []
        for _ in range(2):
            session = app.checkout.new_session()
            await session.identify_token(sandbox.mint_token(nid))
            session.scan(PASTA)
            ids.append((await session.confirm()).id or "")
            session.acknowledge()
        first, last = ids
        result = await app.checkout.void(first)  # not the last sale
        assert result.status is VoidStatus.VOIDED and result.id == first
        entry = app.store.redemption(first)
        assert entry is not None and entry.status is S.VOIDED
        entry = app.store.redemption(last)
        assert entry is not None and entry.status is S.APPROVED
        for wrong, code in (
            (first, "already_voided"),
            ("0192f0c0-0000-7000-8000-000000000000", "not_found"),
            ("", "not_found"),
        ):
            with pytest.raises(CheckoutError) as caught:
                await app.checkout.void(wrong)
            assert caught.value.code == code
    async with lane(sandbox, sync=False, clock=ShiftedClock(timedelta(days=1))) as app:
        with pytest.raises(CheckoutError) as caught:
            await app.checkout.void(last)
        assert caught.value.code == "another_day"
    books = ledger_books(sandbox)["redemption_ids"]
    assert first not in books and books.count(last) == 1


# --------------------------------------------------------------------------- housekeeping


async def test_a_sale_that_ends_as_the_lane_closes_leaves_no_error_behind(
    sandbox: RunningSandbox,
) -> None:
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        async with lane(sandbox) as app:
            session = app.checkout.new_session()
            await session.identify_token(sandbox.mint_token(national_id(sandbox, "kalabarg")))
            session.scan(PASTA)
            assert (await session.confirm()).goes_ahead
            app.store.close()  # a command that printed its outcome closes the lane at once
        for _ in range(3):
            await asyncio.sleep(0)  # whatever the sale left scheduled runs now
    finally:
        loop.set_exception_handler(None)
    assert errors == []


async def test_a_slow_inquiry_makes_the_sale_a_short_try(sandbox: RunningSandbox) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    async with lane(sandbox) as app:
        app.checkout.sale_budget = 6.0
        app.forwarder.abandon_grace = timedelta(seconds=1)
        session = app.checkout.new_session()
        # The inquiry takes more than a third of the budget: the ledger is slow.
        sandbox.add_fault("latency", "/v1/wallet-inquiries", latency_ms=2500)
        await session.identify_token(token)
        session.scan(PASTA)
        # The ledger would answer in 3 s, within the budget, but it was found slow: a short try.
        sandbox.add_fault("latency", "/v1/redemptions", method="POST", latency_ms=3000)
        outcome = await session.confirm()
        assert outcome.status is not SaleStatus.APPROVED
        if outcome.status is SaleStatus.UNKNOWN:
            outcome = await session.abandon()
        session.acknowledge()
        await asyncio.sleep(3.5)  # the slow ledger commits what it received
        report = await app.forwarder.sync(until_empty=True, timeout=30)
        assert report.remaining == 0
    books = ledger_books(sandbox)["redemption_ids"]
    assert books.count(outcome.id) == (1 if outcome.goes_ahead else 0)
